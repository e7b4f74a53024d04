"""Subspace minimization over the free variables [BLNZ95 §5], [MN11].

With the active set fixed at the Cauchy point, the quadratic model restricted
to the free variables (the columns of Z) is minimized without bounds.  The
reduced gradient is [BLNZ95 (5.4)]

    r = Z'(g + B(xcp - x)) = Z'(g + theta (xcp - x) - W M c),  c = W'(xcp - x)

and the Newton step d = -(Z'BZ)^{-1} r is, by the Sherman-Morrison-Woodbury
formula [BLNZ95 (5.6)-(5.7)], with the 2col x 2col matrix K of ``formk``,

    d = (r + Z'W K^{-1} W'Z r / theta) / theta     (SciPy ``subsm``; r := -r)

    K = [[-D - Y'ZZ'Y/theta,  L_a' - R_z'],
         [ L_a - R_z,         theta S'AA'S]]

(L_a: strict lower triangle of S'AA'Y, R_z: upper triangle of S'ZZ'Y), stored
as the upper triangular factor of its L E L' factorization in ``wn``.  Like
SciPy, ``formk`` keeps the inner products K is built from in ``wn1`` and
updates them: a new pair's row over the current sets, then for the older
pairs only the terms of the variables that entered or left the free set.

When xcp + d leaves the box the versions differ:

* ``variant`` "scipy" (L-BFGS-B 3.0, [MN11]): project xcp + d onto the box;
  keep it if it is a descent direction from x ((xbar - x)'g <= 0), otherwise
  fall back to the 1995 rule.
* ``variant`` "1995" (L-BFGS-B 2.x): backtrack along d to the first bound
  [BLNZ95 (5.8)].

SciPy counterparts: ``formk``, ``cmprlb``, ``subsm``.
"""
import numpy as np

from ..constants import SS_A, SUB_BOUNDED, SUB_CONVERGED, SUB_NOT_RUN, SY_A, SY_Z, YY_Z
from .blas import (cholesky_upper, dots, fmax, fmin, running_sum, solve_upper,
                   solve_upper_transposed)
from .compact import bmv, ring_slots
from .projection import first_hit, has_lower, has_upper

#: Which step failed (``minimize_subspace``'s first result; 0: none).
FAILED_FORMK, FAILED_SUBSM = 1, 2


# ---------------------------------------------------------------- formk: wn1
def drop_oldest(wn1, col):
    """The ring dropped its oldest pair: every block moves up-left by one."""
    wn1[:, :col - 1, :col - 1] = wn1[:, 1:col, 1:col].copy()


def add_newest(wn1, ws, wy, slots, free, active):
    """Row and column col-1 of every block, for the pair just added (c):
    y_b'ZZ'y_c, s_c'AA's_b, s_c'AA'y_b and s_b'ZZ'y_c for every pair b, each a
    running sum over the free (Z) or active (A) variables in ``index`` order."""
    c = len(slots) - 1
    Yz, Sz = wy[slots][:, free], ws[slots][:, free]
    Ya, Sa = wy[slots][:, active], ws[slots][:, active]
    yy_z, sy_z = running_sum(Yz * Yz[c]), running_sum(Sz * Yz[c])
    ys_a, ss_a = running_sum(Ya * Sa[c]), running_sum(Sa * Sa[c])
    wn1[YY_Z, c, :c + 1] = wn1[YY_Z, :c + 1, c] = yy_z
    wn1[SS_A, c, :c + 1] = wn1[SS_A, :c + 1, c] = ss_a
    wn1[SY_A, c, :c + 1] = ys_a
    wn1[SY_Z, :c + 1, c] = sy_z


def pair_products(ws, wy, slots, variables):
    """(Y'Y, S'S, S'Y) restricted to ``variables``: entry [a, b] the running sum
    over them, in order, of y_a y_b, s_a s_b, s_a y_b."""
    Y, S = wy[slots][:, variables], ws[slots][:, variables]
    return (running_sum(Y[:, None] * Y[None, :]), running_sum(S[:, None] * S[None, :]),
            running_sum(S[:, None] * Y[None, :]))


def correct_for_set_changes(wn1, ws, wy, slots, entering, leaving):
    """Move the terms of the variables that entered the free set (A -> Z) and
    left it (Z -> A) between the blocks of the older pairs, in SciPy's order:
    Y'ZZ'Y + entering - leaving, S'AA'S - entering + leaving, and so on."""
    eyy, ess, esy = pair_products(ws, wy, slots, entering)
    lyy, lss, lsy = pair_products(ws, wy, slots, leaving)
    k = len(slots)
    below = np.tri(k, dtype=bool)                    # b <= a
    yy = (wn1[YY_Z, :k, :k] + eyy) - lyy
    ss = (wn1[SS_A, :k, :k] - ess) + lss
    wn1[YY_Z, :k, :k] = np.where(below, yy, yy.T)     # symmetric: lower triangle mirrored
    wn1[SS_A, :k, :k] = np.where(below, ss, ss.T)
    strictly_below = np.tri(k, k=-1, dtype=bool)     # b < a
    sy_a = (wn1[SY_A, :k, :k] - esy) + lsy
    sy_z = (wn1[SY_Z, :k, :k] + esy) - lsy
    wn1[SY_A, :k, :k] = np.where(strictly_below, sy_a, wn1[SY_A, :k, :k])
    wn1[SY_Z, :k, :k] = np.where(strictly_below, wn1[SY_Z, :k, :k], sy_z)


# ---------------------------------------------------------------- formk: K
def factor_k(wn, wn1, sy, theta, col):
    """Assemble K from the inner products and factor it in the upper triangle of wn.

    (1,1) = Y'ZZ'Y / theta + D, (2,2) = theta S'AA'S, (1,2)[b, a] =
    -(S'AA'Y)[a, b] for b < a and (S'ZZ'Y)[a, b] otherwise; then Cholesky of
    (1,1), (1,2) := R11^{-T} (1,2), and Cholesky of the Schur complement
    (2,2) + (1,2)'(1,2).  Returns 0, -1 or -2 (a block not positive definite).
    """
    upper = np.triu_indices(col)
    K11, K12, K22 = wn[:col, :col], wn[:col, col:2 * col], wn[col:2 * col, col:2 * col]
    K11[upper] = (wn1[YY_Z, :col, :col].T / theta)[upper]
    K22[upper] = (wn1[SS_A, :col, :col].T * theta)[upper]
    strictly_below = np.tri(col, k=-1, dtype=bool)   # [a, b] with b < a
    K12[:] = np.where(strictly_below, -wn1[SY_A, :col, :col], wn1[SY_Z, :col, :col]).T
    K11[np.diag_indices(col)] += np.diagonal(sy)[:col]
    if cholesky_upper(K11) != 0:
        return -1
    solve_upper_transposed(K11, K12)
    # (2,2) += (1,2)'(1,2): entry [i, j] the ddot of columns i and j of K12.
    K22[upper] = K22[upper] + dots(K12[:, upper[0]].T, K12[:, upper[1]].T)
    if cholesky_upper(K22) != 0:
        return -2
    return 0


def formk(state, nfree, nenter, ileave):
    """Update ``wn1`` for a new pair and for set changes, then factor K (SciPy ``formk``).

    Returns 0, -1 or -2 (:func:`factor_k`).
    """
    s = state
    col, n = s.col, s.n
    slots = ring_slots(s.head, col, s.m)
    older = slots
    if s.updatd:
        if s.iupdat > s.m:
            drop_oldest(s.wn1, col)
        add_newest(s.wn1, s.ws, s.wy, slots, s.index[:nfree], s.index[nfree:])
        older = slots[:col - 1]
    if nenter > 0 or ileave < n:
        correct_for_set_changes(s.wn1, s.ws, s.wy, older, s.indx2[:nenter], s.indx2[ileave:])
    return factor_k(s.wn, s.wn1, s.sy, np.float64(s.theta), col)


# ---------------------------------------------------------------- cmprlb
def add_W_Mc(r, ws, wy, slots, v, theta, free):
    """r += W (M c) at the free variables: for each pair j in turn,
    r := (r + y_j v_j) + s_j (theta v_{col+j})  (SciPy ``cmprlb``)."""
    col = len(slots)
    for j, slot in enumerate(slots):
        r[:] = (r + wy[slot, free] * v[j]) + ws[slot, free] * (theta * v[col + j])


def reduced_gradient(state, nfree):
    """r = -Z'(g + theta (xcp - x) - W M c) on the free variables [BLNZ95 (5.4)]
    (SciPy ``cmprlb``); v = M c.  Returns 0, or -8 when ``bmv`` fails (r then
    holds only -theta (xcp - x) - g)."""
    s = state
    free = s.index[:nfree]
    theta = np.float64(s.theta)
    r = s.r[:nfree]
    r[:] = -theta * (s.z[free] - s.x[free]) - s.g[free]
    if bmv(s.sy, s.wt, s.col, s.c, s.v) != 0:
        return -8
    add_W_Mc(r, s.ws, s.wy, ring_slots(s.head, s.col, s.m), s.v, theta, free)
    return 0


# ---------------------------------------------------------------- subsm
def newton_step(state, nsub):
    """Overwrite the reduced gradient r[:nsub] with the Newton step [BLNZ95 (5.6)-(5.7)].

    wv = K^{-1} W'Z r (two triangular solves with the factors of K), then
    r := (r + Z'W wv / theta) / theta, the terms added pair by pair; the last
    division is a product with 1/theta (SciPy ``subsm``).  Returns 0 or the
    info of a singular triangular solve.
    """
    s = state
    col, theta = s.col, np.float64(s.theta)
    free, r, wv = s.index[:nsub], s.r[:nsub], s.v[:2 * s.col]
    slots = ring_slots(s.head, col, s.m)
    Yz, Sz = s.wy[slots][:, free], s.ws[slots][:, free]
    wv[:col] = running_sum(Yz * r)
    wv[col:] = theta * running_sum(Sz * r)
    info = solve_upper_transposed(s.wn[:2 * col, :2 * col], wv)
    if info:
        return info
    wv[:col] = -wv[:col]
    info = solve_upper(s.wn[:2 * col, :2 * col], wv)
    if info:
        return info
    for j in range(col):
        r[:] = (r + Yz[j] * wv[j] / theta) + Sz[j] * wv[col + j]
    r[:] = r * (1.0 / theta)
    return 0


def project_step(z, r, l, u, nbd, free):
    """[MN11]: z_free := P(xcp + d); return 1 if some variable ends on a bound."""
    nb, lo, hi = nbd[free], l[free], u[free]
    step = z[free] + r
    step = np.where(has_lower(nb), fmax(lo, step), step)
    step = np.where(has_upper(nb), fmin(hi, step), step)
    on_bound = (has_lower(nb) & (step == lo)) | (has_upper(nb) & (step == hi))
    z[free] = step
    return int(np.any(on_bound))


def _shortens(alpha, r, room, down, up, at_bound):
    """Which variables would shorten the step alpha (SciPy's test, in its order)."""
    crosses = (down & (r * alpha < room)) | (up & (r * alpha > room))
    return (at_bound & (0.0 < alpha)) | (~at_bound & crosses & (room / r < alpha))


def backtrack_step(z, r, l, u, nbd, free):
    """[BLNZ95 (5.8)]: z_free := xcp + alpha d, alpha the largest step <= 1 that
    stays in the box; the variable that limits alpha is put exactly on its bound.

    SciPy scans the variables in order, each shortening alpha if its bound is
    nearer; here each round finds the next variable that does (a vector test
    over the rest: :func:`.projection.first_hit`), so the loop runs once per shortening.  A variable already
    at the bound it heads for makes alpha 0.  Returns alpha.
    """
    nb = nbd[free]
    down = (r < 0.0) & has_lower(nb)                       # heads for its lower bound
    up = (r > 0.0) & ~down & has_upper(nb)                 # heads for its upper bound
    room = np.where(down, l[free] - z[free], u[free] - z[free])
    at_bound = np.where(down, room >= 0.0, room <= 0.0) & (down | up)
    alpha, ibd, i = np.float64(1.0), 0, 0
    while alpha > 0.0:
        i = first_hit(lambda lo, hi: _shortens(alpha, r[lo:hi], room[lo:hi], down[lo:hi],
                                               up[lo:hi], at_bound[lo:hi]), i, r.shape[0])
        if i < 0:
            break
        alpha, ibd, i = (np.float64(0.0) if at_bound[i] else room[i] / r[i]), i, i + 1
    if alpha < 1.0:
        k = free[ibd]
        if r[ibd] > 0.0:
            z[k], r[ibd] = u[k], 0.0
        elif r[ibd] < 0.0:
            z[k], r[ibd] = l[k], 0.0
    z[free] = z[free] + alpha * r
    return alpha


def subspace_step(state, nsub):
    """Move the free variables of z = xcp to the subspace minimizer xbar (SciPy ``subsm``).

    Returns ``(info, iword, alpha, dd_p)``: ``alpha`` the backtracking factor
    (1.0 if none), ``dd_p`` = (xbar - x)'g, the [MN11] descent test (0.0 when
    not computed).
    """
    s = state
    free, r = s.index[:nsub], s.r[:nsub]
    info = newton_step(s, nsub)
    if info:
        return info, SUB_NOT_RUN, 1.0, 0.0
    if s.variant_code == 1:                       # "1995"
        alpha = backtrack_step(s.z, r, s.l, s.u, s.nbd, free)
        return 0, SUB_BOUNDED if alpha < 1.0 else SUB_CONVERGED, float(alpha), 0.0
    s.xp[:] = s.z
    if project_step(s.z, r, s.l, s.u, s.nbd, free) == 0:
        return 0, SUB_CONVERGED, 1.0, 0.0
    dd_p = running_sum((s.z - s.x) * s.g)
    if dd_p <= 0.0:
        return 0, SUB_BOUNDED, 1.0, float(dd_p)
    s.z[:] = s.xp                                 # uphill: back to xcp, then backtrack
    alpha = backtrack_step(s.z, r, s.l, s.u, s.nbd, free)
    return 0, SUB_BOUNDED, float(alpha), float(dd_p)


# ---------------------------------------------------------------- the whole step
def minimize_subspace(state, nfree, nenter, ileave, wrk):
    """K (if the sets or the memory changed), the reduced gradient, the Newton
    step and its projection or backtracking: z becomes xbar.

    Returns ``(failed, info, iword, alpha, dd_p)``, ``failed`` 0,
    :data:`FAILED_FORMK` or :data:`FAILED_SUBSM` (with SciPy's ``info``).
    Without any bound every variable is free and r = -g; after a new pair the
    step then needs no projection: xbar = x + d, and ``xp`` is not written.
    """
    s = state
    if s.cnstnd:
        bmv_info = reduced_gradient(s, nfree)
    else:
        s.r[:] = -s.g
        bmv_info = 0
    if wrk:
        info = formk(s, nfree, nenter, ileave)
        if info:
            return FAILED_FORMK, info, SUB_NOT_RUN, 1.0, 0.0
    if bmv_info:
        return FAILED_SUBSM, bmv_info, SUB_NOT_RUN, 1.0, 0.0
    if not s.cnstnd and wrk:
        info = newton_step(s, nfree)
        if info:
            return FAILED_SUBSM, info, SUB_NOT_RUN, 1.0, 0.0
        s.z[:] = s.x + s.r
        return 0, 0, SUB_CONVERGED, 1.0, 0.0
    info, iword, alpha, dd_p = subspace_step(s, nfree)
    if info:
        return FAILED_SUBSM, info, iword, alpha, dd_p
    return 0, 0, iword, alpha, dd_p

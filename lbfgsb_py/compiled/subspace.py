"""Compiled: subspace minimization over the free variables [BLNZ95 §5], [MN11].

With the active set fixed at the Cauchy point, the quadratic model restricted
to the free variables (the columns of Z) is minimized without bounds: the
reduced gradient is r = Z'(g + B(xcp - x)) [BLNZ95 (5.4)] and the Newton step
d = -(Z'BZ)^{-1} r.  With B = theta I - W M W' the Sherman–Morrison–Woodbury
formula gives

    d = r/theta + Z'W K^{-1} W'Z r / theta^2   (signs as in SciPy ``subsm``)

with the 2col x 2col matrix [BLNZ95 §5.1, via ``formk``]

    K = [[-D - Y'ZZ'Y/theta,  L_a' - R_z'],
         [ L_a - R_z,         theta S'AA'S]]

(L_a: strict lower triangle of S'AA'Y, R_z: upper triangle of S'ZZ'Y), stored
as the upper-triangular factor of its L E L' factorization.

What to do when xcp + d leaves the box is where the versions differ:

* ``variant="scipy"`` (L-BFGS-B 3.0, [MN11]): project xcp + d onto the box;
  keep the projected point if it is a descent direction from x, otherwise fall
  back to the 1995 rule.
* ``variant="1995"`` (L-BFGS-B 2.x, R's ``optim``): backtrack along d to the
  first bound [BLNZ95 (5.8)].

SciPy counterparts: ``formk``, ``cmprlb``, ``subsm`` (C:1891-2252, 1767-1831,
2816-3169).  Like SciPy, ``formk`` keeps the inner products K is made of and
updates them incrementally (O(m n) per iteration instead of O(m^2 n)).
"""
import numpy as np

from numba import prange

from ..constants import SS_A, SUB_BOUNDED, SUB_CONVERGED, SUB_NOT_RUN, SY_A, SY_Z, YY_Z
from . import _dense, _vector, lbfgs_matrices
from ._jit import fmax, fmin, jit, twins
from .lbfgs_matrices import BLOCK

@jit
def _sums(ws, wy, sa, sb, index, lo, hi):
    """Sums over index[lo:hi] of y_a*y_b, s_a*s_b, s_a*y_b for ring slots sa, sb."""
    yy = 0.0
    ss = 0.0
    sy = 0.0
    for i in index[lo:hi]:
        yy += wy[sa, i] * wy[sb, i]
        ss += ws[sa, i] * ws[sb, i]
        sy += ws[sa, i] * wy[sb, i]
    return yy, ss, sy


@jit
def _shift_oldest_out(wn1, col):
    # The ring dropped its oldest pair: every block moves up-left by one.
    for blk in range(4):
        for a in range(col - 1):
            for b in range(col - 1):
                wn1[blk, a, b] = wn1[blk, a + 1, b + 1]


@jit
def _add_newest(wn1, ws, wy, col, head, index, nfree, nparts, sums=None):
    """Row/column ``col-1`` of every block, with the current free (Z) / active (A) sets.

    Sums run over ``index`` in SciPy's order (free variables increasing, then
    active ones decreasing); ``sums`` (as :func:`_newest_products` fills it) if
    they are already known.
    """
    c = col - 1
    if sums is None:
        slots = lbfgs_matrices.ring_slots(head, col, ws.shape[0])
        sums = np.zeros((4, col))
        if nparts == 1:
            _newest_products(ws, wy, slots, index, nfree, sums, 1)
        else:
            _newest_products_parallel(ws, wy, slots, index, nfree, sums, nparts)
    for b in range(col):
        wn1[YY_Z, c, b] = sums[0, b]
        wn1[YY_Z, b, c] = sums[0, b]
        wn1[SS_A, c, b] = sums[2, b]
        wn1[SS_A, b, c] = sums[2, b]
        wn1[SY_A, c, b] = sums[3, b]
        wn1[SY_Z, b, c] = sums[1, b]


def _newest_products_loops(ws, wy, slots, index, nfree, sums, nparts):
    """For each pair b and the newest pair c: sums[:, b] = (y_c'ZZ'y_b, s_b'ZZ'y_c,
    s_c'AA's_b, s_c'AA'y_b); the pairs are split among ``nparts`` threads and
    each sum runs over ``index`` in order, block by block.
    """
    col = slots.shape[0]
    n = index.shape[0]
    wyc = wy[slots[col - 1]]
    wsc = ws[slots[col - 1]]
    for part in prange(nparts):
        bend = (part + 1) * col // nparts
        for lo in range(0, n, BLOCK):
            hi = min(lo + BLOCK, n)
            for b in range(part * col // nparts, bend, 4):
                lbfgs_matrices.add_pair_sums(ws, wy, slots, b, bend, wyc, index, lo,
                                             min(hi, nfree), True, sums[0], sums[1])
                lbfgs_matrices.add_pair_sums(ws, wy, slots, b, bend, wsc, index,
                                             max(lo, nfree), hi, True, sums[3], sums[2])


_newest_products, _newest_products_parallel = twins(_newest_products_loops)


@jit
def _correct_for_set_changes(wn1, ws, wy, upcl, head, indx2, nenter, ileave):
    """Move the terms of entering (A -> Z) and leaving (Z -> A) variables between blocks."""
    m = ws.shape[0]
    n = ws.shape[1]
    if nenter == 0 and ileave == n:
        return          # no set changed: every correction would add 0.0
    for a in range(upcl):
        sa = (head + a) % m
        for b in range(upcl):
            sb = (head + b) % m
            eyy, ess, esy = _sums(ws, wy, sa, sb, indx2, 0, nenter)
            lyy, lss, lsy = _sums(ws, wy, sa, sb, indx2, ileave, n)
            # Same operation order as SciPy: (old + entering) - leaving, etc.
            if b <= a:
                wn1[YY_Z, a, b] = wn1[YY_Z, a, b] + eyy - lyy
                wn1[SS_A, a, b] = wn1[SS_A, a, b] - ess + lss
                wn1[YY_Z, b, a] = wn1[YY_Z, a, b]
                wn1[SS_A, b, a] = wn1[SS_A, a, b]
            if a > b:
                wn1[SY_A, a, b] = wn1[SY_A, a, b] - esy + lsy
            else:
                wn1[SY_Z, a, b] = wn1[SY_Z, a, b] + esy - lsy


@jit
def formk(wn, wn1, ws, wy, sy, theta, col, head, index, nfree, indx2, nenter, ileave,
          updatd, iupdat, nparts=1, newest=None):
    """Update the inner products for the new pair and set changes, then factor K.

    As SciPy ``formk`` (C:1891-2252): when a pair was added, its row and column
    are computed over the current free / active sets (after dropping the
    oldest pair if the ring was full); the older entries are only corrected
    for the variables that entered or left the free set.  ``newest``: the new
    pair's sums if already known (see :func:`_add_newest`).
    Returns 0, -1 (first block not positive definite) or -2 (second block).
    """
    m = ws.shape[0]
    upcl = col
    if updatd:
        if iupdat > m:
            _shift_oldest_out(wn1, col)
        _add_newest(wn1, ws, wy, col, head, index, nfree, nparts, newest)
        upcl = col - 1
    _correct_for_set_changes(wn1, ws, wy, upcl, head, indx2, nenter, ileave)
    return factor_k(wn, wn1, sy, theta, col)


@jit
def factor_k(wn, wn1, sy, theta, col):
    """Assemble K from the inner products and factor it (upper triangle of ``wn``).

    (1,1) = Y'ZZ'Y/theta + D, (2,2) = theta S'AA'S, (1,2)[a, b] = -(S'AA'Y)[b, a]
    for a < b and (S'ZZ'Y)[b, a] otherwise; then the Cholesky factors of the
    (1,1) block and of the Schur complement (2,2) + (1,2)'(1,2) after
    (1,2) := U11^{-T} (1,2).
    """
    for a in range(col):
        for b in range(a, col):
            wn[a, b] = wn1[YY_Z, b, a] / theta
            wn[col + a, col + b] = wn1[SS_A, b, a] * theta
        for b in range(col):
            wn[b, col + a] = -wn1[SY_A, a, b] if b < a else wn1[SY_Z, a, b]
        wn[a, a] += sy[a, a]
    if _dense.cholesky_upper(wn, 0, col) != 0:
        return -1
    _dense.solve_upper_transposed_block(wn, 0, col, col, col)
    # (2,2) += (1,2)'(1,2)
    for i in range(col, 2 * col):
        _add_column_products(wn, col, i)
    if _dense.cholesky_upper(wn, col, col) != 0:
        return -2
    return 0


@jit
def _add_column_products(wn, col, i):
    """wn[i, j] += ddot(wn[:col, i], wn[:col, j]) for the columns j = i .. 2 col - 1
    (the view of column i made once, not once per j: each view costs atomic
    reference counts)."""
    col_i = wn[:col, i]
    for j in range(i, 2 * col):
        wn[i, j] += _dense.dot_inlined(col_i, wn[:col, j])


@jit
def reduced_gradient(x, g, ws, wy, sy, wt, z, r, c, v, index, theta, col, head,
                     nfree, cnstnd, nparts=1):
    """r = -Z'(g + B(xcp - x)) on the free variables (``cmprlb``).

    Uses c = W'(xcp - x) from the Cauchy search: r = -theta (xcp - x) - g + W M c.
    Returns 0 or -8 (``bmv`` failure).  Without bounds and with memory, r = -g.
    """
    if not cnstnd and col > 0:
        for i in range(x.shape[0]):
            r[i] = -g[i]
        return 0
    if _reduced_gradient_start(x, g, sy, wt, z, r, c, v, index, theta, col, nfree) != 0:
        return -8
    slots = lbfgs_matrices.ring_slots(head, col, ws.shape[0])
    if nparts == 1:
        _add_W_Mc(ws, wy, slots, v, theta, r, index, nfree)
    else:
        _add_W_Mc_parallel(ws, wy, slots, v, theta, r, index, nfree)
    return 0


@jit
def _reduced_gradient_start(x, g, sy, wt, z, r, c, v, index, theta, col, nfree):
    """r = -theta (xcp - x) - g on the free variables and v = M c; returns the
    ``bmv`` info.  (W v is added to r by the caller.)"""
    for i in range(nfree):
        k = index[i]
        r[i] = -theta * (z[k] - x[k]) - g[k]
    return lbfgs_matrices.bmv(sy, wt, col, c, v)


def _add_W_Mc_loops(ws, wy, slots, v, theta, r, index, nfree):
    """r[i] += sum_j (y_j v_j + s_j theta v_{col+j}) at variable index[i], j in order.

    Blocks of r go to different threads; each r[i] sees the same operations.
    """
    for blk in prange((nfree + BLOCK - 1) // BLOCK):
        lo = blk * BLOCK
        _add_W_terms(r, ws, wy, slots, v, theta, False, index, lo, min(lo + BLOCK, nfree))


_add_W_Mc, _add_W_Mc_parallel = twins(_add_W_Mc_loops)


@jit
def newton_direction(ws, wy, wn, wv, d, index, theta, col, head, nsub, nparts=1, wd=None):
    """Overwrite the reduced gradient d[:nsub] with the subspace Newton step.

    wv = K^{-1} W'Z d (two triangular solves with the factors of K), then
    d := (d + Z'W wv) / theta.  ``wd`` = (Y'Z d, S'Z d) if already known.
    Returns 0 or the triangular-solve info when K is singular.
    """
    slots = lbfgs_matrices.ring_slots(head, col, ws.shape[0])
    if wd is None:
        wd = np.zeros((2, col))
        if nparts == 1:
            lbfgs_matrices.pair_sums(ws, wy, slots, d, index, nsub, False, wd[0], wd[1], 1)
        else:
            lbfgs_matrices.pair_sums_parallel(ws, wy, slots, d, index, nsub, False, wd[0],
                                              wd[1], nparts)
    for j in range(col):
        wv[j] = wd[0, j]
        wv[col + j] = theta * wd[1, j]
    info = _dense.solve_upper_transposed(wn, 0, 2 * col, wv, 0)
    if info != 0:
        return info
    for j in range(col):
        wv[j] = -wv[j]
    info = _dense.solve_upper(wn, 0, 2 * col, wv, 0)
    if info != 0:
        return info
    if nparts == 1:
        _newton_update(ws, wy, slots, wv, theta, d, index, nsub)
    else:
        _newton_update_parallel(ws, wy, slots, wv, theta, d, index, nsub)
    return 0


def _newton_update_loops(ws, wy, slots, wv, theta, d, index, nsub):
    """d[i] := (d[i] + sum_j (y_j wv_j / theta + s_j wv_{col+j})) / theta, j in order."""
    inv_theta = 1.0 / theta
    for blk in prange((nsub + BLOCK - 1) // BLOCK):
        lo = blk * BLOCK
        hi = min(lo + BLOCK, nsub)
        _add_W_terms(d, ws, wy, slots, wv, theta, True, index, lo, hi)
        block = d[lo:hi]                # (loops from 0 over slices: see _add_W_terms)
        for i in range(hi - lo):
            block[i] *= inv_theta


#: Shortest block of consecutive free variables worth the pair-by-pair loops.
MIN_VECTOR_RUN = 64


@jit
def _add_W_terms(r, ws, wy, slots, v, theta, subsm, index, lo, hi):
    """r[i] := r[i] + sum_j (y_j a_j + s_j b_j) at k = index[i], lo <= i < hi, j in order.

    As ``cmprlb`` forms the terms: y_j v_j + s_j (theta v_{col+j}); as ``subsm``
    does (``subsm`` true): (y_j v_j) / theta + s_j v_{col+j}.  Blocks of at
    least :data:`MIN_VECTOR_RUN` variables go pair after pair, in loops the
    compiler vectorizes (reading the rows in place when ``index[lo:hi]`` is
    lo..hi-1, which ``index[hi-1] = hi-1`` shows since it is increasing, and
    gathering otherwise); shorter blocks give each r[i] all its terms at once.
    Either way r[i] sees the same operations in the same order.  The loops run
    from 0 over slices: with a signed index that may be negative (i from lo),
    Numba's wraparound test on every access keeps the compiler from vectorizing.
    """
    col = slots.shape[0]
    if hi - lo >= MIN_VECTOR_RUN:
        contiguous = index[hi - 1] == np.uint64(hi - 1)
        rb, ib = r[lo:hi], index[lo:hi]
        for j in range(col):
            y = wy[slots[j]]
            s = ws[slots[j]]
            a = v[j]
            b = v[col + j] if subsm else theta * v[col + j]
            if contiguous:
                yb, sb = y[lo:hi], s[lo:hi]
                for i in range(hi - lo):
                    rb[i] = _plus_pair_term(rb[i], yb[i], sb[i], a, b, theta, subsm)
            else:
                for i in range(hi - lo):
                    k = ib[i]
                    rb[i] = _plus_pair_term(rb[i], y[k], s[k], a, b, theta, subsm)
        return
    for i in range(lo, hi):
        k = index[i]
        ri = r[i]
        for j in range(col):
            b = v[col + j] if subsm else theta * v[col + j]
            ri = _plus_pair_term(ri, wy[slots[j], k], ws[slots[j], k], v[j], b, theta, subsm)
        r[i] = ri


@jit
def _plus_pair_term(ri, yk, sk, a, b, theta, subsm):
    """ri + y a + s b (``subsm``: ri + (y a) / theta + s b), added left to right."""
    ya = yk * a / theta if subsm else yk * a
    return ri + ya + sk * b


_newton_update, _newton_update_parallel = twins(_newton_update_loops)


@jit
def project_step(z, d, l, u, nbd, index, nsub):
    """[MN11]: z_free := P(xcp + d); return 1 if some variable hit a bound."""
    iword = 0
    for i in range(nsub):
        k = index[i]
        zk = z[k] + d[i]
        if nbd[k] == 1:
            zk = fmax(l[k], zk)
            iword = 1 if zk == l[k] else iword
        elif nbd[k] == 2:
            zk = fmin(u[k], fmax(l[k], zk))
            iword = 1 if (zk == l[k] or zk == u[k]) else iword
        elif nbd[k] == 3:
            zk = fmin(u[k], zk)
            iword = 1 if zk == u[k] else iword
        z[k] = zk
    return iword


@jit
def backtrack_step(z, d, l, u, nbd, index, nsub):
    """[BLNZ95 (5.8)]: z_free := xcp + alpha d, alpha = largest feasible <= 1.

    The variable that limits alpha is put exactly on its bound.  Returns alpha.
    (As in the Fortran code, the running candidate ``temp1`` is not reset
    between variables.)
    """
    alpha = 1.0
    temp1 = 1.0
    ibd = 0
    for i in range(nsub):
        k = index[i]
        dk = d[i]
        if nbd[k] == 0:
            continue
        if dk < 0.0 and nbd[k] <= 2:
            temp2 = l[k] - z[k]
            if temp2 >= 0.0:
                temp1 = 0.0
            elif dk * alpha < temp2:
                temp1 = temp2 / dk
        elif dk > 0.0 and nbd[k] >= 2:
            temp2 = u[k] - z[k]
            if temp2 <= 0.0:
                temp1 = 0.0
            elif dk * alpha > temp2:
                temp1 = temp2 / dk
        if temp1 < alpha:
            alpha = temp1
            ibd = i
    if alpha < 1.0:
        k = index[ibd]
        if d[ibd] > 0.0:
            z[k] = u[k]
            d[ibd] = 0.0
        elif d[ibd] < 0.0:
            z[k] = l[k]
            d[ibd] = 0.0
    for i in range(nsub):
        k = index[i]
        z[k] = z[k] + alpha * d[i]
    return alpha


@jit
def subspace_step(z, d, xp, x, g, l, u, nbd, ws, wy, wn, wv, index, theta, col,
                  head, nsub, variant, nparts=1, wd=None):
    """Move the free variables of z = xcp toward the subspace minimizer (``subsm``).

    Returns ``(info, iword, alpha, dd_p)``: ``alpha`` is the backtracking
    factor (1.0 if not used), ``dd_p`` the directional derivative (x_new - x)'g
    tested by [MN11] (0.0 when not computed).  ``wd``: see :func:`newton_direction`.
    """
    if nsub <= 0:
        return 0, SUB_CONVERGED, 1.0, 0.0
    info = newton_direction(ws, wy, wn, wv, d, index, theta, col, head, nsub, nparts, wd)
    if info != 0:
        return info, SUB_NOT_RUN, 1.0, 0.0
    if variant == 1:
        alpha = backtrack_step(z, d, l, u, nbd, index, nsub)
        return 0, SUB_BOUNDED if alpha < 1.0 else SUB_CONVERGED, alpha, 0.0
    xp[:] = z
    iword = project_step(z, d, l, u, nbd, index, nsub)
    if iword == 0:
        return 0, SUB_CONVERGED, 1.0, 0.0
    dd_p = 0.0
    for i in range(x.shape[0]):
        dd_p = dd_p + (z[i] - x[i]) * g[i]
    if dd_p <= 0.0:
        return 0, SUB_BOUNDED, 1.0, dd_p
    # Projected point is uphill: restore xcp and backtrack instead.
    z[:] = xp
    alpha = backtrack_step(z, d, l, u, nbd, index, nsub)
    return 0, SUB_BOUNDED, alpha, dd_p


#: Which step of :func:`minimize_subspace` failed (0: none).
FAILED_FORMK, FAILED_SUBSM = 1, 2


@jit
def minimize_subspace(wn, wn1, ws, wy, sy, wt, theta, col, head, updatd, iupdat, wrk, x, g,
                      l, u, nbd, z, r, xp, c, v, index, nfree, indx2, nenter, ileave, cnstnd,
                      variant, nparts):
    """The whole subspace minimization: K (if the sets or memory changed), the
    reduced gradient, the Newton step and its projection / backtracking.

    Returns ``(failed, info, iword, alpha, dd_p)``; ``failed`` is 0,
    :data:`FAILED_FORMK` or :data:`FAILED_SUBSM` (with SciPy's ``info``).
    ``nparts`` > 1 shares the passes over S and Y among that many threads.
    """
    if wrk and updatd and not cnstnd:
        return _minimize_subspace_without_bounds(wn, wn1, ws, wy, sy, theta, col, head,
                                                 iupdat, x, g, z, r, v, index, indx2, nparts)
    if cnstnd and nparts == 1:
        return _minimize_subspace_one_pass(wn, wn1, ws, wy, sy, wt, theta, col, head, updatd,
                                           iupdat, wrk, x, g, l, u, nbd, z, r, xp, c, v,
                                           index, nfree, indx2, nenter, ileave, variant)
    if wrk:
        info = formk(wn, wn1, ws, wy, sy, theta, col, head, index, nfree, indx2, nenter,
                     ileave, updatd, iupdat, nparts)
        if info != 0:
            return FAILED_FORMK, info, SUB_NOT_RUN, 1.0, 0.0
    info = reduced_gradient(x, g, ws, wy, sy, wt, z, r, c, v, index, theta, col, head, nfree,
                            cnstnd, nparts)
    if info != 0:
        return FAILED_SUBSM, info, SUB_NOT_RUN, 1.0, 0.0
    info, iword, alpha, dd_p = subspace_step(z, r, xp, x, g, l, u, nbd, ws, wy, wn, v, index,
                                             theta, col, head, nfree, variant, nparts)
    if info != 0:
        return FAILED_SUBSM, info, iword, alpha, dd_p
    return 0, 0, iword, alpha, dd_p


@jit
def _minimize_subspace_without_bounds(wn, wn1, ws, wy, sy, theta, col, head, iupdat, x, g,
                                      z, r, v, index, indx2, nparts):
    """:func:`minimize_subspace` after a new pair, with no bounds at all.

    Every variable is free (index = 0, 1, ..., n-1, no set changes) and the
    reduced gradient is r = -g, known before K is formed; so ``formk``'s new
    row (y_b'y_c, s_b'y_c) and ``subsm``'s W'Zr (y_b'r, s_b'r) come from one
    pass over S and Y instead of two.  Each sum is the same running sum.  With
    no bounds the step needs no projection: xbar = x + d.
    """
    n = x.shape[0]
    _vector.negative(g, r, nparts)
    slots = lbfgs_matrices.ring_slots(head, col, ws.shape[0])
    newest = np.zeros((4, col))       # rows as _newest_products: the active-set rows stay 0
    wd = np.zeros((2, col))
    if nparts == 1:
        _products_without_bounds(ws, wy, slots, r, newest, wd, 1)
    else:
        _products_without_bounds_parallel(ws, wy, slots, r, newest, wd, nparts)
    info = formk(wn, wn1, ws, wy, sy, theta, col, head, index, n, indx2, 0, n, True, iupdat,
                 nparts, newest)
    if info != 0:
        return FAILED_FORMK, info, SUB_NOT_RUN, 1.0, 0.0
    info = newton_direction(ws, wy, wn, v, r, index, theta, col, head, n, nparts, wd)
    if info != 0:
        return FAILED_SUBSM, info, SUB_NOT_RUN, 1.0, 0.0
    # No bound to project on or back off from (either variant): z = xcp + d, xcp = x.
    _vector.add(x, r, z, nparts)
    return 0, 0, SUB_CONVERGED, 1.0, 0.0


@jit
def _minimize_subspace_one_pass(wn, wn1, ws, wy, sy, wt, theta, col, head, updatd, iupdat,
                                wrk, x, g, l, u, nbd, z, r, xp, c, v, index, nfree, indx2,
                                nenter, ileave, variant):
    """:func:`minimize_subspace` with bounds, on one thread.

    ``formk``'s new row over the free variables, ``cmprlb``'s W M c and
    ``subsm``'s W'Zr all read the rows of S and Y at the free variables, in the
    same order; here they take turns block by block (:func:`_free_pass`), so
    S and Y come from memory once instead of three times.  Each sum and each
    r[i] is computed exactly as in the separate passes.
    """
    n = x.shape[0]
    newest = np.zeros((4, col))       # rows as _newest_products fills them
    wd = np.zeros((2, col))
    bmv_info = _reduced_gradient_start(x, g, sy, wt, z, r, c, v, index, theta, col, nfree)
    with_newest = wrk and updatd
    if bmv_info == 0:
        slots = lbfgs_matrices.ring_slots(head, col, ws.shape[0])
        _free_pass(ws, wy, slots, v, theta, r, index, nfree, with_newest, newest, wd)
        if with_newest:
            wsc = ws[slots[col - 1]]
            for lo in range(nfree, n, BLOCK):
                for b in range(0, col, 4):
                    lbfgs_matrices.add_pair_sums(ws, wy, slots, b, col, wsc, index, lo,
                                                 min(lo + BLOCK, n), True, newest[3],
                                                 newest[2])
    if wrk:
        if bmv_info == 0:
            info = formk(wn, wn1, ws, wy, sy, theta, col, head, index, nfree, indx2, nenter,
                         ileave, updatd, iupdat, 1, newest)
        else:
            info = formk(wn, wn1, ws, wy, sy, theta, col, head, index, nfree, indx2, nenter,
                         ileave, updatd, iupdat, 1)
        if info != 0:
            return FAILED_FORMK, info, SUB_NOT_RUN, 1.0, 0.0
    if bmv_info != 0:
        return FAILED_SUBSM, -8, SUB_NOT_RUN, 1.0, 0.0
    info, iword, alpha, dd_p = subspace_step(z, r, xp, x, g, l, u, nbd, ws, wy, wn, v, index,
                                             theta, col, head, nfree, variant, 1, wd)
    if info != 0:
        return FAILED_SUBSM, info, iword, alpha, dd_p
    return 0, 0, iword, alpha, dd_p


@jit
def _free_pass(ws, wy, slots, v, theta, r, index, nfree, with_newest, newest, wd):
    """Block by block over the free variables index[:nfree]: the newest pair's
    sums y_b'ZZ'y_c, s_b'ZZ'y_c (if ``with_newest``), then r += W M c there
    (:func:`_add_W_terms`), then Y'Zr and S'Zr (running sums, as
    :func:`_newest_products_loops`, :func:`_add_W_Mc_loops` and
    :func:`~lbfgsb_py.lbfgs_matrices.pair_sums` compute them)."""
    col = slots.shape[0]
    wyc = wy[slots[col - 1]]
    for lo in range(0, nfree, BLOCK):
        hi = min(lo + BLOCK, nfree)
        for b in range(0, col, 4):
            if with_newest:
                lbfgs_matrices.add_pair_sums(ws, wy, slots, b, col, wyc, index, lo, hi, True,
                                             newest[0], newest[1])
        _add_W_terms(r, ws, wy, slots, v, theta, False, index, lo, hi)
        for b in range(0, col, 4):
            lbfgs_matrices.add_pair_sums(ws, wy, slots, b, col, r, index, lo, hi, False,
                                         wd[0], wd[1])


def _products_without_bounds_loops(ws, wy, slots, r, newest, wd, nparts):
    """newest[0, b] += y_b'y_c, newest[1, b] += s_b'y_c (c: the newest pair), wd[0, b]
    += y_b'r, wd[1, b] += s_b'r: running sums over i = 0 .. n-1 in order, two
    pairs (eight sums) at a time, block by block; pairs split among threads."""
    col = slots.shape[0]
    n = r.shape[0]
    yc = wy[slots[col - 1]]
    for part in prange(nparts):
        bend = (part + 1) * col // nparts
        for lo in range(0, n, BLOCK):
            hi = min(lo + BLOCK, n)
            for b in range(part * col // nparts, bend, 2):
                _add_products2(ws, wy, slots, b, min(b + 1, bend - 1), yc, r, lo, hi,
                               newest, wd)


_products_without_bounds, _products_without_bounds_parallel = twins(
    _products_without_bounds_loops)


@jit
def _add_products2(ws, wy, slots, b, b1, yc, r, lo, hi, newest, wd):
    """The four running sums of :func:`_products_without_bounds_loops` for pairs b and
    b1 over i in lo..hi-1 (b1 = b when only one pair is left: :func:`_add_products1`)."""
    if b1 == b:
        _add_products1(ws[slots[b]], wy[slots[b]], yc, r, lo, hi, newest[:, b], wd[:, b])
        return
    # Slices from lo, loops from 0 (as in _add_W_terms): no wraparound tests.
    y0, s0 = wy[slots[b]][lo:hi], ws[slots[b]][lo:hi]
    y1, s1 = wy[slots[b1]][lo:hi], ws[slots[b1]][lo:hi]
    yb, rb = yc[lo:hi], r[lo:hi]
    a0, a1, a2, a3 = newest[0, b], newest[1, b], wd[0, b], wd[1, b]
    c0, c1, c2, c3 = newest[0, b1], newest[1, b1], wd[0, b1], wd[1, b1]
    for i in range(hi - lo):
        yi = yb[i]
        ri = rb[i]
        a0 += y0[i] * yi
        a1 += s0[i] * yi
        a2 += y0[i] * ri
        a3 += s0[i] * ri
        c0 += y1[i] * yi
        c1 += s1[i] * yi
        c2 += y1[i] * ri
        c3 += s1[i] * ri
    newest[0, b1], newest[1, b1], wd[0, b1], wd[1, b1] = c0, c1, c2, c3
    newest[0, b], newest[1, b], wd[0, b], wd[1, b] = a0, a1, a2, a3


@jit
def _add_products1(s, y, yc, r, lo, hi, newest, wd):
    """:func:`_add_products2` for one pair (its four sums at newest[:2], wd[:2])."""
    a0, a1, a2, a3 = newest[0], newest[1], wd[0], wd[1]
    yb, sb, ycb, rb = y[lo:hi], s[lo:hi], yc[lo:hi], r[lo:hi]
    for i in range(hi - lo):
        a0 += yb[i] * ycb[i]
        a1 += sb[i] * ycb[i]
        a2 += yb[i] * rb[i]
        a3 += sb[i] * rb[i]
    newest[0], newest[1], wd[0], wd[1] = a0, a1, a2, a3

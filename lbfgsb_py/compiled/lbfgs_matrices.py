"""Compiled: the compact limited-memory BFGS matrix: S, Y, theta, W and M.

[BNS94] R. Byrd, J. Nocedal, R. Schnabel, "Representations of quasi-Newton
matrices and their use in limited memory methods", Math. Prog. 63 (1994);
[BLNZ95 §3].  With the last ``col <= m`` corrections s_k = x_{k+1} - x_k and
y_k = g_{k+1} - g_k stored as the columns of S and Y,

    B = theta I - W M W',   W = [Y  theta S]                      [BLNZ95 (3.2)]
    M = [[-D, L'], [L, theta S'S]]^{-1}                          [BLNZ95 (3.3)]

where D = diag(s_i' y_i) and L is the strictly lower triangle of S'Y.  theta is
y'y / s'y of the newest pair [BLNZ95 (3.5) and §6].  M is never formed: its
inverse is factored as

    M^{-1} = [[D^{1/2}, 0], [-L D^{-1/2}, J]] [[-D^{1/2}, D^{-1/2} L'], [0, J']]

with J J' = T = theta S'S + L D^{-1} L' [BNS94 (3.26)]; ``wt`` holds J'.

Storage follows SciPy: S and Y are ring buffers of ``m`` rows (``ws``, ``wy``);
logical column j lives in row ``(head + j) % m``.  ``sy[i, j] = s_i' y_j``
(lower triangle used) and ``ss[i, j] = s_i' s_j`` (upper triangle used), both
in logical order.
"""
import numpy as np
from numba import prange

from ..constants import EPSMCH
from . import _dense, _vector
from ._x87 import norm2
from ._jit import jit, twins
from ._lend import GOLD, SS, SY, WS, WT, WY, D, G, floats1, floats2

#: Variables per block in the passes over S and Y: a block of the vector a
#: pass reads or writes stays in L1 cache while every stored pair is visited.
BLOCK = 1024


@jit
def ring_slots(head, col, m):
    """Ring rows of the logical columns 0..col-1 (oldest first)."""
    slots = np.empty(col, np.int64)
    for j in range(col):
        slots[j] = (head + j) % m
    return slots


@jit
def add_pair_sums(ws, wy, slots, j, jend, v, index, lo, hi, v_at_variable, sum_y, sum_s):
    """Add y_q'v and s_q'v over the variables index[lo:hi], for the pairs q = j .. j+3.

    (Pairs at or past ``jend`` are left alone.)  v's entry for variable
    k = index[i] is v[k] if ``v_at_variable`` else v[i].  Each of the eight sums
    is a plain running sum over i in increasing order, as SciPy's loops add
    them; running eight at once keeps the processor's adders busy.  One or two
    pairs left go to :func:`_add_two_pair_sums` (half the work of four clamped).
    """
    if jend - j <= 2:
        _add_two_pair_sums(ws, wy, slots, j, jend, v, index, lo, hi, v_at_variable, sum_y,
                           sum_s)
        return
    j1 = min(j + 1, jend - 1)
    j2 = min(j + 2, jend - 1)
    j3 = min(j + 3, jend - 1)
    y0, y1, y2, y3 = wy[slots[j]], wy[slots[j1]], wy[slots[j2]], wy[slots[j3]]
    s0, s1, s2, s3 = ws[slots[j]], ws[slots[j1]], ws[slots[j2]], ws[slots[j3]]
    a0, a1, a2, a3 = sum_y[j], sum_y[j1], sum_y[j2], sum_y[j3]
    b0, b1, b2, b3 = sum_s[j], sum_s[j1], sum_s[j2], sum_s[j3]
    ib, vb = index[lo:hi], v[lo:hi]        # loops from 0: see subspace._add_W_terms
    for i in range(hi - lo):
        k = ib[i]
        vi = v[k] if v_at_variable else vb[i]
        a0 += y0[k] * vi
        b0 += s0[k] * vi
        a1 += y1[k] * vi
        b1 += s1[k] * vi
        a2 += y2[k] * vi
        b2 += s2[k] * vi
        a3 += y3[k] * vi
        b3 += s3[k] * vi
    # Clamped duplicates computed the same sums, so the order of writing is free.
    sum_y[j3], sum_y[j2], sum_y[j1], sum_y[j] = a3, a2, a1, a0
    sum_s[j3], sum_s[j2], sum_s[j1], sum_s[j] = b3, b2, b1, b0


def _pair_sums_loops(ws, wy, slots, v, index, nsub, v_at_variable, sum_y, sum_s, nparts):
    """sum_y[j] += y_j'v and sum_s[j] += s_j'v over the variables index[:nsub].

    Each sum runs over i in increasing order (:func:`add_pair_sums`, four pairs
    at a time); the pairs are split among ``nparts`` threads, and each thread
    visits the variables block by block so that its block of v stays in cache.
    """
    col = slots.shape[0]
    for part in prange(nparts):
        jend = (part + 1) * col // nparts
        for lo in range(0, nsub, BLOCK):
            hi = min(lo + BLOCK, nsub)
            for j in range(part * col // nparts, jend, 4):
                add_pair_sums(ws, wy, slots, j, jend, v, index, lo, hi, v_at_variable, sum_y,
                              sum_s)


pair_sums, pair_sums_parallel = twins(_pair_sums_loops)


@jit
def _add_two_pair_sums(ws, wy, slots, j, jend, v, index, lo, hi, v_at_variable, sum_y,
                       sum_s):
    """:func:`add_pair_sums` for the pairs j and j+1 (if j+1 < jend)."""
    j1 = min(j + 1, jend - 1)
    y0, y1, s0, s1 = wy[slots[j]], wy[slots[j1]], ws[slots[j]], ws[slots[j1]]
    a0, a1, b0, b1 = sum_y[j], sum_y[j1], sum_s[j], sum_s[j1]
    ib, vb = index[lo:hi], v[lo:hi]        # loops from 0: see subspace._add_W_terms
    for i in range(hi - lo):
        k = ib[i]
        vi = v[k] if v_at_variable else vb[i]
        a0 += y0[k] * vi
        b0 += s0[k] * vi
        a1 += y1[k] * vi
        b1 += s1[k] * vi
    sum_y[j1], sum_y[j], sum_s[j1], sum_s[j] = a1, a0, b1, b0


@jit
def ring_position(itail, iupdat, col, head, m):
    """``(itail, col, head)`` once the ``iupdat``-th pair since the last reset is stored.

    Until the ring is full the pair takes the next free row; after that it takes
    the oldest pair's row, and that pair is dropped (``matupd``, SciPy C:2685-2760).
    """
    if iupdat <= m:
        return (head + iupdat - 1) % m, iupdat, head
    return (itail + 1) % m, col, (head + 1) % m


@jit
def matupd(ws, wy, sy, ss, d, itail, iupdat, col, head, dr, stp, dtd, nparts):
    """Store s = stp d in the ring (y is already in its row) and add the new row of
    S'Y and column of S'S.

    ``(itail, col, head)`` are the new pair's, from :func:`ring_position`.
    ``nparts`` > 1 shares the inner products among that many threads.  When the
    ring was full (``iupdat > m``) both triangles shift up-left by one, dropping
    the oldest pair.
    """
    m = ws.shape[0]
    s = ws[itail]
    if stp == 1.0:
        _vector.copy(s, d, nparts)
    else:
        _vector.scaled(d, stp, s, nparts)
    if iupdat > m:
        for j in range(1, col):
            for i in range(1, j + 1):
                ss[i - 1, j - 1] = ss[i, j]
            for i in range(j, col):
                sy[i - 1, j - 1] = sy[i, j]
    sy_row = np.empty(col)
    ss_col = np.empty(col)
    slots = ring_slots(head, col - 1, m)
    if nparts == 1:
        _new_pair_products(ws, wy, slots, s, sy_row, ss_col)
    else:
        _new_pair_products_parallel(ws, wy, slots, s, sy_row, ss_col)
    for j in range(col - 1):
        sy[col - 1, j] = sy_row[j]
        ss[j, col - 1] = ss_col[j]
    ss[col - 1, col - 1] = dtd if stp == 1.0 else stp * stp * dtd
    sy[col - 1, col - 1] = dr


def _new_pair_products_loops(ws, wy, slots, s, sy_row, ss_col):
    """sy_row[j] = s'y_j and ss_col[j] = s_j's over the pairs in ``slots`` (``ddot`` sums).

    The products are shared among the threads, each summed whole by one of them.
    """
    npair = slots.shape[0]
    for q in prange(2 * npair):
        if q < npair:
            sy_row[q] = _dense.dot(s, wy[slots[q]])
        else:
            ss_col[q - npair] = _dense.dot(ws[slots[q - npair]], s)


_new_pair_products, _new_pair_products_parallel = twins(_new_pair_products_loops)


@jit
def add_step_kernel(ws, wy, sy, ss, wt, d, r, g, stp, gd, gdold, dtd, itail, iupdat, col,
                    head, theta, nparts):
    """s = stp d, y = g - r; skip the pair unless s'y > eps (-s'g_old); else store it.

    [BLNZ95 §6]; SciPy C:1013-1062 (the test) and ``matupd`` / ``formt``.
    s'y = stp (g'd - g_old'd) and y'y = ||y||^2 are formed as SciPy forms them;
    theta = y'y / s'y.  ``iupdat`` counts this pair.  A kept pair is formed in
    its ring rows (d and r are left as they were); a skipped pair's y is left
    in r.  Returns ``(applied, s'y, -s'g_old, y'y, itail, col, head, theta,
    info)`` with the ``formt`` info (0, or -3 when T is not positive definite).
    """
    if stp == 1.0:
        dr = gd - gdold
        ddum = -gdold
    else:
        dr = (gd - gdold) * stp
        ddum = -gdold * stp
    applied = not dr <= EPSMCH * ddum           # (a NaN s'y is kept, as in SciPy)
    new_itail, new_col, new_head = ring_position(itail, iupdat, col, head, ws.shape[0])
    y = wy[new_itail] if applied else r
    _vector.difference(g, r, y, nparts)
    ynorm = norm2(y)
    rr = ynorm * ynorm      # SciPy: pow(dnrm2, 2.0); its binary calls no pow, so x*x
    if not applied:
        return False, dr, ddum, rr, itail, col, head, theta, 0
    matupd(ws, wy, sy, ss, d, new_itail, iupdat, new_col, new_head, dr, stp, dtd, nparts)
    theta = rr / dr
    return (True, dr, ddum, rr, new_itail, new_col, new_head, theta,
            formt(wt, sy, ss, new_col, theta))


@jit
def add_lent_step_kernel(table, stp, gd, gdold, dtd, itail, iupdat, col, head, theta, nparts):
    """:func:`add_step_kernel` on an engine's arrays, lent by address (:mod:`._lend`)."""
    t = table
    return add_step_kernel(floats2(t, WS), floats2(t, WY), floats2(t, SY), floats2(t, SS),
                           floats2(t, WT), floats1(t, D), floats1(t, GOLD), floats1(t, G), stp,
                           gd, gdold, dtd, itail, iupdat, col, head, theta, nparts)


@jit
def formt(wt, sy, ss, col, theta):
    """Form T = theta S'S + L D^{-1} L' and factor it as J J' (``formt``).

    [BNS94 (3.26)], SciPy C:2255-2319.  Returns 0, or -3 if T is not positive
    definite (the caller then resets the memory).
    """
    for j in range(col):
        wt[0, j] = theta * ss[0, j]
    for i in range(1, col):
        for j in range(i, col):
            k1 = min(i, j)
            ddum = 0.0
            for k in range(k1):
                ddum = ddum + (sy[i, k] * sy[j, k]) / sy[k, k]
            wt[i, j] = ddum + theta * ss[i, j]
    if _dense.cholesky_upper(wt, 0, col) != 0:
        return -3
    return 0


@jit
def bmv(sy, wt, col, v, p):
    """Compute p = M v for a 2*col vector v (SciPy ``bmv``, C:1187-1314).

    Uses the factored M^{-1} of the module docstring: first solve the lower
    factor, then the upper one.  Returns 0, or a nonzero info when a triangular
    system is singular.
    """
    if col == 0:
        return 0
    # Solve [D^{1/2}, 0; -L D^{-1/2}, J] [p1; p2] = [v1; v2].
    p[col] = v[col]
    for i in range(1, col):
        ssum = 0.0
        for k in range(i):
            ssum = ssum + sy[i, k] * v[k] / sy[k, k]
        p[col + i] = v[col + i] + ssum
    info = _dense.solve_upper_transposed(wt, 0, col, p, col)
    if info != 0:
        return info
    for i in range(col):
        p[i] = v[i] / np.sqrt(sy[i, i])
    # Solve [-D^{1/2}, D^{-1/2} L'; 0, J'] [p1; p2] = [p1; p2].
    info = _dense.solve_upper(wt, 0, col, p, col)
    if info != 0:
        return info
    for i in range(col):
        p[i] = -p[i] / np.sqrt(sy[i, i])
    for i in range(col):
        ssum = 0.0
        for k in range(i + 1, col):
            ssum = ssum + sy[k, i] * p[col + k] / sy[i, i]
        p[i] = p[i] + ssum
    return 0

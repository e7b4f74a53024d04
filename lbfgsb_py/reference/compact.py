"""The compact limited-memory BFGS matrix [BLNZ95 §3], [BNS94].

With the last ``col`` <= m corrections s_k = x_{k+1} - x_k, y_k = g_{k+1} - g_k
as the columns of S and Y, the BFGS matrix is

    B = theta I - W M W',   W = [Y  theta S]                         [BLNZ95 (3.2)]
    M = [[-D, L'], [L, theta S'S]]^{-1}                             [BLNZ95 (3.3)]

D = diag(s_i'y_i), L the strictly lower triangle of S'Y, theta = y'y / s'y of
the newest pair.  M is never formed; its inverse is factored as

    M^{-1} = [[D^{1/2}, 0], [-L D^{-1/2}, J]] [[-D^{1/2}, D^{-1/2} L'], [0, J']]

with J J' = T = theta S'S + L D^{-1} L' [BNS94 (3.26)]; ``wt`` holds J'.

Storage (SciPy's): S and Y are ring buffers of m rows (``ws``, ``wy``): logical
column j (oldest first) is row ``(head + j) % m``.  ``sy[i, j] = s_i'y_j``
(lower triangle used), ``ss[i, j] = s_i's_j`` (upper triangle used), in logical
order.  SciPy counterparts: ``bmv``, ``formt``, ``matupd`` and the update test
of ``mainlb``.
"""
import numpy as np

from ..constants import EPSMCH
from .blas import (cholesky_upper, dots, norm2, running_sum, solve_upper,
                   solve_upper_transposed)


def ring_slots(head, col, m):
    """Ring rows of the logical columns 0 .. col-1 (oldest first)."""
    return (head + np.arange(col)) % m


# ---------------------------------------------------------------- M v
def bmv(sy, wt, col, v, p):
    """p = M v for a 2col-vector v, with the factors above (SciPy ``bmv``).

    Solves the lower factor [[D^{1/2}, 0], [-L D^{-1/2}, J]] then the upper one
    [[-D^{1/2}, D^{-1/2} L'], [0, J']].  Writes p[:2col]; returns 0, or the
    ``dtrtrs`` info when J has a zero on its diagonal.
    """
    if col == 0:
        return 0
    Dg = np.diagonal(sy)[:col]
    v1, v2 = v[:col], v[col:2 * col]
    p1, p2 = p[:col], p[col:2 * col]
    SY = sy[:col, :col]
    # p2 = v2 + L D^{-1} v1: row i sums (sy[i, k] v[k]) / sy[k, k] over k < i.
    # (The zeros for k >= i add nothing to a sum that started at 0.0.)
    p2[0] = v2[0]
    p2[1:] = v2[1:] + running_sum(np.tril(SY * v1 / Dg, -1))[1:]
    info = solve_upper_transposed(wt[:col, :col], p2)          # J p2 = ...
    if info:
        return info
    p1[:] = v1 / np.sqrt(Dg)
    info = solve_upper(wt[:col, :col], p2)                      # J' p2 = ...
    if info:
        return info
    p1[:] = -p1 / np.sqrt(Dg)
    # p1 += D^{-1} L' p2: row i sums (sy[k, i] p2[k]) / sy[i, i] over k > i.
    p1[:] = p1 + running_sum(np.triu(SY.T * p2 / Dg[:, np.newaxis], 1))
    return 0


# ---------------------------------------------------------------- J
def formt(wt, sy, ss, col, theta):
    """Form T = theta S'S + L D^{-1} L' in ``wt`` and factor it as J J' [BNS94 (3.26)].

    Row i of T (from the diagonal): theta ss[i, j] plus the running sum over
    k < i of (sy[i, k] sy[j, k]) / sy[k, k].  Returns 0, or -3 when T is not
    positive definite (SciPy ``formt``; the caller resets the memory).
    """
    SY, Dg = sy[:col, :col], np.diagonal(sy)[:col]
    # terms[i, j, k] = (sy[i, k] sy[j, k]) / sy[k, k] for k < i, then zeros.
    i, k = np.arange(col)[:, None, None], np.arange(col)[None, None, :]
    terms = np.where(k < i, SY[:, None, :] * SY[None, :, :] / Dg, 0.0)
    T = running_sum(terms) + theta * ss[:col, :col]
    T[0] = theta * ss[0, :col]                       # row 0: no L D^{-1} L' term
    upper = np.triu(np.ones((col, col), dtype=bool))
    wt[:col, :col] = np.where(upper, T, wt[:col, :col])
    if cholesky_upper(wt[:col, :col]) != 0:
        return -3
    return 0


# ---------------------------------------------------------------- adding a pair
def ring_position(itail, iupdat, col, head, m):
    """``(itail, col, head)`` once the ``iupdat``-th pair since the last reset is stored.

    Until the ring is full the pair takes the next free row; then it takes the
    oldest pair's row, and that pair is dropped (SciPy ``matupd``).
    """
    if iupdat <= m:
        return (head + iupdat - 1) % m, iupdat, head
    return (itail + 1) % m, col, (head + 1) % m


def curvature_test(stp, gd, gdold):
    """s'y = stp (g'd - g_old'd) and -s'g_old = -stp g_old'd, as SciPy forms them;
    the pair is kept unless s'y <= eps (-s'g_old) [BLNZ95 §6] (a NaN s'y is kept)."""
    if stp == 1.0:
        sy, minus_sg = gd - gdold, -gdold
    else:
        sy, minus_sg = (gd - gdold) * stp, -gdold * stp
    return sy, minus_sg, not sy <= EPSMCH * minus_sg


def drop_oldest(sy, ss, col):
    """The ring was full: S'Y (lower triangle) and S'S (upper) move up-left by one."""
    lower = np.tril_indices(col - 1)
    upper = np.triu_indices(col - 1)
    sy[lower] = sy[1:col, 1:col][lower]
    ss[upper] = ss[1:col, 1:col][upper]


def matupd(ws, wy, sy, ss, d, itail, iupdat, col, head, sy_new, stp, dtd):
    """Store s = stp d in ring row ``itail`` (y is already there) and add the
    newest row of S'Y and column of S'S (``ddot`` sums) (SciPy ``matupd``)."""
    m = ws.shape[0]
    s = ws[itail]
    s[:] = d if stp == 1.0 else stp * d
    if iupdat > m:
        drop_oldest(sy, ss, col)
    slots = ring_slots(head, col - 1, m)
    # the 2(col - 1) ddot calls s'y_j, s_j's (one vector shared: one pass).
    products = dots(np.concatenate((wy[slots], ws[slots])), s)
    sy[col - 1, :col - 1] = products[:col - 1]
    ss[:col - 1, col - 1] = products[col - 1:]
    ss[col - 1, col - 1] = dtd if stp == 1.0 else stp * stp * dtd
    sy[col - 1, col - 1] = sy_new


def add_step(state):
    """Step 5 of an iteration: form the pair (s, y) of the step just taken and
    store it unless its curvature is too small [BLNZ95 §6].

    s = stp d, y = g - g_old.  A kept pair is formed in its ring rows; a
    skipped pair's y is left in ``gold``.  theta = y'y / s'y.  Returns
    ``(applied, s'y, -s'g_old, y'y, itail, col, head, theta, info)`` with the
    ``formt`` info (0, or -3).  Writes ws, wy, sy, ss, wt and gold only.
    """
    s = state
    stp, theta = np.float64(s.stp), np.float64(s.theta)
    sy_new, minus_sg, applied = curvature_test(stp, np.float64(s.gd), np.float64(s.gdold))
    iupdat = s.iupdat + 1
    itail, col, head = ring_position(s.itail, iupdat, s.col, s.head, s.m)
    y = s.wy[itail] if applied else s.gold
    y[:] = s.g - s.gold
    ynorm = norm2(y)
    yy = ynorm * ynorm
    if not applied:
        return (False, float(sy_new), float(minus_sg), float(yy), s.itail, s.col, s.head,
                float(theta), 0)
    matupd(s.ws, s.wy, s.sy, s.ss, s.d, itail, iupdat, col, head, sy_new, stp,
           np.float64(s.dtd))
    theta = yy / sy_new
    info = formt(s.wt, s.sy, s.ss, col, theta)
    return True, float(sy_new), float(minus_sg), float(yy), itail, col, head, float(theta), info

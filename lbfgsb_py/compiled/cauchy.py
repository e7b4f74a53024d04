"""Compiled: the generalized Cauchy point [BLNZ95 §4].

Starting at x, the projected steepest-descent path x(t) = P(x - t g, l, u) is
piecewise linear, bending at the *breakpoints* t_i where variable i reaches a
bound [BLNZ95 (4.1)-(4.2)].  On each segment [t_{j-1}, t_j] the quadratic model
m(x(t)) is a one-dimensional quadratic with slope f' (``f1``) and curvature f''
(``f2``) [BLNZ95 (4.4)-(4.8)]; its minimizer on the segment is at
dt* = -f'/f'' from the segment start [BLNZ95 (4.9)].  The search visits the
segments in order of increasing breakpoint and stops in the first segment that
contains the minimizer: that point is the generalized Cauchy point ``xcp``.
The breakpoints are taken from a heap, so only the ones passed are sorted.

The kernel also returns c = W'(xcp - x) [BLNZ95 (4.11)], reused by the
subspace minimization.

SciPy counterpart: ``cauchy`` and ``hpsolb`` (C:1317-1764, 2420-2540),
including the L-BFGS-B 3.0 safeguard f'' >= eps * f''_0.
"""
import numpy as np

from ..constants import EPSMCH
from . import lbfgs_matrices
from ._dense import axpy, dot, dot_inlined
from ._jit import fmax, jit


@jit
def _heap_pop_min(nleft, t, iorder, build):
    """Move the smallest of t[0..nleft] to t[nleft]; keep t[0..nleft-1] a heap.

    Williams' heapsort (CACM Algorithm 232) as used by SciPy ``hpsolb``; the
    same sift rules keep ties in SciPy's order.  ``build`` makes the heap first.
    """
    if build:
        for k in range(2, nleft + 2):
            val, idx = t[k - 1], iorder[k - 1]
            i = k
            while i > 1 and val < t[i // 2 - 1]:
                t[i - 1], iorder[i - 1] = t[i // 2 - 1], iorder[i // 2 - 1]
                i = i // 2
            t[i - 1], iorder[i - 1] = val, idx
    if nleft > 0:
        out, out_idx = t[0], iorder[0]
        val, idx = t[nleft], iorder[nleft]
        i = 1
        while i + i <= nleft:
            j = i + i
            if t[j] < t[j - 1]:
                j += 1
            if not t[j - 1] < val:
                break
            t[i - 1], iorder[i - 1] = t[j - 1], iorder[j - 1]
            i = j
        t[i - 1], iorder[i - 1] = val, idx
        t[nleft], iorder[nleft] = out, out_idx


@jit
def _classify(x, l, u, nbd, g, iwhere, ws, wy, col, head, d, t, iorder, p, moving, nparts):
    """Set each variable's status and direction d = -g (or 0); collect breakpoints.

    Returns ``(nbreak, ibkmin, bkmin, nfree_path, bnded, f1)`` where the
    breakpoints are t[0..nbreak) (variables iorder[0..nbreak)), variables with
    no breakpoint fill iorder from the end, and p = W' d (its S part not yet
    scaled by theta).  ``moving`` (scratch) receives the variables that move
    along the path, in increasing order.
    """
    n = x.shape[0]
    nbreak = 0
    ibkmin = 0
    bkmin = 0.0
    nfree_path = n
    bnded = True
    f1 = 0.0
    tl = 0.0
    tu = 0.0
    nmove = 0
    for i in range(n):
        neggi = -g[i]
        if iwhere[i] != 3 and iwhere[i] != -1:
            if nbd[i] <= 2:
                tl = x[i] - l[i]
            if nbd[i] >= 2:
                tu = u[i] - x[i]
            iwhere[i] = 0
            if nbd[i] <= 2 and tl <= 0.0:
                if neggi <= 0.0:
                    iwhere[i] = 1
            elif nbd[i] >= 2 and tu <= 0.0:
                if neggi >= 0.0:
                    iwhere[i] = 2
            elif abs(neggi) <= 0.0:
                iwhere[i] = -3
        if iwhere[i] != 0 and iwhere[i] != -1:
            d[i] = 0.0
            continue
        d[i] = neggi
        moving[nmove] = i
        nmove += 1
        f1 -= neggi * neggi
        if nbd[i] <= 2 and nbd[i] != 0 and neggi < 0.0:
            tb = tl / (-neggi)
        elif nbd[i] >= 2 and neggi > 0.0:
            tb = tu / neggi
        else:
            nfree_path -= 1
            iorder[nfree_path] = i
            if abs(neggi) > 0.0:
                bnded = False
            continue
        iorder[nbreak] = i
        t[nbreak] = tb
        if nbreak == 0 or tb < bkmin:
            bkmin = tb
            ibkmin = nbreak
        nbreak += 1
    # p = W'd: each p[j] summed over the moving variables in increasing order, as
    # SciPy adds it inside its loop over i (the others contribute nothing there).
    slots = lbfgs_matrices.ring_slots(head, col, ws.shape[0])
    if nparts == 1:
        lbfgs_matrices.pair_sums(ws, wy, slots, d, moving, nmove, True, p[:col],
                                 p[col:2 * col], 1)
    else:
        lbfgs_matrices.pair_sums_parallel(ws, wy, slots, d, moving, nmove, True, p[:col],
                                          p[col:2 * col], nparts)
    return nbreak, ibkmin, bkmin, nfree_path, bnded, f1


@jit
def _record(rec, row, variable, t_break, dt, f1, f2, dtm):
    """One row of the per-segment record (skipped when ``rec`` is too short)."""
    if row < rec.shape[0]:
        rec[row, 0] = variable
        rec[row, 1] = t_break
        rec[row, 2] = dt
        rec[row, 3] = f1
        rec[row, 4] = f2
        rec[row, 5] = dtm


@jit
def _next_breakpoint(passes, nleft, nbreak, ibkmin, bkmin, t, iorder):
    """The next breakpoint (t_j, variable): the minimum first, then from the heap."""
    if passes == 0:
        return bkmin, iorder[ibkmin]
    if passes == 1 and ibkmin != nbreak - 1:
        # Put the last breakpoint where the first-used one was, then build the heap.
        t[ibkmin] = t[nbreak - 1]
        iorder[ibkmin] = iorder[nbreak - 1]
    _heap_pop_min(nleft, t, iorder, passes == 1)
    return t[nleft], iorder[nleft]


@jit
def _fix_variable(ibp, x, l, u, d, xcp, iwhere):
    """Variable ibp reaches its bound: fix it in xcp; return (d_ibp, z_ibp)."""
    dibp = d[ibp]
    d[ibp] = 0.0
    if dibp > 0.0:
        xcp[ibp] = u[ibp]
        iwhere[ibp] = 2
        return dibp, u[ibp] - x[ibp]
    xcp[ibp] = l[ibp]
    iwhere[ibp] = 1
    return dibp, l[ibp] - x[ibp]


@jit
def _update_derivatives(f1, f2, dt, dibp, zibp, ibp, ws, wy, sy, wt, theta, col, head, p,
                        c, wbp, v):
    """f' and f'' on the next segment [BLNZ95 (4.14)-(4.15)]; returns (f1, f2, info).

    Also c += dt p and p -= d_b w_b, w_b being the row of W of variable ibp.
    """
    m = ws.shape[0]
    col2 = 2 * col
    dibp2 = dibp * dibp
    f1 = f1 + dt * f2 + dibp2 - theta * dibp * zibp
    f2 = f2 - theta * dibp2
    if col == 0:
        return f1, f2, 0
    axpy(dt, p[:col2], c[:col2])
    pointr = head
    for j in range(col):
        wbp[j] = wy[pointr, ibp]
        wbp[col + j] = theta * ws[pointr, ibp]
        pointr = (pointr + 1) % m
    info = lbfgs_matrices.bmv(sy, wt, col, wbp, v)
    if info != 0:
        return f1, f2, info
    wmc = dot_inlined(c[:col2], v[:col2])
    wmp = dot_inlined(p[:col2], v[:col2])
    wmw = dot_inlined(wbp[:col2], v[:col2])
    axpy(-dibp, wbp[:col2], p[:col2])
    f1 = f1 + dibp * wmc
    f2 = f2 + dibp * 2.0 * wmp - dibp2 * wmw
    return f1, f2, 0


@jit
def _initial_derivatives(f1, theta, col, sy, wt, p, v):
    """f' = -d'd and f'' = theta d'd - p'Mp at t = 0 [BLNZ95 (4.13)]; (f2, info)."""
    f2 = -theta * f1
    if col == 0:
        return f2, 0
    info = lbfgs_matrices.bmv(sy, wt, col, p, v)
    if info != 0:
        return f2, info
    return f2 - dot(v[:2 * col], p[:2 * col]), 0


@jit
def cauchy(x, l, u, nbd, g, iwhere, ws, wy, sy, wt, theta, col, head, sbgnrm,
           xcp, d, t, iorder, p, c, wbp, v, rec, moving, nparts=1):
    """Compute the generalized Cauchy point ``xcp`` and c = W'(xcp - x).

    Returns ``(nseg, info, nbreak, tsum)``: segments explored, 0 or the
    ``bmv`` failure code, number of breakpoints, and t* (the path parameter of
    the GCP).  ``rec`` (shape (k, 6), k may be 0) receives one row per segment
    explored, columns :data:`~lbfgsb_py.constants.SEGMENT_FIELDS`.
    """
    n = x.shape[0]
    xcp[:] = x
    if sbgnrm <= 0.0:
        return 0, 0, 0, 0.0                      # projected gradient zero: GCP = x
    col2 = 2 * col
    p[:col2] = 0.0
    nbreak, ibkmin, bkmin, nfree_path, bnded, f1 = _classify(
        x, l, u, nbd, g, iwhere, ws, wy, col, head, d, t, iorder, p, moving, nparts)
    if theta != 1.0:
        for j in range(col):
            p[col + j] *= theta
    if nbreak == 0 and nfree_path == n:
        return 0, 0, 0, 0.0                      # d = 0: x is the GCP
    c[:col2] = 0.0
    f2, info = _initial_derivatives(f1, theta, col, sy, wt, p, v)
    if info != 0:
        return 0, info, nbreak, 0.0
    f2_org = -theta * f1                         # f'' of B0 = theta I, for the safeguard
    dtm = -f1 / f2
    tsum = 0.0
    nseg = 1
    nleft = nbreak - 1
    passes = 0
    tj = 0.0
    if nbreak == 0:
        _record(rec, 0, -1.0, np.inf, np.inf, f1, f2, dtm)   # one unbounded segment
    while nleft >= 0:
        tj0 = tj
        tj, ibp = _next_breakpoint(passes, nleft, nbreak, ibkmin, bkmin, t, iorder)
        dt = tj - tj0
        _record(rec, nseg - 1, -1.0 if dtm < dt else ibp, tj, dt, f1, f2, dtm)
        if dtm < dt:
            break                                # the minimizer lies in this segment [BLNZ95 (4.9)]
        tsum += dt
        nleft -= 1
        passes += 1
        dibp, zibp = _fix_variable(ibp, x, l, u, d, xcp, iwhere)
        # Fortran stops here when all n variables are fixed, without counting a
        # segment; SciPy's C falls through to the same xcp and c.  We follow the
        # C arithmetic and the Fortran count.
        all_fixed = nleft < 0 and nbreak == n
        if not all_fixed:
            nseg += 1
        f1, f2, info = _update_derivatives(f1, f2, dt, dibp, zibp, ibp, ws, wy, sy, wt, theta,
                                           col, head, p, c, wbp, v)
        if info != 0:
            return nseg, info, nbreak, tsum
        f2 = fmax(EPSMCH * f2_org, f2)           # L-BFGS-B 3.0 safeguard on f''
        dtm = 0.0 if (nleft < 0 and bnded) else -f1 / f2
        if nleft < 0 and not all_fixed:
            _record(rec, nseg - 1, -1.0, np.inf, np.inf, f1, f2, dtm)
    if dtm <= 0.0:
        dtm = 0.0
    tsum += dtm
    # Move the variables not yet fixed: xcp = x + tsum * d.
    axpy(tsum, d, xcp)
    if col > 0:
        axpy(dtm, p[:col2], c[:col2])
    return nseg, 0, nbreak, tsum

"""The generalized Cauchy point [BLNZ95 §4].

From x, the projected steepest-descent path x(t) = P(x - t g, l, u) is
piecewise linear: it bends at the *breakpoints* t_i where variable i reaches a
bound [BLNZ95 (4.1)-(4.2)].  Along segment j, [t_{j-1}, t_j], the quadratic
model m(x(t)) is a parabola in dt = t - t_{j-1} with slope f' (``f1``) and
curvature f'' (``f2``) at the segment's start [BLNZ95 (4.4)-(4.8)]; its
minimizer is dt* = -f'/f'' (``dtm``) [BLNZ95 (4.9)].  Segments are visited in
order of increasing breakpoint; the first that contains its minimizer holds
the generalized Cauchy point xcp.  From one segment to the next f' and f''
change by terms in the direction d, the variable b that reaches its bound and
the vectors p = W'd and c = W'(x(t) - x) [BLNZ95 (4.10)-(4.15)].

Breakpoints come out of a heap (SciPy's ``hpsolb``, Williams' heapsort), so
only the ones passed are sorted; ties leave in the heap's order, which decides
which variable is fixed first, so the heap is SciPy's exactly.  SciPy also
keeps f'' >= eps f''_0 (L-BFGS-B 3.0).  SciPy counterparts: ``cauchy``, ``hpsolb``.
"""
import numpy as np

from ..constants import EPSMCH
from .blas import axpy, dot, fmax_scalar, running_difference, running_sum
from .compact import bmv, ring_slots
from .projection import ALWAYS_FIXED, AT_LOWER, AT_UPPER, FREE, NOT_MOVED, UNBOUNDED


# ---------------------------------------------------------------- the heap
def heap_build(t, iorder, size):
    """Make t[0:size] a min-heap, inserting t[1], t[2], ... in turn (``hpsolb``).

    Positions are 1-based in the comments, as in SciPy: the parent of k is k // 2.
    """
    for k in range(2, size + 1):
        value, var = t[k - 1], iorder[k - 1]
        i = k
        while i > 1 and value < t[i // 2 - 1]:          # sift up past larger parents
            t[i - 1], iorder[i - 1] = t[i // 2 - 1], iorder[i // 2 - 1]
            i //= 2
        t[i - 1], iorder[i - 1] = value, var


def heap_pop(t, iorder, last):
    """Move the least of the heap t[0:last+1] to t[last]; t[0:last] stays a heap.

    The old last entry sifts down from the root (SciPy's rule, which compares
    with position ``last + 1`` when a node at ``last // 2`` has one child).
    """
    if last <= 0:
        return
    least, least_var = t[0], iorder[0]
    value, var = t[last], iorder[last]
    i = 1
    while 2 * i <= last:
        j = 2 * i
        if t[j] < t[j - 1]:                              # the smaller child
            j += 1
        if not t[j - 1] < value:
            break
        t[i - 1], iorder[i - 1] = t[j - 1], iorder[j - 1]
        i = j
    t[i - 1], iorder[i - 1] = value, var
    t[last], iorder[last] = least, least_var


# ---------------------------------------------------------------- setting out
def classify(x, l, u, nbd, g, iwhere):
    """Each variable's status at x for the path x(t) = P(x - t g) (SciPy ``cauchy``).

    A bounded variable not always fixed is AT_LOWER (AT_UPPER) when it sits on
    that bound and -g points out of the box, NOT_MOVED when g_i = 0, FREE
    otherwise.  Writes ``iwhere``; returns the mask of the variables that move
    (FREE or UNBOUNDED).
    """
    neg_g = -g
    lower, upper = nbd <= 2, nbd >= 2          # SciPy's tests (nbd 0 never gets here)
    on_lower = lower & (x - l <= 0.0)
    on_upper = ~on_lower & upper & (u - x <= 0.0)
    status = np.where(on_lower, np.where(neg_g <= 0.0, AT_LOWER, FREE),
                      np.where(on_upper, np.where(neg_g >= 0.0, AT_UPPER, FREE),
                               np.where(np.abs(neg_g) <= 0.0, NOT_MOVED, FREE)))
    bounded = (iwhere != ALWAYS_FIXED) & (iwhere != UNBOUNDED)
    iwhere[bounded] = status[bounded]
    return (iwhere == FREE) | (iwhere == UNBOUNDED)


def breakpoints(x, l, u, nbd, d, moving):
    """The breakpoints t_i = (x_i - l_i)/(-d_i) or (u_i - x_i)/d_i of the moving
    variables that head for a bound [BLNZ95 (4.2)].

    Returns ``(variables, t, stays)``: the variables with a breakpoint and
    theirs, in increasing order, and the moving variables with none.
    """
    to_lower = moving & ((nbd == 1) | (nbd == 2)) & (d < 0.0)
    to_upper = moving & ~to_lower & (nbd >= 2) & (d > 0.0)
    has_break = to_lower | to_upper
    t = np.where(to_lower, (x - l) / -d, (u - x) / d)
    return np.flatnonzero(has_break), t[has_break], np.flatnonzero(moving & ~has_break)


def first_minimum(t):
    """Position of the first smallest t_i (a NaN never counts as smaller)."""
    if t[0] != t[0]:
        return 0
    return int(np.argmin(np.where(np.isnan(t), np.inf, t)))


def initial_derivatives(f1, theta, col, sy, wt, p, v):
    """f'' = theta d'd - p'Mp at t = 0 [BLNZ95 (4.13)] (f' = -d'd is f1).

    Returns ``(f2, info)``; v = M p.
    """
    f2 = -theta * f1
    if col == 0:
        return f2, 0
    info = bmv(sy, wt, col, p, v)
    if info:
        return f2, info
    return f2 - dot(v[:2 * col], p[:2 * col]), 0


def fix_variable(b, x, l, u, d, xcp, iwhere):
    """Variable b reaches its bound: put it there in xcp, stop it (d_b = 0).

    Returns (d_b, z_b) with z_b = xcp_b - x_b.
    """
    d_b = d[b]
    d[b] = 0.0
    if d_b > 0.0:
        xcp[b], iwhere[b] = u[b], AT_UPPER
        return d_b, u[b] - x[b]
    xcp[b], iwhere[b] = l[b], AT_LOWER
    return d_b, l[b] - x[b]


def next_derivatives(f1, f2, dt, d_b, z_b, b, state):
    """f' and f'' on the next segment [BLNZ95 (4.14)-(4.15)]; returns (f1, f2, info).

    Also c += dt p, w_b := the row of W of variable b (``wbp``), and p -= d_b w_b.
    """
    s = state
    theta, col = s.theta, s.col
    d_b2 = d_b * d_b
    f1 = f1 + dt * f2 + d_b2 - theta * d_b * z_b
    f2 = f2 - theta * d_b2
    if col == 0:
        return f1, f2, 0
    c, p, wbp, v = s.c[:2 * col], s.p[:2 * col], s.wbp[:2 * col], s.v[:2 * col]
    c[:] = axpy(dt, p, c)
    slots = ring_slots(s.head, col, s.m)
    wbp[:col] = s.wy[slots, b]
    wbp[col:] = theta * s.ws[slots, b]
    info = bmv(s.sy, s.wt, col, wbp, v)
    if info:
        return f1, f2, info
    wmc, wmp, wmw = dot(c, v), dot(p, v), dot(wbp, v)
    p[:] = axpy(-d_b, wbp, p)
    f1 = f1 + d_b * wmc
    f2 = f2 + d_b * 2.0 * wmp - d_b2 * wmw
    return f1, f2, 0


def record(segments, row, variable, t_break, dt, f1, f2, dtm):
    """One row of the per-segment record (none when ``segments`` has no such row)."""
    if row < segments.shape[0]:
        segments[row] = (variable, t_break, dt, f1, f2, dtm)


# ---------------------------------------------------------------- the search
def generalized_cauchy_point(state):
    """Compute xcp (in ``z``) and c = W'(xcp - x) [BLNZ95 §4] (SciPy ``cauchy``).

    Returns ``(nseg, info, nbreak, tsum)``: segments explored, 0 or the ``bmv``
    info, breakpoints, and t at xcp.  Writes z, iwhere, d = the path's
    direction at xcp, t_break/iorder (the breakpoints and their variables, in
    heap order), p, c, wbp, v, the segment record, and the moving variables in
    ``indx2`` (scratch until the free set is recorded there).
    """
    s = state
    n, col, theta = s.n, s.col, np.float64(s.theta)
    x, d, xcp, t, iorder = s.x, s.d, s.z, s.t_break, s.iorder
    xcp[:] = x
    if s.sbgnrm <= 0.0:
        return 0, 0, 0, 0.0                      # projected gradient zero: xcp = x
    moving = classify(x, s.l, s.u, s.nbd, s.g, s.iwhere)
    d[:] = np.where(moving, -s.g, 0.0)
    movers = np.flatnonzero(moving)
    s.indx2[:movers.shape[0]] = movers
    f1 = running_difference(0.0, s.g[movers] * s.g[movers])      # f' = -d'd = -g'g
    variables, t_vars, stays = breakpoints(x, s.l, s.u, s.nbd, d, moving)
    nbreak = variables.shape[0]
    iorder[:nbreak], t[:nbreak] = variables, t_vars
    iorder[n - stays.shape[0]:] = stays[::-1]
    bnded = not np.any(np.abs(d[stays]) > 0.0)   # no variable moves forever
    # p = W'd = (Y'd, theta S'd), each sum over the moving variables in order.
    slots = ring_slots(s.head, col, s.m)
    p = s.p[:2 * col]
    p[:col] = running_sum(s.wy[slots][:, movers] * d[movers])
    p[col:] = running_sum(s.ws[slots][:, movers] * d[movers])
    if theta != 1.0:
        p[col:] = theta * p[col:]
    if nbreak == 0 and stays.shape[0] == 0:
        return 0, 0, 0, 0.0                      # d = 0: x is the Cauchy point
    s.c[:2 * col] = 0.0
    f2, info = initial_derivatives(f1, theta, col, s.sy, s.wt, s.p, s.v)
    if info:
        return 0, info, nbreak, 0.0
    return _search_segments(s, f1, f2, nbreak, bnded)


def _search_segments(s, f1, f2, nbreak, bnded):
    """Walk the segments until one contains its minimizer; then move xcp there."""
    n, col, theta = s.n, s.col, np.float64(s.theta)
    t, iorder, segments = s.t_break, s.iorder, s.segments
    f2_org = -theta * f1                         # f'' of B0 = theta I, for the safeguard
    dtm = -f1 / f2
    tsum = np.float64(0.0)
    nseg = 1
    ibkmin = first_minimum(t[:nbreak]) if nbreak else 0
    if nbreak == 0:
        record(segments, 0, -1.0, np.inf, np.inf, f1, f2, dtm)   # one unbounded segment
    tj = np.float64(0.0)
    for passed in range(nbreak):
        nleft = nbreak - 1 - passed              # breakpoints left after this one
        tj0 = tj
        tj, b = _next_breakpoint(passed, nleft, nbreak, ibkmin, t, iorder)
        dt = tj - tj0
        record(segments, nseg - 1, -1.0 if dtm < dt else b, tj, dt, f1, f2, dtm)
        if dtm < dt:
            break                                # the minimizer lies in this segment
        tsum += dt
        d_b, z_b = fix_variable(b, s.x, s.l, s.u, s.d, s.z, s.iwhere)
        # Every variable fixed: SciPy's Fortran stops without counting a segment.
        all_fixed = nleft == 0 and nbreak == n
        if not all_fixed:
            nseg += 1
        f1, f2, info = next_derivatives(f1, f2, dt, d_b, z_b, b, s)
        if info:
            return nseg, info, nbreak, float(tsum)
        f2 = fmax_scalar(EPSMCH * f2_org, f2)   # L-BFGS-B 3.0 safeguard on f''
        dtm = np.float64(0.0) if (nleft == 0 and bnded) else -f1 / f2
        if nleft == 0 and not all_fixed:
            record(segments, nseg - 1, -1.0, np.inf, np.inf, f1, f2, dtm)
    if dtm <= 0.0:
        dtm = np.float64(0.0)
    tsum += dtm
    s.z[:] = axpy(tsum, s.d, s.z)                # the variables not fixed move to t*
    if col > 0:
        s.c[:2 * col] = axpy(dtm, s.p[:2 * col], s.c[:2 * col])
    return nseg, 0, nbreak, float(tsum)


def _next_breakpoint(passed, nleft, nbreak, ibkmin, t, iorder):
    """(t_j, variable) of the next breakpoint: the least one first (found while
    classifying), then from a heap of the others built at the second."""
    if passed == 0:
        return t[ibkmin], int(iorder[ibkmin])
    if passed == 1:
        # The least one is gone: the last takes its place, then the heap is built.
        t[ibkmin], iorder[ibkmin] = t[nbreak - 1], iorder[nbreak - 1]
        heap_build(t, iorder, nleft + 1)
    heap_pop(t, iorder, nleft)
    return t[nleft], int(iorder[nleft])

"""Compiled: the L-BFGS-B side of the line search: stpmax, trial points, ||d||.

Along d = xbar - x (xbar: the subspace minimizer or the Cauchy point) the
search looks at x + stp d with 0 < stp <= stpmax, where stpmax keeps every
trial inside the box [BLNZ95 §6].  The first trial is stp = 1 except at the
very first iteration of an unboxed problem, where it is min(1/||d||, stpmax)
[BLNZ95 §6; SciPy ``lnsrlb`` C:2543-2682].  Each trial then goes to the
Moré–Thuente search (:mod:`lbfgsb_py.more_thuente`) with SciPy's constants.
"""
import numpy as np
from numba import prange

from ..constants import BIG_STEP, CONVERGENCE, FTOL, GTOL, STPMIN, WARNING, XTOL
from . import _dense, _vector, bounds, more_thuente
from ._jit import fmax, fmin, jit, twins
from ._lend import D, G, DSAVE, ISAVE, XOLD, NBD, L, U, X, Z, floats1, ints1

@jit
def max_step(x, d, l, u, nbd, cnstnd, iteration):
    """Largest stp with x + stp d inside the box (``stpmx`` of ``lnsrlb``).

    1e10 without bounds; 1 at iteration 0 of a bounded problem, where d
    already ends at the Cauchy point.
    """
    stpmx = BIG_STEP
    if not cnstnd:
        return stpmx
    if iteration == 0:
        return 1.0
    for i in range(x.shape[0]):
        a1 = d[i]
        if nbd[i] == 0:
            continue
        if a1 < 0.0 and nbd[i] <= 2:
            a2 = l[i] - x[i]
            if a2 >= 0.0:
                stpmx = 0.0
            elif a1 * stpmx < a2:
                stpmx = a2 / a1
        elif a1 > 0.0 and nbd[i] >= 2:
            a2 = u[i] - x[i]
            if a2 <= 0.0:
                stpmx = 0.0
            elif a1 * stpmx > a2:
                stpmx = a2 / a1
    return stpmx


@jit
def trial_point(x, t, d, z, stp, l, u, nbd, cnstnd, nparts=1):
    """x := t + stp d, clipped to the box (x := z exactly when stp == 1).

    The clip is SciPy's guard against rounding past a bound (gh-10942); with no
    bounds at all (``cnstnd`` false) there is nothing to clip.
    """
    if stp == 1.0:
        _vector.copy(x, z, nparts)
    elif not cnstnd:
        _vector.axpy(stp, d, t, x, nparts)
    elif nparts == 1:
        _clipped_step(x, t, d, stp, l, u, nbd)
    else:
        _clipped_step_parallel(x, t, d, stp, l, u, nbd)


def _clipped_step_loops(x, t, d, stp, l, u, nbd):
    for i in prange(x.shape[0]):
        xi = stp * d[i] + t[i]
        if nbd[i] == 1 or nbd[i] == 2:
            xi = fmax(xi, l[i])
        if nbd[i] == 2 or nbd[i] == 3:
            xi = fmin(xi, u[i])
        x[i] = xi


_clipped_step, _clipped_step_parallel = twins(_clipped_step_loops)


@jit
def norm2(d, nparts=1):
    """Euclidean norm, correctly rounded in all but rare ties (like BLAS ``dnrm2``).

    SciPy's OpenBLAS ``dnrm2`` on x86-64 sums the squares in 80-bit extended
    precision, which makes its result (almost always) the correctly rounded
    norm.  We get the same value from a double-double sum of squares.  Scaling
    by a power of two changes no bit unless a square under- or overflows, so
    the vector is rescaled only when the sum is extreme: then some square may
    have (the largest square lies between sum/n and sum), or there is a NaN
    or inf.  ``nparts`` > 1 sums the two halves on two threads.
    """
    hi, lo = _sum_of_squares(d, 1.0, nparts)
    scale = 1.0
    if not (2.0 ** -900 < hi < 2.0 ** 900) or lo != lo:
        big = _max_abs(d)
        if big != big or big == 0.0 or big == np.inf:
            return big
        # 2^-floor(log2 big), at most 2^1023: for a subnormal big the full power
        # would overflow (the squares of entries that small are negligible).
        scale = 2.0 ** -max(np.floor(np.log2(big)), -1023.0)
        hi, lo = _sum_of_squares(d, scale, nparts)
    root = np.sqrt(hi + lo)
    # One Newton correction with the double-double remainder.
    p, e = _two_product(root, root)
    root += ((hi - p) - e + lo) / (2.0 * root)
    return root / scale


@jit
def _max_abs(d):
    """max |d_i|, or NaN if some d_i is NaN."""
    big = 0.0
    for i in range(d.shape[0]):
        a = abs(d[i])
        if a != a:
            return a
        big = max(big, a)
    return big


@jit
def _sum_of_squares(d, scale, nparts):
    """(hi, lo) = sum of (scale d_i)^2 as a double-double.

    The two halves of d are summed separately (on two threads if ``nparts`` >
    1), then added: the same bits either way.
    """
    out = np.zeros((2, 2))
    if nparts == 1:
        _half_sums(d, scale, out)
    else:
        _half_sums_parallel(d, scale, out)
    return _dd_add(out[0, 0], out[0, 1], out[1, 0], out[1, 1])


def _half_sums_loops(d, scale, out):
    """out[h] = (hi, lo) over half h of d."""
    n = d.shape[0]
    for h in prange(2):
        start = h * (n // 2)
        stop = n // 2 if h == 0 else n
        out[h, 0], out[h, 1] = _lane_sums(d[start:stop], scale)


@jit
def _lane_sums(x, scale):
    """Sum of (scale x_i)^2 as a double-double, in LANES interleaved partial sums
    added pairwise at the end."""
    n = x.shape[0]
    hi = np.zeros(LANES)
    lo = np.zeros(LANES)
    n16 = n - n % LANES
    for i in range(0, n16, LANES):
        # Always LANES long; written so, the compiler keeps the loop and vectorizes it.
        for k in range(min(LANES, n16 - i)):
            # _dd_add_square written out: the call would keep the loop scalar.
            a = x[i + k] * scale
            p = a * a
            c = 134217729.0 * a
            ah = c - (c - a)
            al = a - ah
            e = ((ah * ah - p) + 2.0 * ah * al) + al * al
            s = hi[k] + p
            bb = s - hi[k]
            lo[k] = lo[k] + ((hi[k] - (s - bb)) + (p - bb) + e)
            hi[k] = s
    for i in range(n16, n):
        hi[0], lo[0] = _dd_add_square(hi[0], lo[0], x[i] * scale)
    width = LANES
    while width > 1:            # pairwise: lane k += lane k + width/2
        width //= 2
        for k in range(width):
            hi[k], lo[k] = _dd_add(hi[k], lo[k], hi[k + width], lo[k + width])
    return hi[0], lo[0]


#: Double-double partial sums per half in :func:`norm2`.
LANES = 16


_half_sums, _half_sums_parallel = twins(_half_sums_loops)


@jit
def _dd_add_square(hi, lo, a):
    """(hi, lo) + a*a, with the square's rounding error kept exactly (Dekker)."""
    p = a * a
    c = 134217729.0 * a          # 2^27 + 1: split a into two 26-bit halves
    ah = c - (c - a)
    al = a - ah
    e = ((ah * ah - p) + 2.0 * ah * al) + al * al
    s = hi + p
    bb = s - hi
    return s, lo + ((hi - (s - bb)) + (p - bb) + e)


@jit
def _dd_add(ah, al, bh, bl):
    """(ah + al) + (bh + bl) as a double-double (Knuth's two-sum on the high parts)."""
    s = ah + bh
    bb = s - ah
    err = (ah - (s - bb)) + (bh - bb) + al + bl
    hi = s + err
    return hi, err - (hi - s)


@jit
def _two_product(a, b):
    """a*b = p + e exactly (Dekker's algorithm with Veltkamp splitting)."""
    p = a * b
    c = 134217729.0 * a          # 2^27 + 1
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


@jit
def start(x, g, d, l, u, nbd, cnstnd, iteration, t, r, nparts):
    """||d||, stpmax, and the saved start point t = x, r = g."""
    _vector.copy(t, x, nparts)
    _vector.copy(r, g, nparts)
    return norm2(d, nparts), max_step(x, d, l, u, nbd, cnstnd, iteration)


@jit
def _slope_and_search(f, g, d, stp, stpmx, task, first, istate, dstate, x, t, z, l, u, nbd,
                      cnstnd, nparts):
    """phi'(stp) = g'd, then one dcsrch call (skipped when the first slope is >= 0);
    when dcsrch asks for another trial, x := its point (:func:`trial_point`).

    Returns ``(gd, stp, task, msg, case, projg)``.  When the search ends here
    (dcsrch's convergence or warning), x is the new iterate and ``projg`` its
    projected-gradient norm, which the driver tests next (one compiled call
    fewer per iteration); otherwise ``projg`` is 0.
    """
    gd = _dense.dot(g, d)
    if first and gd >= 0.0:
        return gd, stp, task, 0, 0, 0.0
    stp, task, msg, case = more_thuente.dcsrch(f, gd, stp, FTOL, GTOL, XTOL, STPMIN, stpmx,
                                               task, istate, dstate)
    if task != CONVERGENCE and task != WARNING:
        trial_point(x, t, d, z, stp, l, u, nbd, cnstnd, nparts)
        return gd, stp, task, msg, case, 0.0
    return (gd, stp, task, msg, case,
            bounds.projected_gradient_norm(x, g, l, u, nbd, nparts, cnstnd))


@jit
def slope_and_search_lent(f, table, stp, stpmx, task, first, cnstnd, nparts):
    """:func:`_slope_and_search` on the engine's arrays, lent by address (:mod:`._lend`)."""
    t = table
    return _slope_and_search(f, floats1(t, G), floats1(t, D), stp, stpmx, task, first,
                             ints1(t, ISAVE), floats1(t, DSAVE), floats1(t, X),
                             floats1(t, XOLD), floats1(t, Z), floats1(t, L), floats1(t, U),
                             ints1(t, NBD), cnstnd, nparts)



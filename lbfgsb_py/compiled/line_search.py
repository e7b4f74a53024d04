"""Compiled: the L-BFGS-B side of the line search: stpmax, trial points, ||d||.

Along d = xbar - x (xbar: the subspace minimizer or the Cauchy point) the
search looks at x + stp d with 0 < stp <= stpmax, where stpmax keeps every
trial inside the box [BLNZ95 §6].  The first trial is stp = 1 except at the
very first iteration of an unboxed problem, where it is min(1/||d||, stpmax)
[BLNZ95 §6; SciPy ``lnsrlb`` C:2543-2682].  Each trial then goes to the
Moré–Thuente search (:mod:`lbfgsb_py.more_thuente`) with SciPy's constants.
"""
from numba import prange

from ..constants import BIG_STEP, CONVERGENCE, FTOL, GTOL, STPMIN, WARNING, XTOL
from . import _dense, _vector, _x87, bounds, more_thuente
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
def start(x, g, d, l, u, nbd, cnstnd, iteration, t, r, nparts):
    """||d||, stpmax, and the saved start point t = x, r = g."""
    _vector.copy(t, x, nparts)
    _vector.copy(r, g, nparts)
    return _x87.norm2(d), max_step(x, d, l, u, nbd, cnstnd, iteration)


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



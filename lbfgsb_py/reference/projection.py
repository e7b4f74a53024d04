"""The box l <= x <= u: each variable's status and the projected-gradient norm.

[BLNZ95 §2] writes the feasible set as {x : l <= x <= u} and the projection
P(x, l, u)_i = mid(l_i, x_i, u_i).  SciPy encodes the bounds of variable i as
``nbd[i]`` (0 none, 1 lower, 2 both, 3 upper; 0.0 in ``l``/``u`` where absent)
and keeps each variable's status for the Cauchy search in ``iwhere[i]``
(:class:`lbfgsb_py.bounds.VarStatus`: -1 unbounded, 0 free, 1 at its lower
bound, 2 at its upper bound, 3 always fixed (l = u), -3 zero gradient).
SciPy counterparts: ``active`` and ``projgr``.
"""
import numpy as np

#: iwhere codes (:class:`lbfgsb_py.bounds.VarStatus`).
UNBOUNDED, FREE, AT_LOWER, AT_UPPER, ALWAYS_FIXED, NOT_MOVED = -1, 0, 1, 2, 3, -3


def has_lower(nbd):
    """Variables with a lower bound (nbd 1 or 2)."""
    return (nbd == 1) | (nbd == 2)


def has_upper(nbd):
    """Variables with an upper bound (nbd 2 or 3)."""
    return (nbd == 2) | (nbd == 3)


#: Variables tested at once by :func:`first_hit` (doubled while nothing is found).
WINDOW = 64


def first_hit(test, start, n):
    """The first variable i >= start for which ``test`` holds, or -1.

    ``test(lo, hi)`` gives the test for variables lo..hi-1 as booleans.  SciPy
    scans the variables one by one, and a step bound found on the way changes
    the test for the variables after it; so the scan looks at a window of
    variables at a time (doubled while nothing is found) and costs about one
    window per hit instead of a pass over all the rest.
    """
    width = WINDOW
    while start < n:
        stop = min(start + width, n)
        hits = np.flatnonzero(test(start, stop))
        if hits.shape[0]:
            return start + int(hits[0])
        start, width = stop, 2 * width
    return -1


def initial_status(state):
    """Set ``iwhere`` before the first iteration; return ``(cnstnd, boxed)``.

    A variable without bounds is UNBOUNDED (-1) for good, one with l = u (or
    l > u) ALWAYS_FIXED (3), any other FREE (0) for now.  ``cnstnd``: some
    variable has a bound; ``boxed``: every variable has both (SciPy ``active``).
    """
    s = state
    fixed = (s.nbd == 2) & (s.u - s.l <= 0.0)
    s.iwhere[:] = np.where(s.nbd == 0, UNBOUNDED, np.where(fixed, ALWAYS_FIXED, FREE))
    return bool(np.any(s.nbd != 0)), bool(np.all(s.nbd == 2))


def projected_step(x, g, l, u, nbd):
    """P(x - g, l, u) - x, componentwise; a NaN g_i gives NaN (SciPy's ``projgr``).

    For g_i < 0 the step is g_i or, if smaller in size, the way to the upper
    bound x_i - u_i; for g_i >= 0, g_i or the way to the lower bound x_i - l_i.
    """
    to_upper = (g < 0.0) & (nbd >= 2) & (x - u > g)
    to_lower = (g >= 0.0) & has_lower(nbd) & (x - l < g)
    return np.where(to_upper, x - u, np.where(to_lower, x - l, g))


def largest(values):
    """The largest of non-negative numbers, NaN if one is NaN.

    For doubles >= 0 (and NaN, above inf) IEEE order is the order of the bit
    patterns as integers, so the largest pattern is the maximum; among NaNs it
    picks the one the compiled backend picks, payload included.
    """
    if values.shape[0] == 0:
        return 0.0
    return float(values.view(np.int64).max().view(np.float64))


def projected_gradient_norm(state):
    """||P(x - g, l, u) - x||_inf, the stationarity measure [BLNZ95 (6.1)].

    NaN if some g_i is NaN (SciPy's rule, so that the ``<= gtol`` test fails).
    Without any bound it is max |g_i|, and only g is read.
    """
    s = state
    if not s.cnstnd:
        return largest(np.abs(s.g))
    return largest(np.abs(projected_step(s.x, s.g, s.l, s.u, s.nbd)))

"""The L-BFGS-B side of the line search [BLNZ95 §6]: stpmax, trial points, one step.

Along d = xbar - x the search looks at x + stp d with 0 < stp <= stpmax, where
stpmax keeps every trial in the box (1 at the first iteration of a problem with
bounds, where d ends at the Cauchy point; 1e10 without bounds).  Each trial's
phi(stp), phi'(stp) = g'd go to the Moré-Thuente search
(:mod:`.more_thuente`).  SciPy counterpart: ``lnsrlb``.
"""
import numpy as np

from ..constants import BIG_STEP, CONVERGENCE, EPSMCH, FTOL, GTOL, STPMIN, WARNING, XTOL
from .blas import dot, fmax, fmin, norm2
from .more_thuente import dcsrch
from .projection import has_lower, has_upper, projected_gradient_norm


def max_step(x, d, l, u, nbd, cnstnd, iteration):
    """The largest stp with x + stp d in the box (``stpmx`` of SciPy's ``lnsrlb``).

    SciPy scans the variables in order, from stpmax = 1e10: one already at the
    bound it heads for makes stpmax 0; one whose bound is nearer than stpmax d_i
    (tested as d_i stpmax < l_i - x_i, or > u_i - x_i) makes stpmax its ratio
    (bound - x_i) / d_i.  In exact arithmetic that is the smallest ratio; in
    floating point the test and the ratio can disagree in the last bit, so the
    scan itself decides.  Only the variables whose ratio is within a few units
    in the last place of the smallest ratio before them can pass the test
    (:func:`_candidates`), and the scan runs over those alone.
    """
    if not cnstnd:
        return BIG_STEP
    if iteration == 0:
        return 1.0
    down = (d < 0.0) & has_lower(nbd)                   # heads for its lower bound
    up = (d > 0.0) & has_upper(nbd)                     # heads for its upper bound
    room = np.where(down, l - x, u - x)
    at_bound = (down & (room >= 0.0)) | (up & (room <= 0.0))
    stpmx = BIG_STEP
    for i in _candidates(d, room, down | up, at_bound):
        if at_bound[i]:
            return 0.0
        di, ri = float(d[i]), float(room[i])
        if (down[i] and di * stpmx < ri) or (up[i] and di * stpmx > ri):
            stpmx = ri / di
    return stpmx


def _candidates(d, room, heading, at_bound):
    """The variables (in order) that can change stpmax in :func:`max_step`'s scan:
    those at their bound, and those whose ratio room/d is at most the smallest
    ratio before them (and 1e10) times 1 + 16 eps, or that are too tiny for that
    bound to hold (|d| or |room| below 1e-290, where products lose their bits)."""
    with np.errstate(all="ignore"):
        ratio = np.where(heading, room / d, np.inf)
    before = np.minimum.accumulate(np.concatenate(([BIG_STEP], ratio)))[:-1]
    tiny = heading & ((np.abs(d) < TINY) | (np.abs(room) < TINY))
    near = heading & (ratio <= before * (1.0 + 16 * EPSMCH))
    return np.flatnonzero(at_bound | near | tiny)


#: Below this size a product d_i stpmax may be subnormal (see :func:`_candidates`).
TINY = 1e-290


def start(state):
    """A new search from x along d: save xold = x, gold = g; return (||d||, stpmax)."""
    s = state
    s.xold[:] = s.x
    s.gold[:] = s.g
    dnorm = norm2(s.d)
    return float(dnorm), max_step(s.x, s.d, s.l, s.u, s.nbd, s.cnstnd, s.iter)


def trial_point(x, xold, d, z, stp, l, u, nbd, cnstnd):
    """x := xold + stp d, clipped to the box (x := z exactly when stp = 1).

    The clip is SciPy's guard against rounding past a bound (gh-10942); without
    any bound there is nothing to clip.
    """
    if stp == 1.0:
        x[:] = z
        return
    x[:] = stp * d + xold
    if cnstnd:
        x[:] = np.where(has_lower(nbd), fmax(x, l), x)
        x[:] = np.where(has_upper(nbd), fmin(x, u), x)


def line_search_step(state, f, first):
    """Test the trial just evaluated (phi = f, phi' = g'd) and set up the next.

    g'd in ``ddot`` order; then one ``dcsrch`` call, unless this is the first
    test and d is not a descent direction (g'd >= 0: no search possible).  When
    dcsrch asks for another trial x becomes it; when the search has ended
    (convergence or a warning) x is the new iterate and the last result is its
    projected-gradient norm (0.0 otherwise).  Returns ``(gd, stp, task, msg,
    case, projg)``; writes x, isave and dsave only.
    """
    s = state
    gd = dot(s.g, s.d)
    if first and gd >= 0.0:
        return float(gd), float(s.stp), int(s.ls_task), 0, 0, 0.0
    stp, task, msg, case = dcsrch(f, gd, s.stp, FTOL, GTOL, XTOL, STPMIN, s.stpmx, s.ls_task,
                                  s.isave, s.dsave)
    projg = 0.0
    if task in (CONVERGENCE, WARNING):
        projg = projected_gradient_norm(s)
    else:
        trial_point(s.x, s.xold, s.d, s.z, stp, s.l, s.u, s.nbd, s.cnstnd)
    return float(gd), float(stp), int(task), int(msg), int(case), float(projg)

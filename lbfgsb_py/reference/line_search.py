"""The L-BFGS-B side of the line search [BLNZ95 §6]: stpmax, trial points, one step.

Along d = xbar - x the search looks at x + stp d with 0 < stp <= stpmax, where
stpmax keeps every trial in the box (1 at the first iteration of a problem with
bounds, where d ends at the Cauchy point; 1e10 without bounds).  Each trial's
phi(stp), phi'(stp) = g'd go to the Moré-Thuente search
(:mod:`.more_thuente`).  SciPy counterpart: ``lnsrlb``.
"""
import numpy as np

from ..constants import BIG_STEP, CONVERGENCE, FTOL, GTOL, STPMIN, WARNING, XTOL
from .blas import dot, fmax, fmin, norm2
from .more_thuente import dcsrch
from .projection import has_lower, has_upper, projected_gradient_norm


def _first(mask, start):
    """The first True of mask[start:] as a position in mask, or -1."""
    hits = np.flatnonzero(mask[start:])
    return start + int(hits[0]) if hits.shape[0] else -1


def max_step(x, d, l, u, nbd, cnstnd, iteration):
    """The largest stp with x + stp d in the box (``stpmx`` of SciPy's ``lnsrlb``).

    SciPy scans the variables in order: one already at the bound it heads for
    makes stpmax 0; one whose bound is nearer than stpmax d_i (tested as
    d_i stpmax < u_i - x_i, or > for a lower bound) makes stpmax (bound -
    x_i) / d_i.  Here each round finds the next variable that changes stpmax
    (a vector test over the rest), so the loop runs once per change.
    """
    if not cnstnd:
        return BIG_STEP
    if iteration == 0:
        return 1.0
    down = (d < 0.0) & has_lower(nbd)                   # heads for its lower bound
    up = (d > 0.0) & has_upper(nbd)                     # heads for its upper bound
    room = np.where(down, l - x, u - x)
    at_bound = (down & (room >= 0.0)) | (up & (room <= 0.0))
    stpmx, i = np.float64(BIG_STEP), 0
    while stpmx != 0.0:
        crosses = (down & (d * stpmx < room)) | (up & (d * stpmx > room))
        i = _first(at_bound | crosses, i)
        if i < 0:
            break
        stpmx, i = (np.float64(0.0) if at_bound[i] else room[i] / d[i]), i + 1
    return float(stpmx)


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

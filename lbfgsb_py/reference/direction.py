"""Steps 1-2 of an iteration [BLNZ95 §2, Algorithm L-BFGS-B]: the search direction.

The generalized Cauchy point xcp (:mod:`.cauchy`), the free set there
(:mod:`.free_set`), the subspace minimization from xcp to xbar
(:mod:`.subspace`), then d = xbar - x and the start of the line search
(:func:`.line_search.start`).  SciPy's order (``mainlb``): without bounds and
with pairs in memory the Cauchy search is skipped (xcp = x); the subspace step
is skipped when no variable is free or the memory is empty.
"""
from ..constants import FAILED_CAUCHY, FAILED_FORMK, FAILED_SUBSM, OK, SUB_NOT_RUN
from . import cauchy, free_set, line_search, subspace


def search_direction(state):
    """Set z = xbar and d = z - x, and start the line search; report what happened.

    Returns ``(stage, info, nbreak, nseg, tsum, nfree, nenter, ileave, wrk,
    iword, alpha, dd_p, dnorm, stpmx)``: ``stage`` OK or the step that failed
    (FAILED_CAUCHY, FAILED_FORMK, FAILED_SUBSM, with SciPy's ``info``); the
    Cauchy search's breakpoints, segments and t; the new free-set size and the
    entering / leaving counts; ``wrk`` (K must be rebuilt); the subspace
    step's ``iword``, ``alpha`` and ``dd_p``; ||d|| and the largest feasible
    step.  Assigns no scalar of the state (the driver does, from this tuple);
    writes its arrays (z, d, xcp, iwhere, the free set, the Cauchy and
    subspace work arrays, xold = x, gold = g).
    """
    s = state
    n, nfree = s.n, s.nfree
    nbreak, nseg, tsum, nenter, ileave = 0, 0, 0.0, 0, n
    if s.cnstnd or s.col == 0:
        nseg, info, nbreak, tsum = cauchy.generalized_cauchy_point(s)
        if info != 0:
            return (FAILED_CAUCHY, info, nbreak, nseg, tsum, nfree, nenter, ileave, False,
                    SUB_NOT_RUN, 1.0, 0.0, 0.0, 0.0)
        s.xcp[:] = s.z
        nfree, nenter, ileave = free_set.free_variables(s.index, s.indx2, s.iwhere, nfree,
                                                        s.iter, s.cnstnd)
        wrk = ileave < n or nenter > 0 or bool(s.updatd)
    else:
        s.z[:] = s.x                              # no bounds: xcp = x
        wrk = bool(s.updatd)
    iword, alpha, dd_p = SUB_NOT_RUN, 1.0, 0.0
    if nfree != 0 and s.col != 0:
        failed, info, iword, alpha, dd_p = subspace.minimize_subspace(s, nfree, nenter,
                                                                      ileave, wrk)
        if failed:
            stage = FAILED_FORMK if failed == subspace.FAILED_FORMK else FAILED_SUBSM
            return (stage, info, nbreak, nseg, tsum, nfree, nenter, ileave, wrk, iword,
                    alpha, dd_p, 0.0, 0.0)
    s.d[:] = s.z - s.x
    dnorm, stpmx = line_search.start(s)
    return (OK, 0, nbreak, nseg, tsum, nfree, nenter, ileave, wrk, iword, alpha, dd_p, dnorm,
            stpmx)

"""Compiled: steps 1-2 of an iteration in one call: the search direction d = xbar - x.

(And the start of step 3: the line search's ||d||, stpmax and saved point.)

[BLNZ95 §2, Algorithm L-BFGS-B, steps 2-3]: the generalized Cauchy point xcp
(:mod:`.cauchy`), the free set there (:mod:`.active_set`), the subspace
minimization from xcp to xbar (:mod:`.subspace`), then d = xbar - x.  SciPy's
order (``mainlb`` C:815-870): without bounds and with pairs in memory the
Cauchy search is skipped (xcp = x); the subspace step is skipped when no
variable is free or the memory is empty.

One call instead of three because at small n the cost of entering a compiled
function (about 0.1 us per array argument) is larger than the work itself.
The driver reads the returned counts to decide (reset the memory and retry on a
failed factorization) and to emit the trace events.
"""
from ..constants import FAILED_CAUCHY, FAILED_FORMK, FAILED_SUBSM, OK, SUB_NOT_RUN
from . import _vector, active_set, cauchy, line_search, subspace
from ._jit import jit
from ._lend import (C, D, G, INDEX, INDX2, IORDER, IWHERE, GOLD, XOLD, NBD, SEGMENTS, SY,
                    T_BREAK, WBP, WN, WN1, WS, WT, WY, XP, L, P, R, U, V, X, Z, floats1, floats2,
                    floats3, ints1, uints1)

@jit
def search_direction(x, l, u, nbd, g, iwhere, index, indx2, nfree, iteration, cnstnd,
                     sbgnrm, ws, wy, sy, wt, theta, col, head, updatd, iupdat, wn, wn1,
                     z, d, xcp, t_break, iorder, p, c, wbp, v, segments, r, xp, variant,
                     t, r_start, nparts):
    """Set z = xbar and d = z - x, and start the line search; return what happened.

    Returns ``(stage, info, nbreak, nseg, tsum, nfree, nenter, ileave, wrk, iword,
    alpha, dd_p, dnorm, stpmx)``: ``stage`` is :data:`OK` or the step that
    failed (with SciPy's ``info``); the Cauchy search's breakpoint and segment
    counts and its t; the new free-set size and the entering / leaving counts
    of :func:`~lbfgsb_py.active_set.free_variables`; ``wrk`` (K was rebuilt);
    the subspace step's ``iword``, ``alpha`` and ``dd_p``; and, from
    :func:`lbfgsb_py.line_search.start` (which also saves t = x, r_start = g),
    ||d|| and the largest feasible step.  When ``xcp`` has n entries it
    receives a copy of the Cauchy point.
    """
    n = x.shape[0]
    # indx2 is free until free_variables fills it: the Cauchy search uses it as scratch.
    nbreak, nseg, tsum, nenter, ileave = 0, 0, 0.0, 0, n
    if cnstnd or col == 0:
        nseg, info, nbreak, tsum = cauchy.cauchy(x, l, u, nbd, g, iwhere, ws, wy, sy, wt,
                                                 theta, col, head, sbgnrm, z, d, t_break,
                                                 iorder, p, c, wbp, v, segments, indx2,
                                                 nparts)
        if info != 0:
            return (FAILED_CAUCHY, info, nbreak, nseg, tsum, nfree, nenter, ileave, False,
                    SUB_NOT_RUN, 1.0, 0.0, 0.0, 0.0)
        if xcp.shape[0] == n:
            xcp[:] = z
        nfree, nenter, ileave = active_set.free_variables(index, indx2, iwhere, nfree,
                                                          iteration, cnstnd)
        wrk = ileave < n or nenter > 0 or updatd
    else:
        _vector.copy(z, x, nparts)
        wrk = updatd
    iword, alpha, dd_p = SUB_NOT_RUN, 1.0, 0.0
    if nfree != 0 and col != 0:
        failed, info, iword, alpha, dd_p = subspace.minimize_subspace(
            wn, wn1, ws, wy, sy, wt, theta, col, head, updatd, iupdat, wrk, x, g, l, u, nbd,
            z, r, xp, c, v, index, nfree, indx2, nenter, ileave, cnstnd, variant, nparts)
        if failed != 0:
            stage = FAILED_FORMK if failed == subspace.FAILED_FORMK else FAILED_SUBSM
            return (stage, info, nbreak, nseg, tsum, nfree, nenter, ileave, wrk, iword,
                    alpha, dd_p, 0.0, 0.0)
    _vector.difference(z, x, d, nparts)
    dnorm, stpmx = line_search.start(x, g, d, l, u, nbd, cnstnd, iteration, t, r_start, nparts)
    return (OK, 0, nbreak, nseg, tsum, nfree, nenter, ileave, wrk, iword, alpha, dd_p, dnorm,
            stpmx)


@jit
def search_direction_lent(table, xcp, nfree, iteration, cnstnd, sbgnrm, theta, col, head,
                          updatd, iupdat, variant, nparts):
    """:func:`search_direction` on the engine's arrays, lent by address (:mod:`._lend`)."""
    t = table
    return search_direction(
        floats1(t, X), floats1(t, L), floats1(t, U), ints1(t, NBD), floats1(t, G),
        ints1(t, IWHERE), uints1(t, INDEX), uints1(t, INDX2), nfree, iteration, cnstnd, sbgnrm,
        floats2(t, WS), floats2(t, WY), floats2(t, SY), floats2(t, WT), theta, col, head, updatd,
        iupdat, floats2(t, WN), floats3(t, WN1), floats1(t, Z), floats1(t, D), xcp,
        floats1(t, T_BREAK), ints1(t, IORDER), floats1(t, P), floats1(t, C), floats1(t, WBP),
        floats1(t, V), floats2(t, SEGMENTS), floats1(t, R), floats1(t, XP), variant,
        floats1(t, XOLD), floats1(t, GOLD), nparts)

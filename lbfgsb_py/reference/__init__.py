"""The reference backend: L-BFGS-B in plain Python and NumPy, to read beside the papers.

[BLNZ95] R. Byrd, P. Lu, J. Nocedal, C. Zhu, "A limited memory algorithm for
bound constrained optimization", SIAM J. Sci. Comput. 16 (1995);
[BNS94] R. Byrd, J. Nocedal, R. Schnabel, "Representations of quasi-Newton
matrices and their use in limited memory methods", Math. Prog. 63 (1994);
[MN11] J. L. Morales, J. Nocedal, "Remark on Algorithm 778", ACM TOMS 38 (2011);
[MT94] J. Moré, D. Thuente, "Line search algorithms with guaranteed sufficient
decrease", ACM TOMS 20 (1994).

One module per concept:

* :mod:`.projection` -- the box, each variable's status, the projected gradient;
* :mod:`.cauchy` -- the generalized Cauchy point [BLNZ95 §4];
* :mod:`.free_set` -- the free variables there [BLNZ95 §5];
* :mod:`.compact` -- the compact matrices W, M and their updates [BLNZ95 §3, BNS94];
* :mod:`.subspace` -- the subspace minimization [BLNZ95 §5, MN11];
* :mod:`.line_search` and :mod:`.more_thuente` -- the line search [BLNZ95 §6, MT94];
* :mod:`.direction` -- steps 1-2 of an iteration put together;
* :mod:`.blas` -- the order of every floating-point sum, written down once.

Five entry points, each a function of the run's :class:`~lbfgsb_py.state.State`,
give the same bits as the compiled backend (:mod:`lbfgsb_py.compiled`), which
gives SciPy's.  Arithmetic runs with NumPy floats under
``np.errstate(all="ignore")``: x/0 is inf or NaN, as in C, never an exception.
"""
import functools

import numpy as np

from . import compact, direction, line_search, projection

#: Arrays the reference may leave with other contents than the compiled backend
#: (scratch space); the differential runner skips them.  None: every array matches.
WORKSPACE = ()


def _c_arithmetic(step):
    """Run ``step`` with floating-point exceptions off (C semantics: inf, NaN)."""
    @functools.wraps(step)
    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return step(*args, **kwargs)
    return run


#: Before the first iteration: ``iwhere``; returns (cnstnd, boxed).
initial_status = _c_arithmetic(projection.initial_status)
#: ||P(x - g) - x||_inf at the state's x and g.
projected_gradient_norm = _c_arithmetic(projection.projected_gradient_norm)
#: Steps 1-2: Cauchy point, free set, subspace step, d = xbar - x.
search_direction = _c_arithmetic(direction.search_direction)
#: Step 3, one trial: g'd, dcsrch, the next trial point (state, f, first).
line_search_step = _c_arithmetic(line_search.line_search_step)
#: Step 5: the pair (s, y), the skip test, S'Y, S'S and J.
add_step = _c_arithmetic(compact.add_step)

__all__ = ["initial_status", "projected_gradient_norm", "search_direction",
           "line_search_step", "add_step", "WORKSPACE"]

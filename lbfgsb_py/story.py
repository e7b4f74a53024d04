"""One iteration told in plain sentences, built from its trace events.

:func:`story` walks the events of iteration k (numbered as the iteration
table's rows, :attr:`~lbfgsb_py.trace.Event.it`) and says what each decision
was and why: the Cauchy search segment by segment, the free set, the subspace
step, each line-search trial with its two tests and the dcstep case in words,
the stopping tests and the update.  At trace level ``"full"`` it also names
the variables (free, entering, leaving, hitting a bound).
"""
from .render import as_trace, compact

#: The dcstep case [MT94 §4] that chose the next trial step, in words.
CASE_WORDS = {
    0: "no new step computed",
    1: "case 1: higher f, the minimizer is bracketed",
    2: "case 2: lower f and the slope changed sign, the minimizer is bracketed",
    3: "case 3: lower f, same slope sign, smaller slope: step further with care",
    4: "case 4: lower f, same slope sign, slope not smaller: extrapolate",
    5: "bisection: the interpolated step would not shrink the bracket enough",
}
SUBSPACE_WORDS = {
    "skipped_no_memory": "No pairs in memory (B = theta I): the subspace step is skipped and "
                         "d ends at the Cauchy point.",
    "skipped_no_free": "No variable is free at the Cauchy point: the search heads for it.",
    "inside": "The Newton step on the free variables stays inside the box (con).",
    "projected": "The Newton step left the box; projected onto it, it still descends "
                 "((xbar - x)'g = {dd_p:.3g} <= 0), so the projection is kept (bnd).",
    "backtracked": "The Newton step left the box and its projection would not descend: "
                   "it is shortened to alpha = {alpha:.3g} of its length (bnd).",
}
SEARCH_END_WORDS = {
    "converged": "both Wolfe conditions hold: the step is accepted",
    "warning": "dcsrch gave up ({message}) and its best step is accepted",
    "maxls": "the trial limit was reached without an acceptable step: the search failed",
    "not_descent": "d is not a descent direction (phi'(0) >= 0): the search failed",
}


def story(trace, k):
    """Iteration ``k`` of a trace (a Trace, a Result or a list of events) as text."""
    events = as_trace(trace).at_iteration(k)
    if not events:
        raise ValueError(f"the trace has no events for iteration {k}")
    teller = _Teller()
    return "".join(teller.say(e) for e in events)


class _Teller:
    """One sentence (or a few) per event; remembers phi(0) for the trials."""

    def __init__(self):
        self.f0 = None

    def say(self, e):
        text = getattr(self, "_" + e.kind, lambda e: "")(e)
        return text + "\n" if text else ""

    def _run_start(self, e):
        return (f"The problem has {e.n} variable(s), {e.n_bounded} with a bound; the memory "
                f"keeps m = {e.m} pairs; gtol = {e.gtol:g}, ftol = {e.ftol:g}.")

    def _initial_point(self, e):
        return (f"At x0 f = {e.f:.8g} and the projected gradient is {e.projg:.3g}; "
                f"{e.n_at_bound} variable(s) start at a bound.")

    def _iteration_start(self, e):
        return (f"Iteration {e.it} starts at f = {e.f:.8g} (projected gradient {e.projg:.3g}) "
                f"with {e.col} pair(s) in memory, theta = {e.theta:.4g}.")

    def _cauchy_breakpoint(self, e):
        start = (f"  Segment {e.segment}: the model's slope is {e.f1:.3g}, its curvature "
                 f"{e.f2:.3g}; ")
        if e.gcp_in_segment:
            return start + f"its minimizer lies inside, dt* = {e.dtm:.4g}: the Cauchy point."
        if e.variable >= 0:
            return start + f"variable {e.variable} hits its bound at t = {e.t_break:.4g}."
        return start + "no breakpoint is left."

    def _cauchy_point(self, e):
        if e.skipped == "unconstrained":
            return "No bounds and pairs in memory: the Cauchy search is skipped (xcp = x)."
        if e.skipped == "zero_projected_gradient":
            return "The projected gradient is zero: the Cauchy point is x."
        where = f" at {compact(e.xcp)}" if len(e.xcp) else ""
        return (f"The generalized Cauchy point{where} lies at t = {e.t:.4g} on the projected "
                f"steepest-descent path, after {e.n_segments} segment(s) and "
                f"{e.n_breakpoints} breakpoint(s); {e.n_active} variable(s) are at a bound.")

    def _free_set(self, e):
        which = f" ({compact(e.free)})" if len(e.free) else ""
        moves = f"; {e.n_entering} entered and {e.n_leaving} left the free set"
        if len(e.entering) or len(e.leaving):
            moves += f" (entering {compact(e.entering)}, leaving {compact(e.leaving)})"
        return f"{e.n_free} variable(s) are free{which}{moves}."

    def _subspace_step(self, e):
        return SUBSPACE_WORDS[e.outcome].format(dd_p=e.dd_p, alpha=e.alpha)

    def _line_search_start(self, e):
        self.f0 = e.f0
        return (f"The line search starts along d (||d|| = {e.dnorm:.3g}, phi'(0) = g'd = "
                f"{e.gd:.3g}) with stp = {e.stp:.4g} (largest feasible step {e.stpmax:.4g}).")

    def _line_search_trial(self, e):
        rise = f" (f - f0 = {e.f - self.f0:.3g})" if self.f0 is not None else ""
        tests = (f"sufficient decrease {'holds' if e.sufficient_decrease else 'fails'} "
                 f"(bound {e.ftest:.10g}), curvature {'holds' if e.curvature else 'fails'} "
                 f"(phi' = {e.gd:.3g})")
        verdict = (f"{CASE_WORDS.get(e.case, f'case {e.case}')}; next stp = {e.next_stp:.4g}"
                   if e.task == "FG" else f"dcsrch: {e.task} {e.message}".rstrip())
        return f"  Trial {e.trial}: stp = {e.stp:.4g}, f = {e.f:.10g}{rise}; {tests}; {verdict}."

    def _line_search_end(self, e):
        words = SEARCH_END_WORDS[e.outcome].format(message=e.message)
        return f"The search ends after {e.n_trials} trial(s): {words} (stp = {e.stp:.4g})."

    def _iteration_end(self, e):
        return (f"New iterate: f = {e.f:.10g}, projected gradient {e.projg:.3g}, step length "
                f"{e.tstep:.3g}.")

    def _convergence_test(self, e):
        verdict = "stop" if e.passed else "go on"
        return (f"Stopping test {e.test}: {e.value:.3g} {'<=' if e.passed else '>'} "
                f"{e.tolerance:.3g}: {verdict}.")

    def _bfgs_update(self, e):
        if e.applied:
            return (f"The pair (s, y) is stored: s'y = {e.sy:.3g} > eps * (-s'g) = "
                    f"{e.threshold:.3g}; theta = y'y / s'y = {e.theta:.4g}, {e.col} pair(s).")
        return (f"The update is skipped: s'y = {e.sy:.3g} <= eps * (-s'g) = {e.threshold:.3g} "
                f"(too little curvature).")

    def _memory_reset(self, e):
        return (f"The memory ({e.col_before} pair(s)) is discarded ({e.reason.replace('_', ' ')})"
                f" and the iteration restarts with B = I.")

    def _termination(self, e):
        return f"The run ends: {e.message}"

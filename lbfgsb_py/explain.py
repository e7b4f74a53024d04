"""``explain``: why did L-BFGS-B stop where it stopped?

:func:`explain` reads the events of a run (a :class:`~lbfgsb_py.api.Result`, a
:class:`~lbfgsb_py.trace.Trace` or a JSON Lines trace file) and names the
likely causes, most likely first, each with the numbers that show it and short
advice.  The codes are the keys of :data:`CAUSES`.  Given the objective
(``fun=``, same calling convention as :func:`~lbfgsb_py.minimize`) it also
probes f itself: its resolution and kinks over a ladder of steps, the gradient
against central differences (only where f resolves them), whether f changes at
all for a finite-difference step ``eps``, the curvature of each variable.

How the decision is made is documented in ``docs/explain.md``.
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field

import numpy as np

from . import trace as ev
from .api import parse_bounds
from .objective import as_scalar

#: Cause code -> one-line meaning.  The order is the priority order used when
#: several causes are found.
CAUSES = {
    "nonfinite": "f or the gradient became inf or NaN (overflow, log of <= 0, 0/0, ...)",
    "wrong_gradient": "the gradient does not match f: f did not change as g'd predicted",
    "nonsmooth": "f has kinks at the final point (abs, max, branches): one-sided slopes "
                 "differ, so no gradient describes f there",
    "noise_floor": "f's resolution near the final point (rounding, noise, a loose inner "
                   "solver) is coarser than the decrease the line search asks for",
    "zero_projected_gradient": "the gradient was exactly zero at the start for variables "
                               "that are free to move",
    "fd_step_too_small": "the finite-difference step eps is below the resolution of f, "
                         "so the numerical gradient is zero",
    "line_search_exhausted": "the last line search ran out of trials (maxls) or dcsrch "
                             "gave up with a warning",
    "stalled": "stopped before the projected gradient reached gtol (ftol test, "
               "iteration/evaluation limit or callback)",
    "bad_scaling": "variables or curvatures differ by orders of magnitude",
    "optimal_at_bounds": "optimal with some variables held at their bounds (the gradient "
                         "pushes them outward)",
    "converged": "nothing wrong: the run met its tolerance",
}

_OUTCOMES = ("optimal_at_bounds", "converged")
EPS = float(np.finfo(np.float64).eps)
_LIST_MAX = 20          # longest index / trial list kept in the evidence
_STALL_RATIO = 1e3      # ftol stop with projg above this many gtol is a stall
_THETA_RATIO = 1e4      # spread of theta = y'y/s'y that suggests bad scaling
_CURVATURE_RATIO = 1e2  # spread of diagonal curvatures that suggests bad scaling
_LONG_STEP = 1e2        # accepted step length after iteration 1 that suggests it

_ADVICE = {
    "nonfinite": [
        "make f and g finite over the whole box: clip arguments of exp/pow, use "
        "np.logaddexp, log1p, expm1",
        "add bounds that keep x where f is defined (L-BFGS-B never leaves the box)",
    ],
    "wrong_gradient": [
        "compare jac with finite differences: explain(result, fun, jac=jac) or "
        "scipy.optimize.check_grad",
        "look for a sign error, a missing factor or a swapped index in the worst components",
        "if f is not smooth (abs, max, round, branches) no gradient describes it near x",
    ],
    "nonsmooth": [
        "smooth the kinks: |t| = t_plus + t_minus with new variables t_plus, t_minus >= 0 "
        "(bounds L-BFGS-B handles), or sqrt(t^2 + mu^2); max(a, b) via log-sum-exp",
        "or use a method for nonsmooth problems (Nelder-Mead or Powell for a few "
        "variables, a bundle or proximal method)",
    ],
    "noise_floor": [
        "compute f more precisely: float64 throughout, a tighter tolerance (or a fixed "
        "iteration count) in inner solvers and simulations, no rounding of the result",
    ],
    "zero_projected_gradient": [
        "check that f depends on x: print f(x0 + h e_i) - f(x0) for a few i and h",
        "variables at a bound with the gradient pushing outward cannot move: check "
        "the bounds and x0",
    ],
    "fd_step_too_small": [
        "rescale x so that a step of eps changes f, or give an analytic gradient",
        "rounding / quantization inside f (round, int casts, lookup tables) makes it "
        "piecewise constant: smooth it for gradient-based optimization",
    ],
    "line_search_exhausted": [
        "usually a symptom: check wrong_gradient, nonfinite and bad_scaling first",
        "raise maxls (default 20) if the trials were still making progress",
        "if f is noisy at the scale of the last steps, loosen ftol/gtol or smooth f",
    ],
    "stalled": [
        "a stall with a large projected gradient often comes with bad scaling or a noisy f",
    ],
    "bad_scaling": [
        "rescale the variables to typical sizes near 1 (optimize over x / s)",
        "rescale f so that its typical changes are of order 1",
    ],
    "optimal_at_bounds": ["nothing to fix; check that the active bounds are intended"],
    "converged": ["nothing to fix"],
}


@dataclass
class Diagnosis:
    """What :func:`explain` found.

    Attributes:
        causes: cause codes (keys of :data:`CAUSES`), most likely first.
        evidence: code -> dict of the numbers, variable indices and
            iterations that support it.
        advice: code -> list of short suggestions.
        summary: one line.
        checks: results of the probes run with ``fun=`` (also those that
            found nothing wrong).
    """

    causes: list
    evidence: dict
    advice: dict
    summary: str
    checks: dict = field(default_factory=dict)

    @property
    def primary(self):
        """The most likely cause (None if there is none)."""
        return self.causes[0] if self.causes else None

    def __str__(self):
        lines = [self.summary]
        for k, code in enumerate(self.causes, 1):
            lines.append(f"{k}. {code}: {CAUSES[code]}")
            items = ", ".join(f"{key}={_fmt(v)}" for key, v in self.evidence.get(code, {}).items())
            if items:
                lines.append(f"     evidence: {items}")
            lines.extend(f"     - {tip}" for tip in self.advice.get(code, []))
        if self.checks:
            lines.append(CHECKS_HEADER)
        for name, result in self.checks.items():
            lines.append(f"check {name}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in result.items()))
            lines.append(f"     ({CHECKS[name]})")
        return "\n".join(lines)


#: Printed before the ``check`` lines.
CHECKS_HEADER = ("probes of f itself (explain with fun=; how each works: docs/explain.md, "
                 "'What fun= adds'):")
#: What each probe of ``fun=`` measures (printed under its ``check`` line).
CHECKS = {
    "resolution": "the smallest change of f measurable near x, from a ladder of steps "
                  "along d and up to 10 coordinates",
    "kinks": "one-sided slopes that differ by more than f's resolution: where f is not smooth",
    "direction": "g'd of the last line search against a central difference of f along d",
    "coordinates": "each gradient component against a central difference; worst = "
                   "(index, analytic, numeric)",
    "fd_step": "the finite-difference step at which f starts to change (suggested_eps)",
    "curvature": "second differences d2f/dx_i^2 at x; curvature_ratio = largest / smallest "
                 "positive one (100 or more: bad_scaling); stiffest, flattest = "
                 "(index, d2f/dx_i^2)",
    "bounds": "variables fixed by l == u, at a bound, and at a bound with the gradient "
              "pushing outward",
}


#: Long lists in the printed evidence show their first and last items only
#: (the full lists stay in ``Diagnosis.evidence``).
SHOW_ITEMS = 3


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if len(value) > 2 * SHOW_ITEMS + 1:
            hidden = len(value) - 2 * SHOW_ITEMS
            return ("[" + ", ".join(_fmt(v) for v in value[:SHOW_ITEMS])
                    + f", ... {hidden} more ..., "
                    + ", ".join(_fmt(v) for v in value[-SHOW_ITEMS:]) + "]")
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return repr(value) if isinstance(value, str) else str(value)


# --------------------------------------------------------------------- the run
@dataclass
class _Search:
    """One line search: its start, its trials and its end (any may be missing)."""

    start: object
    trials: list
    end: object


@dataclass
class _Finding:
    evidence: dict
    severe: bool = True


@dataclass
class _Run:
    """The events of one run, grouped for the checks."""

    events: list
    result: object = None
    begin: object = None
    initial: object = None
    end: object = None
    searches: list = field(default_factory=list)

    @property
    def gtol(self):
        return self.begin.gtol if self.begin is not None else 1e-5


def _load(obj):
    """A :class:`_Run` from a Result, a Trace, a list of events or a .jsonl path."""
    result = None
    if isinstance(obj, (str, os.PathLike)):
        events = list(ev.Trace.load(obj))
    elif isinstance(obj, (ev.Trace, list, tuple)):
        events = list(obj)
    elif isinstance(obj, dict) and "x" in obj:
        result = obj
        events = list(obj.get("trace") or ())
    else:
        raise TypeError(f"explain needs a Result, a Trace or a .jsonl path, "
                        f"not {type(obj).__name__}")
    end = _first(reversed(events), "termination")
    if end is None and result is not None:
        end = _end_from_result(result)
    return _Run(events, result, _first(events, "run_start"), _first(events, "initial_point"),
                end, _group_searches(events))


def _first(events, kind):
    return next((e for e in events if e.kind == kind), None)


def _end_from_result(res):
    """A Termination built from a Result whose trace is empty (trace="off")."""
    return ev.Termination(iteration=res.get("nit", 0), nfev=res.get("nfev", 0),
                          status=res.get("status", 2), message=res.get("message", ""),
                          nit=res.get("nit", 0), f=float(res.get("fun", math.nan)),
                          f_last_trial=float(res.get("fun", math.nan)), projg=math.nan,
                          n_skipped=0, n_segments_total=0, n_active=0)


def _group_searches(events):
    searches, current = [], None
    for e in events:
        if e.kind == "line_search_start":
            current = _Search(e, [], None)
            searches.append(current)
        elif e.kind == "line_search_trial" and current is not None:
            current.trials.append(e)
        elif e.kind == "line_search_end":
            if current is None:      # "not_descent": no start event was emitted
                searches.append(_Search(None, [], e))
            else:
                current.end = e
            current = None
    return searches


def _finite(v):
    return isinstance(v, numbers.Real) and math.isfinite(v)


def _converged_cleanly(run):
    end = run.end
    return (end is not None and end.status == 0 and _finite(end.f)
            and not _projg_ratio(run) >= _STALL_RATIO)


def _projg_ratio(run):
    end = run.end
    return end.projg / run.gtol if end is not None and run.gtol > 0 else math.nan


# ------------------------------------------------------------ trace-only checks
_VALUE_FIELDS = ("f", "f0", "gd", "projg", "f_last_trial")


def _nonfinite_fields(event):
    return [(name, getattr(event, name)) for name in _VALUE_FIELDS
            if isinstance(getattr(event, name, None), numbers.Real)
            and not math.isfinite(getattr(event, name))]


def _check_nonfinite(run):
    hits = [(e, name, v) for e in run.events for name, v in _nonfinite_fields(e)]
    if not hits:
        return None
    e, name, value = hits[0]
    trials = [t for s in run.searches for t in s.trials if _nonfinite_fields(t)]
    evidence = dict(event=e.kind, iteration=e.it, field=name, value=float(value),
                    nfev=e.nfev, n_nonfinite_trials=len(trials),
                    trials=[(t.it, t.trial, t.stp, t.f, t.gd) for t in trials[:5]])
    if e.kind == "line_search_trial":
        evidence.update(trial=e.trial, stp=e.stp)
    last = run.searches[-1].trials if run.searches else []
    severe = not _converged_cleanly(run) or any(_nonfinite_fields(t) for t in last)
    return _Finding(evidence, severe)


def _reliable_trials(search, relative=False):
    """Finite trials (stp > 0), sorted by step, at which g'd promised a change of f
    above rounding: ``-g'd stp >= 100 eps max(|f0|, 1)``, or with ``relative``
    ``>= 100 eps |f0|`` (above f0's own last bits)."""
    s = search.start
    floor = 100 * EPS * (abs(s.f0) if relative else max(abs(s.f0), 1.0))
    trials = [t for t in search.trials if _finite(t.f) and _finite(t.gd) and t.stp > 0]
    return sorted((t for t in trials if -s.gd * t.stp >= floor), key=lambda t: t.stp)


def _descent_start(search):
    s = search.start
    return s is not None and _finite(s.gd) and s.gd < 0 and _finite(s.f0)


def _slopes_scale(small, trials, f0):
    """Does f - f0 shrink in proportion to the step, as a slope makes it?  Compares
    the smallest trial with the first one at least 10x longer (else the longest);
    True when their quotients (f - f0) / stp agree within a factor 3."""
    large = next((t for t in trials if t.stp >= 10 * small.stp), trials[-1])
    a, b = (small.f - f0) / small.stp, (large.f - f0) / large.stp
    return a * b > 0 and max(abs(a), abs(b)) <= 3 * min(abs(a), abs(b))


def _suspicious_search(search):
    """Evidence that this line search contradicts its g'd, or None.

    The pattern: g'd < 0 promised a decrease, yet every trial large enough to
    be above rounding found f > f(0) (trials returning exactly f(0) are left
    out: f did not resolve them) and f - f(0) shrinks in proportion to the
    step (a slope the differences resolve, unlike noise), the step shrank by
    orders of magnitude, and the curvature implied by
    (f - f0 - g'd stp) / stp^2 grows as stp shrinks (for a correct gradient it
    stays bounded).
    """
    if not _descent_start(search):
        return None
    s = search.start
    trials = [t for t in search.trials if _finite(t.f) and _finite(t.gd) and t.stp > 0]
    reliable = [t for t in _reliable_trials(search) if t.f != s.f0]   # flat: unresolved
    if len(trials) < 3 or len(reliable) < 2 or any(t.f <= s.f0 for t in reliable):
        return None
    steps = [t.stp for t in trials]
    small, large = reliable[0], reliable[-1]

    def implied(t):
        return (t.f - s.f0 - s.gd * t.stp) / t.stp ** 2
    if (max(steps) < 1e3 * min(steps) or not implied(small) >= 10 * implied(large)
            or not _slopes_scale(small, reliable, s.f0)):
        return None
    return dict(iteration=s.it, f0=s.f0, gd=s.gd, n_trials=len(search.trials),
                stp_max=max(steps), stp_min=min(steps),
                orders=round(math.log10(max(steps) / min(steps)), 1),
                at_step=small.stp, measured_slope=(small.f - s.f0) / small.stp,
                trials=[(t.stp, t.f) for t in search.trials[:_LIST_MAX]])


def _check_wrong_gradient(run):
    found = [e for e in map(_suspicious_search, run.searches) if e is not None]
    if not found:
        return None
    evidence = dict(found[-1])
    evidence["iterations"] = [e["iteration"] for e in found][:_LIST_MAX]
    evidence["gradient"] = _gradient_source(run)
    return _Finding(evidence)


def _gradient_source(run):
    """How g was computed: finite differences if the first point cost several evaluations."""
    if run.initial is None:
        return "unknown"
    return "finite differences" if run.initial.nfev > 1 else "analytic"


def _first_step(search):
    return search.trials[0].stp if search.trials else search.start.stp


def _expected_decrease(search):
    """The decrease this line search could hope for: the minimum of the quadratic
    through f0 with slope g'd and the longest finite trial, at most half of
    g'd times the first step."""
    s = search.start
    half = -s.gd * _first_step(search) / 2
    longest = max((t for t in search.trials if _finite(t.f) and t.stp > 0),
                  key=lambda t: t.stp, default=None)
    if longest is not None:
        curvature = 2 * (longest.f - s.f0 - s.gd * longest.stp) / longest.stp ** 2
        if curvature > 0:
            return min(s.gd ** 2 / (2 * curvature), half)
    return half


def _noise_signs(search):
    """How this line search shows that f cannot resolve the decrease it asks for:
    (signs, the smallest change of f it implies), or None.

    Signs: trials returning exactly f0 where g'd promised a change above rounding
    (flat), trials at or above f0 at a shorter step than a trial that decreased f
    (jitter), rises of f that do not shrink with the step, or a first step whose
    whole promised decrease lies within 100 eps |f0| (the last bits of f)."""
    if not _descent_start(search):
        return None
    s, reliable = search.start, _reliable_trials(search, relative=True)
    flat = [t for t in reliable if t.f == s.f0]
    jitter = [t for k, t in enumerate(reliable)
              if t.f >= s.f0 and any(u.f < s.f0 for u in reliable[k + 1:])]
    rises = [t for t in reliable if t.f > s.f0]
    unscaled = rises if len(rises) == len(reliable) >= 2 and not _slopes_scale(
        reliable[0], reliable, s.f0) else []
    promised = -s.gd * _first_step(search)
    signs = {}
    if len(flat) >= 2:
        signs["flat_trials"] = len(flat)
    if jitter:
        signs["jitter_trials"] = len(jitter)
    if unscaled:
        signs["unscaled_rises"] = len(unscaled)
    if promised <= 100 * EPS * abs(s.f0):
        signs["promised_over_eps_f0"] = promised / (EPS * abs(s.f0))
    if not signs:
        return None
    seen = max([-s.gd * t.stp for t in flat] + [abs(t.f - s.f0) for t in jitter + unscaled]
               + [EPS * abs(s.f0)])
    return signs, seen


def _stopped_short(run):
    """Not stopped by the projected-gradient test."""
    end = run.end
    return end is not None and not (end.status == 0 and "PGTOL" in end.message)


def _projg_progress(run):
    end, ip = run.end, run.initial
    out = dict(projg=end.projg, gtol=run.gtol)
    if ip is not None and _finite(ip.projg) and ip.projg > 0:
        out.update(initial_projg=ip.projg, projg_reduction=end.projg / ip.projg)
    return out


def _noise_severe(run, resolution):
    """noise_floor explains the stop when gtol was missed and the stop is not the ftol
    test doing its job (an ftol stop whose ftol max(|f|, 1) is at or above f's
    resolution is a normal stop)."""
    end = run.end
    if not end.projg > run.gtol:
        return False
    if "RELATIVE REDUCTION" in end.message and run.begin is not None:
        return run.begin.ftol * max(abs(end.f), 1.0) < resolution
    return True


def _check_noise_floor(run):
    searches = [s for s in run.searches if s.start is not None]
    if not _stopped_short(run) or not searches:
        return None
    found = _noise_signs(searches[-1])
    if found is None:
        return None
    signs, seen = found
    start = searches[-1].start
    evidence = dict(iteration=start.it, f0=start.f0, gd=start.gd,
                    expected_decrease=_expected_decrease(searches[-1]),
                    resolution_seen=seen, **signs, **_projg_progress(run))
    return _Finding(evidence, severe=_noise_severe(run, seen))


_KINK_RATE = 1e3     # a slope change this many times faster than typical is a kink
_KINK_SLOPES = 1e2   # ... between slopes within this factor of phi'(0) (not a blow-up)


def _slope_jump(search):
    """A kink seen by one line search: phi' = g'd changes by at least half of
    phi'(0) between two neighbouring steps, at a rate (change / distance) 1000
    times the median rate over the search (a smooth phi' changes at a rate
    bounded by its curvature), while both slopes stay within 100 |phi'(0)| (an
    exponential's phi' grows fast too, but without bound)."""
    s = search.start
    if s is None or not _finite(s.gd) or s.gd == 0:
        return None
    points = [(0.0, s.gd)] + sorted({(t.stp, t.gd) for t in search.trials
                                     if t.stp > 0 and _finite(t.gd) and _finite(t.f)})
    pairs = [(abs(gb - ga) / (b - a), (a, b), (ga, gb))
             for (a, ga), (b, gb) in zip(points, points[1:]) if b > a]
    if len(pairs) < 3:
        return None
    typical = float(np.median([p[0] for p in pairs]))
    jumps = [p for p in pairs if abs(p[2][1] - p[2][0]) >= 0.5 * abs(s.gd)
             and max(map(abs, p[2])) <= _KINK_SLOPES * abs(s.gd)
             and p[0] >= _KINK_RATE * typical]
    if not jumps:
        return None
    rate, steps, slopes = max(jumps)
    return dict(iteration=s.it, gd=s.gd, between_steps=steps, slopes=slopes)


def _check_nonsmooth(run):
    if _gradient_source(run) != "analytic":   # finite differences jump with noise
        return None
    found = [e for e in map(_slope_jump, run.searches) if e is not None]
    if not found:
        return None
    evidence = dict(found[-1], iterations=[e["iteration"] for e in found][:_LIST_MAX])
    return _Finding(evidence, severe=not _converged_cleanly(run))


def _check_start(run):
    """A zero projected gradient at the start: every variable on a bound with the
    gradient pushing outward (optimal_at_bounds), or a gradient that is itself
    zero for variables free to move (zero_projected_gradient)."""
    ip, end = run.initial, run.end
    at_start = ip is not None and ip.projg == 0.0
    stopped_at_0 = (end is not None and end.nit == 0 and end.status == 0
                    and not run.searches and "PGTOL" in end.message)
    if not (at_start or stopped_at_0):
        return None
    evidence = dict(projg=ip.projg if ip else end.projg, gtol=run.gtol, nit=end.nit if end else 0)
    n_solver = None
    if run.begin is not None:
        n_solver = run.begin.n
        evidence.update(n_solver=n_solver, n_fixed_in_solver=run.begin.n_fixed)
    if ip is None:
        return "zero_projected_gradient", _Finding(evidence)
    evidence.update(f=ip.f, n_at_bound=ip.n_at_bound, n_zero_gradient=ip.n_zero_gradient,
                    n_blocked=ip.n_blocked, gradient=_gradient_source(run))
    if n_solver is not None and ip.n_at_bound == n_solver > ip.n_zero_gradient:
        evidence["n_pushing_out"] = n_solver - ip.n_zero_gradient
        return "optimal_at_bounds", _Finding(evidence, severe=False)
    return "zero_projected_gradient", _Finding(evidence)


_FAILED = ("maxls", "warning", "not_descent")


def _check_line_search(run):
    failed = [s for s in run.searches if s.end is not None and s.end.outcome in _FAILED]
    abnormal = run.end is not None and run.end.message.startswith("ABNORMAL")
    if abnormal and not run.searches:   # no events recorded (trace="off")
        return _Finding(dict(message=run.end.message, nit=run.end.nit, recorded=False))
    if not failed or not (abnormal or run.searches[-1] is failed[-1]):
        return None
    last = failed[-1]
    evidence = dict(iteration=last.end.it, outcome=last.end.outcome,
                    message=last.end.message, n_trials=last.end.n_trials,
                    maxls=run.begin.maxls if run.begin else None, n_failed=len(failed),
                    failures=[(s.end.it, s.end.outcome, s.end.message)
                              for s in failed[-_LIST_MAX:]],
                    bracket=[(t.stp, t.f, t.gd, t.stx, t.sty) for t in last.trials[:50]])
    return _Finding(evidence, severe=not _converged_cleanly(run))


def _check_stalled(run):
    end = run.end
    if end is None:
        return None
    by_ftol = "RELATIVE REDUCTION" in end.message and _projg_ratio(run) >= _STALL_RATIO
    if not (by_ftol or end.status not in (0, 2)):
        return None
    evidence = dict(message=end.message, nit=end.nit, projg=end.projg, gtol=run.gtol,
                    projg_over_gtol=_projg_ratio(run),
                    reason="ftol" if by_ftol else "limit or callback")
    if run.begin is not None:
        evidence["ftol"] = run.begin.ftol
    if run.initial is not None:
        evidence["initial_projg"] = run.initial.projg
    return _Finding(evidence)


def _check_bad_scaling(run):
    thetas = [e.theta for e in run.events
              if e.kind == "bfgs_update" and e.applied and _finite(e.theta) and e.theta > 0]
    long_steps = [(e.iteration, e.stepl) for e in run.events
                  if e.kind == "iteration_end" and e.iteration >= 2 and e.stepl >= _LONG_STEP]
    evidence = {}
    if thetas and max(thetas) >= _THETA_RATIO * min(thetas):
        evidence.update(theta_min=min(thetas), theta_max=max(thetas),
                        theta_ratio=max(thetas) / min(thetas))
    if long_steps:
        evidence["long_steps"] = long_steps[:_LIST_MAX]
    return _Finding(evidence, severe=False) if evidence else None


def _check_outcome(run):
    end = run.end
    if end is None or end.status != 0:
        return None
    code = "optimal_at_bounds" if end.n_active > 0 else "converged"
    return code, _Finding(dict(message=end.message, nit=end.nit, f=end.f, projg=end.projg,
                               gtol=run.gtol, n_active=end.n_active), severe=False)


_TRACE_CHECKS = (("nonfinite", _check_nonfinite), ("wrong_gradient", _check_wrong_gradient),
                 ("nonsmooth", _check_nonsmooth), ("noise_floor", _check_noise_floor),
                 ("zero_projected_gradient", _check_start),
                 ("line_search_exhausted", _check_line_search), ("stalled", _check_stalled),
                 ("bad_scaling", _check_bad_scaling), ("converged", _check_outcome))


def _trace_findings(run):
    """Each check returns None, a finding for its code, or (code, finding)."""
    findings = {}
    for code, check in _TRACE_CHECKS:
        found = check(run)
        if isinstance(found, tuple):
            code, found = found
        if found is None or (code in _OUTCOMES and any(c in findings for c in _OUTCOMES)):
            continue
        findings[code] = found
    if "nonsmooth" in findings:      # a kink, not f's resolution, flattened the trials
        findings.pop("noise_floor", None)
    return findings


def _add(findings, code, evidence, severe=True):
    """Record (or extend) a finding."""
    if code in findings:
        findings[code].evidence.update(evidence)
        findings[code].severe = findings[code].severe or severe
    else:
        findings[code] = _Finding(dict(evidence), severe)


# ------------------------------------------------------------ probes with fun=
class _Probe:
    """The user's objective (and analytic gradient, if any), evaluated quietly."""

    def __init__(self, fun, jac, args):
        self.fun, self.jac, self.args = fun, jac, tuple(args)
        self.analytic = callable(jac) or jac is True

    def f(self, x):
        """f(x); NaN when f fails there (probes may step just outside the box)."""
        try:
            with np.errstate(all="ignore"):
                out = self.fun(np.array(x, dtype=np.float64), *self.args)
        except (ArithmeticError, ValueError):
            return math.nan
        return as_scalar(out[0] if self.jac is True else out)

    def grad(self, x):
        with np.errstate(all="ignore"):
            if callable(self.jac):
                g = self.jac(np.array(x, dtype=np.float64), *self.args)
            else:
                g = self.fun(np.array(x, dtype=np.float64), *self.args)[1]
        return np.asarray(g, dtype=np.float64).reshape(-1)


@dataclass
class _Point:
    """Where to probe: x, the box, and which variables the solver saw (fixed
    variables are removed by ``minimize`` when the gradient is not a callable)."""

    x: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    solver_vars: object


def _last_full_search(run):
    return next((s for s in reversed(run.searches) if s.start is not None and len(s.start.x)), None)


def _point(run, bounds):
    if run.result is not None:
        x = np.array(run.result["x"], dtype=np.float64)
    else:
        search = _last_full_search(run)
        if search is None:
            return None
        x = np.array(search.start.x, dtype=np.float64)
    lower, upper = parse_bounds(bounds, x.size)
    return _Point(x, lower, upper, _solver_variables(run, x, lower == upper))


def _solver_variables(run, x, fixed):
    n_solver = run.begin.n if run.begin is not None else x.size
    if run.begin is None and run.result is not None and "last_search" in run.result:
        n_solver = np.size(run.result["last_search"]["x"])
    if n_solver == x.size:
        return np.ones(x.size, dtype=bool)
    if np.count_nonzero(~fixed) != n_solver and run.result is not None:
        fixed = np.isnan(np.asarray(run.result["jac"], dtype=np.float64))
    return ~fixed if np.count_nonzero(~fixed) == n_solver else None


def _embed(point, v, fill):
    """A solver-space vector as a full-space one (None if that is impossible)."""
    v = np.asarray(v, dtype=np.float64)
    if v.size == point.x.size:
        return v
    if point.solver_vars is None or np.count_nonzero(point.solver_vars) != v.size:
        return None
    out = np.array(point.x) if fill is None else np.full(point.x.size, fill)
    out[point.solver_vars] = v
    return out


def _last_search(run, point):
    """(x, d, gd) of the last line search in full space, or None."""
    if run.result is not None and "last_search" in run.result:
        ls = run.result["last_search"]
        x, d, gd = ls["x"], ls["d"], ls["gd"]
    else:
        s = _last_full_search(run)
        if s is None:
            return None
        x, d, gd = s.start.x, s.start.d, s.start.gd
    x, d = _embed(point, x, None), _embed(point, d, 0.0)
    if x is None or d is None or not np.any(d) or not (_finite(gd) and gd != 0):
        return None
    return x, d, float(gd)


def _central(probe, x, v, t):
    """Central-difference slope of f along v at x, and an estimate of its error."""
    s1 = (probe.f(x + t * v) - probe.f(x - t * v)) / (2 * t)
    s2 = (probe.f(x + 2 * t * v) - probe.f(x - 2 * t * v)) / (4 * t)
    return s1, abs(s2 - s1)


def _quotient_noise(err, f0, t, resolution):
    """What noise can do to a central difference with step t: rounding of f0, f's
    measured resolution (each of the two values may be off by it), the
    Richardson error estimate."""
    return (100 * EPS * max(1.0, abs(f0)) + 2 * resolution) / t + 10 * err


def _compare(analytic, numeric, err, f0, t, rtol, resolution=0.0):
    """'mismatch' when a derivative disagrees with its difference quotient beyond
    noise, 'unresolved' when the noise is as large as both (f did not change
    measurably: the quotient says nothing), else 'agree'."""
    if not (_finite(numeric) and _finite(err)):
        return "unresolved"
    noise = _quotient_noise(err, f0, t, resolution)
    if noise >= max(abs(analytic), abs(numeric)):
        return "unresolved"
    if abs(analytic - numeric) <= rtol * max(abs(analytic), abs(numeric)) + noise:
        return "agree"
    return "mismatch"


def _direction_scale(x, d):
    """The step along d that moves the largest component of x by max(1, |x|)."""
    return max(1.0, float(np.max(np.abs(x)))) / float(np.max(np.abs(d)))


def _direction_step(x, d):
    return 1e-6 * _direction_scale(x, d)


def _probe_direction(probe, search, analytic, resolution=0.0):
    x, d, gd = search
    t = _direction_step(x, d)
    slope, err = _central(probe, x, d, t)
    verdict = _compare(gd, slope, err, probe.f(x), t, 1e-3 if analytic else 1e-1, resolution)
    return dict(search_gd=gd, search_fd_slope=slope, search_step=t,
                search_rel_error=abs(slope - gd) / max(abs(slope), abs(gd)),
                agree=verdict != "mismatch", resolved=verdict != "unresolved")


def _unit(n, i):
    e = np.zeros(n)
    e[i] = 1.0
    return e


def _sample(indices, limit):
    """At most ``limit`` indices, evenly spread."""
    indices = np.asarray(indices)
    if indices.size <= limit:
        return indices
    return np.unique(indices[np.linspace(0, indices.size - 1, limit).round().astype(int)])


def _probe_coordinates(probe, point, resolution=0.0, kinks=(), limit=100):
    """Each gradient component against central differences; components with a
    kink (``kinks``) are left out, unresolved ones counted apart."""
    x = point.x
    g, f0 = probe.grad(x), probe.f(x)
    rows = []
    for i in _sample(np.setdiff1d(np.arange(x.size), list(kinks)), limit):
        t = 1e-6 * max(1.0, abs(x[i]))
        num, err = _central(probe, x, _unit(x.size, i), t)
        rows.append((int(i), float(g[i]), num, _compare(g[i], num, err, f0, t, 1e-3,
                                                         resolution)))
    bad = sorted((r for r in rows if r[3] == "mismatch"),
                 key=lambda r: -abs(r[1] - r[2]) / max(abs(r[1]), abs(r[2]), 1e-300))
    return dict(n_checked=len(rows), n_mismatch=len(bad),
                n_unresolved=sum(r[3] == "unresolved" for r in rows),
                worst=[(i, a, num) for i, a, num, _ in bad[:5]])


def _step_inside(point, i, h):
    """x moved by +h (or -h) along variable i, staying in the box; None if neither fits."""
    for s in (h, -h):
        if point.lower[i] <= point.x[i] + s <= point.upper[i]:
            y = np.array(point.x)
            y[i] += s
            return y
    return None


def _fraction_changed(probe, point, f0, idx, h):
    moved = [y for y in (_step_inside(point, i, h) for i in idx) if y is not None]
    if not moved:
        return math.nan
    return sum(probe.f(y) != f0 for y in moved) / len(moved)


def _probe_fd_step(probe, point, eps, limit=20):
    """Does f change at all when one variable moves by eps?  By which power of 10?"""
    idx = _sample(np.flatnonzero(point.lower < point.upper), limit)
    f0 = probe.f(point.x)
    steps = [eps] + [10.0 ** k for k in range(math.floor(math.log10(eps)) + 1, 4)]
    table = []
    for h in steps:
        table.append((h, _fraction_changed(probe, point, f0, idx, h)))
        if table[-1][1] > 0.5:
            break
    suggested = next((h for h, frac in table[1:] if frac > 0.5), None)
    return dict(eps=eps, changed_at_eps=table[0][1], fraction_changed=table,
                suggested_eps=suggested, tested=[int(i) for i in idx])


def _probe_curvature(probe, point, limit=100):
    """Spread of the diagonal curvatures d2f/dx_i2 (second differences) at x."""
    x, f0 = point.x, probe.f(point.x)
    curv = []
    for i in _sample(np.flatnonzero(point.lower < point.upper), limit):
        h = 1e-4 * max(1.0, abs(x[i]))
        e = _unit(x.size, i) * h
        c = (probe.f(x + e) - 2 * f0 + probe.f(x - e)) / h ** 2
        if _finite(c) and c > 400 * EPS * max(1.0, abs(f0)) / h ** 2:
            curv.append((int(i), float(c)))
    if len(curv) < 2:
        return None
    low, high = min(curv, key=lambda r: r[1]), max(curv, key=lambda r: r[1])
    return dict(curvature_ratio=high[1] / low[1], stiffest=high, flattest=low,
                n_curvatures=len(curv))


# The ladder: f(x + h v) - f(x) and f(x - h v) - f(x) for h = 1e-13 ... 1e-2 times
# the scale of x (relative to |v|), one decade apart.
_LADDER = tuple(10.0 ** -k for k in range(13, 1, -1))
_LADDER_COORDINATES = 10     # coordinates probed by the ladder (plus the direction d)
_NOISE_RATIO = 0.1           # resolution >= this times the expected decrease: noise floor


@dataclass
class _Ladder:
    """One direction's ladder: rows (h, f(x + h v) - f(x), f(x - h v) - f(x)),
    shortest step first, and the slope g'v that f should follow."""

    rows: list
    slope: float

    def resolution_parts(self):
        """(jitter, flat, quantum): (a) |f(x+hv) + f(x-hv) - 2 f(x)| / 2 at the four
        shortest steps (where curvature is negligible), (b) 2 h |g'v| for the longest
        step at which f did not change either way, (c) the smallest change at the
        first step that changed f after such flat steps (one or a few quanta of f)."""
        rows = self.rows
        if not rows:
            return 0.0, 0.0, math.inf
        jitter = [abs(up + down) / 2 for _, up, down in rows[:4]]
        flat = [h for h, up, down in rows if up == 0 and down == 0]
        first = next((k for k, (_, up, down) in enumerate(rows) if up or down), None)
        quantum = min((abs(v) for v in rows[first][1:] if v), default=math.inf) \
            if first else math.inf
        return (min(float(np.median(jitter)), 10 * jitter[0]),
                2 * max(flat, default=0.0) * abs(self.slope), quantum)

    def first_change(self):
        """The shortest step at which f changed (None: never)."""
        return next((h for h, up, down in self.rows if up or down), None)

    def kink(self, resolution):
        """(left slope, right slope) at a kink, else None.  A kink: at two
        neighbouring steps the gap between the one-sided slopes,
        (f(x+hv) + f(x-hv) - 2 f(x)) / h, is above 10x the resolution and does not
        shrink with the step (for a smooth f it shrinks 10x per decade), while
        each one-sided slope stays put (under noise they grow like 1/h)."""
        rows = [(h, (up + down) / h, -down / h, up / h) for h, up, down in self.rows
                if abs(up + down) > 10 * resolution]
        for (h1, gap1, left1, right1), (h2, gap2, left2, right2) in zip(rows, rows[1:]):
            steady = max(abs(left1 - left2), abs(right1 - right2)) <= abs(gap2) / 4
            if h2 <= 10.5 * h1 and abs(gap1) >= abs(gap2) / 2 and steady:
                return left1, right1
        return None


def _ladder(probe, x, f0, v, scale, slope):
    rows = []
    for h in _LADDER:
        step = (scale * h) * v
        xp, xm = x + step, x - step
        if np.array_equal(xp, x) and np.array_equal(xm, x):
            continue
        up, down = probe.f(xp) - f0, probe.f(xm) - f0
        if _finite(up) and _finite(down):
            rows.append((scale * h, up, down))
    if slope is None:            # no gradient: the central slope at the longest step
        slope = (rows[-1][1] - rows[-1][2]) / (2 * rows[-1][0]) if rows else 0.0
    return _Ladder(rows, float(slope))


def _reference_gradient(run, probe, point):
    """g at x: the analytic one, else the Result's jac, else None."""
    if probe.analytic:
        return probe.grad(point.x)
    jac = run.result.get("jac") if run.result is not None else None
    if jac is not None and np.size(jac) == point.x.size and np.all(np.isfinite(jac)):
        return np.asarray(jac, dtype=np.float64)
    return None


def _ladders(run, probe, point):
    """Ladders along the last search direction ('d') and up to 10 coordinates strictly
    inside the box: {label: _Ladder}."""
    x, f0 = point.x, probe.f(point.x)
    g = _reference_gradient(run, probe, point)
    out = {}
    search = _last_search(run, point)
    if search is not None:
        _, d, gd = search
        out["d"] = _ladder(probe, x, f0, d, _direction_scale(x, d), gd)
    inside = np.flatnonzero((point.lower < x) & (x < point.upper))
    for i in _sample(inside, _LADDER_COORDINATES):
        out[int(i)] = _ladder(probe, x, f0, _unit(x.size, i), max(1.0, abs(x[i])),
                              None if g is None else g[i])
    return out


def _probe_resolution(ladders):
    """f's resolution at x: the largest jitter and flat bound over the directions,
    or the smallest quantum seen, whichever is larger."""
    parts = [lad.resolution_parts() for lad in ladders.values()]
    jitter = max((p[0] for p in parts), default=0.0)
    flat = max((p[1] for p in parts), default=0.0)
    quantum = min((p[2] for p in parts), default=math.inf)
    resolution = max(jitter, flat, quantum if math.isfinite(quantum) else 0.0)
    found = dict(resolution=resolution, n_directions=len(ladders))
    if "d" in ladders:
        found["first_change_along_d"] = ladders["d"].first_change()
    return found


def _probe_kinks(ladders, resolution):
    kinks = {label: lad.kink(resolution) for label, lad in ladders.items()}
    kinks = {label: k for label, k in kinks.items() if k is not None}
    found = dict(kink_along_d=kinks.pop("d", None),
                 kinks=[(i, left, right) for i, (left, right) in sorted(kinks.items())])
    return found


def _decrease_asked(run, point):
    """The decrease the last line search could hope for (see _expected_decrease);
    from Result.last_search alone: half of |g'd| (unit first step)."""
    searches = [s for s in run.searches if s.start is not None]
    if searches and _descent_start(searches[-1]):
        return _expected_decrease(searches[-1])
    search = _last_search(run, point)
    return abs(search[2]) / 2 if search is not None else None


def _noise_probe(run, point, measured, findings):
    """noise_floor from the measured resolution; it overrules the trace's signs."""
    asked = _decrease_asked(run, point)
    resolution = measured["resolution"]
    if asked is None or not _stopped_short(run) or resolution < _NOISE_RATIO * asked:
        findings.pop("noise_floor", None)
        return
    evidence = dict(measured, expected_decrease=asked, **_projg_progress(run))
    if run.begin is not None:
        evidence["ftol_decrease"] = run.begin.ftol * max(abs(run.end.f), 1.0)
    _add(findings, "noise_floor", evidence)
    findings["noise_floor"].severe = _noise_severe(run, resolution)   # measured, not seen


def _kink_probe(run, kinks, findings):
    """nonsmooth from the ladders; they overrule the trace's sign."""
    if kinks["kinks"] or kinks["kink_along_d"]:
        _add(findings, "nonsmooth", kinks, severe=not _converged_cleanly(run))
    else:
        findings.pop("nonsmooth", None)


def _ladder_probes(run, probe, point, findings, checks):
    """Resolution and kinks from the ladders: (resolution, kinks)."""
    ladders = _ladders(run, probe, point)
    measured = _probe_resolution(ladders)
    kinks = _probe_kinks(ladders, measured["resolution"])
    if ladders:
        checks.update(resolution=measured, kinks=kinks)
        _kink_probe(run, kinks, findings)
        _noise_probe(run, point, measured, findings)
    return measured["resolution"], kinks


def _gradient_probes(run, probe, point, findings, checks):
    resolution, kinks = _ladder_probes(run, probe, point, findings, checks)
    search = _last_search(run, point)
    resolved_right = probe.analytic
    if search is not None:
        checks["direction"] = found = _probe_direction(probe, search, probe.analytic, resolution)
        resolved_right = resolved_right and found["agree"] and found["resolved"]
        if (not found["agree"] and kinks["kink_along_d"] is None
                and (probe.analytic or not _converged_cleanly(run))):
            source = "analytic" if probe.analytic else "finite differences"
            _add(findings, "wrong_gradient", dict(found, gradient=source))
    if probe.analytic:
        checks["coordinates"] = found = _probe_coordinates(
            probe, point, resolution, [i for i, _, _ in kinks["kinks"]])
        resolved_right = (resolved_right and not found["n_mismatch"]
                          and found["n_unresolved"] < found["n_checked"])
        if found["n_mismatch"]:
            _add(findings, "wrong_gradient", found)
    if resolved_right and "wrong_gradient" in findings:
        del findings["wrong_gradient"]     # the trace's suspicion, refuted by differences


def _shape_probes(probe, point, findings, checks, eps):
    if "zero_projected_gradient" in findings and not probe.analytic:
        checks["fd_step"] = found = _probe_fd_step(probe, point, eps)
        if found["suggested_eps"] is not None and not found["changed_at_eps"] > 0.5:
            _add(findings, "fd_step_too_small", found)
        return
    found = _probe_curvature(probe, point)
    if found is not None:
        checks["curvature"] = found
        if found["curvature_ratio"] >= _CURVATURE_RATIO:
            _add(findings, "bad_scaling", found, severe=False)


def _indices(mask):
    return [int(i) for i in np.flatnonzero(mask)[:_LIST_MAX]]


def _bounds_evidence(run, probe, point, findings, checks):
    """Variables on a bound, and those whose gradient pushes them outward."""
    jac = run.result.get("jac") if run.result is not None else None
    if jac is not None and np.size(jac) == point.x.size:
        g = np.asarray(jac, dtype=np.float64)
    elif probe is not None and probe.analytic:
        g = probe.grad(point.x)
    else:
        return
    fixed = point.lower == point.upper
    at_l, at_u = (point.x <= point.lower) & ~fixed, (point.x >= point.upper) & ~fixed
    out_l, out_u = at_l & (g > 0), at_u & (g < 0)
    found = dict(n_variables=point.x.size, n_fixed=int(fixed.sum()), n_at_lower=int(at_l.sum()),
                 n_at_upper=int(at_u.sum()), n_pushing_out=int(out_l.sum() + out_u.sum()),
                 pushing_out_at_lower=_indices(out_l), pushing_out_at_upper=_indices(out_u))
    target = next((c for c in ("zero_projected_gradient", "optimal_at_bounds") if c in findings),
                  None)
    if target is None:
        checks["bounds"] = found
    else:
        findings[target].evidence.update(found)


# ------------------------------------------------------------------- the verdict
def _rank(findings):
    """Severe problems first, then the outcome (only if nothing severe), then notes.

    A finite-difference gradient found wrong together with bad scaling is
    blamed on the scaling: the absolute step eps suits no variable then.
    """
    order = list(CAUSES)
    wrong = findings.get("wrong_gradient")
    if (wrong is not None and "bad_scaling" in findings
            and wrong.evidence.get("gradient") == "finite differences"):
        findings["bad_scaling"].severe = True
        order.remove("bad_scaling")
        order.insert(order.index("wrong_gradient"), "bad_scaling")
    problems = [c for c in order if c in findings and c not in _OUTCOMES and findings[c].severe]
    notes = [c for c in order if c in findings and c not in _OUTCOMES and not findings[c].severe]
    outcome = [] if problems else [c for c in _OUTCOMES if c in findings]
    return problems + outcome + notes


def _decade_above(v):
    return 10.0 ** math.ceil(math.log10(v))


def _advise_noise(ev, ctx):
    r, f = ctx["resolution"], ctx["f"]
    size = "about" if "resolution" in ev else "at least"      # measured, or seen in trials
    tips = [f"x is as good as f can resolve: near x f's resolution is {size} {r:.1g}, "
            f"the line search could hope for a decrease of "
            f"{ev.get('expected_decrease', math.nan):.1g}"]
    rel = r / max(abs(f), 1.0)
    if ctx.get("ftol") is not None and ctx["ftol"] < 10 * rel:
        tips.append(f"ftol >= {_decade_above(10 * rel):.0e} suits that resolution (10x it, "
                    f"relative to max(|f|, 1)); ftol={ctx['ftol']:g} asks for decreases f "
                    f"cannot show")
    if _finite(ctx.get("projg")) and ctx["projg"] > ctx["gtol"]:
        tips.append(f"gtol >= {_decade_above(ctx['projg']):.0e} suits it: the projected "
                    f"gradient reached ({ctx['projg']:.2g}) is where f's resolution stopped "
                    f"the run")
    if r <= 100 * EPS * abs(f):
        tips.append(f"f = {f:.8g} is large next to the changes still to come (its last bits "
                    f"are the resolution): subtract the constant or scale f")
    return tips


def _advise_stalled(ev, ctx):
    if ev.get("reason") != "ftol":
        limit = ("maxiter" if "ITERATIONS" in ev["message"] else
                 "maxfun" if "EVALUATIONS" in ev["message"] else None)
        return [f"raise {limit}: it stopped the run"] if limit else [
            "the callback (or another limit) stopped the run"]
    f, ftol = ctx["f"], ev["ftol"]
    floor = max(EPS, ctx["resolution"] / max(abs(f), 1.0))
    if ftol <= 10 * floor:
        tips = [f"ftol={ftol:g} is already at what f can resolve (relative changes of "
                f"{floor:.1g}): lowering it cannot help"]
    else:
        tips = [f"lower ftol to {max(ftol / 1e3, floor):.0e} (f resolves relative changes "
                f"of about {floor:.1g})"]
    drop = ctx.get("f_initial", math.nan) - f
    if _finite(drop) and abs(f) > 100 * abs(drop):
        tips.append(f"f = {f:.8g} changed by only {drop:.2g} over the run: a constant offset "
                    f"makes the relative test ftol*|f| coarse; subtract it")
    return tips


def _advise_fd_step(ev, ctx):
    h = ev.get("suggested_eps")
    return [f"pass eps={h:g} to minimize: f changed for most tested variables at that step"] \
        if h else []


def _advise_wrong_gradient(ev, ctx):
    if ev.get("worst"):
        return ["worst components (index, analytic, numeric): " + _fmt(ev["worst"])]
    if ev.get("gradient") == "finite differences":
        return ["the gradient came from finite differences: try jac='3-point', another "
                "eps, or rescale x"]
    return []


def _advise_nonfinite(ev, ctx):
    where = f"trial {ev['trial']} of " if "trial" in ev else ""
    return [f"first non-finite value: {ev['field']}={ev['value']} in "
            f"{where}the {ev['event']} event at iteration {ev['iteration']}"]


def _advise_nonsmooth(ev, ctx):
    where = [f"variable {i} (slopes {left:.3g} left, {right:.3g} right)"
             for i, left, right in ev.get("kinks", [])[:SHOW_ITEMS]]
    if ev.get("kink_along_d"):
        where.insert(0, "the last search direction (slopes {:.3g} back, {:.3g} ahead)".format(
            *ev["kink_along_d"]))
    if "between_steps" in ev:
        where.append("the line search at iteration {} (g'd jumps from {:.3g} to {:.3g})".format(
            ev["iteration"], *ev["slopes"]))
    return ["kinks at: " + "; ".join(where)] if where else []


_ADVISERS = {"noise_floor": _advise_noise, "stalled": _advise_stalled,
             "fd_step_too_small": _advise_fd_step, "wrong_gradient": _advise_wrong_gradient,
             "nonfinite": _advise_nonfinite, "nonsmooth": _advise_nonsmooth}


def _context(run, evidence, checks):
    """What advice may need beyond its own evidence: f, tolerances, f's resolution
    (measured, else seen in the trace, else 0)."""
    noise = evidence.get("noise_floor", {})
    resolution = noise.get("resolution", noise.get("resolution_seen",
                                                   checks.get("resolution", {}).get("resolution", 0.0)))
    ctx = dict(resolution=resolution, gtol=run.gtol,
               f=run.end.f if run.end is not None else math.nan,
               projg=run.end.projg if run.end is not None else math.nan)
    if run.begin is not None:
        ctx["ftol"] = run.begin.ftol
    if run.initial is not None:
        ctx["f_initial"] = run.initial.f
    return ctx


def _advice(run, causes, evidence, checks):
    ctx = _context(run, evidence, checks)
    return {c: (_ADVISERS[c](evidence[c], ctx) if c in _ADVISERS else []) + _ADVICE[c]
            for c in causes}


def _summary(run, causes):
    end = run.end
    if end is None:
        how = "run without a termination event"
    else:
        how = f"{end.message.strip().rstrip(':')} after {end.nit} iteration{'s' * (end.nit != 1)}"
    if not causes:
        return f"{how}: no known cause found" + ("" if run.events else " (no trace events)")
    rest = f"; also {', '.join(causes[1:])}" if len(causes) > 1 else ""
    return f"{how}: {causes[0]} ({CAUSES[causes[0]]}){rest}"


def explain(result_or_trace, fun=None, *, jac=None, args=(), eps=1e-8, bounds=None):
    """Diagnose why an L-BFGS-B run stopped.

    ``result_or_trace``: a :class:`~lbfgsb_py.api.Result` of
    :func:`~lbfgsb_py.minimize`, a :class:`~lbfgsb_py.trace.Trace` (or list of
    events) or the path of a JSON Lines trace.  From the events alone it finds
    non-finite values, line searches contradicting their slope (wrong
    gradient), slopes that jump (kinks), trials f cannot resolve (noise floor),
    a zero projected gradient or a KKT point at the start, failed line searches,
    stalls, signs of bad scaling and the outcome (see :data:`CAUSES`).

    With ``fun`` (called as ``fun(x, *args)``; ``jac`` a callable, ``True`` or
    None as in ``minimize``) it also probes f at the final x (of a Result, or
    of the last line search of a ``"full"`` trace; anything else raises
    ValueError): f's resolution and kinks along the last direction and up to
    10 coordinates over steps 1e-13 ... 1e-2; the last line search's slope g'd
    and, for an analytic gradient, every component against central
    differences, allowing for that resolution; for a zero projected gradient
    with ``jac=None`` whether f changes at all for a step ``eps`` (the step
    used by the run) and which power of 10 would do; otherwise the spread of
    the diagonal curvatures.
    ``bounds`` (any form ``minimize`` accepts) lets it list the variables at a
    bound whose gradient pushes outward.

    Returns a :class:`Diagnosis`.
    """
    run = _load(result_or_trace)
    findings, checks = _trace_findings(run), {}
    point = _point(run, bounds)
    probe = _Probe(fun, jac, args) if fun is not None else None
    if probe is not None and point is None:
        raise ValueError("explain with fun= needs the final x: pass the Result of minimize, "
                         "or a trace recorded at level 'full' (trace='full'; lbfgsb-py run "
                         "--level full)")
    if probe is not None:
        _gradient_probes(run, probe, point, findings, checks)
        _shape_probes(probe, point, findings, checks, eps)
    if point is not None and bounds is not None:
        _bounds_evidence(run, probe, point, findings, checks)
    causes = _rank(findings)
    evidence = {c: findings[c].evidence for c in causes}
    return Diagnosis(causes, evidence, _advice(run, causes, evidence, checks),
                     _summary(run, causes), checks)

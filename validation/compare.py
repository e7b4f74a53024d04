"""Run SciPy's L-BFGS-B and lbfgsb_py on one problem and compare them evaluation by evaluation.

The comparison: the common prefix of the two sequences of points passed to ``fun``
(relative tolerance 1e-8 per component, relative to max(1, |x|), and bit for bit), evaluation and
iteration counts, status and message, final f gap, largest bound violation of any
point we evaluated, and ``hess_inv`` products.  Where the sequences diverge it
classifies the divergence (see :func:`classify`).

With a Fortran run of SciPy 1.14.1 (:mod:`validation.legacy`) it also compares the
three pairs (ours, C), (ours, Fortran), (C, Fortran): common prefix and same
termination, Fortran messages mapped to the C wording (:func:`canonical_message`).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize as scipy_minimize

import lbfgsb_py

from .scipy_internals import first_differing_decision, our_rows, recording

RTOL = 1e-8
#: A jump from bitwise-identical points larger than this is a candidate logic
#: difference; smaller jumps are one step's round-off amplified by conditioning.
LOGIC_JUMP = 1e-4


@dataclass
class Comparison:
    """What one problem's comparison found (one row of the report)."""

    name: str
    n: int
    evals_scipy: int
    evals_ours: int
    prefix: int
    nit: tuple
    status: tuple
    message: tuple
    f_gap: float
    bound_violation: float
    hess_inv_gap: float
    verdict: str
    detail: str = ""
    seconds: tuple = ()
    events: list = field(default_factory=list)
    #: With a Fortran run: its evals, nit, status, message (C wording), fun.
    fortran: dict | None = None
    #: With a Fortran run: ``"ours/C"``, ``"ours/Fortran"``, ``"C/Fortran"`` -> :class:`Pair`.
    pairs: dict | None = None
    #: How many leading points passed to ``fun`` have SciPy's bits exactly.
    bit_prefix: int = 0

    @property
    def full_agreement(self):
        return self.prefix == self.evals_scipy == self.evals_ours

    @property
    def bit_identical(self):
        return self.bit_prefix == self.evals_scipy == self.evals_ours

    @property
    def same_termination(self):
        return self.status[0] == self.status[1] and self.message[0] == self.message[1]


def record(fun):
    """Wrap fun; the wrapper's ``points`` list gets a copy of every x."""
    def wrapped(x, *args):
        wrapped.points.append(np.array(x, copy=True))
        return fun(x, *args)
    wrapped.points = []
    return wrapped


def run_pair(problem):
    """Run both solvers on ``problem``.

    Returns (scipy result, ours, their points, times); the SciPy result carries
    ``decisions``, SciPy's per-iteration decisions read from its internal state.
    """
    fs, fo = record(problem.fun), record(problem.fun)
    opts = dict(problem.options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        with recording() as decisions:
            rs = scipy_minimize(fs, problem.x0, jac=problem.jac, bounds=problem.bounds,
                                method="L-BFGS-B", options=opts)
        rs.decisions = decisions
        t1 = time.perf_counter()
        ro = lbfgsb_py.minimize(fo, problem.x0, jac=problem.jac, bounds=problem.bounds,
                                trace="iteration", **opts)
        t2 = time.perf_counter()
    return rs, ro, fs.points, fo.points, (t1 - t0, t2 - t1)


def rel_gap(p, q):
    """Largest componentwise |p - q| / max(1, |p|)."""
    return float(np.max(np.abs(p - q) / np.maximum(1.0, np.abs(p))))


def common_prefix(a, b, same=lambda p, q: rel_gap(p, q) <= RTOL):
    """How many leading points of a and b are ``same`` (default: equal to :data:`RTOL`)."""
    k = 0
    for p, q in zip(a, b):
        if p.shape != q.shape or not same(p, q):
            break
        k += 1
    return k


def same_bits(p, q):
    """The two points have the same bit patterns."""
    return p.dtype == q.dtype and p.tobytes() == q.tobytes()


def compare(problem, fortran=None):
    """Compare the two solvers on one problem; return a :class:`Comparison`.

    ``fortran``: optional ``(points, result dict)`` of SciPy 1.14.1 on the same problem
    (from :func:`validation.legacy.run_fortran`); fills ``fortran`` and ``pairs``.
    """
    rs, ro, ps, po, secs = run_pair(problem)
    k = common_prefix(ps, po)
    lo, hi = problem.bounds_arrays()
    violation = max((float(np.max(np.maximum(lo - p, 0) + np.maximum(p - hi, 0))) for p in po),
                    default=0.0)
    verdict, detail, events = classify(ps, po, k, ro)
    if verdict != "agree":
        detail += decision_note(rs.decisions, ro.trace)
    c = Comparison(
        name=problem.name, n=problem.n, evals_scipy=len(ps), evals_ours=len(po), prefix=k,
        nit=(rs.nit, ro.nit), status=(rs.status, ro.status), message=(rs.message, ro.message),
        f_gap=_f_gap(rs.fun, ro.fun_last_trial), bound_violation=violation,
        hess_inv_gap=_hess_inv_gap(rs, ro, problem.n), verdict=verdict, detail=detail,
        seconds=secs, events=events, bit_prefix=common_prefix(ps, po, same_bits))
    if fortran is not None:
        c.fortran, c.pairs = three_way(Run(po, ro.status, ro.message),
                                       Run(ps, rs.status, rs.message), fortran)
    return c


#: SciPy <= 1.14 (Fortran) spelled these messages differently from SciPy >= 1.15 (C).
FORTRAN_MESSAGES = {
    "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL":
        "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
    "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH":
        "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    "ABNORMAL_TERMINATION_IN_LNSRCH": "ABNORMAL: ",
    "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT": "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
    "STOP: TOTAL NO. of f AND g EVALUATIONS EXCEEDS LIMIT":
        "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
}


def canonical_message(msg):
    """A SciPy <= 1.14 message in SciPy 1.15+ wording (e.g. ``ERROR: M .LE. 0`` -> ``<=``)."""
    msg = FORTRAN_MESSAGES.get(msg, msg)
    return msg.replace(" .LE. ", " <= ").replace(" .LT. ", " < ") if msg.startswith("ERROR") \
        else msg


@dataclass
class Run:
    """One solver's run: the points passed to ``fun``, status and message (C wording)."""

    points: list
    status: object
    message: str


@dataclass(frozen=True)
class Pair:
    """Agreement of two runs: common prefix, identical sequences, same status and message."""

    prefix: int
    full_agreement: bool
    same_termination: bool


def compare_runs(a, b):
    """The :class:`Pair` of two :class:`Run` s."""
    k = common_prefix(a.points, b.points)
    return Pair(k, k == len(a.points) == len(b.points),
                a.status == b.status and a.message == b.message)


def three_way(ours, c, fortran):
    """Fortran summary and the three pairs, from our and SciPy's (C) runs and ``fortran``."""
    points, res = fortran
    f = Run(points, res["status"], canonical_message(res["message"]))
    runs = {"ours": ours, "C": c, "Fortran": f}
    pairs = {f"{a}/{b}": compare_runs(runs[a], runs[b])
             for a, b in (("ours", "C"), ("ours", "Fortran"), ("C", "Fortran"))}
    summary = dict(evals=len(points), nit=res["nit"], status=f.status, message=f.message,
                   fun=res["fun"], versions=res.get("versions", ""))
    return summary, pairs


def _f_gap(a, b):
    if not (np.isfinite(a) and np.isfinite(b)):
        return 0.0 if (np.isnan(a) and np.isnan(b)) or a == b else float("inf")
    return abs(a - b) / max(1.0, abs(a))


def _hess_inv_gap(rs, ro, n):
    if ro.hess_inv is None or rs.hess_inv is None:
        return 0.0
    v = np.linspace(1.0, 2.0, n)
    hs = rs.hess_inv.matvec(v)
    return float(np.linalg.norm(ro.hess_inv.matvec(v) - hs) / max(np.linalg.norm(hs), 1e-300))


def classify(ps, po, k, ours):
    """Say why the sequences separate at evaluation k (if they do).

    ``"agree"``: identical sequences.  ``"round-off"``: the points before the
    divergence already differed in the last bits (differences that grew from
    rounding: different summation order, SciPy's OpenBLAS vs our loops), or
    they were bitwise equal and the jump is small (< 1e-4: one step's rounding
    amplified by ill-conditioning), or one run stopped where the other went on.
    ``"logic?"``: bitwise-identical points, then a large jump — a candidate
    logic difference, reported with our trace events of that iteration.
    """
    if k == len(ps) == len(po):
        return "agree", "", []
    if k == min(len(ps), len(po)):
        return "round-off", f"one run stopped after {k} evaluations, the other continued", []
    before = [rel_gap(ps[j], po[j]) for j in range(max(0, k - 5), k)]
    jump = rel_gap(ps[k], po[k])
    it = _iteration_of_evaluation(ours.trace, k)
    events = [_event_line(e) for e in ours.trace.at_iteration(it + 1)][:40]
    detail = (f"diverge at evaluation {k + 1} (iteration {it + 1}); gap over the 5 evaluations "
              f"before: {max(before, default=0):.1e}, at divergence: {jump:.1e}")
    if max(before, default=0.0) > 0.0 or jump < LOGIC_JUMP:
        return "round-off", detail, events
    return "logic?", detail, events


def decision_note(scipy_decisions, trace):
    """Where SciPy's own decisions (read from its state) and ours first differ."""
    first = first_differing_decision(scipy_decisions, our_rows(trace))
    if first is None:
        return ("; SciPy's and our decisions (active bounds, subspace outcome, line-search "
                "trials, memory size, skipped updates, step length to 1e-6) agree at every "
                "common iteration")
    k, field, theirs, ours = first
    kind = ("a continuous value drifted" if field == "stepl"
            else "a discrete decision differs")
    return (f"; first differing decision: iteration {k}, {field} SciPy={theirs!r} "
            f"ours={ours!r} ({kind}); every decision before it is the same")


def _iteration_of_evaluation(trace, k):
    """Iteration during which our (k+1)-th evaluation happened."""
    it = 0
    for e in trace.of_kind("line_search_trial", "line_search_start"):
        if e.nfev <= k + 1:
            it = e.iteration
    return it


def _event_line(e):
    d = e.to_dict()
    keep = {k: v for k, v in d.items() if k not in ("kind", "iteration", "x", "d")}
    return f"{e.kind} " + " ".join(f"{k}={_short(v)}" for k, v in keep.items())


def _short(v):
    return f"{v:.6g}" if isinstance(v, float) else str(v)

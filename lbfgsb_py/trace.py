"""Trace events: every decision L-BFGS-B takes, as small frozen records.

This module is the single definition of the trace schema (documented field by
field in ``docs/trace-events.md``; a test keeps the two in step).  Each event
carries its ``kind``, the ``iteration`` (iterations completed so far, SciPy's
``iter``) and ``nfev`` (function evaluations so far).

Detail levels: ``"off"`` builds no event at all, ``"iteration"`` records a
bounded number of events per iteration (cost independent of n), ``"full"``
adds one :class:`CauchyBreakpoint` per Cauchy segment explored and every
vector a student needs (read-only NumPy arrays; sizes grow with n): the
bounds, x and g at each iterate, the Cauchy point, the free set and the
variables entering and leaving it, the subspace step before and after its
projection, d, every trial point, and s and y of each update.

Sinks: :class:`Trace` (in memory; the default ``Result.trace``), a JSON Lines
file written and flushed event by event (:class:`JsonlSink`), any callable,
and the :mod:`logging` module (:class:`LoggingSink`).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

SCHEMA_VERSION = "1.3"
LEVELS = {"off": 0, "iteration": 1, "full": 2}


def frozen_array(values, dtype=np.float64):
    """A read-only copy of ``values`` (the array fields of the full level)."""
    a = np.array(values, dtype=dtype)
    a.flags.writeable = False
    return a


def _read_only_empty(dtype):
    """An empty array that cannot be made writeable (a view of a read-only base),
    so one instance can be every event's default."""
    base = np.empty(0, dtype)
    base.flags.writeable = False
    return base[:]


_NO_FLOATS = _read_only_empty(np.float64)
_NO_INDICES = _read_only_empty(np.int64)


def _no_floats():
    return _NO_FLOATS


def _no_indices():
    return _NO_INDICES


def _equal_with_arrays(a, b):
    """``==`` for events with array fields: arrays compared element by element."""
    if type(a) is not type(b):
        return NotImplemented
    for f in dataclasses.fields(a):
        u, v = getattr(a, f.name), getattr(b, f.name)
        if isinstance(u, np.ndarray):
            if not np.array_equal(u, v, equal_nan=u.dtype.kind == "f"):
                return False
        elif u is not v and u != v:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events.

    Fields:
        iteration: iterations completed so far (SciPy ``iter``).
        nfev: function evaluations so far (SciPy ``nfev``).

    :attr:`it` numbers the event as the iteration table does.
    """

    kind: ClassVar[str] = "event"
    #: 1 for the events recorded while iteration ``iteration + 1`` is computed.
    it_offset: ClassVar[int] = 0
    iteration: int
    nfev: int

    @property
    def it(self):
        """The iteration this event belongs to, numbered as the iteration table's
        rows: 0 for the start-up events, k from iteration k's ``iteration_start``
        to its ``iteration_end``, stopping tests and BFGS update (and a final
        ``termination``)."""
        return self.iteration + self.it_offset

    def to_dict(self):
        """The event as a JSON-ready dict (non-finite floats as strings)."""
        out = {"kind": self.kind}
        for f in dataclasses.fields(self):
            out[f.name] = _encode(getattr(self, f.name))
        return out

    def _repr_html_(self):
        """Jupyter's display: kind, iteration, what the event is, its fields."""
        from .notebook import event_html
        return event_html(self)


@dataclass(frozen=True, slots=True, eq=False)
class RunStart(Event):
    """The problem and the options, before the first evaluation.

    Fields:
        n: number of variables.
        m: memory size ``maxcor`` (paper m).
        n_bounded: variables with at least one finite bound.
        n_fixed: variables with l == u (SciPy ``iwhere = 3``).
        n_projected: components of x0 moved onto the box.
        ftol: relative-reduction tolerance (SciPy ``factr * epsmch``).
        gtol: projected-gradient tolerance (SciPy ``pgtol``).
        maxls: line-search trial limit.
        variant: ``"scipy"`` or ``"1995"`` subspace step.
        level: trace detail level.
        backend: the backend that ran, ``"reference"`` or ``"compiled"``
            (empty in traces older than schema 1.3).
        blas: the BLAS/LAPACK kernels whose rounding the run reproduces, their
            thread count and how they were chosen, e.g.
            ``"skylakex, 2 threads (SciPy's OpenBLAS: core SkylakeX)"`` (empty before 1.3).
        lower: each variable's lower bound, -inf where none (full level only;
            else empty).
        upper: each variable's upper bound, inf where none (full level only;
            else empty).
    """

    kind: ClassVar[str] = "run_start"
    n: int
    m: int
    n_bounded: int
    n_fixed: int
    n_projected: int
    ftol: float
    gtol: float
    maxls: int
    variant: str
    level: str
    backend: str = ""
    blas: str = ""
    lower: np.ndarray = field(default_factory=_no_floats)
    upper: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True, eq=False)
class InitialPoint(Event):
    """f and the projected gradient at the (projected) starting point.

    Fields:
        f: f(x0).
        projg: ``||P(x0 - g0) - x0||_inf`` (SciPy ``sbgnrm``).
        n_at_bound: variables exactly at a bound at x0.
        n_zero_gradient: variables whose gradient component is exactly 0.
        n_blocked: variables at a bound with the gradient pushing outward
            (they cannot move along -g).
        x: x0 after its projection onto the box (full level only; else empty).
        g: the gradient there (full level only; else empty).
    """

    kind: ClassVar[str] = "initial_point"
    f: float
    projg: float
    n_at_bound: int
    n_zero_gradient: int
    n_blocked: int
    x: np.ndarray = field(default_factory=_no_floats)
    g: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True)
class IterationStart(Event):
    """An iteration begins (``iteration`` + 1 is the one being computed).

    Fields:
        f: f at the current iterate.
        projg: projected-gradient norm there.
        col: correction pairs in memory (paper: columns of S and Y).
        theta: scaling of B_0 = theta I [BLNZ95 (3.2)].
    """

    kind: ClassVar[str] = "iteration_start"
    it_offset: ClassVar[int] = 1
    f: float
    projg: float
    col: int
    theta: float


@dataclass(frozen=True, slots=True)
class CauchyBreakpoint(Event):
    """One segment of the Cauchy search (full level only) [BLNZ95 §4].

    Fields:
        segment: 1-based segment number.
        variable: variable fixed at the end of the segment, -1 if the GCP lies
            inside it (or there is no further breakpoint).
        t_break: path parameter t_j of the breakpoint ending the segment.
        dt: segment length t_j - t_{j-1} (inf: no breakpoint left).
        f1: slope f' of the model at the segment start [BLNZ95 (4.4)].
        f2: curvature f'' on the segment [BLNZ95 (4.5)].
        dtm: distance to the segment's stationary point, -f'/f'' (dt*).
        gcp_in_segment: whether the search stopped in this segment.
    """

    kind: ClassVar[str] = "cauchy_breakpoint"
    it_offset: ClassVar[int] = 1
    segment: int
    variable: int
    t_break: float
    dt: float
    f1: float
    f2: float
    dtm: float
    gcp_in_segment: bool


@dataclass(frozen=True, slots=True, eq=False)
class CauchyPoint(Event):
    """The generalized Cauchy point xcp was found.

    Fields:
        skipped: why no search ran: ``""`` (it ran), ``"unconstrained"``
            (no bounds and memory not empty: xcp = x, SciPy skips ``cauchy``)
            or ``"zero_projected_gradient"`` (``Subgnorm = 0. GCP = X.``).
        n_breakpoints: breakpoints t_i on the path.
        n_segments: segments explored (SciPy ``nseg``).
        t: path parameter of xcp (sum of passed segments + dt*).
        n_active: variables at a bound at xcp (SciPy ``nact``).
        xcp: the Cauchy point (x itself when the search was skipped) (full
            level only; else empty).
    """

    kind: ClassVar[str] = "cauchy_point"
    it_offset: ClassVar[int] = 1
    skipped: str
    n_breakpoints: int
    n_segments: int
    t: float
    n_active: int
    xcp: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True, eq=False)
class FreeSetChange(Event):
    """Free set at the Cauchy point compared with the previous iteration.

    Fields:
        n_free: free variables at xcp (SciPy ``nfree``).
        n_entering: variables that were active and are free now (``nenter``).
        n_leaving: variables that were free and are active now (n - ``ileave``).
        entering: their indices, an int array (full level only; else empty).
        leaving: their indices, an int array (full level only; else empty).
        free: the free variables at xcp, increasing, an int array (full level
            only; else empty).
    """

    kind: ClassVar[str] = "free_set"
    it_offset: ClassVar[int] = 1
    n_free: int
    n_entering: int
    n_leaving: int
    entering: np.ndarray = field(default_factory=_no_indices)
    leaving: np.ndarray = field(default_factory=_no_indices)
    free: np.ndarray = field(default_factory=_no_indices)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True, eq=False)
class SubspaceStep(Event):
    """The subspace minimization [BLNZ95 §5], [MN11].

    Fields:
        n_free: number of free variables it worked on.
        outcome: ``"skipped_no_memory"`` (B = theta I: d ends at xcp),
            ``"skipped_no_free"`` (every variable active), ``"inside"``
            (xcp + d in the box, table ``con``), ``"projected"`` (projected
            onto the box and kept: descent, ``bnd``), ``"backtracked"``
            (alpha * d up to the first bound, ``bnd``).
        alpha: backtracking factor (1.0 when not backtracked).
        dd_p: (x_proj - x)'g, the [MN11] descent test (0.0 if not computed).
        newton: xcp plus the Newton step on the free variables, before any
            projection or backtracking (empty when the step was skipped; in a
            backtracked step the variable that limited alpha shows its xcp
            value) (full level only; else empty).
        xbar: the subspace minimizer the line search heads for (xcp when
            the step was skipped) (full level only; else empty).
    """

    kind: ClassVar[str] = "subspace_step"
    it_offset: ClassVar[int] = 1
    n_free: int
    outcome: str
    alpha: float
    dd_p: float
    newton: np.ndarray = field(default_factory=_no_floats)
    xbar: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True, eq=False)
class LineSearchStart(Event):
    """A line search begins along d = xbar - x [BLNZ95 §6].

    Fields:
        stp: first trial step.
        stpmax: largest step keeping x + stp d in the box (SciPy ``stpmx``).
        dnorm: ||d||_2.
        gd: directional derivative phi'(0) = g'd (must be < 0).
        f0: phi(0) = f(x) (SciPy ``fold``).
        x: the start point x, a float array (full level only; else empty).
        d: the search direction d, a float array (full level only; else empty).
    """

    kind: ClassVar[str] = "line_search_start"
    it_offset: ClassVar[int] = 1
    stp: float
    stpmax: float
    dnorm: float
    gd: float
    f0: float
    x: np.ndarray = field(default_factory=_no_floats)
    d: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True, eq=False)
class LineSearchTrial(Event):
    """One evaluated trial of the Moré–Thuente search and dcsrch's verdict.

    Fields:
        trial: 1-based trial number in this search.
        stp: the trial step that was evaluated.
        f: phi(stp).
        gd: phi'(stp) = g(x + stp d)'d.
        ftest: sufficient-decrease bound phi(0) + ftol*stp*phi'(0) [MT94 (1.1)].
        sufficient_decrease: f <= ftest.
        curvature: |gd| <= gtol * |phi'(0)| [MT94 (1.2)].
        stx: best step so far (bracket end with the least psi/phi).
        sty: other bracket end.
        brackt: whether a minimizer is bracketed.
        stage: 1 (working on psi) or 2 (on phi) [MT94 §3].
        task: ``"FG"`` (another trial follows), ``"CONVERGENCE"``,
            ``"WARNING"`` or ``"ERROR"``.
        message: dcsrch's message (e.g. ``"ROUNDING ERRORS PREVENT PROGRESS"``).
        case: dcstep case 1–4 of [MT94 §4] that chose the next step, 5 when
            bisection overrode it, 0 when no new step was computed.
        next_stp: the step dcsrch returned (next trial, or the accepted step).
        x: the trial point x + stp d (clipped to the box) where f and g were
            evaluated (full level only; else empty).
    """

    kind: ClassVar[str] = "line_search_trial"
    it_offset: ClassVar[int] = 1
    trial: int
    stp: float
    f: float
    gd: float
    ftest: float
    sufficient_decrease: bool
    curvature: bool
    stx: float
    sty: float
    brackt: bool
    stage: int
    task: str
    message: str
    case: int
    next_stp: float
    x: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True)
class LineSearchEnd(Event):
    """A line search ended.

    Fields:
        outcome: ``"converged"`` (both Wolfe conditions), ``"warning"``
            (dcsrch gave up but returned its best step, accepted as SciPy
            does), ``"maxls"`` (trial limit reached: failure), or
            ``"not_descent"`` (phi'(0) >= 0: failure, SciPy info -4).
        message: dcsrch's warning text, if any.
        stp: accepted step (or the last one tried on failure).
        n_trials: evaluations made in this search.
        xstep: stp * ||d||, the table's ``tstep``.
    """

    kind: ClassVar[str] = "line_search_end"
    it_offset: ClassVar[int] = 1
    outcome: str
    message: str
    stp: float
    n_trials: int
    xstep: float


@dataclass(frozen=True, slots=True, eq=False)
class BFGSUpdate(Event):
    """The curvature pair (s, y) was stored, or skipped.

    Fields:
        applied: False when skipped because s'y <= eps * (-s'g_old)
            (SciPy C:1004-1010).
        sy: s'y (paper s_k' y_k, SciPy ``dr``).
        threshold: eps * (-s'g_old), the skip bound (SciPy ``epsmch*ddum``).
        yy: y'y (SciPy ``rr``).
        theta: theta after the update (y'y / s'y) or unchanged when skipped.
        col: pairs in memory afterwards.
        n_skipped: updates skipped so far (SciPy ``nskip``).
        s: the step s = stp d (x_new - x_old up to rounding) (full level only;
            else empty).
        y: the gradient change y = g_new - g_old (full level only; else empty).
    """

    kind: ClassVar[str] = "bfgs_update"
    applied: bool
    sy: float
    threshold: float
    yy: float
    theta: float
    col: int
    n_skipped: int
    s: np.ndarray = field(default_factory=_no_floats)
    y: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True)
class MemoryReset(Event):
    """The L-BFGS memory was discarded (B := I) and the iteration restarted.

    Fields:
        reason: ``"line_search_failed"``, ``"cauchy_singular"``,
            ``"formk_not_positive_definite"``, ``"subspace_singular"`` or
            ``"formt_not_positive_definite"``.
        info: SciPy's ``info`` code for that reason.
        col_before: pairs that were discarded.
    """

    kind: ClassVar[str] = "memory_reset"
    reason: str
    info: int
    col_before: int

    @property
    def it(self):
        """As :attr:`Event.it`; a reset after the update (``formt``) belongs to
        the iteration just completed, the others to the one being computed."""
        return self.iteration + (self.reason != "formt_not_positive_definite")


@dataclass(frozen=True, slots=True)
class ConvergenceTest(Event):
    """One stopping test at a new iterate.

    Fields:
        test: ``"projg"`` (projected gradient <= gtol) or ``"ftol"``
            ((f_old - f)/max(|f_old|, |f|, 1) <= ftol).
        value: the tested quantity.
        tolerance: its bound.
        passed: whether the run stops here.
    """

    kind: ClassVar[str] = "convergence_test"
    test: str
    value: float
    tolerance: float
    passed: bool


@dataclass(frozen=True, slots=True, eq=False)
class IterationEnd(Event):
    """A new iterate was accepted: one row of the classic iteration table.

    Fields:
        f: f at the new iterate.
        projg: projected-gradient norm there.
        nseg: Cauchy segments explored (table ``nseg``).
        nact: active bounds at the GCP (``nact``).
        sub: subspace outcome as the table prints it: ``con``, ``bnd``, ``---``.
        itls: line-search trials beyond the first (``itls``, SciPy ``iback``).
        stepl: accepted step length (``stepl``).
        tstep: norm of the step taken (``tstep``).
        x: the new iterate (full level only; else empty).
        g: the gradient there (full level only; else empty).
    """

    kind: ClassVar[str] = "iteration_end"
    f: float
    projg: float
    nseg: int
    nact: int
    sub: str
    itls: int
    stepl: float
    tstep: float
    x: np.ndarray = field(default_factory=_no_floats)
    g: np.ndarray = field(default_factory=_no_floats)
    __eq__ = _equal_with_arrays


@dataclass(frozen=True, slots=True)
class Termination(Event):
    """The run ended.

    Fields:
        status: SciPy ``result.status`` (0 converged, 1 limit, 2 other).
        message: SciPy's exact ``result.message``.
        nit: iterations counted by the driver (``result.nit``).
        f: f at the returned x.
        f_last_trial: f of the last evaluated point (what SciPy returns as
            ``fun`` after ABNORMAL).
        projg: projected-gradient norm at the returned x.
        n_skipped: BFGS updates skipped in the run.
        n_segments_total: Cauchy segments explored in the run (``Tnint``).
        n_active: active bounds at the last GCP.
    """

    kind: ClassVar[str] = "termination"
    status: int
    message: str
    nit: int
    f: float
    f_last_trial: float
    projg: float
    n_skipped: int
    n_segments_total: int
    n_active: int


EVENT_TYPES = {cls.kind: cls for cls in (
    RunStart, InitialPoint, IterationStart, CauchyBreakpoint, CauchyPoint,
    FreeSetChange, SubspaceStep, LineSearchStart, LineSearchTrial, LineSearchEnd,
    BFGSUpdate, MemoryReset, ConvergenceTest, IterationEnd, Termination)}


class _Factory:
    """Default of a field with a default factory in a :func:`_fast_init` signature."""

    def __repr__(self):
        return "<factory>"


_FACTORY = _Factory()


def _fast_init(cls):
    """Give an event class an ``__init__`` that sets its slots through their descriptors.

    The ``__init__`` that ``dataclass(frozen=True)`` writes goes through
    ``object.__setattr__`` once per field: about 3 us for an event of ten fields,
    and the driver builds about ten events per iteration.  Setting the slot
    descriptors directly builds the same (still frozen) object in about 1.1 us.
    Same parameters, order and defaults as the dataclass's own ``__init__``.
    """
    params, body, namespace = [], [], {"_FACTORY": _FACTORY}
    for f in dataclasses.fields(cls):
        name = f.name
        namespace[f"_set_{name}"] = getattr(cls, name).__set__
        if f.default_factory is not dataclasses.MISSING:
            namespace[f"_make_{name}"] = f.default_factory
            params.append(f"{name}=_FACTORY")
            body.append(f"    if {name} is _FACTORY:\n        {name} = _make_{name}()\n")
        elif f.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = f.default
            params.append(f"{name}=_default_{name}")
        else:
            params.append(name)
        body.append(f"    _set_{name}(self, {name})\n")
    exec(f"def __init__(self, {', '.join(params)}):\n{''.join(body)}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init


for _cls in EVENT_TYPES.values():
    _fast_init(_cls)


def _encode(value):
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)          # "nan", "inf", "-inf"
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return [_encode(v) for v in value.tolist()]
        return value.tolist()
    return value


def event_from_dict(data):
    """Rebuild an event from :meth:`Event.to_dict` output."""
    cls = EVENT_TYPES[data["kind"]]
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data and f.default_factory is not dataclasses.MISSING:
            continue            # an array field added after the trace was written
        v = data[f.name]
        if f.type == "float" and isinstance(v, str):
            v = float(v)
        elif f.type == "np.ndarray":
            v = frozen_array(v, f.default_factory().dtype)
        kwargs[f.name] = v
    return cls(**kwargs)


class Trace:
    """In-memory list of events with small query helpers (the default sink).

    The solver hands it each event's class and fields (:meth:`record`); the
    event objects are built when ``events`` is first read after that, so that a
    run keeps the events it does not look at for the cost of a tuple each.
    """

    def __init__(self, events=None):
        self._events = list(events or [])
        self._recorded = []     # (cls, iteration, nfev, fields), not built yet

    @property
    def events(self):
        """The list of events, in order."""
        if self._recorded:
            recorded, self._recorded = self._recorded, []
            self._events.extend(cls(iteration=it, nfev=nfev, **fields)
                                for cls, it, nfev, fields in recorded)
        return self._events

    def record(self, cls, iteration, nfev, fields):
        """Keep the event ``cls(iteration=..., nfev=..., **fields)``, built later."""
        self._recorded.append((cls, iteration, nfev, fields))

    def __call__(self, event):
        self.events.append(event)

    def __len__(self):
        return len(self.events)

    def __iter__(self):
        return iter(self.events)

    def __getitem__(self, i):
        return self.events[i]

    def of_kind(self, *kinds):
        """Events whose ``kind`` is one of ``kinds``."""
        return [e for e in self.events if e.kind in kinds]

    def at_iteration(self, k):
        """The events of iteration k, numbered as the iteration table's rows
        (``e.it == k``): from its ``iteration_start`` to its ``iteration_end``,
        stopping tests and BFGS update; k == 0: the start-up events."""
        return [e for e in self.events if e.it == k]

    def rows(self, kind="iteration_end"):
        """Events of one kind as a list of dicts (for tables and DataFrames)."""
        return [e.to_dict() for e in self.of_kind(kind)]

    def story(self, k):
        """Iteration k (the table's row k) told in plain sentences (see :mod:`.story`)."""
        from .story import story
        return story(self, k)

    def table(self):
        """The classic ``iterate.dat`` iteration table (see :mod:`.render`)."""
        from .render import iteration_table
        return iteration_table(self)

    def _repr_html_(self):
        """Jupyter's display: message, a few table rows, a projected-gradient chart."""
        from .notebook import trace_html
        return trace_html(self)

    def save(self, path):
        """Write the trace as JSON Lines (header line first)."""
        with open(path, "w") as fh:
            fh.write(json.dumps(_header()) + "\n")
            for e in self.events:
                fh.write(json.dumps(e.to_dict()) + "\n")

    @classmethod
    def load(cls, path):
        """Read a JSON Lines trace; a cut-off last line is dropped with a warning."""
        with open(path) as fh:
            lines = fh.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        events = []
        for i, line in enumerate(lines):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines) - 1:
                    warnings.warn(f"{path}: last line is incomplete (run interrupted?); "
                                  f"loaded {len(events)} events before it", RuntimeWarning,
                                  stacklevel=2)
                    break
                raise ValueError(f"{path}:{i + 1}: not a JSON line") from None
            if i == 0 and data.get("schema") == "lbfgsb_py.trace":
                _check_version(path, data)
                continue
            events.append(event_from_dict(data))
        return cls(events)


def _header():
    return {"schema": "lbfgsb_py.trace", "version": SCHEMA_VERSION}


def _check_version(path, header):
    major = str(header.get("version", "0")).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"{path}: trace schema version {header.get('version')} is not "
                         f"readable by this lbfgsb_py (schema {SCHEMA_VERSION})")


class JsonlSink:
    """Append each event to a JSON Lines file and flush it at once."""

    def __init__(self, path):
        self.path = path
        self._fh = open(path, "w")
        self._fh.write(json.dumps(_header()) + "\n")
        self._fh.flush()

    def __call__(self, event):
        self._fh.write(json.dumps(event.to_dict()) + "\n")
        self._fh.flush()

    def close(self):
        self._fh.close()


class LoggingSink:
    """Send each event to a :mod:`logging` logger at DEBUG level."""

    def __init__(self, logger="lbfgsb_py"):
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger

    def __call__(self, event):
        self.logger.debug("%s %s", event.kind, json.dumps(event.to_dict()))


class BreakOn:
    """A sink that drops into the debugger (``breakpoint()``) on chosen events.

    ``Tracer(callback=BreakOn("line_search_trial", when=lambda e: e.f > 1e6))``
    stops at the first trial with a huge f; the event is the local ``event``.
    Events reach the sinks when the solver's step is done (the in-memory trace
    excepted), so the engine is two frames up (``up 2`` in pdb: ``self`` is the
    engine, ``self.state`` the run's :class:`~lbfgsb_py.state.State` after the step).
    """

    def __init__(self, *kinds, when=None):
        unknown = set(kinds) - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown event kind(s) {sorted(unknown)}; "
                             f"known: {sorted(EVENT_TYPES)}")
        self.kinds = kinds
        self.when = when

    def __call__(self, event):
        if event.kind in self.kinds and (self.when is None or self.when(event)):
            breakpoint()  # noqa: T100 - this sink exists to stop here


@dataclass
class Tracer:
    """Where events go and how many are built.

    Parameters:
        level: ``"off"``, ``"iteration"`` (default) or ``"full"``.
        jsonl: path of a JSON Lines file to write as the run goes.
        callback: a callable receiving every event.
        logger: a logger (or its name) receiving every event at DEBUG level.
        memory: keep the events in memory (``Result.trace``).
    """

    level: str = "iteration"
    jsonl: str | None = None
    callback: object = None
    logger: object = None
    memory: bool = True
    trace: Trace = field(default_factory=Trace, init=False)

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"trace level {self.level!r} is not one of {sorted(LEVELS)}")
        self.on = LEVELS[self.level] >= 1
        self.full = LEVELS[self.level] >= 2
        self._sinks = []
        self._closers = []
        self._pending = []
        self._memory_only = False
        #: Called as ``hook(cls, fields)`` when an event is recorded, before the run
        #: goes on (:meth:`lbfgsb_py.Solver.step_phase` takes its snapshots there).
        self.hook = None

    def open(self):
        """Open the sinks (called by the solver at the start of a run)."""
        self.trace = Trace()
        self._sinks = [self.trace] if self.memory else []
        if self.jsonl is not None:
            sink = JsonlSink(self.jsonl)
            self._sinks.append(sink)
            self._closers.append(sink.close)
        if self.callback is not None:
            self._sinks.append(self.callback)
        if self.logger is not None:
            self._sinks.append(LoggingSink(self.logger))
        self._memory_only = self._sinks == [self.trace]
        self._pending = []

    def __getstate__(self):
        """A copy keeps the level and the in-memory trace, not the other sinks
        (it must not write into the original's file or call its callback)."""
        return dict(level=self.level, memory=self.memory, trace=copy.deepcopy(self.trace))

    def __setstate__(self, fields):
        self.__init__(level=fields["level"], memory=fields["memory"])
        self.trace = fields["trace"]
        self._sinks = [self.trace] if self.memory else []
        self._memory_only = self.memory

    def emit(self, event):
        """Queue one event for every sink (delivered by :meth:`flush`)."""
        self._pending.append(event)

    def record(self, cls, iteration, nfev, fields):
        """Emit the event ``cls(iteration=..., nfev=..., **fields)``; when the
        in-memory trace is the only sink, it builds the event when it is read."""
        if self.hook is not None:
            self.hook(cls, fields)
        if self._memory_only:
            self.trace.record(cls, iteration, nfev, fields)
        else:
            self._pending.append(cls(iteration=iteration, nfev=nfev, **fields))

    def emit_batch(self, events):
        """Queue a list of events (the in-memory trace alone takes it at once)."""
        if self._memory_only:
            self.trace.events.extend(events)
        else:
            self._pending.extend(events)

    def flush(self):
        """Deliver the queued events: all to the in-memory trace first, then to
        the other sinks in turn.

        The solver calls this when a step's work is done, so a sink that raises
        (or stops in the debugger) sees a consistent state, and the in-memory
        trace has every event even then.
        """
        if not self._pending:
            return
        events, self._pending = self._pending, []
        if self.memory:
            self.trace.events.extend(events)
        for sink in self._sinks:
            if sink is not self.trace:
                for event in events:
                    sink(event)

    def close(self):
        """Deliver what is queued and close file sinks (called when the run ends,
        also on error)."""
        try:
            self.flush()
        finally:
            for close in self._closers:
                close()
            self._closers = []


def make_tracer(trace):
    """Turn the ``trace=`` argument of :func:`minimize` into a :class:`Tracer`."""
    if isinstance(trace, Tracer):
        return trace
    if trace is None or trace is False:
        return Tracer(level="off", memory=False)
    if isinstance(trace, str):
        return Tracer(level=trace)
    raise TypeError(f"trace must be 'off', 'iteration', 'full', None or a Tracer, "
                    f"not {type(trace).__name__}")

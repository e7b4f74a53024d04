"""The trace: every kind appears, JSON Lines round trip, off costs nothing, docs in step."""
import dataclasses
import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import lbfgsb_py
from lbfgsb_py import trace as tr
from lbfgsb_py.driver import Engine

DOCS = Path(__file__).resolve().parents[1] / "docs" / "trace-events.md"


def bounded_run(level="full", **kw):
    return lbfgsb_py.minimize(rosen, [1.3, 0.7, 0.8, 1.9, 1.2], jac=rosen_der,
                              bounds=[(-2, 2), (None, 1), (0.5, None), (-2, 2), (None, None)],
                              trace=level, **kw)


def test_every_event_kind_appears():
    kinds = {e.kind for e in bounded_run().trace}
    kinds |= {e.kind for e in turning_gradient_run().trace}
    assert kinds == set(tr.EVENT_TYPES)


def turning_gradient_run():
    """The gradient turns wrong after three evaluations: a failed search with memory
    (reset and restart), then a second failure (ABNORMAL)."""
    def jac(x):
        jac.calls += 1
        return 2 * (x - 3) if jac.calls <= 3 else -2 * (x - 3)
    jac.calls = 0
    return lbfgsb_py.minimize(lambda x: (x - 3) @ (x - 3) + x[0] ** 4, np.zeros(2), jac=jac,
                              trace="full")


def test_memory_reset_then_abnormal():
    res = turning_gradient_run()
    resets = res.trace.of_kind("memory_reset")
    assert [e.reason for e in resets] == ["line_search_failed"]
    assert res.message == "ABNORMAL: " and res.status == 2


def test_iteration_level_has_no_per_breakpoint_events_and_one_row_per_iteration():
    res = bounded_run("iteration")
    assert not res.trace.of_kind("cauchy_breakpoint")
    rows = res.trace.rows()
    assert len(rows) == res.nit
    assert rows[-1]["f"] == pytest.approx(res.fun)
    assert sum(e.n_segments for e in res.trace.of_kind("cauchy_point")) == \
        res.trace.of_kind("termination")[0].n_segments_total


def test_trial_events_match_evaluations():
    calls = []
    res = lbfgsb_py.minimize(lambda x: (calls.append(1), rosen(x))[1], np.zeros(4),
                             jac=rosen_der, trace="iteration")
    trials = res.trace.of_kind("line_search_trial")
    assert len(trials) == res.nfev - 1 == len(calls) - 1
    accepted = [e for e in trials if e.task != "FG"]
    assert len(accepted) == res.nit


def test_jsonl_round_trip(tmp_path):
    path = tmp_path / "run.jsonl"
    res = lbfgsb_py.minimize(
        rosen, np.zeros(4), jac=rosen_der, trace=lbfgsb_py.Tracer(level="full", jsonl=str(path)))
    header = json.loads(path.read_text().splitlines()[0])
    assert header == {"schema": "lbfgsb_py.trace", "version": tr.SCHEMA_VERSION}
    loaded = lbfgsb_py.Trace.load(path)
    assert list(loaded) == list(res.trace)


def test_full_level_vectors_are_read_only_arrays_compared_elementwise():
    res = bounded_run()
    start = res.trace.of_kind("line_search_start")[0]
    assert start.x.dtype == np.float64 and start.x.shape == start.d.shape == (5,)
    np.testing.assert_array_equal(start.x, [1.3, 0.7, 0.8, 1.9, 1.2])
    with pytest.raises(ValueError, match="read-only"):
        start.x[0] = 0.0
    moves = [e for e in res.trace.of_kind("free_set") if e.n_leaving]
    assert moves and all(e.leaving.dtype == np.int64 and e.leaving.size == e.n_leaving
                         for e in moves)
    assert start == dataclasses.replace(start, x=tr.frozen_array(start.x))
    assert start != dataclasses.replace(start, x=tr.frozen_array(start.x + 1e-12))
    assert tr.LineSearchStart(0, 1, 1.0, 2.0, 1.0, -1.0, 1.0) != start


def test_nonfinite_values_survive_the_round_trip(tmp_path):
    event = tr.LineSearchTrial(iteration=1, nfev=3, trial=1, stp=1.0, f=float("nan"),
                               gd=float("inf"), ftest=-float("inf"), sufficient_decrease=False,
                               curvature=False, stx=0.0, sty=0.0, brackt=False, stage=1,
                               task="FG", message="", case=1, next_stp=0.5)
    trace = lbfgsb_py.Trace([event])
    trace.save(tmp_path / "t.jsonl")
    back = lbfgsb_py.Trace.load(tmp_path / "t.jsonl")[0]
    assert np.isnan(back.f) and back.gd == np.inf and back.ftest == -np.inf
    start = tr.LineSearchStart(0, 1, 1.0, 2.0, 1.0, -1.0, 1.0,
                               x=tr.frozen_array([1.0, np.nan]), d=tr.frozen_array([np.inf, 0]))
    assert start.to_dict()["x"] == [1.0, "nan"]
    json.loads(json.dumps(start.to_dict()), parse_constant=pytest.fail)     # strict JSON
    assert tr.event_from_dict(start.to_dict()) == start


def test_truncated_last_line_loads_with_warning(tmp_path):
    path = tmp_path / "cut.jsonl"
    bounded_run("iteration").trace.save(path)
    text = path.read_text()
    path.write_text(text[: len(text) - 25])
    with pytest.warns(RuntimeWarning, match="incomplete"):
        loaded = lbfgsb_py.Trace.load(path)
    assert len(loaded) == len(text.splitlines()) - 2


def test_tracing_off_builds_no_event(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("an event was built with tracing off")
    monkeypatch.setattr(Engine, "_emit", boom)
    monkeypatch.setattr(tr.Tracer, "emit", boom)
    monkeypatch.setattr(tr.Tracer, "record", boom)
    res = bounded_run(None)
    assert res.success and len(res.trace) == 0


def test_tracing_off_leaves_the_solver_a_few_tests_of_tracer_on_per_iteration():
    from validation.bench import tracing_off_cost
    # (the benchmark times the tests; here only their count is checked)
    tests = tracing_off_cost(maxcor=5, maxiter=15)["tests"]
    assert 1 <= tests <= 12                 # one per place an event could be recorded


@pytest.mark.parametrize("level", ["iteration", "full"])
def test_in_memory_trace_builds_on_read_the_events_a_sink_gets_at_once(level):
    def run(tracer):
        return lbfgsb_py.minimize(rosen, np.full(4, 3.0), jac=rosen_der, trace=tracer,
                                  bounds=[(-1.0, 1.5)] * 4)
    seen = []
    run(lbfgsb_py.Tracer(level=level, callback=seen.append, memory=False))
    res = run(lbfgsb_py.Tracer(level=level))
    assert res.trace._recorded                  # nothing built yet ...
    assert list(res.trace) == seen             # ... and then the same events, in order
    assert not res.trace._recorded
    assert {e.kind for e in seen} >= {"cauchy_point", "line_search_trial", "bfgs_update"}
    assert (level == "full") == bool(res.trace.of_kind("cauchy_breakpoint"))


def test_default_array_fields_are_one_empty_array_that_stays_read_only():
    a, b = (tr.LineSearchStart(0, 1, 1.0, 2.0, 1.0, -1.0, 1.0) for _ in range(2))
    assert a.x is b.x and a.x.size == 0
    with pytest.raises(ValueError):
        a.x.flags.writeable = True


def test_callable_and_logging_sinks(caplog):
    seen = []
    with caplog.at_level("DEBUG", logger="lbfgsb_py"):
        res = lbfgsb_py.minimize(rosen, np.zeros(3), jac=rosen_der,
                                 trace=lbfgsb_py.Tracer(callback=seen.append, logger="lbfgsb_py"))
    assert seen == list(res.trace)
    assert sum("iteration_end" in r.getMessage() for r in caplog.records) == res.nit


def test_exception_in_objective_keeps_trace(tmp_path):
    path = tmp_path / "crash.jsonl"

    def fun(x):
        if fun.calls == 5:
            raise RuntimeError("model blew up")
        fun.calls += 1
        return rosen(x)
    fun.calls = 0
    with pytest.raises(RuntimeError, match="model blew up") as info:
        lbfgsb_py.minimize(fun, np.zeros(3), jac=rosen_der,
                           trace=lbfgsb_py.Tracer(jsonl=str(path)))
    kept = info.value.lbfgsb_trace
    assert len(kept) > 0
    assert list(lbfgsb_py.Trace.load(path)) == list(kept)


def test_docs_page_matches_code():
    text = DOCS.read_text()
    assert f"**{tr.SCHEMA_VERSION}**" in text
    sections = dict(re.findall(r"### `(\w+)`\n(.*?)(?=\n### |\Z)", text, flags=re.S))
    assert set(sections) == set(tr.EVENT_TYPES)
    for kind, cls in tr.EVENT_TYPES.items():
        documented = set(re.findall(r"^\| `(\w+)` \|", sections[kind], flags=re.M))
        fields = {f.name for f in dataclasses.fields(cls)} - {"iteration", "nfev"}
        assert documented == fields, kind


def test_break_on_sink_calls_the_debugger_hook(monkeypatch):
    stops = []
    monkeypatch.setattr("sys.breakpointhook", lambda *a, **k: stops.append(1))
    sink = tr.BreakOn("line_search_trial", when=lambda e: e.trial >= 2)
    res = lbfgsb_py.minimize(rosen, np.zeros(3), jac=rosen_der,
                             trace=lbfgsb_py.Tracer(callback=sink))
    assert len(stops) == sum(e.trial >= 2 for e in res.trace.of_kind("line_search_trial")) > 0
    with pytest.raises(ValueError, match="unknown event kind"):
        tr.BreakOn("line_search_trail")


@pytest.mark.parametrize("cls", list(tr.EVENT_TYPES.values()), ids=list(tr.EVENT_TYPES))
def test_fast_event_init_is_the_dataclass_init(cls):
    """Each event's __init__ (which sets the slots directly) takes the dataclass's
    parameters in field order, fills default factories, and builds a frozen event."""
    fields = dataclasses.fields(cls)
    params = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in params] == [f.name for f in fields]
    values = {f.name: i for i, f in enumerate(fields)
              if f.default_factory is dataclasses.MISSING}
    by_keyword, by_position = cls(**values), cls(*values.values())
    assert by_keyword == by_position
    for f in fields:
        expected = values[f.name] if f.name in values else f.default_factory()
        got = getattr(by_keyword, f.name)
        assert np.array_equal(got, expected) if isinstance(got, np.ndarray) else got == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_keyword, fields[0].name, -1)
    with pytest.raises(TypeError):
        cls()


def test_full_level_holds_every_vector_of_the_run():
    """Each vector is the one the algorithm used: trial points are the points f was
    evaluated at, d = xbar - x, s and y are the differences of consecutive iterates."""
    points = []
    def fun(x):
        points.append(x.copy())
        return rosen(x)
    bounds = [(-2, 2), (None, 1), (0.5, None), (-2, 2), (None, None)]
    res = lbfgsb_py.minimize(fun, [1.3, 0.7, 0.8, 1.9, 1.2], jac=rosen_der, bounds=bounds,
                             trace="full")
    t = res.trace
    start = t.of_kind("run_start")[0]
    np.testing.assert_array_equal(start.lower, [-2, -np.inf, 0.5, -2, -np.inf])
    np.testing.assert_array_equal(start.upper, [2, 1, np.inf, 2, np.inf])
    trials = t.of_kind("line_search_trial")
    np.testing.assert_array_equal([e.x for e in trials], points[1:])
    iterates = t.of_kind("initial_point") + t.of_kind("iteration_end")
    np.testing.assert_array_equal(iterates[-1].x, res.x)
    for k, update in enumerate(t.of_kind("bfgs_update"), 1):
        np.testing.assert_allclose(update.s, iterates[k].x - iterates[k - 1].x, atol=1e-14)
        np.testing.assert_array_equal(update.y, iterates[k].g - iterates[k - 1].g)
    for sub, search in zip(t.of_kind("subspace_step"), t.of_kind("line_search_start")):
        np.testing.assert_array_equal(sub.xbar - search.x, search.d)
    for cp, free in zip(t.of_kind("cauchy_point"), t.of_kind("free_set")):
        assert len(free.free) == free.n_free and np.all(np.diff(free.free) > 0)
        assert np.all((cp.xcp >= start.lower) & (cp.xcp <= start.upper))


def test_newton_point_is_the_subspace_step_before_its_projection():
    res = lbfgsb_py.minimize(rosen, np.full(4, 0.9), jac=rosen_der, bounds=[(0.0, 1.0)] * 4,
                             trace="full")
    steps = [e for e in res.trace.of_kind("subspace_step") if e.outcome == "projected"]
    assert steps
    for e in steps:
        np.testing.assert_array_equal(np.clip(e.newton, 0.0, 1.0), e.xbar)
        assert np.any(e.newton != e.xbar)


def test_traces_of_schema_1_1_load_with_empty_new_vectors(tmp_path):
    path = tmp_path / "old.jsonl"
    bounded_run("full").trace.save(path)
    lines = path.read_text().splitlines()
    old = [json.dumps({"schema": "lbfgsb_py.trace", "version": "1.1"})]
    for line in lines[1:]:
        data = json.loads(line)
        if data["kind"] != "line_search_start":
            for name in ("lower", "upper", "x", "g", "xcp", "free", "newton", "xbar", "s", "y"):
                data.pop(name, None)
        old.append(json.dumps(data))
    path.write_text("\n".join(old) + "\n")
    loaded = lbfgsb_py.Trace.load(path)
    assert len(loaded) == len(lines) - 1
    assert loaded.of_kind("iteration_end")[0].x.size == 0
    assert loaded.of_kind("line_search_start")[0].x.size == 5


def test_event_scalars_are_plain_python_values():
    for e in bounded_run().trace:
        for f in dataclasses.fields(e):
            value = getattr(e, f.name)
            assert type(value) in (int, float, bool, str, np.ndarray), (e.kind, f.name)


def test_run_start_names_the_blas_model_and_how_it_was_chosen(monkeypatch):
    from lbfgsb_py.reference import blas
    monkeypatch.setattr(blas, "_CHOICE", blas.Choice("haswell", 3, "LBFGSB_PY_BLAS=haswell"))
    res = lbfgsb_py.minimize(rosen, [1.3, 0.7], jac=rosen_der, trace="iteration",
                             backend="reference")
    assert res.trace.of_kind("run_start")[0].blas == "haswell, 3 threads (LBFGSB_PY_BLAS=haswell)"

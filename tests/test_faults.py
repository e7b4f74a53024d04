"""Faults and edge cases.

Exceptions and Ctrl-C inside the objective, a process killed mid-run, cut JSON Lines
traces, concurrent solves in threads, the stepping Solver after the end, unusual return
types (float32 gradients, 0-d arrays), all variables fixed, huge bounds, n = 1, one-sided
bounds; and regression tests for the input bugs fixed in ``api.py``/``objective.py``.
"""
import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize
from scipy.optimize import rosen, rosen_der

import lbfgsb_py
from lbfgsb_py import trace as tr
from lbfgsb_py.replay import Replay
from lbfgsb_py.stepping import Solver

X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
BOUNDS = [(-2, 2)] * 5
ALL_FIXED = "All independent variables were fixed by bounds."
HEADER = {"schema": "lbfgsb_py.trace", "version": tr.SCHEMA_VERSION}


class Boom(Exception):
    """A user-defined exception raised from inside the objective."""


class Sealed(Exception):
    """An exception that refuses new attributes (the trace cannot be attached)."""

    def __setattr__(self, name, value):
        raise AttributeError(name)


def raising_at(k, exc, fun=rosen):
    """``fun`` that raises ``exc`` at its k-th call."""
    calls = []

    def wrapped(x, *args):
        calls.append(1)
        if len(calls) == k:
            raise exc
        return fun(x, *args)
    return wrapped


def read_jsonl(path):
    """Every line of a JSON Lines trace parsed; the file must end with a full line."""
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def open_files():
    """Number of open file descriptors of this process (None where unknown)."""
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None


def load_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "incomplete last line" warning
        return lbfgsb_py.Trace.load(path)


def same_outcome(ours, ref):
    assert (ours.status, ours.success, ours.message) == (ref.status, ref.success, ref.message)
    assert (ours.nit, ours.nfev, ours.njev) == (ref.nit, ref.nfev, ref.njev)


def quad(x, *args):
    return float(np.sum((x - 0.5) ** 2))


def quad_grad(x, *args):
    return 2 * (x - 0.5)


# --------------------------------------------------------------------- exceptions in fun
EXCEPTIONS = {
    "custom": lambda: Boom("the model diverged"),
    "ZeroDivisionError": lambda: ZeroDivisionError("float division by zero"),
    "KeyError": lambda: KeyError("missing parameter"),
}


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
@pytest.mark.parametrize("at", [1, 2, 9])     # first evaluation, first trial, mid-run
def test_exception_in_fun_propagates_unchanged_with_the_trace(tmp_path, name, at):
    exc = EXCEPTIONS[name]()
    text = str(exc)
    path = tmp_path / "run.jsonl"
    with pytest.raises(type(exc)) as info:
        lbfgsb_py.minimize(raising_at(at, exc), X0, jac=rosen_der, bounds=BOUNDS,
                           trace=lbfgsb_py.Tracer(jsonl=str(path)))
    assert info.value is exc and str(exc) == text and type(exc) is type(info.value)
    assert info.traceback[-1].name == "wrapped"          # raised where the user raised it
    trace = exc.lbfgsb_trace
    assert trace[0].kind == "run_start" and max(e.nfev for e in trace) == at - 1
    if sys.version_info >= (3, 11):          # BaseException.add_note
        assert any("exception.lbfgsb_trace" in note for note in exc.__notes__)
    records = read_jsonl(path)
    assert records[0] == HEADER and len(records) == len(trace) + 1
    assert list(load_quietly(path)) == list(trace)


@pytest.mark.parametrize("where", ["jac", "callback"])
def test_exception_in_jac_or_callback_propagates_with_the_trace(tmp_path, where):
    exc = Boom(f"failure in {where}")
    path = tmp_path / "run.jsonl"
    jac = raising_at(4, exc, rosen_der) if where == "jac" else rosen_der
    callback = raising_at(3, exc, lambda xk: None) if where == "callback" else None
    with pytest.raises(Boom) as info:
        lbfgsb_py.minimize(rosen, X0, jac=jac, bounds=BOUNDS, callback=callback,
                           trace=lbfgsb_py.Tracer(jsonl=str(path)))
    assert info.value is exc
    assert list(load_quietly(path)) == list(exc.lbfgsb_trace)
    if where == "callback":          # raised at the 3rd accepted iterate
        assert len(exc.lbfgsb_trace.of_kind("iteration_end")) == 3


def test_exception_refusing_attributes_still_propagates():
    exc = Sealed("no attributes")
    with pytest.raises(Sealed) as info:
        lbfgsb_py.minimize(raising_at(3, exc), X0, jac=rosen_der)
    assert info.value is exc and not hasattr(exc, "lbfgsb_trace")


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_ctrl_c_in_fun_leaves_a_valid_jsonl_and_propagates(tmp_path, exc_type):
    path = tmp_path / "run.jsonl"
    tracer = lbfgsb_py.Tracer(level="full", jsonl=str(path))
    exc = exc_type()
    before = open_files()
    with pytest.raises(exc_type) as info:
        lbfgsb_py.minimize(raising_at(7, exc), X0, jac=rosen_der, bounds=BOUNDS, trace=tracer)
    assert info.value is exc
    assert open_files() == before                         # the JSONL file was closed
    assert list(load_quietly(path)) == list(exc.lbfgsb_trace) == list(tracer.trace)
    complete = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=BOUNDS, trace="full").trace
    assert list(tracer.trace) == list(complete)[:len(tracer.trace)]


def test_killed_process_leaves_a_jsonl_complete_up_to_the_last_event(tmp_path):
    """os._exit in fun (no cleanup at all): every event before it is on disk."""
    path = tmp_path / "killed.jsonl"
    code = ("import os, numpy as np, lbfgsb_py\n"
            "from scipy.optimize import rosen, rosen_der\n"
            "calls = []\n"
            "def fun(x):\n"
            "    calls.append(1)\n"
            "    if len(calls) == 6:\n"
            "        os._exit(3)\n"
            "    return rosen(x)\n"
            f"lbfgsb_py.minimize(fun, np.zeros(4), jac=rosen_der, "
            f"trace=lbfgsb_py.Tracer(level='full', jsonl={str(path)!r}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    loaded = load_quietly(path)
    complete = lbfgsb_py.minimize(rosen, np.zeros(4), jac=rosen_der, trace="full").trace
    assert len(loaded) > 0 and max(e.nfev for e in loaded) == 5
    assert list(loaded) == list(complete)[:len(loaded)]


# ------------------------------------------------------------------- cut JSON Lines files
@pytest.fixture
def saved_run(tmp_path):
    path = tmp_path / "run.jsonl"
    res = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=BOUNDS,
                             trace=lbfgsb_py.Tracer(jsonl=str(path)))
    return path, res


@pytest.mark.parametrize("cut", [1, 10, "half"])
def test_jsonl_with_a_cut_last_line_loads_with_a_warning(saved_run, cut):
    path, res = saved_run
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    keep = last + (len(data) - last) // 2 if cut == "half" else len(data) - 1 - cut
    path.write_bytes(data[:keep])
    with pytest.warns(RuntimeWarning, match="last line is incomplete"):
        loaded = lbfgsb_py.Trace.load(path)
    assert list(loaded) == list(res.trace)[:-1]
    with pytest.warns(RuntimeWarning, match="last line is incomplete"):
        assert Replay(str(path)).goto(10 ** 6) == res.trace[-2]


def test_jsonl_cut_at_a_line_end_loads_without_warning(saved_run):
    path, res = saved_run
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-3]))
    assert list(load_quietly(path)) == list(res.trace)[:-3]


def test_jsonl_with_a_broken_inner_line_is_an_error(saved_run):
    path, _ = saved_run
    lines = path.read_text().splitlines(keepends=True)
    lines[5] = lines[5][:20] + "\n"
    path.write_text("".join(lines))
    with pytest.raises(ValueError, match=r":6: not a JSON line"):
        lbfgsb_py.Trace.load(path)


# ------------------------------------------------------------------------------- threads
def _threaded_problems():
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a = q @ np.diag(np.logspace(0, 3, 6)) @ q.T
    b = rng.standard_normal(6) * 10
    return {
        "rosen": dict(fun=rosen, x0=X0, jac=rosen_der, bounds=BOUNDS),
        "quadratic_fd": dict(fun=lambda x: 0.5 * x @ a @ x - b @ x, x0=np.zeros(6), jac=None,
                             bounds=[(-1, 1)] * 3 + [(None, 0.5)] * 3),
    }


def _solve(problem, path, barrier=None):
    fun = problem["fun"]

    def synced(x):
        if barrier is not None and not synced.started:
            synced.started = True
            barrier.wait(timeout=60)         # both solves are in flight from here on
        return fun(x)
    synced.started = False
    return lbfgsb_py.minimize(synced, problem["x0"], jac=problem["jac"],
                              bounds=problem["bounds"], trace=lbfgsb_py.Tracer(
                                  level="full", jsonl=str(path)))


def test_two_solves_in_two_threads_match_sequential_runs(tmp_path):
    problems = _threaded_problems()
    sequential = {name: _solve(p, tmp_path / f"seq_{name}.jsonl") for name, p in problems.items()}
    barrier = threading.Barrier(len(problems))
    results, errors = {}, []

    def worker(name):
        try:
            results[name] = _solve(problems[name], tmp_path / f"thr_{name}.jsonl", barrier)
        except BaseException as exc:         # reported below, in the main thread
            errors.append(exc)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)              # switch threads as often as possible
    try:
        threads = [threading.Thread(target=worker, args=(name,)) for name in problems]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(old)
    assert not errors and not any(t.is_alive() for t in threads)
    for name, ref in sequential.items():
        res = results[name]
        np.testing.assert_array_equal(res.x, ref.x)
        assert (res.fun, res.nit, res.nfev, res.message) == (ref.fun, ref.nit, ref.nfev,
                                                              ref.message)
        assert list(res.trace) == list(ref.trace)
        assert list(load_quietly(tmp_path / f"thr_{name}.jsonl")) == list(ref.trace)
        assert res.trace[0].n == len(problems[name]["x0"])   # no event from the other run


# ---------------------------------------------------------------------- stepping Solver
def test_solver_refuses_to_step_after_the_end():
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    res = solver.run()
    for step in (solver.step_evaluation, lambda: solver.tell(1.0, np.zeros(5))):
        with pytest.raises(RuntimeError, match="the run has ended; read solver.result()"):
            step()
    assert solver.ask() is None
    state = solver.step()                  # "to the next iterate or the end": already there
    assert state.done and solver.engine.pending is None
    assert solver.run().nfev == solver.result().nfev == res.nfev


def test_solver_misuse_is_a_clear_runtime_error():
    with pytest.raises(RuntimeError, match="the run has not ended"):
        Solver(rosen, X0, jac=rosen_der).result()
    with pytest.raises(RuntimeError, match=r"no fun given: use ask\(\) and tell\(f, g\)"):
        Solver(None, X0).step_evaluation()


def test_solver_continues_correctly_after_an_interrupted_evaluation():
    """Regression: the cache kept the new x with the old f, g when fun raised, so a
    retry at the same point silently reused the previous point's values."""
    ref = Solver(rosen, X0, jac=rosen_der).run()
    solver = Solver(raising_at(5, KeyboardInterrupt()), X0, jac=rosen_der)
    with pytest.raises(KeyboardInterrupt):
        solver.run()
    res = solver.run()                     # retry the interrupted evaluation, then go on
    np.testing.assert_array_equal(res.x, ref.x)
    assert (res.nit, res.message) == (ref.nit, ref.message)
    assert res.nfev == ref.nfev + 1        # the interrupted call counts, as in SciPy


# ----------------------------------------------------------------- unusual return types
def fun32(x):
    """Everything in float32, as in SciPy's regression test for gh-18730."""
    x = x.astype(np.float32)
    return np.sum(x ** 2), 2 * x


@pytest.mark.parametrize("fun, jac", [
    (fun32, True),
    (rosen, lambda x: rosen_der(x).astype(np.float32)),
], ids=["jac_true_float32", "jac_callable_float32"])
def test_float32_gradient_works_as_in_scipy(fun, jac):
    x0 = np.array([0.3, -1.2, 2.5, 0.7])
    ref = scipy_minimize(fun, x0, jac=jac, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(fun, x0, jac=jac)
    assert ours.success
    same_outcome(ours, ref)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-9, atol=1e-9)
    assert ours.jac.dtype == np.float64 and type(ours.fun) is float


@pytest.mark.parametrize("wrap", [
    np.array, lambda f: np.array([f]), lambda f: np.array([[f]]), np.float64, np.longdouble,
    lambda f: [f],
], ids=["0d_array", "size1_array", "1x1_array", "np_float64", "np_longdouble", "list"])
def test_fun_returning_numpy_scalars_and_size1_arrays(wrap):
    ref = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    ours = lbfgsb_py.minimize(lambda x: wrap(rosen(x)), X0, jac=rosen_der, bounds=BOUNDS)
    np.testing.assert_array_equal(ours.x, ref.x)
    assert (ours.fun, ours.nit, ours.nfev, ours.message) == (ref.fun, ref.nit, ref.nfev,
                                                             ref.message)
    assert type(ours.fun) is float


@pytest.mark.parametrize("jac", [
    lambda x: list(rosen_der(x)), lambda x: rosen_der(x)[:, None], lambda x: rosen_der(x)[None, :],
], ids=["list", "n_by_1", "1_by_n"])
def test_jac_returning_a_list_or_a_column_or_row(jac):
    ref = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    ours = lbfgsb_py.minimize(rosen, X0, jac=jac, bounds=BOUNDS)
    np.testing.assert_array_equal(ours.x, ref.x)
    assert (ours.nit, ours.nfev, ours.message) == (ref.nit, ref.nfev, ref.message)


@pytest.mark.parametrize("fun", [lambda x: np.float32(rosen(x)), lambda x: int(1e6 * rosen(x))],
                         ids=["np_float32", "int"])
def test_fun_returning_float32_or_int_matches_scipy(fun):
    ref = scipy_minimize(fun, X0, jac=rosen_der, bounds=BOUNDS, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(fun, X0, jac=rosen_der, bounds=BOUNDS)
    same_outcome(ours, ref)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-10)


# -------------------------------------------------------------------- degenerate problems
@pytest.mark.parametrize("jac", [rosen_der, True, None, "2-point"],
                         ids=["callable", "true", "none", "2-point"])
def test_all_fixed_returns_at_once_with_one_evaluation(tmp_path, jac):
    lb = np.array([1.0, 2.0, -0.5])
    calls, seen = [], []

    def fun(x):
        calls.append(x.copy())
        return (rosen(x), rosen_der(x)) if jac is True else rosen(x)
    path = tmp_path / "fixed.jsonl"
    ours = lbfgsb_py.minimize(fun, np.zeros(3), jac=jac, bounds=list(zip(lb, lb)),
                              callback=seen.append, trace=lbfgsb_py.Tracer(jsonl=str(path)))
    ref = scipy_minimize(rosen, np.zeros(3), method="L-BFGS-B", bounds=list(zip(lb, lb)))
    assert ours.message == ref.message == ALL_FIXED
    assert ours.nfev == ref.nfev == 1 and len(calls) == 1 and not seen
    np.testing.assert_array_equal(calls[0], lb)
    np.testing.assert_array_equal(ours.x, ref.x)
    assert ours.fun == ref.fun == rosen(lb) and ours.success and ours.nit == 0
    assert read_jsonl(path) == [HEADER] and len(ours.trace) == 0   # regression: file written


@pytest.mark.parametrize("big", [1e300, 1.7e308])
@pytest.mark.parametrize("jac", [rosen_der, "2-point", "3-point"],
                         ids=["callable", "2-point", "3-point"])
def test_huge_finite_bounds(big, jac):
    x0 = np.array([0.3, -1.2, 2.5, 0.7])
    bounds = [(-big, big)] * 4
    ref = scipy_minimize(rosen, x0, jac=jac, bounds=bounds, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(rosen, x0, jac=jac, bounds=bounds)
    same_outcome(ours, ref)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8, atol=1e-8)
    assert ours.success and np.all(np.isfinite(ours.x))


ONE_D = {
    "free": (None, [3.0]),
    "box_inside": ([(-1.0, 2.0)], [1.5]),
    "box_at_bound": ([(-1.0, 0.2)], [-0.7]),
    "x0_outside": ([(-1.0, 2.0)], [40.0]),
    "lower_only": ([(0.9, None)], [5.0]),
    "upper_only": ([(None, -0.3)], [-5.0]),
}


@pytest.mark.parametrize("jac", [quad_grad, True, None, "3-point"],
                         ids=["callable", "true", "none", "3-point"])
@pytest.mark.parametrize("case", sorted(ONE_D))
def test_one_variable_matches_scipy(case, jac):
    bounds, x0 = ONE_D[case]
    fun = (lambda x: (quad(x), quad_grad(x))) if jac is True else quad
    ref = scipy_minimize(fun, x0, jac=jac, bounds=bounds, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(fun, x0, jac=jac, bounds=bounds)
    same_outcome(ours, ref)
    np.testing.assert_array_equal(ours.x, ref.x)
    assert ours.x.shape == (1,)


@pytest.mark.parametrize("bounds", [
    [(None, 0.9)] * 5, [(1.1, None)] * 5, [(-np.inf, 0.9)] * 5, [(1.1, np.inf)] * 5,
    [(None, 0.9), (1.1, None), (None, None), (-np.inf, 2.0), (0.0, np.inf)],
], ids=["upper", "lower", "upper_inf", "lower_inf", "mixed"])
def test_one_side_infinite_matches_scipy(bounds):
    ref = scipy_minimize(rosen, X0, jac=rosen_der, bounds=bounds, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=bounds)
    same_outcome(ours, ref)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8, atol=1e-10)


# --------------------------------------------------- regressions: inputs fixed in api.py
BAD = [
    (dict(bounds=(np.zeros(2), np.ones(2)), x0=np.zeros(3)), ValueError,
     r"lower bounds have shape \(2,\) but x0 has 3 variables"),
    (dict(bounds=[(0, 1, 2), (0, 1)]), ValueError,
     r"bounds\[0\] is \(0, 1, 2\), not a \(lo, hi\) pair"),
    (dict(bounds=[0, 1]), ValueError, r"bounds\[0\] is 0, not a \(lo, hi\) pair"),
    (dict(bounds=5), TypeError, "bounds must be a sequence of"),
    (dict(bounds=[(np.inf, None), (0, 1)]), ValueError,
     r"bounds\[0\]: \(inf, inf\) leaves no finite"),
    (dict(bounds=[(0, 1), (None, -np.inf)]), ValueError, r"bounds\[1\]: \(-inf, -inf\) leaves no"),
    (dict(jac=np.array([1.0, 2.0])), ValueError, "jac must be a callable"),
    (dict(jac=lambda x: [1.0, [2.0, 3.0]]), TypeError, "jac returned a ragged sequence"),
    (dict(jac=lambda x: np.ones((2, 2)), x0=np.zeros(4)), ValueError,
     r"jac returned shape \(2, 2\), expected \(4,\)"),
    (dict(jac=None, eps=np.full(3, 1e-8)), ValueError, r"eps has shape \(3,\)"),
    (dict(jac=None, eps=np.inf), ValueError, "eps must be finite"),
    (dict(jac="2-point", finite_diff_rel_step=[1e-3] * 3), ValueError,
     r"finite_diff_rel_step has shape \(3,\)"),
    (dict(fun=lambda x: 1.0, jac=True, bounds=[(0, 0), (1, 1)]), TypeError,
     r"fun must return a pair \(f, g\) when jac=True"),
    (dict(fun=lambda x: (quad(x), np.ones(2)), jac=True, x0=np.zeros(3),
          bounds=[(0, 0), (0, 1), (None, None)]), ValueError,
     r"fun \(its gradient, jac=True\) returned shape \(2,\), expected \(3,\)"),
    (dict(trace=3, bounds=[(0, 0), (1, 1)]), TypeError, "trace must be"),
    (dict(bounds=[("a", 1), (0, 1)]), TypeError, "lower bounds must be numbers or None"),
    (dict(ftol="1e-5"), TypeError, "ftol must be a real number, got '1e-5'"),
    (dict(gtol=np.nan), ValueError, "gtol must be >= 0, got nan"),
    (dict(jac=lambda x: quad_grad(x) + 0j), TypeError, "dtype complex128"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_input_gets_a_clear_error(kwargs, exc, match):
    args = dict(fun=quad, x0=np.zeros(2), jac=quad_grad) | kwargs
    with pytest.raises(exc, match=match):
        lbfgsb_py.minimize(args.pop("fun"), args.pop("x0"), **args)


def test_jac_true_with_fixed_variables_keeps_them_as_scipy():
    """Regression: fixed variables were removed for jac=True; SciPy removes them only
    for finite differences (jac=True is a callable MemoizeJac.derivative by then)."""
    def fg(x):
        return rosen(x), rosen_der(x)
    bounds = [(-2, 2), (0.5, 0.5), (-2, 2), (None, None)]
    x0 = [0.0, 0.5, 0.3, 1.0]
    ref = scipy_minimize(fg, x0, jac=True, bounds=bounds, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(fg, x0, jac=True, bounds=bounds)
    same_outcome(ours, ref)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-10)
    np.testing.assert_allclose(ours.jac, ref.jac, rtol=1e-8)     # no NaN at the fixed one
    assert ours.hess_inv is not None


def test_jac_false_means_forward_differences_as_in_scipy():
    ref = scipy_minimize(rosen, X0, jac=False, bounds=BOUNDS, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(rosen, X0, jac=False, bounds=BOUNDS)
    same_outcome(ours, ref)
    fd = lbfgsb_py.minimize(rosen, X0, jac=None, bounds=BOUNDS)
    np.testing.assert_array_equal(ours.x, fd.x)


@pytest.mark.parametrize("args", [np.array([1.0, 2.0]), 3.0, [1.0, 2.0]],
                         ids=["array", "float", "list"])
def test_args_that_are_not_a_tuple_are_one_argument_as_in_scipy(args):
    def fun(x, a):
        return float(np.sum((x - np.asarray(a)) ** 2))
    ref = scipy_minimize(fun, np.zeros(2), args=args, method="L-BFGS-B")
    ours = lbfgsb_py.minimize(fun, np.zeros(2), args=args)
    same_outcome(ours, ref)
    np.testing.assert_allclose(ours.x, np.broadcast_to(args, (2,)), atol=1e-6)


def test_integral_float_options_work():
    """Regression: maxcor=5.0 passed the check, then failed in np.zeros."""
    ref = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, maxcor=5, maxiter=7, maxls=20,
                             maxfun=100)
    ours = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, maxcor=5.0, maxiter=7.0, maxls=20.0,
                              maxfun=np.float64(100))
    np.testing.assert_array_equal(ours.x, ref.x)
    assert (ours.nit, ours.message) == (ref.nit, ref.message)

"""Stepping, ask/tell and replay share minimize's engine and give identical iterates."""
import re

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import lbfgsb_py
from lbfgsb_py.replay import Replay
from lbfgsb_py.stepping import Solver

X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
BOUNDS = [(-2, 2)] * 5


def test_step_by_iteration_matches_minimize():
    iterates = []
    ref = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=BOUNDS,
                             callback=lambda xk: iterates.append(xk))
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    stepped = []
    while not solver.done:
        state = solver.step()
        if state.nit > len(stepped):
            stepped.append(state.iterate[0])
    np.testing.assert_array_equal(np.array(stepped), np.array(iterates))
    res = solver.result()
    assert (res.nit, res.nfev, res.message) == (ref.nit, ref.nfev, ref.message)
    assert [e.to_dict() for e in res.trace] == [e.to_dict() for e in ref.trace]


def test_state_is_inspectable_between_steps():
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    states = [solver.step() for _ in range(4)]
    state = states[-1]
    assert state.nit == 4 and state.nfev == solver.engine.state.nfev
    assert state.S.shape == (5, 4) and state.Y.shape == state.S.shape
    # S holds the steps between the iterates, oldest first; xold is the iterate a
    # waiting line search started from.
    np.testing.assert_allclose(state.S[:, -1], states[3].xold - states[2].xold, rtol=1e-12)
    np.testing.assert_allclose(state.Y[:, 1], states[1].gold - states[0].gold, rtol=1e-12)
    assert np.all(state.xcp >= -2) and np.all(state.xcp <= 2)
    assert state.task == lbfgsb_py.status.Task.FG and not state.done
    state.x[:] = 99.0                      # a copy: the run is not touched
    assert not np.any(solver.engine.state.x == 99.0)


def test_ask_tell_matches_minimize():
    ref = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    solver = Solver(None, X0, bounds=BOUNDS)
    asked = 0
    while (x := solver.ask()) is not None:
        solver.tell(rosen(x), rosen_der(x))
        asked += 1
    res = solver.result()
    assert asked == ref.nfev
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.message == ref.message


def test_replay_walks_both_ways(tmp_path):
    path = tmp_path / "t.jsonl"
    lbfgsb_py.minimize(rosen, X0, jac=rosen_der, bounds=BOUNDS,
                       trace=lbfgsb_py.Tracer(jsonl=str(path)))
    rp = Replay(str(path))
    assert rp.current.kind == "run_start"
    assert rp.next_iteration().kind == "iteration_start"
    first = rp.pos
    second = rp.next_iteration()
    assert second.kind == "iteration_start" and second.iteration == 1
    assert rp.prev_iteration().iteration == 0 and rp.pos == first
    assert rp.prev().kind == "convergence_test"
    assert rp.goto(10 ** 6).kind == "termination"


def test_solver_checks_arguments_like_minimize():
    with pytest.raises(ValueError, match="maxcor must be at least 1"):
        Solver(rosen, X0, maxcor=0)
    with pytest.raises(TypeError, match="fun must be callable"):
        Solver(5, X0)
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS, maxcor=5.0)   # integral float
    assert solver.engine.state.m == 5 and solver.run().success


def quadratic_2d():
    """A bounded 2-D quadratic whose minimizer is outside the box."""
    fun = lambda x: (x[0] - 2) ** 2 + 10 * (x[1] + 1) ** 2 + x[0] * x[1]    # noqa: E731
    jac = lambda x: np.array([2 * (x[0] - 2) + x[1], 20 * (x[1] + 1) + x[0]])  # noqa: E731
    return fun, jac


def phase_stops(fun, jac, x0, bounds):
    solver = Solver(fun, x0, jac=jac, bounds=bounds)
    assert np.isnan(solver.state.f) and np.isnan(solver.state.g).all()   # nothing evaluated
    stops = [solver.step_phase()]
    while stops[-1].phase != "done":
        stops.append(solver.step_phase())
    return solver, stops


@pytest.mark.parametrize("x0, bounds", [([0.5, 0.5], [(0, 1), (-0.5, 1)]),
                                        (X0, BOUNDS)])
def test_step_phase_stops_in_order_with_a_consistent_state(x0, bounds):
    fun, jac = quadratic_2d() if len(x0) == 2 else (rosen, rosen_der)
    solver, stops = phase_stops(fun, jac, np.array(x0, float), bounds)
    letters = "".join(s.phase[0].upper() for s in stops)
    assert re.fullmatch(r"I((CST+)+U?)*D", letters), letters
    for s in stops:
        if s.phase in ("initial", "trial"):          # x, f and g belong together
            assert s.f == fun(s.x) and np.array_equal(s.g, jac(s.x))
        if s.phase == "cauchy":                       # no subspace step, no d yet
            assert np.isnan(s.d).all() and np.array_equal(s.z, s.xcp)
        if s.phase == "subspace":
            assert np.array_equal(s.d, s.z - s.x) and np.isnan(s.stp)
    iterates = []
    ref = lbfgsb_py.minimize(fun, np.array(x0, float), jac=jac, bounds=bounds,
                             callback=lambda xk: iterates.append(xk.copy()))
    updates = [s for s in stops if s.phase == "update"]
    np.testing.assert_array_equal([s.x for s in updates], iterates[:len(updates)])
    assert stops[-1].nit == ref.nit and sum(s.phase == "trial" for s in stops) == ref.nfev - 1


def test_step_phase_needs_tracing():
    solver = Solver(rosen, X0, jac=rosen_der, trace="off")
    with pytest.raises(RuntimeError, match="needs tracing on"):
        solver.step_phase()

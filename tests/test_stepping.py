"""Stepping, ask/tell and replay share minimize's engine and give identical iterates."""
import numpy as np
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
    import pytest
    with pytest.raises(ValueError, match="maxcor must be at least 1"):
        Solver(rosen, X0, maxcor=0)
    with pytest.raises(TypeError, match="fun must be callable"):
        Solver(5, X0)
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS, maxcor=5.0)   # integral float
    assert solver.engine.state.m == 5 and solver.run().success

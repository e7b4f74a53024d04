"""One State per run: copies, pickles, checkpoints and faults come from it."""
import copy
import pickle

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import lbfgsb_py
from lbfgsb_py import checkpoint, driver
from lbfgsb_py.differential import first_difference
from lbfgsb_py.state import ARRAY_FIELDS
from lbfgsb_py.status import Task
from lbfgsb_py.stepping import Solver

X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
BOUNDS = [(-2, 2)] * 5


def finished(solver):
    res = solver.run()
    return res.nit, res.nfev, res.message, res.x.tobytes()


def test_resumed_solver_steps_and_shows_its_state(tmp_path):
    """(Regression: resume then step() or .state raised AttributeError.)"""
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    for _ in range(3):
        solver.step()
    solver.save_checkpoint(tmp_path / "run.npz")
    resumed = Solver.resume(tmp_path / "run.npz", rosen, jac=rosen_der)
    assert resumed.state.nit == 3 and resumed.step().nit == 4
    assert finished(resumed) == finished(solver)


def test_checkpoint_holds_every_field_of_the_state(tmp_path):
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    solver.step()
    solver.save_checkpoint(tmp_path / "run.npz")
    _, arrays = checkpoint.load(tmp_path / "run.npz")
    assert {k.split(".", 1)[1] for k in arrays if k.startswith("state.")} \
        == set(solver.engine.state.fields())
    restored = checkpoint.restore_state(arrays, full_trace=False)
    assert first_difference(restored, solver.engine.state) is None


@pytest.mark.parametrize("g, match", [(5.0, r"tell.s g .*expected \(5,\)"),
                                      (np.zeros(4), "tell's g"),
                                      ("x", "tell's g")])
def test_tell_checks_the_gradient(g, match):
    """(Regression: tell(f, 5.0) broadcast a scalar gradient silently.)"""
    solver = Solver(None, X0)
    with pytest.raises((TypeError, ValueError), match=match):
        solver.tell(1.0, g)
    assert solver.engine.state.nfev == 0            # nothing was taken in


def test_tell_checks_f():
    solver = Solver(None, X0)
    with pytest.raises(TypeError, match="real number"):
        solver.tell("one", np.zeros(5))


def test_arrays_of_the_state_cannot_be_replaced():
    """(Regression: replacing solver.engine.x by a copy silently changed the run.)"""
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    solver.step()
    state = solver.engine.state
    for name in ARRAY_FIELDS:
        with pytest.raises(AttributeError, match=rf"state.{name} cannot be replaced"):
            setattr(state, name, getattr(state, name).copy())
    with pytest.raises(AttributeError):
        solver.engine.x = state.x.copy()            # not an attribute of the engine
    with pytest.raises(AttributeError):
        solver.engine.state = copy.deepcopy(state)  # the kernels are bound to this one
    assert finished(solver) == finished(Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS))


class FailingSink:
    """A trace sink that raises at its k-th event."""

    def __init__(self, k):
        self.k, self.seen = k, 0

    def __call__(self, event):
        self.seen += 1
        if self.seen == self.k:
            raise RuntimeError("sink failed")


@pytest.mark.parametrize("k", [3, 40])
def test_a_failing_sink_leaves_a_consistent_run_that_goes_on(k):
    """(Regression: after a sink raised, done was False, step() went on and result()
    raised AttributeError.)"""
    reference = finished(Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS))
    sink = FailingSink(k)
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS,
                    trace=lbfgsb_py.Tracer(callback=sink))
    with pytest.raises(RuntimeError, match="sink failed"):
        while not solver.done:
            solver.step_evaluation()
    assert sink.seen == k
    assert finished(solver) == reference
    events = solver.result().trace
    assert events[0].kind == "run_start" and events[-1].kind == "termination"


def run_engine(engine, x=None):
    """Evaluate and tell until the run ends (or raises); return the engine."""
    x = engine.pending if x is None else x
    while x is not None:
        x = engine.tell(rosen(x), rosen_der(x))
    return engine


def test_a_raising_callback_leaves_the_iterate_waiting_for_it():
    calls = []

    def callback(x, f):
        calls.append(f)
        if len(calls) == 2:
            raise RuntimeError("callback failed")
        return False
    box = (X0, np.full(5, -2.0), np.full(5, 2.0))
    engine = driver.start(*box, callback=callback)
    with pytest.raises(RuntimeError, match="callback failed"):
        run_engine(engine)
    assert engine.state.task == Task.NEW_X and engine.pending is None
    assert engine.state.nit == 1                    # the second iterate is not counted yet
    with pytest.raises(RuntimeError, match="call proceed"):
        engine.tell(1.0, np.zeros(5))
    run_engine(engine, engine.proceed())
    ref = run_engine(driver.start(*box))
    assert len(calls) == ref.state.nit + 1          # the failed call, then once per iterate
    assert (engine.state.nit, engine.state.nfev) == (ref.state.nit, ref.state.nfev)
    assert engine.state.x.tobytes() == ref.state.x.tobytes()


def test_a_copied_solver_is_a_branch_of_the_run():
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    for _ in range(5):
        solver.step()
    branch = copy.deepcopy(solver)
    branch.engine.state.gtol = 1e-2                 # try another option on the branch
    loose = branch.run()
    assert solver.engine.state.gtol == 1e-5 and loose.nit < solver.run().nit
    assert len(branch.result().trace) < len(solver.result().trace)


def test_a_pickled_solver_continues_bit_for_bit():
    solver = Solver(rosen, X0, jac=rosen_der, bounds=BOUNDS)
    for _ in range(4):
        solver.step_evaluation()
    clone = pickle.loads(pickle.dumps(solver))
    assert first_difference(clone.engine.state, solver.engine.state) is None
    assert finished(clone) == finished(solver)

"""A run saved mid line search and resumed in a new process is bit-for-bit the same run."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

from lbfgsb_py.stepping import Solver

PROBLEM = textwrap.dedent("""
    import numpy as np
    from scipy.optimize import rosen, rosen_der
    POINTS = []
    def fun(x):
        POINTS.append(x.copy())
        return rosen(x)
    X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2, -0.5])
    BOUNDS = [(-2, 2), (None, 1), (0.5, None), (-2, 2), (None, None), (-1, 1)]
""")


def points_of_full_run(ns, jac):
    solver = Solver(ns["fun"], ns["X0"], jac=jac, bounds=ns["BOUNDS"], maxcor=3)
    return solver.run(), list(ns["POINTS"])


@pytest.mark.parametrize("jac, cut", [("rosen_der", 9), ("rosen_der", 17), ("None", 40)])
def test_resume_in_new_process_is_bit_identical(tmp_path, jac, cut):
    ns = {}
    exec(PROBLEM, ns)
    jac_obj = rosen_der if jac == "rosen_der" else None
    ref, ref_points = points_of_full_run(ns, jac_obj)
    ns["POINTS"].clear()
    solver = Solver(ns["fun"], ns["X0"], jac=jac_obj, bounds=ns["BOUNDS"], maxcor=3)
    while solver.engine.state.nfev < cut:
        solver.step_evaluation()
    before = len(ns["POINTS"])
    path = tmp_path / "run.npz"
    solver.save_checkpoint(path)
    script = PROBLEM + textwrap.dedent(f"""
        from lbfgsb_py.stepping import Solver
        s = Solver.resume({str(path)!r}, fun, jac={jac}, trace="off")
        r = s.run()
        np.save({str(tmp_path / 'pts.npy')!r}, np.array(POINTS))
        print(r.nfev, r.nit, r.message)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.strip()
    resumed = np.load(tmp_path / "pts.npy")
    assert out == f"{ref.nfev} {ref.nit} {ref.message}"
    np.testing.assert_array_equal(resumed, np.array(ref_points[before:]))


def test_checkpoint_refuses_finished_run(tmp_path):
    solver = Solver(rosen, np.zeros(2), jac=rosen_der)
    solver.run()
    with pytest.raises(ValueError, match="ended"):
        solver.save_checkpoint(tmp_path / "x.npz")

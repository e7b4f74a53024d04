"""SciPy's own L-BFGS-B tests pass with lbfgsb_py in SciPy's place, both ways a user plugs it in.

Three pytest processes run SciPy's installed test modules (``scipy/optimize/tests``)
with ``tests/scipy_suite_plugin.py``, side by side:

* the reference: SciPy's own solver (defines which tests must pass);
* (a) ``internal``: SciPy's ``_minimize_lbfgsb`` replaced by ``lbfgsb_py.scipy_method``;
* (b) ``method``: ``minimize(method="L-BFGS-B")`` rewritten to
  ``method=lbfgsb_py.scipy_method`` and ``fmin_l_bfgs_b`` to ``lbfgsb_py.fmin_l_bfgs_b``.

They run with ``-W error`` (as SciPy's own test configuration does), so a warning
SciPy's tests do not expect fails them.
"""
import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import scipy

TESTS = Path(__file__).resolve().parent
SCIPY_TESTS = "scipy.optimize.tests"
MODULES = ("test_optimize", "test_lbfgsb_hessinv", "test__numdiff",
           "test_minimize_constrained", "test_lbfgsb_setulb")
#: The selection of issue 17 (70 tests, plus the two of test_lbfgsb_setulb) ...
SELECTION = "l_bfgs_b or L-BFGS-B or lbfgsb or LBFGSB"
#: ... and tests that run L-BFGS-B among other methods or under another name.
EXTRA = ("l_bfgs_maxls", "test_minimize_tol_parameter", "test_initial_step_scaling",
         "test_result_x_shape_when_len_x_is_one", "TestOptimizeResultAttributes",
         "test_x_overwritten_user_function", "TestTrustRegionConstr and test_no_constraints")

#: Tests that pass in every run without reaching any L-BFGS-B solver.
NOT_A_SOLVER_TEST = {
    "test_lbfgsb_setulb.py::test_setulb_floatround":
        "calls SciPy's compiled setulb routine directly",
}
#: In (a), tests that SciPy's ``minimize`` answers before calling the solver.
ANSWERED_BY_SCIPY = {
    "TestLBFGSBBounds::test_minimize_l_bfgs_b_incorrect_bounds[bounds0]": "bounds checked",
    "TestLBFGSBBounds::test_minimize_l_bfgs_b_incorrect_bounds[bounds1]": "bounds checked",
    "TestLBFGSBBounds::test_minimize_l_bfgs_b_incorrect_bounds[bounds2]": "bounds checked",
    "TestOptimizeSimple::test_minimize_invalid_bounds[l-bfgs-b]": "bounds checked",
    "test_all_bounds_equal[L-BFGS-B]": "every variable fixed: no solver runs",
}
def _test_files():
    spec = importlib.util.find_spec(SCIPY_TESTS)
    missing = [m for m in MODULES
               if spec is None or importlib.util.find_spec(f"{SCIPY_TESTS}.{m}") is None]
    return spec, missing


def _run(swap, workdir):
    """One pytest process over SciPy's tests; returns {test id: outcome record}."""
    spec, _ = _test_files()
    folder = Path(spec.submodule_search_locations[0])
    report = workdir / f"{swap}.json"
    (workdir / "pytest.ini").write_text("[pytest]\n")
    site = Path(scipy.__file__).resolve().parent.parent
    command = [sys.executable, "-m", "pytest", "-p", "scipy_suite_plugin",
               "--lbfgsb-swap", swap, "--lbfgsb-report", str(report),
               "-c", str(workdir / "pytest.ini"), "--rootdir", str(site),
               "-q", "-p", "no:cacheprovider", "-W", "error",
               "-k", f"{SELECTION} or " + " or ".join(f"({e})" for e in EXTRA),
               *(str(folder / f"{m}.py") for m in MODULES)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=600)
    assert report.exists(), f"the {swap} run wrote no report:\n{done.stdout[-3000:]}" \
                            f"\n{done.stderr[-3000:]}"
    return {_short(k): v for k, v in json.loads(report.read_text()).items()}


def _short(nodeid):
    return nodeid.split("tests/", 1)[-1].removeprefix("test_optimize.py::")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    _, missing = _test_files()
    assert not missing, (f"SciPy's test modules {missing} are not installed in "
                         f"{SCIPY_TESTS}; install a SciPy that ships its tests (pip wheels do)")
    swaps = ("none", "internal", "method")
    dirs = [tmp_path_factory.mktemp(s) for s in swaps]
    with ThreadPoolExecutor(len(swaps)) as pool:
        return dict(zip(swaps, pool.map(_run, swaps, dirs)))


def _passed(run):
    return {k for k, v in run.items() if v["outcome"] == "passed"}


def _failures(run, expected):
    return {k: run.get(k, {}).get("detail", "not run") for k in expected
            if run.get(k, {}).get("outcome") != "passed"}


def test_scipy_passes_the_selection_with_its_own_solver(runs):
    reference = runs["none"]
    assert not [k for k, v in reference.items() if v["outcome"] == "failed"]
    assert len(_passed(reference)) >= 79, sorted(_passed(reference))


def test_a_internal_swap_passes_every_test_scipy_passes(runs):
    expected = _passed(runs["none"])
    assert _failures(runs["internal"], expected) == {}


def test_b_custom_method_passes_every_test_scipy_passes(runs):
    """No exclusions: ``tol`` reaches a custom method as an option and scipy_method
    applies SciPy's rule for L-BFGS-B; hess/hessp/constraints get SciPy's warnings."""
    expected = _passed(runs["none"])
    assert _failures(runs["method"], expected) == {}


@pytest.mark.parametrize("swap, not_ours", [
    ("internal", NOT_A_SOLVER_TEST.keys() | ANSWERED_BY_SCIPY.keys()),
    ("method", NOT_A_SOLVER_TEST.keys()),
])
def test_every_passing_test_reached_lbfgsb_py(runs, swap, not_ours):
    """The swap really happened: each test called lbfgsb_py, except those named."""
    unreached = {k for k in _passed(runs[swap]) if runs[swap][k]["calls"] == 0}
    assert unreached == set(not_ours)

"""Pytest plugin: SciPy's own L-BFGS-B tests, run with lbfgsb_py in SciPy's place.

``tests/test_scipy_suite.py`` loads it into a separate pytest process over SciPy's
installed test modules::

    python -m pytest -p scipy_suite_plugin --lbfgsb-swap MODE --lbfgsb-report FILE ...

MODE is how a user plugs lbfgsb_py in:

* ``internal``: SciPy's internal ``_minimize_lbfgsb`` is replaced by
  ``lbfgsb_py.scipy_method``; ``minimize(method="L-BFGS-B")`` and
  ``fmin_l_bfgs_b`` then reach it with SciPy's own wrapping of callbacks and options.
* ``method``: ``minimize(..., method="L-BFGS-B")`` is rewritten to
  ``method=lbfgsb_py.scipy_method`` (SciPy's custom-method path) and
  ``scipy.optimize.fmin_l_bfgs_b`` is ``lbfgsb_py.fmin_l_bfgs_b``.
* ``none``: SciPy's own solver (the reference run).

The report is JSON: for each test id its outcome (``passed``, ``failed``,
``skipped``), how many times lbfgsb_py was called, and the end of the failure text.
"""
import functools
import inspect
import json

_CALLS = [0]
_OUTCOMES = {}


def pytest_addoption(parser):
    group = parser.getgroup("lbfgsb_py")
    group.addoption("--lbfgsb-swap", choices=("none", "internal", "method"), default="none",
                    help="how lbfgsb_py replaces SciPy's L-BFGS-B")
    group.addoption("--lbfgsb-report", default=None, help="write the outcomes here (JSON)")


def pytest_configure(config):
    swap = config.getoption("--lbfgsb-swap")
    if swap == "internal":
        _swap_internal()
    elif swap == "method":
        _swap_method()


def _counted(function):
    """``function``, counting its calls (to show that a test reached lbfgsb_py)."""
    @functools.wraps(function)
    def counted(*args, **kwargs):
        _CALLS[0] += 1
        return function(*args, **kwargs)
    return counted


def _swap_internal():
    import scipy.optimize._lbfgsb_py as lbfgsb_module
    import scipy.optimize._minimize as minimize_module

    import lbfgsb_py
    ours = _counted(lbfgsb_py.scipy_method)
    minimize_module._minimize_lbfgsb = ours     # what minimize(method="L-BFGS-B") calls
    lbfgsb_module._minimize_lbfgsb = ours       # what fmin_l_bfgs_b calls


def _swap_method():
    import scipy.optimize
    import scipy.optimize._lbfgsb_py as lbfgsb_module
    import scipy.optimize._minimize as minimize_module

    import lbfgsb_py
    original = minimize_module.minimize
    signature = inspect.signature(original)
    method = _counted(lbfgsb_py.scipy_method)

    @functools.wraps(original)
    def minimize(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        name = bound.arguments.get("method")
        if isinstance(name, str) and name.lower() == "l-bfgs-b":
            bound.arguments["method"] = method
        return original(*bound.args, **bound.kwargs)

    scipy.optimize.minimize = minimize_module.minimize = minimize
    scipy.optimize.fmin_l_bfgs_b = lbfgsb_module.fmin_l_bfgs_b = _counted(
        lbfgsb_py.fmin_l_bfgs_b)


def pytest_runtest_setup(item):
    _CALLS[0] = 0


def pytest_runtest_logreport(report):
    entry = _OUTCOMES.setdefault(report.nodeid, {"outcome": "passed", "calls": 0})
    if report.when == "call":
        entry["calls"] = _CALLS[0]
    if report.failed:
        entry["outcome"] = "failed"
        entry["detail"] = report.longreprtext[-1500:]
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session):
    path = session.config.getoption("--lbfgsb-report")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(_OUTCOMES, out, indent=1, sort_keys=True)

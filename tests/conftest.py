"""Shared helpers: run SciPy and lbfgsb_py on the same problem, recording every x.

The suite never starts the background compilation of the compiled backend
(tests of it switch it back on where they need it).
"""
import os

os.environ.setdefault("LBFGSB_PY_BACKGROUND_COMPILE", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.optimize import minimize as scipy_minimize  # noqa: E402

import lbfgsb_py  # noqa: E402


class Recorder:
    """Wrap an objective and remember every point it was called with."""

    def __init__(self, fun):
        self.fun = fun
        self.points = []

    def __call__(self, x, *args):
        self.points.append(np.array(x, copy=True))
        return self.fun(x, *args)


def run_both(fun, x0, jac=None, bounds=None, **options):
    """Run SciPy's L-BFGS-B and ours; return (scipy_result, ours, scipy_points, our_points)."""
    rs, ro = Recorder(fun), Recorder(fun)
    res_s = scipy_minimize(rs, x0, jac=jac, bounds=bounds, method="L-BFGS-B", options=options)
    res_o = lbfgsb_py.minimize(ro, x0, jac=jac, bounds=bounds, **options)
    return res_s, res_o, rs.points, ro.points


def common_prefix(a, b, rtol=1e-8):
    """Length of the common prefix of two point sequences (rtol relative to max(1, |x|))."""
    k = 0
    for p, q in zip(a, b):
        if p.shape != q.shape or np.any(np.abs(p - q) > rtol * np.maximum(1.0, np.abs(p))):
            break
        k += 1
    return k


@pytest.fixture
def both():
    return run_both

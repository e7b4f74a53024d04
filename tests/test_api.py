"""Argument checking, accepted input forms, and the plain-Python (no JIT) mode."""
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import Bounds, rosen, rosen_der

import lbfgsb_py


def quad(x):
    return float(np.sum((x - 0.5) ** 2))


def quad_grad(x):
    return 2 * (x - 0.5)


BAD = [
    (dict(x0=np.zeros((2, 2))), ValueError, "x0 must be one-dimensional"),
    (dict(x0=[]), ValueError, "x0 is empty"),
    (dict(x0=[1 + 1j, 2]), TypeError, "complex"),
    (dict(x0=np.array(["a", "b"], dtype=object)), TypeError, "real numbers"),
    (dict(x0=[np.nan, 1.0]), ValueError, r"x0\[0\] is nan"),
    (dict(x0=[1.0, np.inf]), ValueError, r"x0\[1\] is inf"),
    (dict(bounds=[(0, 1)] * 3), ValueError, "bounds has 3 entries but x0 has 2"),
    (dict(bounds=[(0, 1), (2, 1)]), ValueError, r"bounds\[1\]: lower 2.0 > upper 1.0"),
    (dict(bounds=[(0, 1), (np.nan, 1)]), ValueError, r"bounds\[1\]: lower bound is NaN"),
    (dict(maxcor=0), ValueError, "maxcor must be at least 1"),
    (dict(maxfun=-1), ValueError, "maxfun must be >= 0"),
    (dict(maxls=0), ValueError, "maxls must be at least 1"),
    (dict(maxcor=2.5), TypeError, "maxcor must be an integer"),
    (dict(ftol=-1.0), ValueError, "ftol must be >= 0"),
    (dict(gtol=-1e-5), ValueError, "gtol must be >= 0"),
    (dict(jac=None, eps=0.0), ValueError, "eps must be > 0"),
    (dict(jac="cs"), ValueError, "jac must be a callable"),
    (dict(variant="2011"), ValueError, "variant must be"),
    (dict(trace=3), TypeError, "trace must be"),
    (dict(trace="verbose"), ValueError, "trace level"),
    (dict(callback=5), TypeError, "callback must be callable"),
    (dict(jac=lambda x: np.ones(3)), ValueError, r"jac returned shape \(3,\), expected \(2,\)"),
    (dict(jac=lambda x: None), TypeError, "jac returned None"),
    (dict(jac=lambda x: np.array(["a", "b"])), TypeError, "dtype"),
    (dict(fun=lambda x: np.ones(2)), TypeError, r"fun must return a scalar.*shape \(2,\)"),
    (dict(fun=lambda x: None), TypeError, "fun must return a real number"),
    (dict(fun=lambda x: "1.0"), TypeError, "fun must return a real number"),
    (dict(fun=lambda x: 1.0, jac=True), TypeError, r"pair \(f, g\)"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_input_gets_a_clear_error(kwargs, exc, match):
    args = dict(fun=quad, x0=[0.0, 0.0], jac=quad_grad) | kwargs
    with pytest.raises(exc, match=match):
        lbfgsb_py.minimize(args.pop("fun"), args.pop("x0"), **args)


def test_unknown_option_is_rejected():
    with pytest.raises(TypeError, match="maxcorr"):
        lbfgsb_py.minimize(quad, [0.0], maxcorr=5)


@pytest.mark.parametrize("x0", [[0, 0], np.zeros(2, np.float32), np.zeros(4)[::2], (0, 0),
                                np.array([3, -1])])
def test_awkward_but_legal_x0(x0):
    res = lbfgsb_py.minimize(quad, x0, jac=quad_grad)
    assert res.success and res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, [0.5, 0.5], atol=1e-6)


@pytest.mark.parametrize("bounds", [
    [(0, 0.2), (None, None)], (np.array([0, -np.inf]), np.array([0.2, np.inf])), Bounds([0, -np.inf], [0.2, np.inf]),
    [(0, 0.2), (-1e300, 1e300)], [(None, 0.2), (0, None)],
])
def test_bound_forms(bounds):
    res = lbfgsb_py.minimize(quad, [0.1, 0.1], jac=quad_grad, bounds=bounds)
    np.testing.assert_allclose(res.x, [0.2, 0.5], atol=1e-6)


def test_n_equals_one_and_x0_outside_box_is_clipped():
    seen = []
    res = lbfgsb_py.minimize(lambda x: (seen.append(x.copy()), quad(x))[1], [7.0],
                             jac=quad_grad, bounds=[(-1, 2)])
    assert seen[0][0] == 2.0 and res.success
    assert res.x == pytest.approx([0.5])


def test_solve_without_jit_is_identical():
    code = ("import numpy as np, lbfgsb_py; from scipy.optimize import rosen, rosen_der; "
            "r = lbfgsb_py.minimize(rosen, [1.3, 0.7, 0.8, 1.9], jac=rosen_der, "
            "bounds=[(-2, 2)] * 4); print(repr(r.x.tolist()), r.nfev, r.message)")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", LBFGSB_PY_BACKEND="compiled")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    ref = lbfgsb_py.minimize(rosen, [1.3, 0.7, 0.8, 1.9], jac=rosen_der, bounds=[(-2, 2)] * 4,
                             backend="compiled")
    assert out == f"{ref.x.tolist()!r} {ref.nfev} {ref.message}"

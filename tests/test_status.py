"""status / success / message identical to SciPy's for every way a run can end."""
import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize
from scipy.optimize import rosen, rosen_der

import lbfgsb_py

CASES = {
    "gtol": dict(fun=rosen, jac=rosen_der, x0=[1.3, 0.7, 0.8, 1.9, 1.2], bounds=[(-2, 2)] * 5),
    "ftol": dict(fun=rosen, jac=rosen_der, x0=np.zeros(5)),
    "maxiter": dict(fun=rosen, jac=rosen_der, x0=np.zeros(5), options={"maxiter": 5}),
    "maxfun": dict(fun=rosen, jac=rosen_der, x0=np.zeros(5), options={"maxfun": 5}),
    "abnormal": dict(fun=lambda x: x @ x, jac=lambda x: -2 * x, x0=np.ones(2)),
    "maxls1": dict(fun=rosen, jac=rosen_der, x0=np.zeros(5), options={"maxls": 1}),
    "x0_stationary": dict(fun=lambda x: (x ** 2).sum(), jac=lambda x: 2 * x, x0=np.zeros(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_outcome_table_matches_scipy(name):
    case = CASES[name]
    options = case.get("options", {})
    ref = scipy_minimize(case["fun"], case["x0"], jac=case["jac"], bounds=case.get("bounds"),
                         method="L-BFGS-B", options=options)
    ours = lbfgsb_py.minimize(case["fun"], case["x0"], jac=case["jac"],
                              bounds=case.get("bounds"), **options)
    assert (ours.status, ours.success, ours.message) == (ref.status, ref.success, ref.message)
    assert (ours.nit, ours.nfev, ours.njev) == (ref.nit, ref.nfev, ref.njev)
    assert ours.fun_last_trial == pytest.approx(ref.fun, rel=1e-10)
    assert ours.fun == case["fun"](ours.x)


def test_fun_is_f_of_x_after_abnormal():
    """The deliberate difference: SciPy returns the last trial's f after ABNORMAL."""
    ref = scipy_minimize(rosen, np.zeros(5), jac=rosen_der, method="L-BFGS-B",
                         options={"maxls": 1})
    ours = lbfgsb_py.minimize(rosen, np.zeros(5), jac=rosen_der, maxls=1)
    assert ref.message == ours.message == "ABNORMAL: "
    assert ref.fun == 26.0 and rosen(ref.x) == 4.0          # SciPy's mismatch (facts §1.4)
    assert ours.fun == rosen(ours.x) == 4.0 and ours.fun_last_trial == 26.0
    np.testing.assert_array_equal(ours.jac, rosen_der(ours.x))
    end = ours.trace.of_kind("termination")[0]
    assert (end.f, end.f_last_trial) == (4.0, 26.0)


def stop_after(k):
    calls = []

    def callback(intermediate_result):
        calls.append(intermediate_result.fun)
        if len(calls) == k:
            raise StopIteration
    return callback


def test_callback_stopiteration_matches_scipy():
    ref = scipy_minimize(rosen, np.zeros(4), jac=rosen_der, method="L-BFGS-B",
                         callback=stop_after(3))
    ours = lbfgsb_py.minimize(rosen, np.zeros(4), jac=rosen_der, callback=stop_after(3))
    assert (ours.status, ours.success, ours.message) == (ref.status, ref.success, ref.message)
    assert ours.nit == ref.nit == 3
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-10)


def test_old_style_callback_gets_a_copy():
    seen = []
    res = lbfgsb_py.minimize(rosen, np.zeros(3), jac=rosen_der, callback=seen.append)
    assert len(seen) == res.nit
    assert not np.shares_memory(seen[-1], res.x)
    np.testing.assert_array_equal(seen[-1], res.x)


def test_all_fixed_and_partly_fixed_match_scipy():
    b_all = [(1.0, 1.0), (2.0, 2.0)]
    ref = scipy_minimize(rosen, [0, 0], method="L-BFGS-B", bounds=b_all)
    ours = lbfgsb_py.minimize(rosen, [0, 0], bounds=b_all)
    assert (ours.message, ours.nfev, ours.success) == (ref.message, ref.nfev, ref.success)
    b_some = [(-2, 2), (0.5, 0.5), (-2, 2)]
    ref = scipy_minimize(rosen, [0, 0.5, 0], method="L-BFGS-B", bounds=b_some)
    ours = lbfgsb_py.minimize(rosen, [0, 0.5, 0], bounds=b_some)
    assert (ours.message, ours.nfev, ours.nit) == (ref.message, ref.nfev, ref.nit)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)
    assert np.isnan(ours.jac[1]) and ours.hess_inv is None


def test_scipy_custom_method():
    from scipy.optimize import Bounds
    res = scipy_minimize(rosen, np.zeros(3), jac=rosen_der, method=lbfgsb_py.scipy_method,
                         bounds=Bounds([-1] * 3, [0.5] * 3), options={"maxcor": 5})
    ref = scipy_minimize(rosen, np.zeros(3), jac=rosen_der, method="L-BFGS-B",
                         bounds=Bounds([-1] * 3, [0.5] * 3), options={"maxcor": 5})
    assert res.message == ref.message and res.nit == ref.nit
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9)
    assert len(res.trace) > 0


NONFINITE = {
    "nan_f_nan_g": (lambda x: np.nan, lambda x: np.array([np.nan, 1.0])),
    "nan_f_good_g": (lambda x: np.nan, lambda x: x - 3.0),
    "inf_f": (lambda x: np.inf, lambda x: np.ones(2)),
    "nan_beyond_region": (lambda x: x @ x if np.all(np.abs(x) < 1.5) else np.nan,
                          lambda x: 2 * x if np.all(np.abs(x) < 1.5) else np.full(2, np.nan)),
}


@pytest.mark.parametrize("name", sorted(NONFINITE))
def test_nonfinite_values_handled_as_scipy(name):
    fun, jac = NONFINITE[name]
    x0 = np.array([1.0, -1.2])
    options = {"maxfun": 50} if name == "inf_f" else {}
    ref = scipy_minimize(fun, x0, jac=jac, method="L-BFGS-B", options=options)
    ours = lbfgsb_py.minimize(fun, x0, jac=jac, **options)
    assert (ours.status, ours.message, ours.nfev, ours.nit) == \
        (ref.status, ref.message, ref.nfev, ref.nit)
    np.testing.assert_array_equal(ours.x, ref.x)
    assert ours.trace.of_kind("termination")[0].message == ref.message

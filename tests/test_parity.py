"""Evaluation-by-evaluation parity with SciPy's compiled L-BFGS-B on a zoo of problems."""
import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

from conftest import common_prefix, run_both


def quadratic(n, cond, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.logspace(0, np.log10(cond), n)) @ q.T
    b = rng.standard_normal(n) * 10
    return (lambda x: 0.5 * x @ a @ x - b @ x), (lambda x: a @ x - b)


def entropy(x):
    # SciPy's TestOptimizeSimple.test_l_bfgs_b problem (a log-sum-exp "entropy").
    return np.log(np.sum(np.exp(x @ F.T))) - x @ K


def entropy_grad(x):
    p = np.exp(x @ F.T)
    return (p / p.sum()) @ F - K


F = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 1], [1, 0, 0], [1, 0, 0]], float)
K = np.array([1.0, 0.3, 0.5])
QF, QG = quadratic(12, 1e3, 0)

ZOO = {
    "rosen5_box": (rosen, rosen_der, [1.3, 0.7, 0.8, 1.9, 1.2], [(-2, 2)] * 5, {}),
    "rosen5_free": (rosen, rosen_der, np.zeros(5), None, {}),
    "rosen5_mixed": (rosen, rosen_der, [1.3, 0.7, 0.8, 1.9, 1.2],
                     [(-2, 2), (None, 1), (0.5, None), (-2, 2), (None, None)], {}),
    "rosen8_m3": (rosen, rosen_der, -1.2 * np.ones(8), [(-1.5, 0.9)] * 8, {"maxcor": 3}),
    "rosen4_fd": (rosen, None, [1.3, 0.7, 0.8, 1.9], [(-2, 2)] * 4, {}),
    "quad12_box": (QF, QG, np.zeros(12), [(-1, 1)] * 12, {}),
    "entropy": (entropy, entropy_grad, np.zeros(3), None, {}),
    "rosen5_maxls1": (rosen, rosen_der, np.zeros(5), None, {"maxls": 1}),
    "rosen5_maxiter": (rosen, rosen_der, np.zeros(5), None, {"maxiter": 7}),
    "rosen5_maxfun": (rosen, rosen_der, np.zeros(5), None, {"maxfun": 9}),
    "rosen5_ftol": (rosen, rosen_der, np.zeros(5), None, {"ftol": 1e-3}),
    "wrong_gradient": (lambda x: x @ x, lambda x: np.array([2 * x[0] - 1, 2 * x[1]]),
                       np.ones(2), None, {}),
    "wrong_sign_gradient": (lambda x: x @ x, lambda x: -2 * x, np.ones(2), None, {}),
    "wrong_sign_gradient_m1": (lambda x: x @ x, lambda x: -2 * x, np.ones(2), [(-5, 5)] * 2,
                               {"maxcor": 1}),
}

# Runs long enough for round-off to be amplified: ours and SciPy's sums are
# ordered differently (OpenBLAS ddot/daxpy vs sequential loops), so the paths
# separate late in the run after the differences grew smoothly from ~1e-16.
ROUNDOFF = {
    "quad12_free_cond1e3": (QF, QG, np.ones(12), None, {"maxcor": 5}),
    "rosen3_fd_free": (rosen, None, [-1.2, 1.0, 1.1], None, {}),
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_same_evaluation_sequence(name):
    fun, jac, x0, bounds, options = ZOO[name]
    res_s, res_o, pts_s, pts_o = run_both(fun, np.asarray(x0, float), jac, bounds, **options)
    assert len(pts_o) == len(pts_s)
    assert common_prefix(pts_s, pts_o) == len(pts_s)
    assert (res_o.status, res_o.message, res_o.nit) == (res_s.status, res_s.message, res_s.nit)
    assert (res_o.nfev, res_o.njev) == (res_s.nfev, res_s.njev)
    np.testing.assert_allclose(res_o.x, res_s.x, rtol=1e-8, atol=1e-10)
    # SciPy's fun is the last trial's f; ours is f(x) (the one deliberate difference).
    assert res_o.fun_last_trial == pytest.approx(res_s.fun, rel=1e-8, abs=1e-12)
    assert res_o.fun == fun(res_o.x)


@pytest.mark.parametrize("name", sorted(ROUNDOFF))
def test_roundoff_divergence_is_late_and_gradual(name):
    fun, jac, x0, bounds, options = ROUNDOFF[name]
    res_s, res_o, pts_s, pts_o = run_both(fun, np.asarray(x0, float), jac, bounds, **options)
    k = common_prefix(pts_s, pts_o)
    assert k >= 40
    gap = [np.max(np.abs(pts_s[j] - pts_o[j]) / np.maximum(1, np.abs(pts_s[j])))
           for j in range(k - 3, k)]
    assert max(gap) < 1e-7  # still at round-off level just before the paths separate
    assert res_s.success and res_o.success
    assert res_o.fun == pytest.approx(res_s.fun, rel=1e-6, abs=1e-10)


def test_hess_inv_matches_scipy():
    res_s, res_o, _, _ = run_both(rosen, np.zeros(6), rosen_der, None, maxcor=3)
    v = np.arange(1.0, 7.0)
    np.testing.assert_allclose(res_o.hess_inv.matvec(v), res_s.hess_inv.matvec(v), rtol=1e-7)
    np.testing.assert_allclose(res_o.hess_inv.todense(), res_s.hess_inv.todense(), rtol=1e-7)
    np.testing.assert_allclose(res_o.hess_inv @ v, res_s.hess_inv @ v, rtol=1e-7)

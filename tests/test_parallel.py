"""The passes over S and Y shared among threads give the same bits as on one thread."""
import numba
import numpy as np
import pytest

import lbfgsb_py
from lbfgsb_py import driver
from lbfgsb_py.compiled import backend as compiled
from validation.bench import Problem


def _points(fun, n, bounds, maxcor):
    points = []

    def recorded(x):
        points.append(x.copy())
        return fun(x)
    res = lbfgsb_py.minimize(recorded, np.zeros(n), jac=True, bounds=bounds, maxcor=maxcor,
                             maxiter=25, gtol=0, ftol=0, trace="off", backend="compiled")
    return np.array(points), res


@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("maxcor", [3, 10])
def test_threads_change_no_bit(monkeypatch, bounded, maxcor):
    if numba.get_num_threads() < 2:
        pytest.skip("one thread only: nothing to compare")
    n = 3001
    fun = Problem(n, bounded)
    bounds = list(zip(*fun.bounds)) if bounded else None
    serial, res1 = _points(fun, n, bounds, maxcor)
    monkeypatch.setattr(compiled, "PARALLEL_MIN_N", 1)
    threaded, res2 = _points(fun, n, bounds, maxcor)
    assert res1.nit == res2.nit == 25
    assert serial.shape == threaded.shape
    assert np.array_equal(serial, threaded)
    assert res1.fun == res2.fun


def test_engine_uses_threads_only_for_large_problems(monkeypatch):
    small = driver.start(np.zeros(10), np.full(10, -np.inf), np.full(10, np.inf),
                         backend="compiled").kernels
    assert small.nparts == 1
    monkeypatch.setattr(compiled, "PARALLEL_MIN_N", 10)
    assert small.nparts == numba.get_num_threads()


def test_projected_gradient_norm_is_the_same_maximum_on_threads():
    from lbfgsb_py.compiled import bounds as bd
    n = 3 * bd.PROJGR_BLOCK + 17          # several blocks, the last one short
    rng = np.random.default_rng(5)
    x, g = rng.uniform(-1, 1, n), rng.standard_normal(n)
    lower, upper = np.full(n, -0.5), np.full(n, 0.5)
    nbd = rng.integers(0, 4, n)
    x = np.clip(x, lower, upper)
    serial = bd.projected_gradient_norm(x, g, lower, upper, nbd, 1)
    assert bd.projected_gradient_norm(x, g, lower, upper, nbd, 2) == serial
    lo = np.where((nbd == 1) | (nbd == 2), lower, -np.inf)
    hi = np.where(nbd >= 2, upper, np.inf)
    assert serial == np.max(np.abs(np.clip(x - g, lo, hi) - x))
    g[2 * bd.PROJGR_BLOCK + 3] = np.nan
    assert np.isnan(bd.projected_gradient_norm(x, g, lower, upper, nbd, 2))

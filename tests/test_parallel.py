"""The passes over S and Y shared among threads give the same bits as on one thread."""
import numba
import numpy as np
import pytest

import lbfgsb_py
from lbfgsb_py import driver
from validation.bench import Problem


def _points(fun, n, bounds, maxcor):
    points = []

    def recorded(x):
        points.append(x.copy())
        return fun(x)
    res = lbfgsb_py.minimize(recorded, np.zeros(n), jac=True, bounds=bounds, maxcor=maxcor,
                             maxiter=25, gtol=0, ftol=0, trace="off")
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
    monkeypatch.setattr(driver, "PARALLEL_MIN_N", 1)
    threaded, res2 = _points(fun, n, bounds, maxcor)
    assert res1.nit == res2.nit == 25
    assert serial.shape == threaded.shape
    assert np.array_equal(serial, threaded)
    assert res1.fun == res2.fun


def test_engine_uses_threads_only_for_large_problems(monkeypatch):
    small = driver.Engine(np.zeros(10), np.full(10, -np.inf), np.full(10, np.inf))
    assert small.nparts == 1
    monkeypatch.setattr(driver, "PARALLEL_MIN_N", 10)
    assert small.nparts == numba.get_num_threads()

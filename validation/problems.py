"""Test problems used to validate ``lbfgsb_py`` against ``scipy.optimize``.

Families (see the ``tags`` of each :class:`Problem`):

* ``"mgh"``: the 35 problems of Moré, Garbow & Hillstrom, "Testing
  unconstrained optimization software", ACM TOMS 7(1):17-41, 1981 ([MGH]),
  written as residuals r(x) with analytic Jacobian J(x) so that
  f = r.r and grad f = 2 J^T r.  Each one appears unbounded (``"unbounded"``)
  and with a box that is active at the solution (``"bounded"``).
* ``"quadratic"``: random convex quadratics with prescribed condition numbers.
* ``"least_squares"``: bounded linear least squares.
* ``"logistic"``: L2-regularised logistic regression on synthetic data.
* ``"seed"``: reproducers of the user stories that started the project.
* ``"large"``: n = 1e4 .. 1e6, only returned with ``include_large=True``.

Everything is deterministic: random data comes from
``np.random.default_rng(<fixed seed>)`` and is generated when the problems are
built (not at import time).  scipy is not needed by this module.  Objectives
with exponentials return inf/nan on overflow without emitting RuntimeWarnings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

BoundsList = list[tuple[float | None, float | None]]


@dataclass(frozen=True)
class Problem:
    """One minimisation problem: ``min fun(x)`` subject to ``bounds``, from ``x0``."""

    name: str
    tags: tuple[str, ...]
    x0: np.ndarray
    fun: Callable
    jac: Callable | None  # None: use finite differences
    bounds: BoundsList | None  # None: unbounded
    options: dict = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        object.__setattr__(self, "x0", np.array(self.x0, dtype=np.float64).ravel())
        object.__setattr__(self, "tags", tuple(self.tags))

    @property
    def n(self) -> int:
        return self.x0.size

    def bounds_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds as two float arrays (``-inf``/``inf`` for missing bounds)."""
        lo = np.full(self.n, -np.inf)
        hi = np.full(self.n, np.inf)
        if self.bounds is not None:
            for i, (a, b) in enumerate(self.bounds):
                lo[i] = -np.inf if a is None else a
                hi[i] = np.inf if b is None else b
        return lo, hi


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _quiet(fn: Callable) -> Callable:
    """Evaluate fn(x) without overflow/invalid RuntimeWarnings (results become
    inf/nan silently), so solver trial steps far out do not raise under
    ``-W error`` (the project's pytest configuration)."""

    @functools.wraps(fn)
    def wrapped(x):
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(x)

    return wrapped


def _sumsq(res: Callable, jac: Callable) -> tuple[Callable, Callable]:
    """Turn residuals r(x) and Jacobian J(x) into (f, grad) with f = r.r."""

    @_quiet
    def fun(x):
        r = res(np.asarray(x, dtype=np.float64))
        return float(r @ r)

    @_quiet
    def grad(x):
        x = np.asarray(x, dtype=np.float64)
        return 2.0 * (jac(x).T @ res(x))

    return fun, grad


def _linear(A: np.ndarray, b: np.ndarray) -> tuple[Callable, Callable]:
    """Residuals r(x) = A x - b and their (constant) Jacobian."""
    return (lambda x: A @ x - b), (lambda x: A)


def _box(n: int, spec: dict[int, tuple[float | None, float | None]]) -> BoundsList:
    """Bounds list for n variables; ``spec`` maps index -> (lo, hi)."""
    bounds: BoundsList = [(None, None)] * n
    for i, lohi in spec.items():
        bounds[i] = lohi
    return bounds


# ---------------------------------------------------------------------------
# Moré-Garbow-Hillstrom (1981).  Each builder returns (res, jac, x0).
# Indices in docstrings are 1-based as in the paper; code is 0-based.
# ---------------------------------------------------------------------------

def _mgh01():
    """[MGH 1] Rosenbrock, n=m=2.  f*=0 at (1, 1)."""
    def res(x):
        return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])

    def jac(x):
        return np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])

    return res, jac, [-1.2, 1.0]


def _mgh02():
    """[MGH 2] Freudenstein and Roth, n=m=2.  f*=0 at (5, 4); local f=48.9842."""
    def res(x):
        a, b = x
        return np.array([-13.0 + a + ((5.0 - b) * b - 2.0) * b,
                         -29.0 + a + ((b + 1.0) * b - 14.0) * b])

    def jac(x):
        b = x[1]
        return np.array([[1.0, (10.0 - 3.0 * b) * b - 2.0],
                         [1.0, (3.0 * b + 2.0) * b - 14.0]])

    return res, jac, [0.5, -2.0]


def _mgh03():
    """[MGH 3] Powell badly scaled, n=m=2.  f*=0 at (1.098e-5, 9.106)."""
    def res(x):
        return np.array([1e4 * x[0] * x[1] - 1.0,
                         np.exp(-x[0]) + np.exp(-x[1]) - 1.0001])

    def jac(x):
        return np.array([[1e4 * x[1], 1e4 * x[0]],
                         [-np.exp(-x[0]), -np.exp(-x[1])]])

    return res, jac, [0.0, 1.0]


def _mgh04():
    """[MGH 4] Brown badly scaled, n=2, m=3.  f*=0 at (1e6, 2e-6)."""
    def res(x):
        return np.array([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])

    def jac(x):
        return np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])

    return res, jac, [1.0, 1.0]


def _mgh05():
    """[MGH 5] Beale, n=2, m=3.  f*=0 at (3, 0.5)."""
    y = np.array([1.5, 2.25, 2.625])
    i = np.arange(1.0, 4.0)

    def res(x):
        return y - x[0] * (1.0 - x[1] ** i)

    def jac(x):
        return np.column_stack([x[1] ** i - 1.0, x[0] * i * x[1] ** (i - 1.0)])

    return res, jac, [1.0, 1.0]


def _mgh06(m=10):
    """[MGH 6] Jennrich and Sampson, n=2, m=10.  f*=124.362 at x1=x2=0.2578."""
    i = np.arange(1.0, m + 1.0)

    def res(x):
        return 2.0 + 2.0 * i - np.exp(i * x[0]) - np.exp(i * x[1])

    def jac(x):
        return np.column_stack([-i * np.exp(i * x[0]), -i * np.exp(i * x[1])])

    return res, jac, [0.3, 0.4]


def _mgh07():
    """[MGH 7] Helical valley, n=m=3.  f*=0 at (1, 0, 0).  Undefined at x1=0."""
    def theta(x):
        return np.arctan(x[1] / x[0]) / (2.0 * np.pi) + (0.5 if x[0] < 0 else 0.0)

    def res(x):
        return np.array([10.0 * (x[2] - 10.0 * theta(x)),
                         10.0 * (np.hypot(x[0], x[1]) - 1.0), x[2]])

    def jac(x):
        r2, rho = x[0] ** 2 + x[1] ** 2, np.hypot(x[0], x[1])
        c = 100.0 / (2.0 * np.pi * r2)
        return np.array([[c * x[1], -c * x[0], 10.0],
                         [10.0 * x[0] / rho, 10.0 * x[1] / rho, 0.0],
                         [0.0, 0.0, 1.0]])

    return res, jac, [-1.0, 0.0, 0.0]


_BARD_Y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58,
                    0.73, 0.96, 1.34, 2.10, 4.39])


def _mgh08():
    """[MGH 8] Bard, n=3, m=15.  f*=8.21487e-3."""
    u = np.arange(1.0, 16.0)
    v = 16.0 - u
    w = np.minimum(u, v)

    def res(x):
        return _BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))

    def jac(x):
        d2 = (v * x[1] + w * x[2]) ** 2
        return np.column_stack([-np.ones_like(u), u * v / d2, u * w / d2])

    return res, jac, [1.0, 1.0, 1.0]


_GAUSS_Y = np.array([0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
                     0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009])


def _mgh09():
    """[MGH 9] Gaussian, n=3, m=15.  f*=1.12793e-8."""
    t = (8.0 - np.arange(1.0, 16.0)) / 2.0

    def res(x):
        return x[0] * np.exp(-x[1] * (t - x[2]) ** 2 / 2.0) - _GAUSS_Y

    def jac(x):
        d = t - x[2]
        e = np.exp(-x[1] * d ** 2 / 2.0)
        return np.column_stack([e, -x[0] * e * d ** 2 / 2.0, x[0] * e * x[1] * d])

    return res, jac, [0.4, 1.0, 0.0]


_MEYER_Y = np.array([34780., 28610., 23650., 19630., 16370., 13720., 11540., 9744.,
                     8261., 7030., 6005., 5147., 4427., 3820., 3307., 2872.])


def _mgh10():
    """[MGH 10] Meyer, n=3, m=16.  f*=87.9458 (very badly scaled)."""
    t = 45.0 + 5.0 * np.arange(1.0, 17.0)

    def res(x):
        return x[0] * np.exp(x[1] / (t + x[2])) - _MEYER_Y

    def jac(x):
        d = t + x[2]
        e = np.exp(x[1] / d)
        return np.column_stack([e, x[0] * e / d, -x[0] * e * x[1] / d ** 2])

    return res, jac, [0.02, 4000.0, 250.0]


def _mgh11(m=99):
    """[MGH 11] Gulf research and development, n=3, m=99.  f*=0 at (50, 25, 1.5)."""
    t = np.arange(1.0, m + 1.0) / 100.0
    y = 25.0 + (-50.0 * np.log(t)) ** (2.0 / 3.0)

    def parts(x):
        d = y - x[1]
        a = np.abs(d)
        p = a ** x[2]
        return d, a, p, np.exp(-p / x[0])

    def res(x):
        return parts(x)[3] - t

    def jac(x):
        d, a, p, e = parts(x)
        return np.column_stack([e * p / x[0] ** 2,
                                e * x[2] * a ** (x[2] - 1.0) * np.sign(d) / x[0],
                                -e * p * np.log(a) / x[0]])

    return res, jac, [5.0, 2.5, 0.15]


def _mgh12(m=10):
    """[MGH 12] Box three-dimensional, n=3, m=10.  f*=0 at (1, 10, 1) and others."""
    t = 0.1 * np.arange(1.0, m + 1.0)
    c = np.exp(-t) - np.exp(-10.0 * t)

    def res(x):
        return np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * c

    def jac(x):
        return np.column_stack([-t * np.exp(-t * x[0]), t * np.exp(-t * x[1]), -c])

    return res, jac, [0.0, 10.0, 20.0]


def _mgh13():
    """[MGH 13] Powell singular, n=m=4.  f*=0 at the origin (singular Hessian)."""
    s5, s10 = np.sqrt(5.0), np.sqrt(10.0)

    def res(x):
        return np.array([x[0] + 10.0 * x[1], s5 * (x[2] - x[3]),
                         (x[1] - 2.0 * x[2]) ** 2, s10 * (x[0] - x[3]) ** 2])

    def jac(x):
        a, b = 2.0 * (x[1] - 2.0 * x[2]), 2.0 * s10 * (x[0] - x[3])
        return np.array([[1.0, 10.0, 0.0, 0.0], [0.0, 0.0, s5, -s5],
                         [0.0, a, -2.0 * a, 0.0], [b, 0.0, 0.0, -b]])

    return res, jac, [3.0, -1.0, 0.0, 1.0]


def _mgh14():
    """[MGH 14] Wood, n=4, m=6.  f*=0 at (1, 1, 1, 1)."""
    s90, s10 = np.sqrt(90.0), np.sqrt(10.0)

    def res(x):
        return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0],
                         s90 * (x[3] - x[2] ** 2), 1.0 - x[2],
                         s10 * (x[1] + x[3] - 2.0), (x[1] - x[3]) / s10])

    def jac(x):
        return np.array([[-20.0 * x[0], 10.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0],
                         [0.0, 0.0, -2.0 * s90 * x[2], s90], [0.0, 0.0, -1.0, 0.0],
                         [0.0, s10, 0.0, s10], [0.0, 1.0 / s10, 0.0, -1.0 / s10]])

    return res, jac, [-3.0, -1.0, -3.0, -1.0]


_KOWALIK_Y = np.array([0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456,
                       0.0342, 0.0323, 0.0235, 0.0246])
_KOWALIK_U = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714,
                       0.0625])


def _mgh15():
    """[MGH 15] Kowalik and Osborne, n=4, m=11.  f*=3.07505e-4."""
    u = _KOWALIK_U

    def res(x):
        return _KOWALIK_Y - x[0] * (u ** 2 + u * x[1]) / (u ** 2 + u * x[2] + x[3])

    def jac(x):
        num, den = u ** 2 + u * x[1], u ** 2 + u * x[2] + x[3]
        q = x[0] * num / den ** 2
        return np.column_stack([-num / den, -x[0] * u / den, q * u, q])

    return res, jac, [0.25, 0.39, 0.415, 0.39]


def _mgh16(m=20):
    """[MGH 16] Brown and Dennis, n=4, m=20.  f*=85822.2."""
    t = np.arange(1.0, m + 1.0) / 5.0
    st = np.sin(t)

    def parts(x):
        return x[0] + t * x[1] - np.exp(t), x[2] + x[3] * st - np.cos(t)

    def res(x):
        a, b = parts(x)
        return a ** 2 + b ** 2

    def jac(x):
        a, b = parts(x)
        return 2.0 * np.column_stack([a, a * t, b, b * st])

    return res, jac, [25.0, 5.0, -5.0, -1.0]


_OSBORNE1_Y = np.array([
    0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
    0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
    0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406])


def _mgh17():
    """[MGH 17] Osborne 1, n=5, m=33.  f*=5.46489e-5."""
    t = 10.0 * np.arange(33.0)

    def res(x):
        return _OSBORNE1_Y - (x[0] + x[1] * np.exp(-t * x[3]) + x[2] * np.exp(-t * x[4]))

    def jac(x):
        e4, e5 = np.exp(-t * x[3]), np.exp(-t * x[4])
        return np.column_stack([-np.ones_like(t), -e4, -e5, x[1] * t * e4, x[2] * t * e5])

    return res, jac, [0.5, 1.5, -1.0, 0.01, 0.02]


def _mgh18(m=13):
    """[MGH 18] Biggs EXP6, n=6, m=13.  f*=0 at (1, 10, 1, 5, 4, 3); local 5.65565e-3."""
    t = 0.1 * np.arange(1.0, m + 1.0)
    y = np.exp(-t) - 5.0 * np.exp(-10.0 * t) + 3.0 * np.exp(-4.0 * t)

    def res(x):
        return (x[2] * np.exp(-t * x[0]) - x[3] * np.exp(-t * x[1])
                + x[5] * np.exp(-t * x[4]) - y)

    def jac(x):
        e1, e2, e5 = np.exp(-t * x[0]), np.exp(-t * x[1]), np.exp(-t * x[4])
        return np.column_stack([-t * x[2] * e1, t * x[3] * e2, e1, -e2,
                                -t * x[5] * e5, e5])

    return res, jac, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0]


_OSBORNE2_Y = np.array([
    1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746,
    0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649,
    0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395,
    0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653,
    0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739,
    0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054])


def _mgh19():
    """[MGH 19] Osborne 2, n=11, m=65.  f*=4.01377e-2."""
    t = np.arange(65.0) / 10.0
    peaks = [(1, 5, 8), (2, 6, 9), (3, 7, 10)]  # (amplitude, width, centre) indices

    def res(x):
        model = x[0] * np.exp(-t * x[4])
        for a, s, c in peaks:
            model = model + x[a] * np.exp(-(t - x[c]) ** 2 * x[s])
        return _OSBORNE2_Y - model

    def jac(x):
        J = np.zeros((t.size, 11))
        e = np.exp(-t * x[4])
        J[:, 0], J[:, 4] = -e, x[0] * t * e
        for a, s, c in peaks:
            d = t - x[c]
            g = np.exp(-d ** 2 * x[s])
            J[:, a], J[:, s], J[:, c] = -g, x[a] * g * d ** 2, -2.0 * x[a] * g * x[s] * d
        return J

    return res, jac, [1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5]


def _mgh20(n):
    """[MGH 20] Watson, m=31 (n=6: f*=2.28767e-3, n=9: f*=1.39976e-6)."""
    t = np.arange(1.0, 30.0) / 29.0
    j = np.arange(n, dtype=float)
    P = t[:, None] ** j                       # t^(j-1), 1-based j
    D = j * t[:, None] ** np.maximum(j - 1.0, 0.0)  # (j-1) t^(j-2)

    def res(x):
        s = P @ x
        return np.concatenate([D @ x - s ** 2 - 1.0, [x[0], x[1] - x[0] ** 2 - 1.0]])

    def jac(x):
        tail = np.zeros((2, n))
        tail[0, 0], tail[1, 0], tail[1, 1] = 1.0, -2.0 * x[0], 1.0
        return np.vstack([D - 2.0 * (P @ x)[:, None] * P, tail])

    return res, jac, np.zeros(n)


def _mgh21(n=10):
    """[MGH 21] Extended Rosenbrock, n=m=10.  f*=0 at (1, ..., 1)."""
    def res(x):
        r = np.empty(n)
        r[0::2], r[1::2] = 10.0 * (x[1::2] - x[0::2] ** 2), 1.0 - x[0::2]
        return r

    def jac(x):
        J = np.zeros((n, n))
        k = np.arange(0, n, 2)
        J[k, k], J[k, k + 1], J[k + 1, k] = -20.0 * x[k], 10.0, -1.0
        return J

    return res, jac, np.tile([-1.2, 1.0], n // 2)


def _mgh22(n=12):
    """[MGH 22] Extended Powell singular, n=m=12.  f*=0 at the origin."""
    s5, s10 = np.sqrt(5.0), np.sqrt(10.0)
    k = np.arange(0, n, 4)

    def res(x):
        a, b, c, d = x[k], x[k + 1], x[k + 2], x[k + 3]
        r = np.empty(n)
        r[k], r[k + 1] = a + 10.0 * b, s5 * (c - d)
        r[k + 2], r[k + 3] = (b - 2.0 * c) ** 2, s10 * (a - d) ** 2
        return r

    def jac(x):
        u, v = 2.0 * (x[k + 1] - 2.0 * x[k + 2]), 2.0 * s10 * (x[k] - x[k + 3])
        J = np.zeros((n, n))
        J[k, k], J[k, k + 1] = 1.0, 10.0
        J[k + 1, k + 2], J[k + 1, k + 3] = s5, -s5
        J[k + 2, k + 1], J[k + 2, k + 2] = u, -2.0 * u
        J[k + 3, k], J[k + 3, k + 3] = v, -v
        return J

    return res, jac, np.tile([3.0, -1.0, 0.0, 1.0], n // 4)


def _mgh23(n=10, a=1e-5):
    """[MGH 23] Penalty function I, n=10, m=11.  f*=7.08765e-5."""
    sa = np.sqrt(a)

    def res(x):
        return np.append(sa * (x - 1.0), x @ x - 0.25)

    def jac(x):
        return np.vstack([sa * np.eye(n), 2.0 * x])

    return res, jac, np.arange(1.0, n + 1.0)


def _mgh24(n=10, a=1e-5):
    """[MGH 24] Penalty function II, n=10, m=20.  f*=2.93660e-4."""
    sa = np.sqrt(a)
    i = np.arange(2.0, n + 1.0)
    y = np.exp(i / 10.0) + np.exp((i - 1.0) / 10.0)
    w = n - np.arange(n, dtype=float)  # n - j + 1, 1-based j

    def res(x):
        e = np.exp(x / 10.0)
        return np.concatenate([[x[0] - 0.2], sa * (e[1:] + e[:-1] - y),
                               sa * (e[1:] - np.exp(-0.1)), [w @ x ** 2 - 1.0]])

    def jac(x):
        de = sa * np.exp(x / 10.0) / 10.0
        J = np.zeros((2 * n, n))
        J[0, 0] = 1.0
        rows = np.arange(1, n)
        J[rows, rows], J[rows, rows - 1] = de[1:], de[:-1]
        J[rows + n - 1, rows] = de[1:]
        J[-1] = 2.0 * w * x
        return J

    return res, jac, np.full(n, 0.5)


def _mgh25(n=10):
    """[MGH 25] Variably dimensioned, n=10, m=12.  f*=0 at (1, ..., 1)."""
    j = np.arange(1.0, n + 1.0)

    def res(x):
        s = j @ (x - 1.0)
        return np.concatenate([x - 1.0, [s, s ** 2]])

    def jac(x):
        return np.vstack([np.eye(n), j, 2.0 * (j @ (x - 1.0)) * j])

    return res, jac, 1.0 - j / n


def _mgh26(n=10):
    """[MGH 26] Trigonometric, n=m=10.  f*=0."""
    i = np.arange(1.0, n + 1.0)

    def res(x):
        return n - np.cos(x).sum() + i * (1.0 - np.cos(x)) - np.sin(x)

    def jac(x):
        return np.tile(np.sin(x), (n, 1)) + np.diag(i * np.sin(x) - np.cos(x))

    return res, jac, np.full(n, 1.0 / n)


def _mgh27(n=10):
    """[MGH 27] Brown almost-linear, n=m=10.  f*=0 at (a,..,a, a^(1-n)); f=1 at (0,..,0,n+1)."""
    def res(x):
        return np.append(x[:-1] + x.sum() - (n + 1.0), np.prod(x) - 1.0)

    def jac(x):
        left = np.concatenate([[1.0], np.cumprod(x[:-1])])
        right = np.concatenate([np.cumprod(x[::-1][:-1])[::-1], [1.0]])
        return np.vstack([np.ones((n - 1, n)) + np.eye(n - 1, n), left * right])

    return res, jac, np.full(n, 0.5)


def _mgh28(n=10):
    """[MGH 28] Discrete boundary value, n=m=10.  f*=0."""
    h = 1.0 / (n + 1.0)
    t = h * np.arange(1.0, n + 1.0)
    L = 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)

    def res(x):
        return L @ x + h ** 2 * (x + t + 1.0) ** 3 / 2.0

    def jac(x):
        return L + np.diag(1.5 * h ** 2 * (x + t + 1.0) ** 2)

    return res, jac, t * (t - 1.0)


def _mgh29(n=10):
    """[MGH 29] Discrete integral equation, n=m=10.  f*=0."""
    h = 1.0 / (n + 1.0)
    t = h * np.arange(1.0, n + 1.0)
    ti, tj = t[:, None], t[None, :]
    K = 0.5 * h * np.where(tj <= ti, (1.0 - ti) * tj, ti * (1.0 - tj))

    def res(x):
        return x + K @ (x + t + 1.0) ** 3

    def jac(x):
        return np.eye(n) + K * (3.0 * (x + t + 1.0) ** 2)

    return res, jac, t * (t - 1.0)


def _mgh30(n=10):
    """[MGH 30] Broyden tridiagonal, n=m=10.  f*=0."""
    C = np.eye(n, k=-1) + 2.0 * np.eye(n, k=1)

    def res(x):
        return (3.0 - 2.0 * x) * x - C @ x + 1.0

    def jac(x):
        return np.diag(3.0 - 4.0 * x) - C

    return res, jac, np.full(n, -1.0)


def _mgh31(n=10, ml=5, mu=1):
    """[MGH 31] Broyden banded (ml=5, mu=1), n=m=10.  f*=0."""
    i, j = np.indices((n, n))
    M = ((j != i) & (j >= i - ml) & (j <= i + mu)).astype(float)

    def res(x):
        return x * (2.0 + 5.0 * x ** 2) + 1.0 - M @ (x * (1.0 + x))

    def jac(x):
        return np.diag(2.0 + 15.0 * x ** 2) - M * (1.0 + 2.0 * x)

    return res, jac, np.full(n, -1.0)


def _mgh32(n=10, m=20):
    """[MGH 32] Linear function - full rank, n=10, m=20.  f*=m-n=10 at x=-1."""
    A = np.eye(m, n) - (2.0 / m) * np.ones((m, n))
    return (*_linear(A, np.ones(m)), np.ones(n))


def _mgh33(n=10, m=20):
    """[MGH 33] Linear function - rank 1, n=10, m=20.  f*=m(m-1)/(2(2m+1))."""
    A = np.outer(np.arange(1.0, m + 1.0), np.arange(1.0, n + 1.0))
    return (*_linear(A, np.ones(m)), np.ones(n))


def _mgh34(n=10, m=20):
    """[MGH 34] Linear function - rank 1 with zero columns and rows, n=10, m=20.

    f* = (m^2 + 3m - 6) / (2(2m - 3)).
    """
    u = np.concatenate([[0.0], np.arange(1.0, m - 1.0), [0.0]])
    v = np.concatenate([[0.0], np.arange(2.0, n), [0.0]])
    return (*_linear(np.outer(u, v), np.ones(m)), np.ones(n))


def _mgh35(n=8):
    """[MGH 35] Chebyquad, n=m=8.  f*=3.51687e-3."""
    target = np.zeros(n)  # integral of T_i over [0, 1]: 0 (i odd), -1/(i^2-1) (i even)
    target[1::2] = -1.0 / (np.arange(2.0, n + 1.0, 2.0) ** 2 - 1.0)

    def cheb(x):
        """Shifted Chebyshev T_1..T_n at each x_j and their x-derivatives (n x n)."""
        y = 2.0 * x - 1.0
        T, dT = [np.ones_like(x), y], [np.zeros_like(x), 2.0 * np.ones_like(x)]
        for _ in range(n - 1):
            T.append(2.0 * y * T[-1] - T[-2])
            dT.append(4.0 * T[-2] + 2.0 * y * dT[-1] - dT[-2])
        return np.array(T[1:]), np.array(dT[1:])

    def res(x):
        return cheb(x)[0].mean(axis=1) - target

    def jac(x):
        return cheb(x)[1] / n

    return res, jac, np.arange(1.0, n + 1.0) / (n + 1.0)


# (number, slug, builder).  Sizes are MGH's standard ones.
_MGH = [
    (1, "rosenbrock", _mgh01),
    (2, "freudenstein_roth", _mgh02),
    (3, "powell_badly_scaled", _mgh03),
    (4, "brown_badly_scaled", _mgh04),
    (5, "beale", _mgh05),
    (6, "jennrich_sampson", _mgh06),
    (7, "helical_valley", _mgh07),
    (8, "bard", _mgh08),
    (9, "gaussian", _mgh09),
    (10, "meyer", _mgh10),
    (11, "gulf", _mgh11),
    (12, "box3d", _mgh12),
    (13, "powell_singular", _mgh13),
    (14, "wood", _mgh14),
    (15, "kowalik_osborne", _mgh15),
    (16, "brown_dennis", _mgh16),
    (17, "osborne1", _mgh17),
    (18, "biggs_exp6", _mgh18),
    (19, "osborne2", _mgh19),
    (20, "watson_n6", functools.partial(_mgh20, n=6)),
    (20, "watson_n9", functools.partial(_mgh20, n=9)),
    (21, "ext_rosenbrock", _mgh21),
    (22, "ext_powell_singular", _mgh22),
    (23, "penalty1", _mgh23),
    (24, "penalty2", _mgh24),
    (25, "variably_dimensioned", _mgh25),
    (26, "trigonometric", _mgh26),
    (27, "brown_almost_linear", _mgh27),
    (28, "discrete_bvp", _mgh28),
    (29, "discrete_integral", _mgh29),
    (30, "broyden_tridiagonal", _mgh30),
    (31, "broyden_banded", _mgh31),
    (32, "linear_full_rank", _mgh32),
    (33, "linear_rank1", _mgh33),
    (34, "linear_rank1_zero", _mgh34),
    (35, "chebyquad", _mgh35),
]

# Bounds of the "_bounded" variants: name -> {0-based index: (lo, hi)}.
# Rule (computed offline with scipy, then hard-coded): take the point x* that
# scipy's L-BFGS-B reaches from x0 without bounds, pick the max(1, n//4)
# coordinates that move most, |x*_j - x0_j| / (1 + |x0_j|), and put a bound
# half-way between x0_j and x*_j (rounded to 3 significant digits), on the side
# of x*_j.  x0 stays feasible and x* is cut off.  Hand-picked instead (marked
# "hand"): where the rule left another minimiser feasible or hit a singularity.
# For every entry, scipy's least_squares(method="trf") finds a bounded minimum
# with at least one active bound, and scipy's L-BFGS-B (tight tolerances) agrees
# on its value, except on mgh25 where L-BFGS-B stalls (f=0.986 vs 0.852).
_MGH_BOUNDS: dict[str, dict[int, tuple[float | None, float | None]]] = {
    "mgh01_rosenbrock": {0: (None, -0.1)},
    "mgh02_freudenstein_roth": {0: (None, 4.5)},  # hand: cut (5, 4) and (11.4, -0.9)
    "mgh03_powell_badly_scaled": {1: (None, 4.14)},
    "mgh04_brown_badly_scaled": {0: (None, 5e5)},
    "mgh05_beale": {0: (None, 2.0)},
    "mgh06_jennrich_sampson": {1: (0.3, None)},  # hand
    "mgh07_helical_valley": {0: (None, 0.5)},  # hand: the rule gives x1 <= 0 (singular)
    "mgh08_bard": {2: (None, 1.67)},
    "mgh09_gaussian": {0: (0.399, None)},
    "mgh10_meyer": {1: (None, 5070.0)},
    "mgh11_gulf": {0: (None, 27.5)},
    "mgh12_box3d": {0: (None, 0.5), 2: (0.5, None)},  # hand: also cut x1=x2, x3=0
    "mgh13_powell_singular": {0: (1.5, None)},
    "mgh14_wood": {1: (None, 0.0)},
    "mgh15_kowalik_osborne": {2: (0.269, None)},
    "mgh16_brown_dennis": {0: (6.7, None)},
    "mgh17_osborne1": {2: (-1.23, None)},
    "mgh18_biggs_exp6": {0: (0.5, 2.0), 1: (0.5, 6.0), 2: (0.0, 3.0),  # hand: full box
                         3: (0.0, 3.0), 4: (0.5, 6.0), 5: (0.0, 3.0)},
    "mgh19_osborne2": {5: (1.95, None), 6: (3.18, None)},
    "mgh20_watson_n6": {4: (-0.76, None)},
    "mgh20_watson_n9": {6: (None, 2.05), 7: (-1.57, None)},
    "mgh21_ext_rosenbrock": {2: (None, -0.1), 6: (None, -0.1)},
    "mgh22_ext_powell_singular": {0: (1.5, None), 4: (1.5, None), 8: (1.5, None)},
    "mgh23_penalty1": {8: (4.58, None), 9: (5.1, None)},
    "mgh24_penalty2": {1: (0.255, None), 2: (0.26, None)},
    "mgh25_variably_dimensioned": {8: (None, 0.55), 9: (None, 0.5)},
    "mgh26_trigonometric": {j: (0.0, 0.15) for j in range(10)},  # hand: cut all zeros
    "mgh27_brown_almost_linear": {0: (None, 0.75), 1: (None, 0.75)},
    "mgh28_discrete_bvp": {3: (None, -0.186), 4: (None, -0.204)},
    "mgh29_discrete_integral": {3: (None, -0.186), 4: (None, -0.204)},
    "mgh30_broyden_tridiagonal": {0: (None, -0.79), 9: (None, -0.71)},
    "mgh31_broyden_banded": {0: (None, -0.71), 1: (None, -0.74)},
    "mgh32_linear_full_rank": {8: (0.0, None), 9: (0.0, None)},
    # hand: rank-1 problems have a hyperplane of minimisers; bound all used coordinates
    "mgh33_linear_rank1": {j: (0.5, None) for j in range(10)},
    "mgh34_linear_rank1_zero": {j: (0.5, None) for j in range(1, 9)},
    "mgh35_chebyquad": {0: (0.077, None), 2: (0.3, None)},
}


def _mgh_problems() -> list[Problem]:
    out = []
    for num, slug, builder in _MGH:
        res, jac, x0 = builder()
        fun, grad = _sumsq(res, jac)
        name = f"mgh{num:02d}_{slug}"
        x0 = np.asarray(x0, dtype=float)
        doc = getattr(builder, "func", builder).__doc__.strip()
        if isinstance(builder, functools.partial):
            doc += f"  Here n={x0.size}."
        common = dict(x0=x0, fun=fun, jac=grad)
        out.append(Problem(name, ("mgh", "unbounded"), bounds=None,
                           description=doc, **common))
        if name in _MGH_BOUNDS:
            out.append(Problem(name + "_bounded", ("mgh", "bounded"),
                               bounds=_box(x0.size, _MGH_BOUNDS[name]),
                               description=doc + "  Bounds cut off the unconstrained "
                               "minimiser.", **common))
    return out


# ---------------------------------------------------------------------------
# random convex quadratics
# ---------------------------------------------------------------------------

def _quadratic(A: np.ndarray, b: np.ndarray) -> tuple[Callable, Callable]:
    """f(x) = 0.5 x'Ax - b'x and its gradient Ax - b."""
    return (lambda x: float(0.5 * x @ (A @ x) - b @ x)), (lambda x: A @ x - b)


def _spd(rng: np.random.Generator, n: int, cond: float) -> np.ndarray:
    """Random SPD matrix Q diag(eigs) Q' with eigs log-spaced in [1, cond]."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    A = (q * np.logspace(0.0, np.log10(cond), n)) @ q.T
    return 0.5 * (A + A.T)


def _mixed_box(n: int, lo: float, hi: float) -> BoundsList:
    """Two-sided box on most variables, only upper / only lower on every third."""
    kinds = [(lo, hi), (None, hi), (lo, None)]
    return [kinds[i % 3] for i in range(n)]


# (log10 condition number, n, bounded)
_QUADRATICS = [(1, 20, True), (2, 25, True), (4, 30, True), (6, 40, True),
               (8, 45, True), (10, 50, True), (2, 30, False), (6, 40, False)]


def _quadratic_problems() -> list[Problem]:
    """Bounded quadratics: b = A x_t with x_t ~ U(-2, 2)^n, so the box [-1, 1]
    (one-sided on 2/3 of the variables) cuts off the unconstrained minimiser
    x_t and some bounds are active at the solution."""
    out = []
    for k, n, bounded in _QUADRATICS:
        rng = np.random.default_rng(1000 + 10 * k + n + bounded)
        A = _spd(rng, n, 10.0 ** k)
        x_t = rng.uniform(-2.0, 2.0, n)
        fun, grad = _quadratic(A, A @ x_t)
        x0 = rng.uniform(-1.0, 1.0, n)
        kind = "bounded" if bounded else "unbounded"
        out.append(Problem(
            f"quad_cond1e{k}_n{n}" + ("" if bounded else "_unbounded"),
            ("quadratic", kind, f"cond1e{k}"), x0, fun, grad,
            _mixed_box(n, -1.0, 1.0) if bounded else None,
            description=f"Convex quadratic 0.5x'Ax - b'x, n={n}, cond(A)=1e{k} "
                        f"(log-spaced eigenvalues in [1, 1e{k}]), {kind}."))
    return out


# ---------------------------------------------------------------------------
# bounded linear least squares  f = |Cx - d|^2
# ---------------------------------------------------------------------------

# (name, m, n, bound (lo, hi) for every variable, x0 value, log10 column scaling range)
_LSQ = [("lsq_nonneg_m20_n10", 20, 10, (0.0, None), 0.5, 0),
        ("lsq_box_m40_n20", 40, 20, (-0.5, 0.5), 0.0, 0),
        ("lsq_nonneg_illcond_m60_n30", 60, 30, (0.0, None), 1.0, 3),
        ("lsq_upper_m45_n15", 45, 15, (None, 0.25), 0.0, 0)]


def _least_squares_problems() -> list[Problem]:
    """Random overdetermined |Cx - d|^2 whose unconstrained solution x_t ~ N(0, 1)
    (plus 1% noise) violates the bounds in about half of the coordinates."""
    out = []
    for seed, (name, m, n, lohi, x0, scale) in enumerate(_LSQ):
        rng = np.random.default_rng(2000 + seed)
        C = rng.standard_normal((m, n)) * np.logspace(0.0, -scale, n)
        d = C @ rng.standard_normal(n) + 0.01 * rng.standard_normal(m)
        fun, grad = _sumsq(*_linear(C, d))
        out.append(Problem(name, ("least_squares", "bounded"), np.full(n, x0), fun, grad,
                           [lohi] * n, description=f"Linear least squares |Cx - d|^2, "
                           f"C is {m}x{n}, bounds {lohi} on every variable."))
    return out


# ---------------------------------------------------------------------------
# L2-regularised logistic regression
# ---------------------------------------------------------------------------

def _logistic(X: np.ndarray, s: np.ndarray, lam: float) -> tuple[Callable, Callable]:
    """f(w) = mean(log(1 + exp(-s * Xw))) + lam/2 |w|^2, labels s in {-1, +1}."""
    def fun(w):
        return float(np.logaddexp(0.0, -s * (X @ w)).mean() + 0.5 * lam * (w @ w))

    def grad(w):
        p = np.exp(-np.logaddexp(0.0, s * (X @ w)))  # sigmoid(-s Xw), overflow-free
        return -(X.T @ (s * p)) / s.size + lam * w

    return fun, grad


def _logistic_problems() -> list[Problem]:
    """Synthetic data: X ~ N(0, 1), s = sign(X w_t + noise), w_t ~ N(0, 2^2).
    The bounded variant restricts w to [-0.5, 0.5]^n, which cuts off the
    unregularised-scale solution (|w_t| is mostly > 0.5)."""
    out = []
    for n, N in [(10, 200), (25, 300), (50, 500)]:
        rng = np.random.default_rng(3000 + n)
        X = rng.standard_normal((N, n))
        s = np.where(X @ rng.normal(0.0, 2.0, n) + rng.standard_normal(N) >= 0, 1.0, -1.0)
        fun, grad = _logistic(X, s, lam=1e-3)
        desc = f"L2-regularised (lam=1e-3) logistic regression, n={n}, {N} samples"
        out.append(Problem(f"logistic_n{n}", ("logistic", "unbounded"), np.zeros(n),
                           fun, grad, None, description=desc + "."))
        out.append(Problem(f"logistic_n{n}_bounded", ("logistic", "bounded"), np.zeros(n),
                           fun, grad, [(-0.5, 0.5)] * n, description=desc + ", w in [-0.5, 0.5]."))
    return out


# ---------------------------------------------------------------------------
# user-story reproducers
# ---------------------------------------------------------------------------

def _image_problem(side: int = 28, seed: int = 784) -> Problem:
    """28x28 'hidden neuron' image whose objective is piecewise constant."""
    rng = np.random.default_rng(seed)
    border = np.ones((side, side), dtype=bool)
    border[1:-1, 1:-1] = False
    border = border.ravel()
    w = rng.standard_normal(side * side)
    x0 = np.where(border, 0.0, rng.integers(0, 256, side * side).astype(np.float64))
    bounds = [(0.0, 0.0) if b else (0.0, 255.0) for b in border]

    def fun(x):
        return float(-(w @ np.round(x)) / 255.0)

    return Problem(
        "seed_image_784", ("seed", "bounded", "image"), x0, fun, None, bounds,
        description="User story: maximise a hidden neuron's weighted input over a "
        "28x28 image (784 pixels).  Border pixels are fixed with bounds (0, 0) "
        "(lo == hi), the others lie in [0, 255]; x0 is random integers inside, 0 on "
        "the border.  f(x) = -sum(w * round(x)) / 255 is piecewise constant, so a "
        "finite-difference gradient with step 1e-8 is exactly zero and the solver "
        "should stop at x0.  jac=None: use finite differences.")


def _seed_problems() -> list[Problem]:
    """Reproducers of the user stories (tag "seed")."""
    def badly_scaled(x):
        return float(1000.0 * x[0] ** 2 + x[1] ** 2)

    def sphere(x):
        return float(x[0] ** 2 + x[1] ** 2)

    @_quiet
    def overflow(x):
        return float(np.exp(100.0 * x[0]) + x[1] ** 2)

    x0 = np.array([1.0, 1.0])
    return [
        Problem("seed_badly_scaled", ("seed", "unbounded"), x0, badly_scaled,
                lambda x: np.array([2000.0 * x[0], 2.0 * x[1]]), None,
                description="User story: badly scaled 1000*x0^2 + x1^2 from (1, 1), "
                "analytic gradient; minimiser (0, 0)."),
        Problem("seed_wrong_gradient", ("seed", "unbounded", "wrong_gradient"), x0, sphere,
                lambda x: np.array([2.0 * x[0] - 1.0, 2.0 * x[1]]), None,
                description="User story: f = x0^2 + x1^2 with a WRONG gradient "
                "(2*x0 - 1, 2*x1) from (1, 1).  The wrong gradient vanishes at (0.5, 0), "
                "where scipy 1.17 reports convergence with f = 0.25 (true minimum 0); "
                "a gradient check must flag it."),
        Problem("seed_overflow", ("seed", "unbounded"), x0, overflow,
                _quiet(lambda x: np.array([100.0 * np.exp(100.0 * x[0]), 2.0 * x[1]])), None,
                description="User story: exp(100*x0) + x1^2 from (1, 1): f and the "
                "gradient are ~1e43-1e45 and trial steps with x0 > 7.1 overflow exp to "
                "inf.  Bounded below by 0, infimum not attained (x0 -> -inf); scipy "
                "1.17 stops after 2 iterations near (0, 1), f = 2 (relative reduction)."),
        _image_problem(),
    ]


# ---------------------------------------------------------------------------
# large problems
# ---------------------------------------------------------------------------

def _large(n: int, seed: int, gamma: float = 0.25) -> tuple[Callable, Callable, np.ndarray]:
    """f = sum(0.25 (x-c)^4 + 0.5 d (x-c)^2) + 0.5 gamma sum((x_{i+1} - x_i)^2),
    c ~ U(-2.5, 2.5), d ~ U(0.5, 2): strictly convex, tridiagonal Hessian."""
    rng = np.random.default_rng(seed)
    c, d = rng.uniform(-2.5, 2.5, n), rng.uniform(0.5, 2.0, n)

    def fun(x):
        y, dx = x - c, np.diff(x)
        return float(np.sum((0.25 * y ** 2 + 0.5 * d) * y ** 2) + 0.5 * gamma * (dx @ dx))

    def grad(x):
        y, dx = x - c, np.diff(x)
        g = (y ** 2 + d) * y
        g[:-1] -= gamma * dx
        g[1:] += gamma * dx
        return g

    return fun, grad, rng.uniform(-1.0, 1.0, n)


def _large_problems() -> list[Problem]:
    """n = 1e4, 1e5, 1e6; the bounded variants use [-1, 1]^n, which is active on
    roughly half (47%) of the variables at the solution."""
    out = []
    for k in (4, 5, 6):
        fun, grad, x0 = _large(10 ** k, seed=4000 + k)
        desc = f"Separable quartic + tridiagonal coupling, n=1e{k}"
        out.append(Problem(f"large_quartic_n1e{k}", ("large", "unbounded"), x0, fun, grad,
                           None, description=desc + ", unbounded."))
        out.append(Problem(f"large_quartic_n1e{k}_bounded", ("large", "bounded"), x0, fun,
                           grad, [(-1.0, 1.0)] * 10 ** k, description=desc + ", x in [-1, 1]."))
    return out


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------

_SMALL_BUILDERS = (_mgh_problems, _quadratic_problems, _least_squares_problems,
                   _logistic_problems, _seed_problems)


def all_problems(include_large: bool = False) -> list[Problem]:
    """All problems (freshly built, so callers may modify them), large ones on request."""
    builders = _SMALL_BUILDERS + ((_large_problems,) if include_large else ())
    return [p for build in builders for p in build()]


def get(name: str) -> Problem:
    """The problem called ``name`` (large problems included)."""
    for build in _SMALL_BUILDERS + (_large_problems,):
        for p in build():
            if p.name == name:
                return p
    raise KeyError(f"unknown problem {name!r}")


def select(names: str | Iterable[str] | None = None, tags: str | Iterable[str] | None = None,
           include_large: bool = False) -> list[Problem]:
    """Problems by name and/or tags.

    ``names``: only these problems, in this order (a large problem named here is
    returned even if ``include_large`` is False); unknown names raise KeyError.
    ``tags``: keep problems that carry *all* of these tags.
    """
    names = [names] if isinstance(names, str) else names
    tags = [tags] if isinstance(tags, str) else tags
    pool = all_problems(include_large)
    if names is not None:
        names = list(names)
        by_name = {p.name: p for p in pool}
        if not include_large and any(n not in by_name for n in names):
            by_name.update((p.name, p) for p in _large_problems())
        missing = [n for n in names if n not in by_name]
        if missing:
            raise KeyError(f"unknown problems {missing}")
        pool = [by_name[n] for n in names]
    if tags is not None:
        wanted = set(tags)
        pool = [p for p in pool if wanted <= set(p.tags)]
    return pool

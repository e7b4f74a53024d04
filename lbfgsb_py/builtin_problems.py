"""Small built-in problems for ``lbfgsb-py demo``: two well-behaved ones and the
reproducers of the user stories behind the project (seed 000: "why ABNORMAL?"
with bad scaling, a wrong gradient and overflow; seed 002: a 784-pixel image
whose finite-difference gradient is exactly zero), plus a sign-flipped
gradient that does end ABNORMAL.

Each is a :class:`Problem`; :func:`get` looks one up by name, :func:`names`
lists them, :meth:`Problem.solve` runs :func:`lbfgsb_py.minimize` on it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .api import minimize


@dataclass(frozen=True)
class Problem:
    """One demo problem: ``min fun(x)`` subject to ``bounds``, from ``x0``.

    Attributes
    ----------
    name, description : str
    fun : callable
        ``fun(x) -> float`` (or ``(f, g)`` when ``jac is True``).
    jac : callable, True or None
        Gradient as :func:`~lbfgsb_py.minimize` takes it; None: finite differences.
    x0 : ndarray
    bounds : list of (lo, hi) or None
    options : dict
        Extra keyword arguments for :func:`~lbfgsb_py.minimize`.
    """

    name: str
    description: str
    fun: Callable
    jac: object
    x0: np.ndarray
    bounds: list | None = None
    options: dict = field(default_factory=dict)

    def solve(self, trace="iteration", **options):
        """Run :func:`~lbfgsb_py.minimize` on the problem (``options`` override)."""
        return minimize(self.fun, self.x0.copy(), jac=self.jac, bounds=self.bounds,
                        trace=trace, **{**self.options, **options})


# ----------------------------------------------------------------- objectives
def _rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def _rosenbrock_grad(x):
    g = np.zeros_like(x)
    inner = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * inner
    return g


_QA = np.arange(1.0, 11.0)            # curvatures 1..10
_QC = np.linspace(-2.0, 2.0, 10)      # centres; |c| > 1 lie outside the box [-1, 1]


def _quadratic(x):
    return float(0.5 * np.sum(_QA * (x - _QC) ** 2))


def _quadratic_grad(x):
    return _QA * (x - _QC)


def _sphere(x):
    return float(x[0] ** 2 + x[1] ** 2)


def _off_by_one_grad(x):
    """The seed's gradient bug: ``-1`` added to the first component."""
    return np.array([2.0 * x[0] - 1.0, 2.0 * x[1]])


def _sign_flipped_grad(x):
    """The gradient with the wrong sign: every search direction goes uphill."""
    return -2.0 * np.asarray(x, dtype=float)


def _bad_scaling(x):
    return float(1000.0 * x[0] ** 2 + x[1] ** 2)


def _overflow(x):
    with np.errstate(over="ignore"):
        return float(np.exp(100.0 * x[0]) + x[1] ** 2)


#: The quantum to which :func:`rounded_rosenbrock` rounds f.
ROUNDING_QUANTUM = 1e-8


def rounded_rosenbrock(x):
    """Rosenbrock's f rounded to ``ROUNDING_QUANTUM`` (as a simulator or an inner
    iterative solver returns it) and its exact gradient, as ``(f, g)``: the
    gradient is right, f cannot show changes below 1e-8."""
    x = np.asarray(x, dtype=float)
    return round(_rosenbrock(x) / ROUNDING_QUANTUM) * ROUNDING_QUANTUM, _rosenbrock_grad(x)


# ------------------------------------------------------------------ the image
IMAGE_SIDE = 28
IMAGE_BORDER = 2        # border width fixed at 0 ("corners" in the story)


def _image_mask():
    interior = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=bool)
    interior[IMAGE_BORDER:-IMAGE_BORDER, IMAGE_BORDER:-IMAGE_BORDER] = True
    return interior.ravel()


def _image_problem():
    """784 pixels; f = -sum(w * round(x)) / 255 is constant on scales below 0.5."""
    rng = np.random.default_rng(784)
    interior = _image_mask()
    weights = rng.uniform(-1.0, 1.0, interior.size)
    x0 = np.where(interior, rng.integers(0, 256, interior.size), 0).astype(float)
    bounds = [(0.0, 255.0) if free else (0.0, 0.0) for free in interior]

    def neuron(x):
        return float(-np.sum(weights * np.round(x)) / 255.0)
    return x0, bounds, neuron


def _build():
    image_x0, image_bounds, neuron = _image_problem()
    return [
        Problem("rosenbrock", "Rosenbrock's function, n = 5, box [-2, 2], analytic gradient",
                _rosenbrock, _rosenbrock_grad, np.array([1.3, 0.7, 0.8, 1.9, 1.2]),
                [(-2.0, 2.0)] * 5),
        Problem("rosenbrock_tight_box",
                "Rosenbrock's function, n = 4 from 0, box [-2, 0.8] that cuts off the "
                "minimizer: the 'scipy' and '1995' subspace steps part at iteration 14",
                _rosenbrock, _rosenbrock_grad, np.zeros(4), [(-2.0, 0.8)] * 4),
        Problem("bounded_quadratic",
                "separable quadratic, n = 10, box [-1, 1]; six minimizers lie outside the "
                "box, so six bounds are active at the solution",
                _quadratic, _quadratic_grad, np.zeros(10), [(-1.0, 1.0)] * 10),
        Problem("bad_scaling", "seed 000, cause 1: 1000*x0^2 + x1^2 from [1, 1], "
                "finite differences", _bad_scaling, None, np.array([1.0, 1.0])),
        Problem("wrong_gradient", "seed 000, cause 2: x0^2 + x1^2 with gradient "
                "[2*x0 - 1, 2*x1] (off by one) from [1, 1]; reports convergence at the "
                "wrong point [0.5, 0]", _sphere, _off_by_one_grad, np.array([1.0, 1.0])),
        Problem("wrong_gradient_sign", "x0^2 + x1^2 with gradient -[2*x0, 2*x1] from "
                "[1, 1]: every trial goes uphill, ABNORMAL after maxls trials",
                _sphere, _sign_flipped_grad, np.array([1.0, 1.0])),
        Problem("overflow", "seed 000, cause 3: exp(100*x0) + x1^2 from [1, 1], finite "
                "differences (overflows to inf at trial points)",
                _overflow, None, np.array([1.0, 1.0])),
        Problem("rounded_rosenbrock", "Rosenbrock's function, n = 4 from [-1.2, 1, -1.2, 1], "
                "exact gradient, f rounded to 1e-8 as a simulator returns it: ABNORMAL "
                "although the gradient is right",
                rounded_rosenbrock, True, np.array([-1.2, 1.0, -1.2, 1.0])),
        Problem("image784", "seed 002: 28x28 image, border fixed by bounds (0, 0), interior "
                "in [0, 255], objective flat on the finite-difference scale 1e-8: the "
                "gradient estimate is exactly zero and the run stops at iteration 0",
                neuron, None, image_x0, image_bounds),
    ]


PROBLEMS = {p.name: p for p in _build()}


def names():
    """Names of the built-in problems, in display order."""
    return list(PROBLEMS)


def get(name):
    """The built-in problem called ``name``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    try:
        return PROBLEMS[name]
    except KeyError:
        raise ValueError(f"unknown problem {name!r}; choose one of: "
                         f"{', '.join(PROBLEMS)}") from None

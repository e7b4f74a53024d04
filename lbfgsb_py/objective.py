"""The user's objective as the solver sees it: f and g at x, counted and cached.

Reproduces what SciPy's ``ScalarFunction`` does for L-BFGS-B
(``scipy/optimize/_differentiable_functions.py``, ``_numdiff.py``), because
evaluation counts and finite-difference points are part of the iterates:

* ``fun`` receives a copy of x; a size-1 array result is taken as a scalar.
* Only the last evaluated point is cached: asking twice in a row for the same
  x costs nothing (SciPy's nfev can be smaller than the solver's requests).
* ``jac=None``: forward differences with the *absolute* step ``eps``
  (1e-8), ``jac="2-point"``/``"3-point"``: relative steps
  ``h = r sign(x) max(1, |x|)``, r = EPS^(1/2) / EPS^(1/3) unless
  ``finite_diff_rel_step`` is given.  A step that vanishes in x + h falls back
  to the relative rule; steps are shortened or flipped to stay inside the
  bounds (SciPy ``_adjust_scheme_to_bounds``).  Difference evaluations count
  in ``nfev``.
"""
import numpy as np

EPS = np.finfo(np.float64).eps
FD_METHODS = ("2-point", "3-point")


class Objective:
    """f, g at x for the solver, with SciPy's caching, counting and FD rules."""

    def __init__(self, fun, n, args=(), jac=None, eps=1e-8, finite_diff_rel_step=None,
                 lower=None, upper=None):
        self.fun = fun
        self.args = args if isinstance(args, tuple) else (args,)   # as SciPy
        self.n = n
        self.jac = None if jac is False else jac    # SciPy: None or False: forward differences
        self.eps = eps
        self.rel_step = finite_diff_rel_step
        for name, step in (("eps", eps), ("finite_diff_rel_step", finite_diff_rel_step)):
            if step is not None and np.ndim(step) and np.shape(step) != (n,):
                raise ValueError(f"{name} has shape {np.shape(step)}: give a scalar or one "
                                 f"step per variable ({n},)")
        self.lower = np.full(n, -np.inf) if lower is None else lower
        self.upper = np.full(n, np.inf) if upper is None else upper
        self.nfev = 0
        self.njev = 0
        self._x = None
        self._f = None
        self._g = None
        self._memo_g = None

    def __call__(self, x):
        """Return (f, g) at x, evaluating only if x differs from the last point."""
        if self._x is None or not same_point(x, self._x):
            # Cache only complete pairs: if fun or jac raises (or Ctrl-C), a retry
            # at the same x must evaluate again, not return the previous point's f, g.
            x = x.copy() if type(x) is np.ndarray and x.dtype == np.float64 else \
                np.array(x, dtype=np.float64)
            f = self._value(x)
            g = self._gradient(x, f)
            self._x, self._f, self._g = x, f, g
        return self._f, self._g

    def _value(self, x):
        self.nfev += 1
        out = self.fun(x.copy(), *self.args)
        if self.jac is True:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("fun must return a pair (f, g) when jac=True, "
                                f"but returned {type(out).__name__}")
            out, self._memo_g = out
        return as_scalar(out)

    def _gradient(self, x, f0):
        self.njev += 1
        if callable(self.jac):
            return as_gradient(self.jac(x.copy(), *self.args), self.n, "jac")
        if self.jac is True:
            return as_gradient(self._memo_g, self.n, "fun (its gradient, jac=True)")
        return self._finite_difference(x, f0)

    def _finite_difference(self, x, f0):
        method = "2-point" if self.jac is None else self.jac
        h = fd_steps(x, method, self.eps if self.jac is None else None, self.rel_step)
        h, one_sided = adjust_to_bounds(x, h, method, self.lower, self.upper)
        g = np.empty(self.n)
        for i in range(self.n):
            g[i] = self._difference(x, f0, i, h[i], one_sided[i])
        return g

    def _difference(self, x, f0, i, h, one_sided):
        if self.jac in (None, "2-point"):
            return (self._value(_moved(x, i, h)) - f0) / ((x[i] + h) - x[i])
        if one_sided:
            x1, x2 = _moved(x, i, h), _moved(x, i, 2 * h)
            f1, f2 = self._value(x1), self._value(x2)
            return (-3.0 * f0 + 4.0 * f1 - f2) / (x2[i] - x[i])
        x1, x2 = _moved(x, i, -h), _moved(x, i, h)
        f1, f2 = self._value(x1), self._value(x2)
        return (f2 - f1) / (x2[i] - x1[i])


def _moved(x, i, h):
    out = np.copy(x)
    out[i] = x[i] + h
    return out


def same_point(a, b):
    """True if a and b are equal component by component (SciPy's cache test,
    ``np.array_equal``: -0.0 equals 0.0, a NaN equals nothing).

    Small vectors are compared as lists of floats (the same rules, without
    ``np.array_equal``'s few microseconds of overhead, which at n = 10 are a
    tenth of an iteration)."""
    if a.shape[0] <= SMALL:
        return a.tolist() == b.tolist()
    return bool(np.array_equal(a, b))


#: Vectors up to this length are compared as lists in :func:`same_point`.
SMALL = 256


def as_scalar(value):
    """The objective's value as a float, or a clear error (SciPy takes ``.item()``)."""
    if type(value) is float or isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"fun must return a real number, but returned {value!r}")
    try:
        return float(np.asarray(value, dtype=np.float64).item())
    except (TypeError, ValueError):
        arr = np.asarray(value, dtype=object)
        raise TypeError(f"fun must return a scalar, but returned a value of shape "
                        f"{arr.shape} ({type(value).__name__})") from None


def as_gradient(value, n, name):
    """A gradient as a float64 vector of length n, or a clear error."""
    if type(value) is np.ndarray and value.dtype == np.float64 and value.shape == (n,):
        return value
    if value is None:
        raise TypeError(f"{name} returned None; it must return an array of {n} floats")
    try:
        arr = np.asarray(value)
    except ValueError:          # ragged nested sequences
        raise TypeError(f"{name} returned a ragged sequence ({type(value).__name__}); "
                        f"it must return {n} real numbers") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} returned an array of dtype {arr.dtype}; "
                        f"it must return {n} real numbers")
    arr = arr.astype(np.float64).ravel() if arr.ndim < 2 or min(arr.shape) == 1 else arr
    if arr.shape != (n,):
        raise ValueError(f"{name} returned shape {np.shape(value)}, expected ({n},): "
                         f"one derivative per variable")
    return arr


def fd_steps(x, method, abs_step, rel_step):
    """Finite-difference steps h (SciPy ``_compute_absolute_step`` and abs-step path)."""
    sign = (x >= 0).astype(float) * 2 - 1
    r = EPS ** 0.5 if method == "2-point" else EPS ** (1 / 3)
    fallback = r * sign * np.maximum(1.0, np.abs(x))
    if abs_step is not None:
        h = np.broadcast_to(np.asarray(abs_step, dtype=float), x.shape).copy()
    elif rel_step is None:
        return fallback
    else:
        h = rel_step * sign * np.abs(x)
    return np.where(((x + h) - x) == 0, fallback, h)


def adjust_to_bounds(x, h, method, lb, ub):
    """Flip or shorten steps that would leave the box (``_adjust_scheme_to_bounds``).

    Returns (h, one_sided); ``one_sided`` matters for 3-point only.
    """
    if method == "3-point":
        h = np.abs(h)
    one_sided = np.full(h.shape, method == "2-point")
    if np.all((lb == -np.inf) & (ub == np.inf)):
        return h, one_sided
    h = h.copy()
    lower_dist = x - lb
    upper_dist = ub - x
    if method == "2-point":
        xh = x + h
        violated = (xh < lb) | (xh > ub)
        fitting = np.abs(h) <= np.maximum(lower_dist, upper_dist)
        h[violated & fitting] *= -1
        forward = (upper_dist >= lower_dist) & ~fitting
        h[forward] = upper_dist[forward]
        backward = (upper_dist < lower_dist) & ~fitting
        h[backward] = -lower_dist[backward]
        return h, one_sided
    central = (lower_dist >= h) & (upper_dist >= h)
    forward = (upper_dist >= lower_dist) & ~central
    h[forward] = np.minimum(h[forward], 0.5 * upper_dist[forward])
    one_sided[forward] = True
    backward = (upper_dist < lower_dist) & ~central
    h[backward] = -np.minimum(h[backward], 0.5 * lower_dist[backward])
    one_sided[backward] = True
    min_dist = np.minimum(upper_dist, lower_dist)
    adjusted = ~central & (np.abs(h) <= min_dist)
    h[adjusted] = min_dist[adjusted]
    one_sided[adjusted] = False
    return h, one_sided

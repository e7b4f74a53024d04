"""``minimize``: argument checking (one rule per line), then the driver.

The signature and every argument's meaning follow
``scipy.optimize.minimize(method="L-BFGS-B")`` (``_minimize_lbfgsb`` in
``scipy/optimize/_lbfgsb_py.py`` and the generic ``_minimize.py`` wrapper),
so results (x, fun, jac, nit, nfev, njev, status, success, message) are SciPy's
for the same problem.  ``trace`` and ``variant`` are this package's additions.
"""
import math
import numbers
import sys

import numpy as np

from . import backends, driver, render
from . import status as st
from .objective import FD_METHODS, Objective, as_scalar
from .scipy_compat import (CallbackCall, InverseHessianProduct, Result,  # noqa: F401
                           expander, scipy_method)
from .trace import make_tracer


def minimize(fun, x0, args=(), jac=None, bounds=None, *, maxcor=10,
             ftol=2.220446049250313e-09, gtol=1e-05, eps=1e-08, maxfun=15000,
             maxiter=15000, maxls=20, finite_diff_rel_step=None, callback=None,
             trace="iteration", variant="scipy", iprint=-1, disp=None, backend="auto"):
    """Minimize ``fun`` subject to bounds with L-BFGS-B, as SciPy does, traced.

    Parameters are those of ``scipy.optimize.minimize(method="L-BFGS-B")``:
    ``jac`` is a callable, ``True`` (``fun`` returns ``(f, g)``), ``None``
    (forward differences with absolute step ``eps``) or ``"2-point"`` /
    ``"3-point"``; ``bounds`` a sequence of ``(lo, hi)`` pairs (``None`` for
    no bound), a pair ``(lb, ub)`` of arrays, or an object with ``.lb`` and
    ``.ub`` (e.g. ``scipy.optimize.Bounds``).  ``callback(xk)`` or
    ``callback(intermediate_result)`` runs after each iteration; raising
    ``StopIteration`` halts (status 99, as in SciPy).

    ``trace``: ``"iteration"`` (default, in memory), ``"full"``, ``"off"`` /
    ``None`` or a :class:`~lbfgsb_py.trace.Tracer` with file, callable or
    logging sinks.  ``variant``: ``"scipy"`` or ``"1995"`` (subspace step).
    ``backend``: ``"auto"`` (default), ``"reference"`` (plain NumPy, starts at
    once) or ``"compiled"`` (Numba); the results are the same bits
    (:mod:`lbfgsb_py.backends` says how "auto" chooses).
    ``iprint`` / ``disp``: print the classic Fortran output at the end, as SciPy 1.14
    did (``disp`` overrides ``iprint``; see :func:`~lbfgsb_py.render.classic_text`).

    Returns a :class:`Result`.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x0, lower, upper, args, jac, options = checked_arguments(
        x0, args, jac, bounds, maxcor=maxcor, ftol=ftol, gtol=gtol, eps=eps, maxfun=maxfun,
        maxiter=maxiter, maxls=maxls, variant=variant)
    backends.check(backend)
    fixed = lower == upper
    if fixed.all():
        return _all_fixed(fun, lower, args, jac, make_tracer(trace))
    # SciPy removes fixed variables only when it differentiates numerically
    # (``jac=True`` becomes a callable ``MemoizeJac.derivative`` before that test).
    remove = fixed.any() and not (callable(jac) or jac is True)
    values = lower.copy()
    if remove:
        fun = _without_fixed(fun, fixed, values)
        x0, lower, upper = x0[~fixed], lower[~fixed], upper[~fixed]
    iprint = render.iprint_from(iprint, disp)
    tracer = render.tracer_for_iprint(make_tracer(trace), iprint)
    halted = CallbackCall(callback, expander(fixed, values) if remove else None)
    objective = Objective(fun, x0.shape[0], args, jac, eps, finite_diff_rel_step, lower, upper)
    tracer.open()
    try:
        engine = driver.start(x0, lower, upper, tracer=tracer, backend=backend,
                              callback=halted if callback is not None else None, **options)
        run(engine, objective)
    except BaseException as exc:
        _attach_trace(exc, tracer.trace)
        raise
    finally:
        tracer.close()
    res = result_from(engine, objective, tracer.trace)
    if halted.stopped:
        res.update(status=st.CALLBACK_STOP_STATUS, success=False,
                   message=st.CALLBACK_STOP_MESSAGE)
    if remove:
        _restore_fixed(res, fixed, values)
    render.print_iprint(res, iprint)
    return res


def run(engine, objective):
    """Drive an :class:`Engine` with an :class:`Objective` until it stops."""
    x = engine.pending
    while x is not None:
        f, g = objective(x)
        x = engine.tell(f, g, objective.nfev)


def result_from(engine, objective, trace):
    """Build SciPy's result fields from a finished engine."""
    s = engine.state
    k = min(s.iupdat, s.m)
    return Result(
        x=s.x.copy(), fun=float(s.f),
        jac=s.g.copy(), nit=s.nit, nfev=objective.nfev, njev=objective.njev,
        status=s.status, success=s.status == 0, message=s.message,
        fun_last_trial=float(s.f_last),
        hess_inv=InverseHessianProduct(s.ws[:k], s.wy[:k]) if k else
        InverseHessianProduct(np.zeros((0, s.n)), np.zeros((0, s.n))),
        trace=trace, last_search=dict(x=s.xold.copy(), d=s.d.copy(), f0=s.fold,
                                      gd=s.gdold))


def _attach_trace(exc, trace):
    """Keep the trace reachable from an exception raised during the run."""
    try:
        exc.lbfgsb_trace = trace
        if hasattr(exc, "add_note"):
            exc.add_note(f"lbfgsb_py: the trace up to the failure ({len(trace)} events) "
                         f"is in exception.lbfgsb_trace")
    except (AttributeError, TypeError):
        pass


# ---------------------------------------------------------------------------- checks
def check_x0(x0):
    """x0 as a float64 1-D array, or an error naming the fix."""
    arr = np.asarray(x0)
    if arr.dtype.kind == "c":
        raise TypeError("x0 is complex; L-BFGS-B works on real variables: pass x0.real "
                        "(or split real and imaginary parts into separate variables)")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x0 must be an array of real numbers, not dtype {arr.dtype}")
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise ValueError(f"x0 must be one-dimensional, got shape {arr.shape}: "
                         f"pass x0.ravel() and reshape inside fun")
    if arr.size == 0:
        raise ValueError("x0 is empty: there must be at least one variable")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"x0[{bad[0]}] is {arr[bad[0]]}: every starting value must be finite")
    return arr.astype(np.float64)


#: SciPy's words (``_validate_bounds``) begin our messages, for code that matches them.
BOUNDS_COUNT_MESSAGE = "The number of bounds is not compatible with the length of `x0`:"
BOUNDS_ORDER_MESSAGE = "An upper bound is less than the corresponding lower bound:"


def parse_bounds(bounds, n):
    """Return (lower, upper) float arrays with -inf/+inf for missing bounds."""
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb, ub = bounds.lb, bounds.ub
    else:
        try:
            pairs = list(bounds)
        except TypeError:
            raise TypeError(f"bounds must be a sequence of (lo, hi) pairs, a pair (lb, ub) "
                            f"of arrays or an object with .lb and .ub, not "
                            f"{type(bounds).__name__}") from None
        if len(pairs) == 2 and all(isinstance(p, np.ndarray) and p.shape == (n,) for p in pairs):
            lb, ub = pairs          # a pair of arrays (lb, ub)
        elif len(pairs) == n and (columns := _pair_columns(pairs, n)) is not None:
            lb, ub = columns
        elif len(pairs) == 2 and n != 2:
            lb, ub = pairs
        elif len(pairs) == n:
            i = next(i for i, p in enumerate(pairs) if not _is_pair(p))
            raise ValueError(f"bounds[{i}] is {pairs[i]!r}, not a (lo, hi) pair: give one "
                             f"(lo, hi) pair per variable (None for no bound)")
        else:
            raise ValueError(f"{BOUNDS_COUNT_MESSAGE} bounds has {len(pairs)} entries but x0 "
                             f"has {n} variables: give one (lo, hi) pair per variable, or a "
                             f"pair (lb, ub) of arrays")
    lower = _bound_array(lb, n, "lower", -np.inf)
    upper = _bound_array(ub, n, "upper", np.inf)
    bad = np.flatnonzero(lower > upper)
    if bad.size:
        i = bad[0]
        raise ValueError(f"{BOUNDS_ORDER_MESSAGE} bounds[{i}]: lower {lower[i]} > upper "
                         f"{upper[i]}; swap them or fix the bound")
    bad = np.flatnonzero((lower == np.inf) | (upper == -np.inf))
    if bad.size:
        i = bad[0]
        raise ValueError(f"bounds[{i}]: ({lower[i]}, {upper[i]}) leaves no finite value; "
                         f"use None or -np.inf for no lower bound, None or np.inf for no "
                         f"upper bound")
    return lower, upper


def _pair_columns(pairs, n):
    """(lows, highs) when ``pairs`` is n (lo, hi) pairs, else None (one NumPy call
    instead of a test per pair: n may be a million)."""
    if any(isinstance(p, (str, bytes)) for p in pairs[:1]):
        return None
    try:
        table = np.array(pairs, dtype=object)
    except ValueError:          # ragged
        return None
    if table.shape != (n, 2):
        return None
    return table[:, 0], table[:, 1]


def _is_pair(p):
    return np.ndim(p) == 1 and len(p) == 2 if not isinstance(p, (str, bytes)) else False


def _bound_array(values, n, side, missing):
    """One side of the bounds as floats, None meaning ``missing`` (+-inf)."""
    if values is None:
        return np.full(n, missing)
    try:
        shape = np.shape(values)
    except ValueError:          # ragged, e.g. a pair inside a pair
        raise TypeError(f"{side} bounds must be numbers or None") from None
    if len(shape) > 1 or int(np.prod(shape)) not in (1, n):
        raise ValueError(f"{BOUNDS_COUNT_MESSAGE} {side} bounds have shape {shape} but x0 "
                         f"has {n} variables: give one {side} bound per variable (or one "
                         f"for all)")
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        arr = np.array([missing if v is None else v
                        for v in np.broadcast_to(np.asarray(values, dtype=object), (n,))],
                       dtype=object)
    try:
        out = np.broadcast_to(arr.astype(np.float64), (n,)).copy()
    except (TypeError, ValueError):
        raise TypeError(f"{side} bounds must be numbers or None") from None
    bad = np.flatnonzero(np.isnan(out))
    if bad.size:
        raise ValueError(f"bounds[{bad[0]}]: {side} bound is NaN; use None or "
                         f"{'-' if side == 'lower' else ''}np.inf for no bound")
    return out


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def _limit(name, value):
    """``maxiter`` / ``maxfun``: any number >= 0, as SciPy takes them (0 and 100.5 too)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value} (0 stops after the first "
                         f"iteration, as in SciPy; math.inf means no limit)")


def _integer_limit(value, rounding):
    """SciPy stops when ``nit >= maxiter`` / ``nfev > maxfun``; the same test on
    integers needs ``ceil(maxiter)`` / ``floor(maxfun)`` (and no limit for inf)."""
    return sys.maxsize if value == math.inf else int(rounding(value))


def _nonnegative(name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def checked_arguments(x0, args, jac, bounds, *, maxcor, ftol, gtol, eps, maxfun, maxiter,
                      maxls, variant):
    """Validate and normalise the arguments :func:`minimize` and ``Solver`` share.

    Returns ``(x0, lower, upper, args, jac, engine_options)``.
    """
    x0 = check_x0(x0)
    lower, upper = parse_bounds(bounds, x0.shape[0])
    check_options(maxcor=maxcor, ftol=ftol, gtol=gtol, eps=eps, maxfun=maxfun,
                  maxiter=maxiter, maxls=maxls, variant=variant, jac=jac)
    args = args if isinstance(args, tuple) else (args,)     # as SciPy
    jac = None if jac is False else jac                     # SciPy: "None or False"
    options = dict(maxcor=int(maxcor), maxfun=_integer_limit(maxfun, math.floor),
                   maxiter=_integer_limit(maxiter, math.ceil), maxls=int(maxls), ftol=ftol,
                   gtol=gtol, variant=variant)
    return x0, lower, upper, args, jac, options


def check_options(*, maxcor, ftol, gtol, eps, maxfun, maxiter, maxls, variant, jac):
    """One rule per line; each error names the argument, the value and the fix."""
    for name, value in (("maxcor", maxcor), ("maxls", maxls)):
        _positive_int(name, value)
    for name, value in (("maxfun", maxfun), ("maxiter", maxiter)):
        _limit(name, value)
    for name, value in (("ftol", ftol), ("gtol", gtol)):
        _nonnegative(name, value)
    if (jac is None or jac is False) and not np.all(np.abs(np.asarray(eps, float)) < np.inf):
        raise ValueError(f"eps must be finite (finite-difference step), got {eps!r}")
    if (jac is None or jac is False) and not np.all(np.asarray(eps, dtype=float) > 0):
        raise ValueError(f"eps must be > 0 (finite-difference step), got {eps!r}")
    if not (jac is None or jac is True or jac is False or callable(jac)
            or isinstance(jac, str) and jac in FD_METHODS):
        hint = " (complex-step differences are not supported here)" if (
            isinstance(jac, str) and jac == "cs") else ""
        raise ValueError(f"jac must be a callable, True, None (or False), '2-point' or "
                         f"'3-point'; got {jac!r}{hint}")
    if variant not in ("scipy", "1995"):
        raise ValueError(f"variant must be 'scipy' or '1995', got {variant!r}")


# ----------------------------------------------------------------- fixed variables
def _all_fixed(fun, lower, args, jac, tracer):
    """SciPy returns at once, f evaluated once, when l == u for every variable.

    No solver runs, so no event is recorded; the tracer's sinks are still opened and
    closed (a ``jsonl`` file holds just its header line)."""
    x = lower.copy()
    tracer.open()
    try:
        out = fun(np.copy(x), *args)
        if jac is True and not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("fun must return a pair (f, g) when jac=True, "
                            f"but returned {type(out).__name__}")
        f = as_scalar(out[0] if jac is True else out)
    except BaseException as exc:
        _attach_trace(exc, tracer.trace)
        raise
    finally:
        tracer.close()
    return Result(x=x, fun=f, jac=None, nit=0, nfev=1, njev=0, status=0, success=True,
                  message=st.ALL_FIXED_MESSAGE, hess_inv=None, trace=tracer.trace)


def _without_fixed(fun, fixed, values):
    """Objective on the free variables only, as ``scipy.optimize.minimize`` builds it
    when some variables are fixed and the gradient is not a callable."""
    full = values.copy()

    def reduced(x, *args):
        full[~fixed] = x
        return fun(full.copy(), *args)
    return reduced


def _restore_fixed(res, fixed, values):
    """Put the fixed variables back: x gets their values, jac NaN, hess_inv None."""
    res.update(x=expander(fixed, values)(res.x),
               jac=expander(fixed, np.full(fixed.shape, np.nan))(res.jac), hess_inv=None)

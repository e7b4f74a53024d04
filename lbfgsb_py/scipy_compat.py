"""SciPy compatibility: SciPy's result types, its callback conventions, its entry points.

* :class:`Result` and :class:`InverseHessianProduct` are what a run returns.  When
  SciPy can be imported they are built as subclasses of SciPy's own
  ``scipy.optimize.OptimizeResult`` and ``LbfgsInvHessProduct`` (a
  ``LinearOperator``), so ``isinstance`` checks and every operator method of client
  code keep working; without SciPy they are this module's classes with the same
  attributes.  SciPy is imported when the first result is built, never when the
  package is imported (it stays a test-only dependency).
* :class:`CallbackCall` calls a user's callback the way SciPy does, in both of the
  forms SciPy hands it over (see its docstring).
* :func:`scipy_method` is the custom method for ``scipy.optimize.minimize`` and,
  with the same signature, a stand-in for SciPy's internal ``_minimize_lbfgsb``;
  :func:`fmin_l_bfgs_b` is SciPy's legacy entry point.

Every argument and what happens to it: ``docs/scipy-compatibility.md``.
"""
import functools
import importlib
import inspect
import sys
import warnings

import numpy as np

EPS = np.finfo(np.float64).eps

#: Options of :func:`scipy_method` passed on to :func:`lbfgsb_py.minimize`.
MINIMIZE_OPTIONS = ("maxcor", "ftol", "gtol", "eps", "maxfun", "maxiter", "maxls",
                    "finite_diff_rel_step", "trace", "variant", "iprint", "disp", "backend")


# ------------------------------------------------------------------ SciPy's classes
@functools.cache
def scipy_attribute(module, name):
    """``module.name`` from SciPy, or None when SciPy cannot be imported."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None


@functools.cache
def _with_scipy_base(cls, module, name, scipy_first, **namespace):
    """``cls`` with SciPy's class ``module.name`` as a second base (or ``cls`` itself
    without SciPy).  ``scipy_first`` puts SciPy's methods ahead of ``cls``'s."""
    base = scipy_attribute(module, name)
    if base is None or issubclass(cls, base):
        return cls
    bases = (base, cls) if scipy_first else (cls, base)
    return type(cls.__name__, bases, dict(namespace, __module__=cls.__module__,
                                          __qualname__=cls.__qualname__, __doc__=cls.__doc__))


class OptimizeWarning(UserWarning):
    """Stands in for ``scipy.optimize.OptimizeWarning`` when SciPy is not installed."""


def optimize_warning():
    """SciPy's ``OptimizeWarning`` class, or this module's without SciPy."""
    return scipy_attribute("scipy.optimize", "OptimizeWarning") or OptimizeWarning


class Result(dict):
    """Optimization result; a dict with attribute access (``OptimizeResult``'s fields).

    Keys: ``x, fun, jac, nit, nfev, njev, status, success, message, hess_inv``
    (SciPy's; one deliberate difference: ``fun`` is always f(x) — after a failed
    line search SciPy returns the last *trial's* f with the previous iterate's x,
    here kept as ``fun_last_trial``), ``trace`` (the recorded events) and
    ``last_search`` (start point ``x``, direction ``d``, ``f0`` and slope ``gd``
    of the last line search, used by :func:`~lbfgsb_py.explain`).

    With SciPy importable every instance is also a ``scipy.optimize.OptimizeResult``.
    """

    def __new__(cls, *args, **kwargs):
        return dict.__new__(_with_scipy_base(cls, "scipy.optimize", "OptimizeResult", False))

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    __setattr__ = dict.__setitem__

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self):
        return list(self.keys())

    def __reduce__(self):
        # The class built with SciPy's base is not importable by name: rebuild
        # through Result (which picks the base again where the copy is loaded).
        return _rebuild_result, (dict(self),)

    def __repr__(self):
        keys = ("message", "success", "status", "fun", "x", "nit", "nfev", "njev")
        body = "\n".join(f"{k:>8}: {self[k]!r}" for k in keys if k in self)
        return f"{body}\n   trace: {len(self.get('trace') or ())} events"

    def _repr_html_(self):
        """Jupyter's display: message, main fields, a few table rows, a chart."""
        from .notebook import result_html
        return result_html(self)


def _rebuild_result(items):
    return Result(items)


class InverseHessianProduct:
    """The L-BFGS inverse Hessian H as an operator, exactly as SciPy builds it.

    SciPy's ``LbfgsInvHessProduct`` runs the two-loop recursion [Nocedal & Wright,
    Alg. 7.4] with H0 = I over the stored pairs ``sk``, ``yk`` *in ring-slot order*
    (not chronological once more than ``maxcor`` updates were made).  With SciPy
    importable every instance *is* one (SciPy's methods, our pairs), so it is a
    ``LinearOperator`` and equal to SciPy's to the bit (plus ``T``, ``H``,
    ``rmatvec``: SciPy's raise ``NotImplementedError``, ours give H v).  Without SciPy this class
    offers the same attributes: ``sk``, ``yk``, ``rho``, ``n_corrs``, ``shape``,
    ``dtype``, ``ndim``, ``matvec``, ``matmat``, ``rmatvec``, ``__call__``, ``dot``,
    ``@``, ``todense()``, ``T``, ``H``, ``transpose()``, ``adjoint()`` (H is
    symmetric: the last four return the operator itself).
    """

    def __new__(cls, *args, **kwargs):
        flavour = _with_scipy_base(cls, "scipy.optimize", "LbfgsInvHessProduct", True,
                                   __init__=cls.__init__, _start=_scipy_start,
                                   _adjoint=_symmetric, _transpose=_symmetric)
        return object.__new__(flavour)

    def __init__(self, sk, yk):
        sk = np.asarray(sk, dtype=np.float64)     # views, not copies (as SciPy)
        yk = np.asarray(yk, dtype=np.float64)
        if sk.shape != yk.shape or sk.ndim != 2:
            raise ValueError(f"sk and yk must have the same shape (n_corrs, n); got "
                             f"{sk.shape} and {yk.shape}")
        self._start(sk, yk)

    def _start(self, sk, yk):
        self.sk, self.yk = sk, yk
        self.n_corrs, n = sk.shape
        self.shape = (n, n)
        self.dtype = np.dtype(np.float64)
        self.rho = 1.0 / np.einsum("ij,ij->i", sk, yk)

    def __reduce__(self):
        return InverseHessianProduct, (self.sk, self.yk)    # see Result.__reduce__

    ndim = 2

    def matvec(self, v):
        """H v for a vector of length n (or an (n, 1) column, returned as such)."""
        v = np.asarray(v)
        if v.shape not in ((self.shape[0],), (self.shape[0], 1)):
            raise ValueError(f"dimension mismatch: vector of shape {v.shape} for an "
                             f"operator of shape {self.shape}")
        return self._matvec(v).reshape(v.shape)

    def _matvec(self, v):
        q = np.array(v, dtype=np.float64).reshape(-1)
        alpha = np.empty(self.n_corrs)
        for i in range(self.n_corrs - 1, -1, -1):
            alpha[i] = self.rho[i] * np.dot(self.sk[i], q)
            q = q - alpha[i] * self.yk[i]
        for i in range(self.n_corrs):
            beta = self.rho[i] * np.dot(self.yk[i], q)
            q = q + self.sk[i] * (alpha[i] - beta)
        return q

    def matmat(self, X):
        """H X for an (n, k) matrix, all columns at once (SciPy's ``_matmat`` order)."""
        Q = np.array(X, dtype=np.float64)
        if Q.ndim != 2 or Q.shape[0] != self.shape[0]:
            raise ValueError(f"dimension mismatch: matrix of shape {Q.shape} for an "
                             f"operator of shape {self.shape}")
        alpha = np.empty((self.n_corrs, Q.shape[1]))
        for i in range(self.n_corrs - 1, -1, -1):
            alpha[i] = self.rho[i] * np.dot(self.sk[i], Q)
            Q -= alpha[i] * self.yk[i][:, np.newaxis]
        for i in range(self.n_corrs):
            beta = self.rho[i] * np.dot(self.yk[i], Q)
            Q += self.sk[i][:, np.newaxis] * (alpha[i] - beta)
        return Q

    rmatvec = matvec
    rmatmat = matmat

    def dot(self, x):
        """H x for a vector or a matrix."""
        x = np.asarray(x)
        if x.ndim == 1 or x.shape == (self.shape[0], 1):
            return self.matvec(x)
        return self.matmat(x)

    __call__ = __matmul__ = dot

    def todense(self):
        """The dense n x n matrix H."""
        return self.matmat(np.eye(self.shape[0]))

    def transpose(self):
        return self

    adjoint = transpose
    T = H = property(transpose)


def _symmetric(self):
    """H is symmetric: its transpose and adjoint are H (SciPy's own operator has
    neither, its ``T @ v`` raises ``NotImplementedError``)."""
    return self


def _scipy_start(self, sk, yk):
    """SciPy's own constructor for the pairs (the flavour built with SciPy)."""
    scipy_attribute("scipy.optimize", "LbfgsInvHessProduct").__init__(self, sk, yk)


# ------------------------------------------------------------------------ callbacks
class CallbackCall:
    """Call the user's callback after each iteration as SciPy does.

    Two forms arrive here:

    * *already wrapped* by SciPy's ``_wrap_callback`` (``minimize(method="L-BFGS-B")``
      with :func:`scipy_method` swapped in for SciPy's solver, ``fmin_l_bfgs_b``), or
      by :func:`wrap_callback`: such a callable has a ``stop_iteration`` attribute
      and takes the intermediate result.  A ``StopIteration`` it raises halts the
      run with SciPy's ``STOP: CALLBACK REQUESTED HALT`` (status 2) and sets
      ``stop_iteration``; whoever wrapped it reports the halt (SciPy's
      ``minimize`` turns it into status 99).
    * *as the user wrote it* (``lbfgsb_py.minimize``, and SciPy's custom-method
      path, which calls the method before wrapping): ``callback(xk)`` with a copy
      of x, or ``callback(intermediate_result=...)`` when that is its only
      parameter.  A ``StopIteration`` sets :attr:`stopped`, and
      ``lbfgsb_py.minimize`` reports status 99 and SciPy's message, as
      ``scipy.optimize.minimize`` does.

    ``expand`` maps the solver's x to the user's when fixed variables were taken
    out of the problem (the callback sees every variable, as in SciPy).
    """

    def __init__(self, callback, expand=None):
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        self.callback = callback if callback is None or hasattr(
            callback, "stop_iteration") else wrap_callback(callback)
        self.report_stop = callback is not None and self.callback is not callback
        self.expand = expand
        self.stopped = False

    def __call__(self, x, f):
        """Call back with (x, f); True when the callback asked to stop."""
        x = np.copy(x) if self.expand is None else self.expand(x)
        try:
            self.callback(Result(x=x, fun=f))
        except StopIteration:
            self.callback.stop_iteration = True
            self.stopped = self.report_stop
            return True
        return False


def expander(fixed, values):
    """x on the free variables -> every variable (``fixed`` ones take ``values``)."""
    def expand(x):
        full = values.copy()
        full[~fixed] = x
        return full
    return expand


def wrap_callback(callback):
    """A callback wrapped as SciPy's ``_wrap_callback`` does for L-BFGS-B.

    The wrapper takes the intermediate result and calls ``callback(intermediate_result=
    result)`` when that is the callback's only parameter, else ``callback(copy of x)``;
    its ``stop_iteration`` attribute records a ``StopIteration``.
    """
    if callback is None:
        return None
    if _parameters(callback) == {"intermediate_result"}:
        def wrapped(result):
            return callback(intermediate_result=result)
    else:
        def wrapped(result):
            return callback(np.copy(result.x))
    wrapped.stop_iteration = False
    return wrapped


def _parameters(callback):
    """The callback's parameter names; annotations are not evaluated (Python 3.14
    would raise on a forward reference; SciPy reads them the same way)."""
    try:
        if sys.version_info >= (3, 14):
            import annotationlib
            return set(inspect.signature(callback, annotation_format=(
                annotationlib.Format.FORWARDREF)).parameters)
        return set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):     # builtins without a signature: the x form
        return set()


# --------------------------------------------------------------------- entry points
def scipy_method(fun, x0, args=(), jac=None, bounds=None, callback=None, hess=None,
                 hessp=None, constraints=(), **options):
    """L-BFGS-B for SciPy: ``scipy.optimize.minimize(..., method=scipy_method)``.

    Takes what ``minimize(method="L-BFGS-B")`` takes, the way SciPy does: ``hess``,
    ``hessp`` and ``constraints`` are ignored with SciPy's ``RuntimeWarning``,
    ``tol`` sets ``ftol`` and ``gtol`` unless they are given, ``workers`` is
    accepted, unknown options get SciPy's "Unknown solver options" warning.
    ``options`` also take :func:`lbfgsb_py.minimize`'s own ``trace``, ``variant``,
    ``iprint`` and ``disp``.  The signature also fits SciPy's internal
    ``_minimize_lbfgsb``, so it can stand in for it.  Returns a :class:`Result`.
    """
    from .api import minimize
    _warn_unused(hess, hessp, constraints)
    options = scipy_options(options)
    return minimize(fun, np.ravel(x0) if np.ndim(x0) > 1 else x0, args, jac, bounds,
                    callback=callback, **options)


def fmin_l_bfgs_b(func, x0, fprime=None, args=(), approx_grad=0, bounds=None, m=10,
                  factr=1e7, pgtol=1e-5, epsilon=1e-8, iprint=-1, maxfun=15000,
                  maxiter=15000, disp=None, callback=None, maxls=20):
    """SciPy's legacy ``fmin_l_bfgs_b``: returns ``(x, f, d)``.

    ``fprime=None`` means ``func`` returns ``(f, g)`` unless ``approx_grad`` is
    true (forward differences with step ``epsilon``); ``factr`` is ``ftol / eps``;
    ``d`` holds ``grad``, ``task`` (the message), ``funcalls``, ``nit`` and
    ``warnflag`` (SciPy's status).  A ``StopIteration`` from ``callback(xk)`` ends
    the run with ``task`` ``STOP: CALLBACK REQUESTED HALT`` and warnflag 2, as in
    SciPy.  ``iprint`` / ``disp`` print the classic Fortran output (SciPy 1.15+
    ignores them).
    """
    from .api import minimize
    jac = None if approx_grad else True if fprime is None else fprime
    res = minimize(func, np.ravel(x0), args, jac, bounds, maxcor=m, ftol=factr * EPS,
                   gtol=pgtol, eps=epsilon, maxfun=maxfun, maxiter=maxiter, maxls=maxls,
                   callback=wrap_callback(callback),
                   **scipy_options({"iprint": iprint, "disp": disp}))
    d = {"grad": res.jac, "task": res.message, "funcalls": res.nfev, "nit": res.nit,
         "warnflag": res.status}
    return res.x, res.fun, d


# ------------------------------------------------------------------------- options
def scipy_options(options):
    """SciPy's options as :func:`lbfgsb_py.minimize` takes them.

    SciPy's "not given" sentinel (``_NoValue``, for ``disp``/``iprint``) is dropped;
    ``tol`` becomes the default of ``ftol`` and ``gtol`` (SciPy's rule for
    L-BFGS-B); ``workers`` is checked and dropped (the evaluations are made one
    after the other, with the same results); unknown options are dropped with
    SciPy's warning.
    """
    options = {k: v for k, v in options.items() if not _is_no_value(v)}
    tol = options.pop("tol", None)
    if tol is not None:
        options.setdefault("ftol", tol)
        options.setdefault("gtol", tol)
    _check_workers(options.pop("workers", None))
    unknown = [k for k in options if k not in MINIMIZE_OPTIONS]
    if unknown:
        warnings.warn(f"Unknown solver options: {', '.join(unknown)}", optimize_warning(),
                      stacklevel=4)
    return {k: v for k, v in options.items() if k in MINIMIZE_OPTIONS}


def _is_no_value(value):
    """True for SciPy's ``_NoValue`` sentinel (only SciPy can have passed it)."""
    module = sys.modules.get("scipy._lib.deprecation")
    return module is not None and value is getattr(module, "_NoValue", None)


def _check_workers(workers):
    if not (workers is None or callable(workers)
            or isinstance(workers, (int, np.integer)) and not isinstance(workers, bool)):
        raise TypeError(f"workers must be None, an int or a map-like callable "
                        f"(workers(fun, iterable)), got {type(workers).__name__}")


def _warn_unused(hess, hessp, constraints):
    """SciPy's warnings (``minimize``) for arguments L-BFGS-B does not use."""
    if hess is not None:
        warnings.warn("Method L-BFGS-B does not use Hessian information (hess).",
                      RuntimeWarning, stacklevel=4)
    if hessp is not None:
        warnings.warn("Method L-BFGS-B does not use Hessian-vector product "
                      "information (hessp).", RuntimeWarning, stacklevel=4)
    if np.any(constraints):
        warnings.warn("Method L-BFGS-B cannot handle constraints.", RuntimeWarning,
                      stacklevel=4)

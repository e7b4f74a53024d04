"""SciPy compatibility (issue 17): what SciPy accepts, its types, fmin_l_bfgs_b, clients' habits.

Every behaviour is checked against SciPy's own L-BFGS-B on the same call.
"""
import inspect
import json
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize import LbfgsInvHessProduct, OptimizeResult, rosen, rosen_der
from scipy.sparse.linalg import LinearOperator

import lbfgsb_py
from lbfgsb_py import scipy_method

X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
BOX = [(-2, 2)] * 5
SUMMARY = ("status", "message", "nit", "nfev", "njev", "success")


def scipy_run(**kwargs):
    kwargs = {"fun": rosen, "x0": X0, "jac": rosen_der} | kwargs
    return so.minimize(method="L-BFGS-B", **kwargs)


def custom_run(**kwargs):
    kwargs = {"fun": rosen, "x0": X0, "jac": rosen_der} | kwargs
    return so.minimize(method=scipy_method, **kwargs)


def summary(res):
    return {k: res[k] for k in SUMMARY}


def same_as_scipy(ours, ref, atol=1e-12):
    """Same outcome and counts; x to SciPy's round-off (``atol`` wider where finite
    differences amplify it)."""
    assert summary(ours) == summary(ref)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8, atol=atol)


# ------------------------------------------------------------------ callbacks
def test_old_style_callback_through_the_custom_method_gets_arrays():
    """The issue's first report: the callback received a result and crashed."""
    seen, ref_seen = [], []
    res = custom_run(bounds=BOX, callback=lambda xk: seen.append(np.linalg.norm(xk)))
    ref = scipy_run(bounds=BOX, callback=lambda xk: ref_seen.append(np.linalg.norm(xk)))
    same_as_scipy(res, ref)
    np.testing.assert_allclose(seen, ref_seen, rtol=1e-8)


class Stopper:
    """Raises StopIteration on the third call, in each of SciPy's callback forms."""

    def __init__(self):
        self.calls, self.types = 0, set()

    def tick(self, seen):
        self.types.add(type(seen))
        self.calls += 1
        if self.calls == 3:
            raise StopIteration


def callback_in_form(form, stopper):
    if form == "xk":
        return lambda xk: stopper.tick(xk)
    if form == "intermediate_result":
        return lambda intermediate_result: stopper.tick(intermediate_result)

    class Annotated:
        def __call__(self, intermediate_result: OptimizeResult):
            stopper.tick(intermediate_result)
    return Annotated()


ENTRY_POINTS = {
    "scipy": scipy_run,
    "custom_method": custom_run,
    "minimize": lambda **kw: lbfgsb_py.minimize(rosen, X0, jac=rosen_der, **kw),
}


@pytest.mark.parametrize("entry", ["custom_method", "minimize"])
@pytest.mark.parametrize("form", ["xk", "intermediate_result", "annotated"])
def test_callback_forms_and_stop_iteration_as_in_scipy(entry, form):
    ref_stop, stop = Stopper(), Stopper()
    ref = scipy_run(callback=callback_in_form(form, ref_stop))
    res = ENTRY_POINTS[entry](callback=callback_in_form(form, stop))
    same_as_scipy(res, ref)
    assert (res.status, res.message) == (99, "`callback` raised `StopIteration`.")
    assert (stop.types == {np.ndarray}) == (ref_stop.types == {np.ndarray})
    assert stop.types <= {np.ndarray} or all(issubclass(t, OptimizeResult) for t in stop.types)


def test_callback_with_fixed_variables_sees_every_variable():
    """SciPy drops fixed variables for finite differences but calls back with all."""
    bounds = [(-2, 2), (0.5, 0.5), (-2, 2), (-2, 2), (-2, 2)]
    lengths, ref_lengths = [], []
    res = custom_run(jac=None, bounds=bounds, callback=lambda xk: lengths.append(len(xk)))
    ref = scipy_run(jac=None, bounds=bounds, callback=lambda xk: ref_lengths.append(len(xk)))
    same_as_scipy(res, ref, atol=1e-9)
    assert lengths == ref_lengths and set(lengths) == {5}


def test_callback_return_value_is_ignored_as_in_scipy():
    ref = scipy_run(callback=lambda xk: True)
    same_as_scipy(custom_run(callback=lambda xk: True), ref)


# ---------------------------------------------------------------- limits
@pytest.mark.parametrize("options", [
    {"maxiter": 0}, {"maxfun": 0}, {"maxiter": 2.5}, {"maxfun": 12.5}, {"maxiter": 100.1},
    {"maxiter": np.inf}, {"maxfun": 0, "maxiter": 0}, {"maxiter": np.int64(3)},
])
def test_limits_as_in_scipy(options):
    ref = scipy_run(options=options)
    same_as_scipy(custom_run(options=options), ref)
    ours = lbfgsb_py.minimize(rosen, X0, jac=rosen_der, **options)
    same_as_scipy(ours, ref)
    assert ours.trace.of_kind("termination"), "a zero limit is traced like any run"


@pytest.mark.parametrize("name, value, exc, match", [
    ("maxiter", -1, ValueError, r"maxiter must be >= 0, got -1 \(0 stops after"),
    ("maxfun", np.nan, ValueError, "maxfun must be >= 0, got nan"),
    ("maxiter", "10", TypeError, "maxiter must be a number"),
    ("maxiter", True, TypeError, "maxiter must be a number"),
])
def test_meaningless_limits_are_refused_by_name(name, value, exc, match):
    with pytest.raises(exc, match=match):
        lbfgsb_py.minimize(rosen, X0, jac=rosen_der, **{name: value})


# ---------------------------------------------------------------- options
def test_scipy_no_value_sentinels_are_not_given():
    from scipy._lib.deprecation import _NoValue
    ref = scipy_run()
    res = scipy_method(rosen, X0, jac=rosen_der, disp=_NoValue, iprint=_NoValue)
    same_as_scipy(res, ref)


def test_unknown_options_warn_like_scipy():
    with pytest.warns(so.OptimizeWarning, match="Unknown solver options: foo, bar") as ours:
        res = custom_run(options={"foo": 1, "bar": 2})
    with pytest.warns(so.OptimizeWarning, match="Unknown solver options: foo, bar"):
        ref = scipy_run(options={"foo": 1, "bar": 2})
    same_as_scipy(res, ref)
    assert ours[0].filename == __file__


@pytest.mark.parametrize("extra", [
    {"hess": lambda x: np.eye(5)}, {"hessp": lambda x, p: p},
    {"constraints": [{"type": "eq", "fun": lambda x: x[0]}]},
])
def test_unused_arguments_warn_like_scipy(extra):
    with warnings.catch_warnings(record=True) as ref_warnings:
        warnings.simplefilter("always")
        ref = scipy_run(**extra)
    with warnings.catch_warnings(record=True) as our_warnings:
        warnings.simplefilter("always")
        res = custom_run(**extra)
    same_as_scipy(res, ref)
    assert [(w.category, str(w.message)) for w in our_warnings] == \
           [(w.category, str(w.message)) for w in ref_warnings]
    assert our_warnings[0].filename == __file__


def test_tol_sets_ftol_and_gtol_unless_given_as_in_scipy():
    same_as_scipy(custom_run(tol=1e-3), scipy_run(tol=1e-3))
    same_as_scipy(custom_run(tol=1e-3, options={"gtol": 1e-9}),
                  scipy_run(tol=1e-3, options={"gtol": 1e-9}))


@pytest.mark.parametrize("workers", [map, 1])
def test_workers_are_accepted(workers):
    ref = scipy_run(jac=None, options={"workers": workers})
    same_as_scipy(custom_run(jac=None, options={"workers": workers}), ref)


def test_bad_workers_are_refused_by_name():
    with pytest.raises(TypeError, match="workers must be None, an int or a map-like callable"):
        custom_run(jac=None, options={"workers": "four"})


@pytest.mark.parametrize("jac", ["2-point", "3-point", None, False, True])
def test_jac_forms_as_in_scipy(jac):
    fun = (lambda x: (rosen(x), rosen_der(x))) if jac is True else rosen
    ref = scipy_run(fun=fun, jac=jac, bounds=BOX)
    same_as_scipy(lbfgsb_py.minimize(fun, X0, jac=jac, bounds=BOX), ref)
    # SciPy hands a custom method jac=None for '2-point'/'3-point' (and forward
    # differences follow); True arrives as a callable.
    custom_ref = scipy_run(fun=fun, jac=None if isinstance(jac, str) else jac, bounds=BOX)
    same_as_scipy(custom_run(fun=fun, jac=jac, bounds=BOX), custom_ref)


def test_complex_step_is_refused_with_the_alternatives():
    with pytest.raises(ValueError, match=r"got 'cs' \(complex-step.*not supported"):
        lbfgsb_py.minimize(rosen, X0, jac="cs")


@pytest.mark.parametrize("args", [(2.0,), 2.0])
def test_args_tuple_or_single_value_as_in_scipy(args):
    def fun(x, a):
        return a * rosen(x)

    def jac(x, a):
        return a * rosen_der(x)
    same_as_scipy(custom_run(fun=fun, jac=jac, args=args), scipy_run(fun=fun, jac=jac, args=args))


@pytest.mark.parametrize("bounds", [
    BOX, so.Bounds(-2, 2), so.Bounds([-2] * 5, [2] * 5), [(None, 1.5)] * 5,
    [(-2, 2), (0.7, 0.7), (None, None), (-1, np.inf), (-np.inf, 1.5)],
])
def test_bounds_forms_as_in_scipy(bounds):
    same_as_scipy(custom_run(bounds=bounds), scipy_run(bounds=bounds))


def test_bound_errors_begin_with_scipys_words():
    with pytest.raises(ValueError, match="The number of bounds is not compatible with the "
                                         "length of `x0`: lower bounds have shape"):
        custom_run(bounds=so.Bounds([1, 2], [3, 4]))
    with pytest.raises(ValueError, match=r"An upper bound is less than the corresponding lower "
                                         r"bound: bounds\[1\]: lower 6.0 > upper 4.0"):
        custom_run(x0=[1, 2, 3], bounds=so.Bounds([1, 6, 1], [3, 4, 2]))


# ------------------------------------------------------------------ types
def test_results_are_scipy_optimize_results():
    for res in (lbfgsb_py.minimize(rosen, X0, jac=rosen_der), custom_run()):
        assert isinstance(res, OptimizeResult) and isinstance(res, lbfgsb_py.Result)
        assert len(res.trace) > 0 and "fun_last_trial" in res
        assert isinstance(res.hess_inv, LbfgsInvHessProduct)
        assert isinstance(res.hess_inv, LinearOperator)
        assert isinstance(res.hess_inv, lbfgsb_py.InverseHessianProduct)
    assert set(summary(scipy_run())) | {"x", "fun", "jac", "hess_inv"} <= set(res)


def test_results_pickle_and_copy_with_their_types():
    import copy
    res = lbfgsb_py.minimize(rosen, X0, jac=rosen_der)
    for back in (pickle.loads(pickle.dumps(res)), copy.deepcopy(res)):
        assert isinstance(back, OptimizeResult) and back.nit == res.nit
        np.testing.assert_array_equal(back.hess_inv.todense(), res.hess_inv.todense())


TRANSPOSES = {"T", "H", "adjoint", "rmatvec"}


def operator_outputs(op):
    """Every product the operator offers (H is symmetric: a transpose product is H v)."""
    v = np.arange(1.0, op.shape[0] + 1)
    out = {"matvec": op.matvec(v), "call": op(v), "dot": op.dot(v), "matmul": op @ v,
           "column": op.matvec(v[:, None]), "matmat": op @ np.vander(v, 3),
           "dense": op.todense()}
    try:
        out.update(T=op.T @ v, H=op.H @ v, adjoint=op.adjoint() @ v, rmatvec=op.rmatvec(v))
    except NotImplementedError:         # SciPy's own LbfgsInvHessProduct
        pass
    else:
        for key in TRANSPOSES:
            np.testing.assert_array_equal(out[key], out["matvec"], err_msg=key)
    return out


@pytest.mark.parametrize("bounds, maxiter", [(None, 8), (BOX, 2)])
def test_hess_inv_is_scipys_operator_to_the_bit(bounds, maxiter):
    """Where the run is SciPy's to the bit, so is every hess_inv output.  (SciPy's
    own operator has no transpose product: ``T``, ``H``, ``rmatvec`` raise there.)"""
    res = custom_run(bounds=bounds, options={"maxiter": maxiter})
    ref = scipy_run(bounds=bounds, options={"maxiter": maxiter})
    np.testing.assert_array_equal(res.x, ref.x)
    ours, theirs = operator_outputs(res.hess_inv), operator_outputs(ref.hess_inv)
    assert ours.keys() == theirs.keys() | TRANSPOSES
    for key in theirs:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    for key in ("sk", "yk", "rho", "n_corrs", "shape", "dtype", "ndim"):
        np.testing.assert_array_equal(getattr(res.hess_inv, key), getattr(ref.hess_inv, key))


WITHOUT_SCIPY = textwrap.dedent("""
    import json, pickle, sys
    sys.modules["scipy"] = None                 # any import of SciPy fails
    import numpy as np
    import lbfgsb_py
    def rosen(x):
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
    seen = []
    res = lbfgsb_py.minimize(rosen, np.array([1.3, 0.7, 0.8]), bounds=[(-2, 2)] * 3,
                             callback=lambda intermediate_result: seen.append(
                                 type(intermediate_result).__mro__[1].__name__))
    x, f, d = lbfgsb_py.fmin_l_bfgs_b(rosen, [1.3, 0.7, 0.8], approx_grad=True)
    pairs = json.loads(sys.stdin.read())
    op = lbfgsb_py.InverseHessianProduct(np.array(pairs["sk"]), np.array(pairs["yk"]))
    v = np.arange(1.0, op.shape[0] + 1)
    out = {"bases": [c.__name__ for c in type(res).__mro__],
           "op_bases": [c.__name__ for c in type(res.hess_inv).__mro__],
           "callback_bases": sorted(set(seen)), "d": sorted(d), "message": res.message,
           "pickled": pickle.loads(pickle.dumps(res)).nit == res.nit,
           "symmetric": op.T is op and op.adjoint() is op,
           "ops": {k: np.asarray(val).tolist() for k, val in {
               "matvec": op.matvec(v), "call": op(v), "matmul": op @ v,
               "column": op.matvec(v[:, None]), "matmat": op @ np.vander(v, 3),
               "dense": op.todense(), "rmatvec": op.rmatvec(v)}.items()},
           "scipy_loaded": any(m.startswith("scipy.") for m in sys.modules)}
    print(json.dumps(out))
""")


def test_without_scipy_the_package_has_its_own_classes_with_the_same_outputs():
    ref = scipy_run(bounds=BOX)
    sk, yk = ref.hess_inv.sk, ref.hess_inv.yk
    done = subprocess.run([sys.executable, "-c", WITHOUT_SCIPY], capture_output=True,
                          text=True, input=json.dumps({"sk": sk.tolist(), "yk": yk.tolist()}),
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["bases"] == ["Result", "dict", "object"]
    assert out["op_bases"] == ["InverseHessianProduct", "object"]
    assert out["callback_bases"] == ["dict"] and out["pickled"] and out["symmetric"]
    assert out["d"] == ["funcalls", "grad", "nit", "task", "warnflag"]
    assert not out["scipy_loaded"] and out["message"].startswith("CONVERGENCE")
    theirs = operator_outputs(ref.hess_inv)
    for key, value in out["ops"].items():   # the same operations, the same bits
        if key == "rmatvec":
            key = "matvec"
        np.testing.assert_array_equal(np.array(value), theirs[key], err_msg=key)


def test_package_import_does_not_import_scipy():
    code = "import sys, lbfgsb_py; print(any(m.startswith('scipy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.strip() == "False", out.stderr


# ---------------------------------------------------------- fmin_l_bfgs_b
def test_fmin_l_bfgs_b_has_scipys_signature():
    ours = inspect.signature(lbfgsb_py.fmin_l_bfgs_b).parameters
    assert list(ours) == list(inspect.signature(so.fmin_l_bfgs_b).parameters)


@pytest.mark.parametrize("kwargs", [
    {"fprime": rosen_der},
    {"approx_grad": True},
    {"func": lambda x: (rosen(x), rosen_der(x))},
    {"fprime": rosen_der, "bounds": BOX, "m": 3, "factr": 1e10, "pgtol": 1e-3},
    {"fprime": rosen_der, "maxiter": 0},
    {"approx_grad": 1, "epsilon": 1e-6, "maxfun": 30, "maxls": 5},
])
def test_fmin_l_bfgs_b_returns_scipys_triple(kwargs):
    kwargs = {"func": rosen, "x0": X0} | kwargs
    x, f, d = lbfgsb_py.fmin_l_bfgs_b(**kwargs)
    rx, rf, rd = so.fmin_l_bfgs_b(**kwargs)
    np.testing.assert_allclose(x, rx, rtol=1e-8)
    assert f == pytest.approx(rf, rel=1e-8, abs=1e-12)
    np.testing.assert_allclose(d.pop("grad"), rd.pop("grad"), rtol=1e-6, atol=1e-10)
    assert d == rd


def test_fmin_l_bfgs_b_callback_stop_is_scipys_halt():
    def stop_at_3(xk, calls=[]):
        calls.append(1)
        if len(calls) == 3:
            raise StopIteration
    x, f, d = lbfgsb_py.fmin_l_bfgs_b(rosen, X0, rosen_der, callback=stop_at_3)
    assert (d["task"], d["warnflag"], d["nit"]) == ("STOP: CALLBACK REQUESTED HALT", 2, 3)
    _, _, rd = so.fmin_l_bfgs_b(rosen, X0, rosen_der, callback=Stopper().tick)
    assert (d["task"], d["warnflag"], d["nit"]) == (rd["task"], rd["warnflag"], rd["nit"])


def test_fmin_l_bfgs_b_iprint_prints_the_fortran_output(capsys):
    lbfgsb_py.fmin_l_bfgs_b(rosen, X0, rosen_der, iprint=0)
    assert "RUNNING THE L-BFGS-B CODE" in capsys.readouterr().out
    lbfgsb_py.fmin_l_bfgs_b(rosen, X0, rosen_der)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------- clients' habits
def logistic_loss(w, X, y):
    """A float32 logistic loss with jac=True, the way ML libraries write it."""
    z = (X @ w).astype(np.float32)
    loss = np.sum(np.logaddexp(0, -y * z)) + 0.5 * np.float32(w @ w)
    grad = -(X.T @ (y / (1 + np.exp(y * z)))) + w
    return np.float32(loss), grad.astype(np.float32)


RNG = np.random.default_rng(3)
DATA = (RNG.standard_normal((40, 4)), np.sign(RNG.standard_normal(40)))


@pytest.mark.parametrize("options", [
    {"maxiter": 0},                                                  # the initial state
    {"maxiter": 100, "maxls": 50, "gtol": 1e-4, "ftol": 64 * np.finfo(float).eps},
])
def test_ml_library_call_as_in_scipy(options):
    """A scikit-learn-style call: jac=True, float32 loss and gradient, maxls 50, ftol 64 eps."""
    kwargs = dict(fun=logistic_loss, x0=np.zeros(4), jac=True, args=DATA, options=options)
    ref = so.minimize(method="L-BFGS-B", **kwargs)
    res = so.minimize(method=scipy_method, **kwargs)
    same_as_scipy(res, ref)
    assert res.hess_inv.todense().shape == (4, 4)


def test_zero_dimensional_values_and_list_x0_as_in_scipy():
    def fun(x):
        return np.asarray(rosen(np.asarray(x))), rosen_der(x)
    ref = so.minimize(fun, [1.3, 0.7, 0.8], jac=True, method="L-BFGS-B")
    same_as_scipy(so.minimize(fun, [1.3, 0.7, 0.8], jac=True, method=scipy_method), ref)
    same_as_scipy(lbfgsb_py.minimize(fun, [1.3, 0.7, 0.8], jac=True), ref)


def test_early_stop_then_hess_inv_read_as_in_scipy():
    """A callback that stops on a criterion of its own, then the curvature read out."""
    def until_close(intermediate_result):
        if intermediate_result.fun < 1e-2:
            raise StopIteration
    res, ref = custom_run(callback=until_close), scipy_run(callback=until_close)
    same_as_scipy(res, ref)
    np.testing.assert_allclose(res.hess_inv.todense(), ref.hess_inv.todense(), rtol=1e-7)
    np.testing.assert_allclose(np.sqrt(np.diag(res.hess_inv.todense())),
                               np.sqrt(np.diag(ref.hess_inv.todense())), rtol=1e-7)

"""The reference backend gives the compiled backend's bits, step by step.

Every call of the five entry points is run twice on the same state: the
compiled kernel on the state's arrays, the reference on a deep copy; the
returned tuples and every field of the two states are compared bit for bit.
The states come from real runs (the driver, whose kernels are replaced by this
comparison), on problems chosen so that every branch runs (asserted).
"""
import copy
from unittest import mock

import numpy as np
import pytest

from lbfgsb_py import driver, reference
from lbfgsb_py.compiled import _dense
from lbfgsb_py.compiled import bounds as c_bounds
from lbfgsb_py.compiled import direction as c_direction
from lbfgsb_py.compiled import lbfgs_matrices as c_matrices
from lbfgsb_py.compiled import line_search as c_line_search
from lbfgsb_py.compiled import _x87
from lbfgsb_py.compiled import more_thuente as c_more_thuente
from lbfgsb_py.constants import (FAILED_CAUCHY, FAILED_FORMK, FTOL, GTOL, OK, START,
                                 STPMIN, SUB_BOUNDED, XTOL)
from lbfgsb_py.reference import blas, more_thuente
from lbfgsb_py.state import ARRAY_FIELDS, State


def bits(value, any_nan=False):
    """A value as comparable bits: arrays and floats by bytes, with their type.

    ``any_nan``: every NaN as one NaN (their sign and payload are not compared).
    """
    if isinstance(value, np.ndarray):
        if any_nan and value.dtype == np.float64:
            value = np.where(np.isnan(value), np.nan, value)
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, float):
        if any_nan and value != value:
            value = float("nan")
        return (type(value).__name__, np.float64(value).tobytes())
    if isinstance(value, tuple):
        return tuple(bits(v, any_nan) for v in value)
    return (type(value).__name__, value)


def assert_same(ref_out, out, ref_state, state, where, any_nan=False):
    assert bits(ref_out, any_nan) == bits(out, any_nan), (
        f"{where}: returned {ref_out} != compiled {out}")
    mine, theirs = ref_state.fields(), state.fields()
    assert mine.keys() == theirs.keys()
    for name in ARRAY_FIELDS + tuple(sorted(mine.keys() - set(ARRAY_FIELDS))):
        if name not in reference.WORKSPACE:
            assert bits(mine[name], any_nan) == bits(theirs[name], any_nan), (
                f"{where}: field {name} differs")


class Differential:
    """The driver's kernels: compiled on the state, reference on a copy, compared."""

    def __init__(self, state, any_nan=False):
        self.state = state
        self.any_nan = any_nan   # NaNs compared without their sign and payload
        self.calls = []        # (entry point, returned tuple, iupdat) of every call
        self.before = []       # (entry point, a copy of the state before the call)

    def _run(self, name, compiled, *args):
        ref_state = copy.deepcopy(self.state)
        self.before.append((name, copy.deepcopy(self.state)))
        ref_out = getattr(reference, name)(ref_state, *args)
        out = compiled()
        assert_same(ref_out, out, ref_state, self.state,
                    f"{name} at iter {self.state.iter}, nfev {self.state.nfev}", self.any_nan)
        self.calls.append((name, out, self.state.iupdat))
        return out

    def initial_status(self):
        s = self.state
        return self._run("initial_status",
                         lambda: c_bounds.initial_status(s.l, s.u, s.nbd, s.iwhere))

    def projected_gradient_norm(self):
        s = self.state
        return self._run("projected_gradient_norm", lambda: c_bounds.projected_gradient_norm(
            s.x, s.g, s.l, s.u, s.nbd, 1, s.cnstnd))

    def search_direction(self):
        s = self.state
        return self._run("search_direction", lambda: c_direction.search_direction(
            s.x, s.l, s.u, s.nbd, s.g, s.iwhere, s.index, s.indx2, s.nfree, s.iter,
            s.cnstnd, s.sbgnrm, s.ws, s.wy, s.sy, s.wt, s.theta, s.col, s.head, s.updatd,
            s.iupdat, s.wn, s.wn1, s.z, s.d, s.xcp, s.t_break, s.iorder, s.p, s.c, s.wbp,
            s.v, s.segments, s.r, s.xp, s.variant_code, s.xold, s.gold, 1))

    def line_search_step(self, f, first):
        s = self.state
        return self._run("line_search_step", lambda: c_line_search._slope_and_search(
            f, s.g, s.d, s.stp, s.stpmx, s.ls_task, first, s.isave, s.dsave, s.x, s.xold,
            s.z, s.l, s.u, s.nbd, s.cnstnd, 1), f, first)

    def add_step(self):
        s = self.state
        return self._run("add_step", lambda: c_matrices.add_step_kernel(
            s.ws, s.wy, s.sy, s.ss, s.wt, s.d, s.gold, s.g, s.stp, s.gd, s.gdold, s.dtd,
            s.itail, s.iupdat + 1, s.col, s.head, s.theta, 1))


def run(fun, x0, lower, upper, *, maxcor=5, variant="scipy", maxiter=200, maxls=20):
    """Solve with the differential kernels; return (state, their call log)."""
    nbd, l, u = _encode(lower, upper)
    x = np.clip(x0, lower, upper).astype(np.float64)
    state = State(x, nbd, l, u, maxcor=maxcor, ftol=1e-12, gtol=1e-9, maxls=maxls,
                  maxiter=maxiter, maxfun=15000, variant=variant, full_trace=True)
    kernels = {}

    def bind(name, st):
        kernels["k"] = Differential(st)
        return kernels["k"]

    with mock.patch.object(driver.backends, "bind", bind):
        engine = driver.Engine(state, backend="reference")
    point = engine.pending
    while point is not None:
        f, g = fun(point)
        point = engine.tell(f, g)
    run.before = kernels["k"].before
    return state, kernels["k"].calls


def _encode(lower, upper):
    has_l, has_u = np.isfinite(lower), np.isfinite(upper)
    nbd = np.where(has_l, np.where(has_u, 2, 1), np.where(has_u, 3, 0)).astype(np.int64)
    return nbd, np.where(has_l, lower, 0.0), np.where(has_u, upper, 0.0)


def rosenbrock(x):
    inner = x[1:] - x[:-1] ** 2
    f = float(np.sum(100.0 * inner ** 2 + (1.0 - x[:-1]) ** 2))
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * inner
    return f, g


def quadratic(n, seed, cond=1e3):
    """A random convex quadratic 0.5 x'Ax - b'x whose minimizer lies far outside [-1, 1]^n."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.geomspace(1.0, cond, n)) @ Q.T
    b = A @ (3.0 * rng.standard_normal(n))

    def fun(x):
        Ax = A @ x
        return float(0.5 * x @ Ax - b @ x), Ax - b
    return fun


def returned(calls, name):
    return [out for entry, out, _ in calls if entry == name]


# ------------------------------------------------------------------ whole runs
def test_unbounded_rosenbrock_ring_wraps():
    n = 20
    x0 = np.tile([-1.2, 1.0], n // 2)
    state, calls = run(rosenbrock, x0, np.full(n, -np.inf), np.full(n, np.inf), maxcor=3)
    assert state.nit > 20 and max(iupdat for *_, iupdat in calls) > 3     # ring wrapped
    assert not state.cnstnd
    # The direction after a new pair (formk without bounds) and the first one (Cauchy).
    assert any(out[8] for out in returned(calls, "search_direction"))
    assert any(out[3] > 0 for out in returned(calls, "search_direction"))


def test_bounded_rosenbrock():
    n = 24
    x0 = np.tile([-1.2, 1.0], n // 2)
    lower = np.where(np.arange(n) % 3 == 0, -0.5, -np.inf)
    upper = np.where(np.arange(n) % 4 == 1, 0.8, np.inf)
    state, calls = run(rosenbrock, x0, lower, upper, maxcor=4)
    directions = returned(calls, "search_direction")
    assert state.nit > 10 and max(out[2] for out in directions) > 1     # several breakpoints
    assert any(out[6] > 0 or out[7] < n for out in directions)          # the free set changed


@pytest.mark.parametrize("variant", ["scipy", "1995"])
def test_box_quadratics_with_many_active_bounds(variant):
    seen = {"projected": 0, "backtracked": 0, "uphill": 0}
    for n, cond, maxcor, seed in ((60, 1e3, 3, 0), (30, 1e8, 5, 0)):
        state, calls = run(quadratic(n, seed, cond), np.zeros(n), -np.ones(n), np.ones(n),
                           maxcor=maxcor, variant=variant, maxiter=60)
        assert np.count_nonzero(state.iwhere > 0) > n // 4                 # many active bounds
        assert max(iupdat for *_, iupdat in calls) > maxcor                # the ring wrapped
        for out in returned(calls, "search_direction"):
            iword, alpha, dd_p = out[9], out[10], out[11]
            seen["projected"] += iword == SUB_BOUNDED and alpha == 1.0 and dd_p <= 0.0
            seen["backtracked"] += alpha < 1.0
            seen["uphill"] += dd_p > 0.0
    assert seen["backtracked"]
    if variant == "scipy":
        assert seen["projected"] and seen["uphill"]        # [MN11] projection, then its fallback
    else:
        assert not seen["projected"] and not seen["uphill"]


def test_concave_problem_skips_pairs():
    """Negative curvature along the step: s'y <= eps (-s'g), the pair is not stored."""
    def concave(x):
        return float(-np.sum(x ** 2) + 0.1 * np.sum(np.sin(5 * x))), -2 * x + 0.5 * np.cos(5 * x)
    n = 20
    state, calls = run(concave, np.linspace(-0.3, 0.3, n), -np.ones(n), np.ones(n), maxcor=3)
    assert any(not out[0] for out in returned(calls, "add_step"))


def _states_before(name, states, cnstnd):
    return [st for entry, st in states if entry == name and st.col >= 2 and st.cnstnd == cnstnd]


def test_failures_and_non_finite_values_match():
    """States from a run, broken on purpose: the same failure, info and arrays."""
    n = 24
    x0 = np.tile([-1.2, 1.0], n // 2)
    lower = np.where(np.arange(n) % 3 == 0, -0.5, -np.inf)
    run(rosenbrock, x0, lower, np.full(n, np.inf), maxcor=4)
    bounded = run.before
    run(rosenbrock, x0, np.full(n, -np.inf), np.full(n, np.inf), maxcor=4)
    free = run.before
    stages, infos = set(), set()

    def direction(state, change):
        change(state)
        # Where a NaN meets a NaN of the other sign (g's and d = -g's), which one
        # an operation returns is up to the compiler: NaNs compare as NaNs.
        out = Differential(state, any_nan=change in (nan_gradient, inf_gradient)
                           ).search_direction()
        stages.add(out[0])
        infos.add(out[1])

    def singular_J(st):
        st.wt[1, 1] = 0.0

    def k11_not_pd(st):
        st.updatd = True
        st.wn1[0, 0, 0] = -1e30

    def k22_not_pd(st):
        st.updatd = True
        st.wn1[1, 0, 0] = -1e30

    def nan_gradient(st):
        st.g[3] = np.nan

    def inf_gradient(st):
        st.g[5] = -np.inf

    def zero_gradient(st):
        st.g[::2] = 0.0

    for states in (_states_before("search_direction", bounded, True)[:3],
                   _states_before("search_direction", free, False)[:3]):
        for st in states:
            for change in (singular_J, k11_not_pd, k22_not_pd, nan_gradient, inf_gradient,
                           zero_gradient):
                direction(copy.deepcopy(st), change)
    assert stages >= {OK, FAILED_CAUCHY, FAILED_FORMK} and {-1, -2} <= infos

    formt_infos = set()
    for st in _states_before("add_step", bounded, True)[:4]:
        st.ss[np.diag_indices(st.m)] = -1.0
        formt_infos.add(Differential(st).add_step()[-1])
    assert -3 in formt_infos


def test_initial_status_and_projected_gradient_edge_values():
    rng = np.random.default_rng(7)
    n = 50
    for trial in range(20):
        nbd = rng.integers(0, 4, n)
        l = rng.standard_normal(n)
        u = l + rng.choice([-1.0, 0.0, 1.0], n)
        x = np.clip(rng.standard_normal(n), l, u)
        g = rng.standard_normal(n) * rng.choice([0.0, 1.0], n)
        if trial % 3 == 0:
            g[rng.integers(n)] = np.nan
        if trial % 4 == 1:
            nbd[:] = 0
        state = State(x, nbd, l, u, maxcor=3, ftol=0.0, gtol=0.0, maxls=20, maxiter=10,
                      maxfun=10, variant="scipy")
        state.g[:] = g
        kernels = Differential(state)
        kernels.initial_status()
        kernels.projected_gradient_norm()


# ------------------------------------------------------------------ the line search
def test_dcstep_every_case_matches():
    rng = np.random.default_rng(3)
    cases = set()
    for _ in range(3000):
        stx, sty = 0.0, rng.uniform(0.0, 3.0)
        stp = rng.uniform(0.01, 4.0)
        fx, fy, fp = rng.standard_normal(3)
        dx, dy, dp = rng.standard_normal(3)
        brackt = bool(rng.integers(2))
        args = (stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, 0.0, 5.0)
        with np.errstate(all="ignore"):        # as the entry points run the modules
            ref = more_thuente.dcstep(*map(_f64, args))
        out = c_more_thuente.dcstep(*args)
        assert bits(tuple(_py(v) for v in ref)) == bits(out), args
        cases.add(out[-1])
    assert cases == {1, 2, 3, 4}


def test_dcsrch_sequences_match():
    """Whole searches on 1-D functions, from START to the end, with every message."""
    rng = np.random.default_rng(5)
    tasks = set()
    for trial in range(300):
        a, b, c = rng.uniform(0.1, 3.0), rng.uniform(-3, 3), rng.uniform(0.5, 8.0)

        def phi(t):
            return (a * (t - c) ** 2 + b * np.sin(3 * t), 2 * a * (t - c) + 3 * b * np.cos(3 * t))
        stp, stpmax = rng.uniform(0.1, 2.0), rng.choice([1e10, rng.uniform(1.0, 10.0)])
        isave, dsave = np.zeros(2, np.int64), np.zeros(13)
        risave, rdsave = isave.copy(), dsave.copy()
        f, g = phi(0.0)
        task = START
        for _ in range(30):
            out = c_more_thuente.dcsrch(f, g, stp, FTOL, GTOL, XTOL, STPMIN, stpmax, task,
                                        isave, dsave)
            with np.errstate(all="ignore"):
                ref = more_thuente.dcsrch(f, g, stp, FTOL, GTOL, XTOL, STPMIN, stpmax, task,
                                          risave, rdsave)
            assert bits((float(ref[0]),) + ref[1:]) == bits(out)
            assert bits(isave) == bits(risave) and bits(dsave) == bits(rdsave)
            stp, task = out[0], out[1]
            tasks.add((task, out[2]))
            if task != 3:
                break
            f, g = phi(stp)
    assert {t for t, _ in tasks} >= {3, 4, 6, 7}


def _f64(v):
    return v if isinstance(v, bool) else np.float64(v)


def _py(v):
    return v if isinstance(v, (bool, int)) else float(v)


# ------------------------------------------------------------------ blas
@np.errstate(all="ignore")
def test_dot_matches_ddot_grouping():
    rng = np.random.default_rng(11)
    for n in list(range(0, 40)) + [100, 1000, 1001]:
        a, b = rng.standard_normal(n) * 1e3, rng.standard_normal(n)
        assert bits(float(blas.dot(a, b))) == bits(_dense.dot(a, b)), n
    z = -np.zeros(20)
    assert bits(float(blas.dot(z, np.ones(20)))) == bits(_dense.dot(z, np.ones(20)))


@np.errstate(all="ignore")
def test_norm2_is_the_compiled_norm():
    rng = np.random.default_rng(13)
    vectors = [np.zeros(5), -np.zeros(3), np.array([np.nan, 1.0]), np.array([1.0, -np.inf]),
               np.array([np.inf, np.nan]), np.array([2e-308, 1e-320]), np.array([1e308, 1e308]),
               np.array([3.0, 4.0]), np.full(17, 1e-200), np.full(33, 1e200)]
    for n in (1, 2, 7, 16, 31, 100, 1000):
        for scale in (1e-300, 1e-160, 1e-20, 1.0, 1e20, 1e160, 1e300):
            vectors.append(rng.standard_normal(n) * scale)
            vectors.append(rng.standard_normal(n) * np.exp(rng.uniform(-30, 30, n)) * scale)
    for _ in range(3000):
        n = int(rng.integers(1, 60))
        vectors.append(rng.integers(-20, 20, n) * 2.0 ** int(rng.integers(-60, 60)))
        vectors.append(rng.standard_normal(n))
    for v in vectors:
        assert bits(float(blas.norm2(v))) == bits(_x87.norm2(v)), v


def test_norm2_of_subnormal_vectors():
    """Largest entry below 2^-1023 (the compiled norm2 once returned NaN there: its
    scale 2^-floor(log2 max) overflowed); both backends give the rounded norm."""
    tiny = 2.0 ** -1070
    rng = np.random.default_rng(19)
    for v, expected in ((np.array([3 * tiny, 4 * tiny]), 5 * tiny),
                        (np.array([5e-324, 5e-324]), 5e-324),     # sqrt(2) 2^-1074 rounds down
                        (np.array([5e-324, -1e-320]), 1e-320)):
        assert blas.norm2(v) == _x87.norm2(v) == expected
    for _ in range(500):
        v = rng.standard_normal(int(rng.integers(1, 40))) * 2.0 ** int(rng.integers(-1074, -1000))
        assert bits(float(blas.norm2(v))) == bits(_x87.norm2(v)), v


@np.errstate(all="ignore")
def test_cholesky_and_triangular_solves_match():
    rng = np.random.default_rng(17)
    for k in range(1, 12):
        B = rng.standard_normal((k, k + 2))
        A = B @ B.T + 0.1 * np.eye(k)
        ref, comp = A.copy(), A.copy()
        assert blas.cholesky_upper(ref) == _dense.cholesky_upper(comp, 0, k) == 0
        assert bits(ref) == bits(comp)
        b = rng.standard_normal(k)
        rb, cb = b.copy(), b.copy()
        assert blas.solve_upper_transposed(ref, rb) == _dense.solve_upper_transposed(
            comp, 0, k, cb, 0) == 0
        assert bits(rb) == bits(cb)
        assert blas.solve_upper(ref, rb) == _dense.solve_upper(comp, 0, k, cb, 0) == 0
        assert bits(rb) == bits(cb)
        # Not positive definite: the same info and the same partly factored rows.
        bad, cbad = A.copy(), A.copy()
        bad[k - 1, k - 1] = cbad[k - 1, k - 1] = -1.0
        assert blas.cholesky_upper(bad) == _dense.cholesky_upper(cbad, 0, k) == k
        assert bits(bad) == bits(cbad)


@np.errstate(all="ignore")
def test_max_step_scans_only_candidates_and_matches_the_compiled_scan():
    """stpmax from the candidates' scan equals the compiled full scan bit for bit, also
    when ratios nearly tie, steps are tiny or huge, and variables sit on their bounds."""
    from lbfgsb_py.reference.line_search import max_step
    rng = np.random.default_rng(23)
    for t in range(3000):
        n = int(rng.integers(1, 60))
        x = rng.standard_normal(n) * 10.0 ** int(rng.integers(-3, 3))
        d = rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n).astype(float)
        d[rng.random(n) < 0.1] = 0.0
        gap = 10.0 ** rng.integers(-16, 3, n).astype(float)
        l = x - np.abs(rng.standard_normal(n)) * gap * (rng.random(n) < 0.9)
        u = x + np.abs(rng.standard_normal(n)) * gap * (rng.random(n) < 0.9)
        if t % 3 == 0:                                  # ratios that nearly tie, in order
            k = np.arange(n)
            d, l = -(1.0 + k * 1e-16), x - 1.0 - k * 1e-16
        nbd = rng.integers(0, 4, n)
        assert bits(max_step(x, d, l, u, nbd, True, 3)) == \
            bits(c_line_search.max_step(x, d, l, u, nbd, True, 3)), t

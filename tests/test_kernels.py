"""Each concept against an independent dense reference.

* compact L-BFGS matrices vs the dense BFGS recurrence [BNS94 Thm 2.3];
* ``bmv`` vs the dense middle matrix M;
* the generalized Cauchy point vs a brute-force walk along the projected path;
* the subspace step vs a dense reduced Newton solve;
* the small dense factorizations vs NumPy's.
"""
import copy

import numpy as np
import pytest

from lbfgsb_py import bounds, driver
from lbfgsb_py.compiled import (_dense, _jit, active_set, cauchy, lbfgs_matrices, line_search,
                                subspace)
from lbfgsb_py.compiled import bounds as cbounds
from lbfgsb_py.constants import SUB_BOUNDED, SUB_CONVERGED
from lbfgsb_py.differential import first_difference
from lbfgsb_py.state import State


def memory_from_pairs(n, m, npairs, seed):
    """A State whose memory holds pairs (s, A s) from a random SPD A, stored by the
    compiled update kernel."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.logspace(0, 2, n)) @ q.T
    mem = State(np.zeros(n), np.zeros(n, np.int64), np.zeros(n), np.zeros(n), maxcor=m)
    pairs = []
    for _ in range(npairs):
        s = rng.standard_normal(n)
        y = a @ s
        pairs.append((s, y))
        # As after a unit step from gradient 0 to gradient y along d = s.
        applied, _, _, _, mem.itail, mem.col, mem.head, mem.theta, info = \
            lbfgs_matrices.add_step_kernel(mem.ws, mem.wy, mem.sy, mem.ss, mem.wt, s.copy(),
                                           np.zeros(n), y, 1.0, y @ s, 0.0, s @ s, mem.itail,
                                           mem.iupdat + 1, mem.col, mem.head, mem.theta, 1)
        mem.iupdat += 1
        assert applied and info == 0
    return mem, pairs[-m:]


def dense_B(mem):
    """The dense B = theta I - W M W' [BLNZ95 (3.2)-(3.3)] of a state's memory."""
    n = mem.ws.shape[1]
    B = mem.theta * np.eye(n)
    S, Y = mem.S, mem.Y
    SY = S.T @ Y
    D = np.diag(np.diag(SY))
    L = np.tril(SY, -1)
    Minv = np.block([[-D, L.T], [L, mem.theta * S.T @ S]])
    W = np.hstack([Y, mem.theta * S])
    return B - W @ np.linalg.solve(Minv, W.T)


def dense_bfgs(pairs, theta):
    b = theta * np.eye(len(pairs[0][0]))
    for s, y in pairs:
        bs = b @ s
        b = b - np.outer(bs, bs) / (s @ bs) + np.outer(y, y) / (y @ s)
    return b


@pytest.mark.parametrize("npairs", [1, 3, 5, 8])
def test_compact_matrix_equals_dense_recurrence(npairs):
    mem, pairs = memory_from_pairs(7, 5, npairs, seed=npairs)
    assert mem.col == min(npairs, 5)
    y_new = pairs[-1][1]
    assert mem.theta == pytest.approx(y_new @ y_new / (pairs[-1][0] @ y_new))
    np.testing.assert_allclose(dense_B(mem), dense_bfgs(pairs, mem.theta), rtol=1e-9, atol=1e-9)


def test_bmv_is_middle_matrix_product():
    mem, _ = memory_from_pairs(6, 4, 6, seed=11)
    order = mem.slots()
    s, y = mem.ws[order].T, mem.wy[order].T
    sy = s.T @ y
    minv = np.block([[-np.diag(np.diag(sy)), np.tril(sy, -1).T],
                     [np.tril(sy, -1), mem.theta * s.T @ s]])
    v = np.linspace(-1, 2, 2 * mem.col)
    p = np.zeros(2 * mem.m)
    assert lbfgs_matrices.bmv(mem.sy, mem.wt, mem.col, v, p) == 0
    np.testing.assert_allclose(p[:2 * mem.col], np.linalg.solve(minv, v), rtol=1e-9)


def brute_force_gcp(x, g, lo, hi, b):
    """First local minimizer of m(t) along P(x - t g), walking the sorted breakpoints."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tb = np.where(g < 0, (x - hi) / g, np.where(g > 0, (x - lo) / g, np.inf))
    path = lambda t: np.clip(x - t * g, lo, hi)  # noqa: E731
    ts = np.unique(np.concatenate([[0.0], tb[np.isfinite(tb)]]))
    for a, c in zip(ts, np.append(ts[1:], np.inf)):
        z = path(a)
        dirn = np.where(tb <= a, 0.0, -g)   # variables whose breakpoint has passed stay put
        slope = g @ dirn + (z - x) @ b @ dirn
        curv = dirn @ b @ dirn
        if slope >= 0:
            return z
        if curv > 0 and a - slope / curv < c:
            return z + (-slope / curv) * dirn
    raise AssertionError("unbounded path")


def cauchy_point(mem, x, g, lo, hi):
    n = x.shape[0]
    nbd, l, u = bounds.encode(lo, hi)
    iwhere = np.zeros(n, np.int64)
    cbounds.initial_status(l, u, nbd, iwhere)
    m2 = 2 * mem.m
    work = [np.zeros(m2) for _ in range(4)]
    xcp, d, t = np.zeros(n), np.zeros(n), np.zeros(n)
    iorder = np.zeros(n, np.int64)
    sbgnrm = cbounds.projected_gradient_norm(x, g, l, u, nbd)
    out = cauchy.cauchy(x, l, u, nbd, g, iwhere, mem.ws, mem.wy, mem.sy, mem.wt, mem.theta,
                        mem.col, mem.head, sbgnrm, xcp, d, t, iorder, *work, np.zeros((0, 6)),
                        np.zeros(n, np.uint64))
    return xcp, iwhere, work[1], (nbd, l, u), out


@pytest.mark.parametrize("seed", range(6))
def test_cauchy_point_matches_brute_force(seed):
    n = 8
    mem, _ = memory_from_pairs(n, 4, 2 + seed, seed=100 + seed)
    rng = np.random.default_rng(seed)
    lo, hi = -rng.uniform(0.1, 1.0, n), rng.uniform(0.1, 1.0, n)
    x = rng.uniform(lo, hi)
    x[0] = lo[0]  # one variable starts at a bound
    g = rng.standard_normal(n) * 3
    xcp, _, _, _, (nseg, info, nbreak, _) = cauchy_point(mem, x, g, lo, hi)
    assert info == 0 and nseg >= 1
    np.testing.assert_allclose(xcp, brute_force_gcp(x, g, lo, hi, dense_B(mem)), atol=1e-10)


@pytest.mark.parametrize("case", ["inside", "projected"])
def test_subspace_step_is_dense_reduced_newton_step(case):
    """With variables 0 and 1 held at their bounds at the Cauchy point, the reduced
    gradient and the Newton step over the other variables are the dense ones; the
    step either stays inside the box or is projected onto it [MN11]."""
    n = 9
    mem, _ = memory_from_pairs(n, 5, 4, seed=7)
    lo, hi = -np.ones(n), np.ones(n)
    x = np.linspace(-0.5, 0.5, n)
    g = np.full(n, 0.01)
    x[0], g[0] = -1.0, 5.0          # at its lower bound, pushed outward: active
    x[1], g[1] = 1.0, -5.0          # at its upper bound, pushed outward: active
    if case == "projected":
        x[2], g[2] = 0.99, -3.0     # pushed toward its upper bound, which is close
    xcp, iwhere, c, (nbd, l, u), _ = cauchy_point(mem, x, g, lo, hi)
    if case == "projected":         # start the subspace step at x (a Cauchy step of t = 0),
        xcp, c = x.copy(), np.zeros_like(c)     # so that the Newton step crosses u[2]
        iwhere[2:] = 0              # only 0 and 1 are at a bound there
    index, indx2 = np.arange(n, dtype=np.uint64), np.zeros(n, np.uint64)
    nfree, _, _ = active_set.free_variables(index, indx2, iwhere, n, 0, True)
    free = index[:nfree].astype(np.int64)
    assert nfree == n - 2 and set(index[nfree:]) == {0, 1}
    wn = np.zeros((2 * mem.m, 2 * mem.m))
    wn1 = np.zeros((4, mem.m, mem.m))
    for k in range(1, mem.col + 1):  # build the inner products pair by pair, as the solver does
        assert subspace.formk(wn, wn1, mem.ws, mem.wy, mem.sy, mem.theta, k, mem.head, index,
                              nfree, indx2, 0, n, True, k) == 0
    r, v = np.zeros(n), np.zeros(2 * mem.m)
    assert subspace.reduced_gradient(x, g, mem.ws, mem.wy, mem.sy, mem.wt, xcp, r, c, v, index,
                                     mem.theta, mem.col, mem.head, nfree, True) == 0
    b = dense_B(mem)
    rhs = g + b @ (xcp - x)
    np.testing.assert_allclose(r[:nfree], -rhs[free], rtol=1e-9)
    z = xcp.copy()
    info, iword, alpha, dd_p = subspace.subspace_step(
        z, r, np.zeros(n), x, g, l, u, nbd, mem.ws, mem.wy, wn, v, index, mem.theta, mem.col,
        mem.head, nfree, 0)
    expected = xcp.copy()
    expected[free] += np.linalg.solve(b[np.ix_(free, free)], -rhs[free])
    assert info == 0 and alpha == 1.0
    if case == "inside":
        assert iword == SUB_CONVERGED
        np.testing.assert_allclose(z, expected, rtol=1e-8, atol=1e-10)
    else:
        assert iword == SUB_BOUNDED and dd_p <= 0.0 and z[2] == 1.0
        np.testing.assert_allclose(z, np.clip(expected, lo, hi), rtol=1e-8, atol=1e-10)


def test_dot_agrees_with_ddot():
    """dot agrees with BLAS ddot to rounding (to the bit: tests/test_blas_model.py; the
    norm: tests/test_nrm2.py)."""
    from scipy.linalg.blas import ddot

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(1000), rng.standard_normal(1000)
    assert _dense.dot(a, b) == pytest.approx(ddot(a, b), rel=1e-13)


@pytest.mark.parametrize("k", [1, 5, 17, 40])
def test_dense_cholesky_and_triangular_solves_match_numpy(k):
    rng = np.random.default_rng(k)
    o, nc = 2, 3                       # a block inside a larger array, as formk uses it
    a = np.zeros((o + k + nc, o + k + nc))
    g = rng.standard_normal((k, k))
    a[o:o + k, o:o + k] = g @ g.T + k * np.eye(k)
    a[o:o + k, o + k:] = rng.standard_normal((k, nc))
    spd, rhs = a[o:o + k, o:o + k].copy(), a[o:o + k, o + k:].copy()
    assert _dense.cholesky_upper(a, o, k) == 0
    r = np.triu(a[o:o + k, o:o + k])
    np.testing.assert_allclose(r, np.linalg.cholesky(spd).T, rtol=1e-12, atol=1e-12)
    cols = [rhs[:, q].copy() for q in range(nc)]
    for b in cols:
        assert _dense.solve_upper_transposed(a, o, k, b, 0) == 0
    assert _dense.solve_upper_transposed_block(a, o, k, o + k, nc) == 0
    np.testing.assert_allclose(a[o:o + k, o + k:], np.linalg.solve(r.T, rhs), rtol=1e-10)
    # A block of one right-hand side takes dtrtrs's one-column path (dtrsv), bit for bit;
    # several take dtrsm's (tests/test_blas_model.py checks both against SciPy's LAPACK).
    a[o:o + k, o + k] = rhs[:, 0]
    assert _dense.solve_upper_transposed_block(a, o, k, o + k, 1) == 0
    assert np.array_equal(a[o:o + k, o + k], cols[0])
    b = rhs[:, 0].copy()
    assert _dense.solve_upper(a, o, k, b, 0) == 0
    np.testing.assert_allclose(b, np.linalg.solve(r, rhs[:, 0]), rtol=1e-10)


def test_dense_cholesky_reports_the_first_bad_pivot():
    a = np.diag([4.0, 1.0, -1.0, 2.0])
    assert _dense.cholesky_upper(a, 0, 4) == 3
    z = np.diag([1.0, 0.0])
    assert _dense.solve_upper_transposed_block(z, 0, 2, 0, 1) == 2


def test_direct_calls_the_machine_code_of_its_first_calls_types():
    as_floats, as_ints = _jit.Direct(_jit.fmax), _jit.Direct(_jit.fmax)
    assert as_floats.call(1.0, 2.0) == 2.0 and as_ints.call(3, 1) == 3
    assert as_floats.call(np.nan, -1.0) == -1.0 and as_ints.call(-4, 5) == 5
    if hasattr(_jit.fmax, "overloads"):         # compiled: no dispatcher in later calls
        assert as_floats.call is not _jit.fmax and as_floats.call is not as_ints.call
        assert isinstance(as_ints.call(2, 1), int)


def projgr_reference(x, g, l, u, nbd):
    """SciPy's ``projgr`` loop, written out plainly (a NaN g_i makes the norm NaN)."""
    norm = 0.0
    for xi, gi, li, ui, k in zip(x, g, l, u, nbd):
        if np.isnan(gi):
            return np.nan
        if gi < 0 and k >= 2:
            gi = max(xi - ui, gi)
        elif gi >= 0 and k in (1, 2):
            gi = min(xi - li, gi)
        norm = max(norm, abs(gi))
    return norm


@pytest.mark.parametrize("seed", range(20))
def test_projected_gradient_norm_matches_scipys_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 1500))
    x = rng.standard_normal(n)
    g = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
    g[rng.random(n) < 0.05] = 0.0
    g[rng.random(n) < 0.05] = -0.0
    if seed % 3 == 0:
        g[rng.integers(n)] = np.inf if seed % 2 else -np.inf
    if seed % 4 == 0:
        g[rng.integers(n)] = np.nan
    nbd = rng.integers(0, 4, n)
    l = x - rng.uniform(0, 1, n) * (rng.random(n) < 0.5)       # some variables at l or u
    u = x + rng.uniform(0, 1, n) * (rng.random(n) < 0.5)
    expected = projgr_reference(x, g, l, u, nbd)
    got = cbounds.projected_gradient_norm(x, g, l, u, nbd)
    assert (np.isnan(got) and np.isnan(expected)) or got == expected
    # Without bounds only g is read: its max |g_i| is the same value, NaN included.
    free = np.zeros(n, np.int64)
    expected = projgr_reference(x, g, l, u, free)
    got = cbounds.projected_gradient_norm(x, g, np.full(n, np.nan), np.full(n, np.nan), free, 1,
                                         False)
    assert (np.isnan(got) and np.isnan(expected)) or got == expected


def test_trial_point_without_bounds_is_the_unclipped_step_to_the_bit():
    rng = np.random.default_rng(3)
    n = 1000
    t, d, z = rng.standard_normal((3, n))
    inf = np.full(n, np.inf)
    for stp in (0.37, 1.0, 3.0):
        clipped, free = np.empty(n), np.empty(n)
        line_search.trial_point(clipped, t, d, z, stp, -inf, inf, np.zeros(n, np.int64), True)
        line_search.trial_point(free, t, d, z, stp, -inf, inf, np.zeros(n, np.int64), False)
        np.testing.assert_array_equal(free, clipped)
        np.testing.assert_array_equal(free, z if stp == 1.0 else stp * d + t)


def test_engine_accepts_an_integer_f_then_floats():
    """The first tell's f is an int (an exact value): later float values must not be read
    as integers by the kernels' Direct calls (Engine.tell makes f a float)."""
    def run(first_as_int):
        engine = driver.start(np.zeros(3), np.full(3, -np.inf), np.full(3, np.inf),
                              backend="compiled")
        points, x = [], engine.pending
        while x is not None:
            points.append(x.copy())
            f = float(np.sum((x - 3.0) ** 2) + x[0] ** 4)         # 27 at x0: exact
            f = int(f) if first_as_int and len(points) == 1 else f
            x = engine.tell(f, 2 * (x - 3.0) + np.array([4 * x[0] ** 3, 0, 0]))
        return points

    assert len(run(True)) > 3
    np.testing.assert_array_equal(run(True), run(False))


def w_terms_reference(r, ws, wy, slots, v, theta, subsm, index):
    """SciPy's per-variable loops (``cmprlb`` / ``subsm``), term after term."""
    col = len(slots)
    out = r.copy()
    for i, k in enumerate(index):
        for j, q in enumerate(slots):
            if subsm:
                out[i] = out[i] + wy[q, k] * v[j] / theta + ws[q, k] * v[col + j]
            else:
                out[i] = out[i] + wy[q, k] * v[j] + ws[q, k] * (theta * v[col + j])
    return out


@pytest.mark.parametrize("subsm", [False, True])
@pytest.mark.parametrize("scattered", [False, True])
def test_w_terms_match_scipys_loops_bit_for_bit(subsm, scattered):
    """Blocks long enough for the pair-after-pair loops (in place or gathered) give
    every r[i] exactly SciPy's value."""
    rng = np.random.default_rng(int(subsm) + 2 * int(scattered))
    n, m = 700, 6
    ws, wy = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    slots = np.array([3, 4, 5, 0, 1], np.int64)                    # a wrapped ring
    index = np.sort(rng.choice(n, 300, replace=False)) if scattered else np.arange(300)
    index = index.astype(np.uint64)
    v, r = rng.standard_normal(2 * len(slots)), rng.standard_normal(300)
    theta = 1.7
    expected = w_terms_reference(r, ws, wy, slots, v, theta, subsm, index)
    got = r.copy()
    subspace._add_W_terms(got, ws, wy, slots, v, theta, subsm, index, 0, 300)
    assert np.array_equal(got, expected)


def test_cauchy_p_is_scipys_running_sum_over_moving_variables():
    """p = W'd at the start of the Cauchy search: each entry summed in variable order
    over the variables that move (those not held at a bound by the gradient)."""
    n = 300
    mem, _ = memory_from_pairs(n, 5, 7, seed=3)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, n)
    x[::3] = 1.0                                                    # some at u
    g = rng.standard_normal(n)
    nbd, l, u = bounds.encode(-np.ones(n), np.ones(n))
    iwhere = np.zeros(n, np.int64)
    cbounds.initial_status(l, u, nbd, iwhere)
    p = np.zeros(2 * mem.m)
    cauchy._classify(x, l, u, nbd, g, iwhere, mem.ws, mem.wy, mem.col, mem.head,
                     np.zeros(n), np.zeros(n), np.zeros(n, np.int64), p,
                     np.zeros(n, np.uint64), 1)
    moving = [i for i in range(n) if not (x[i] >= 1.0 and g[i] <= 0.0)]
    assert 0 < len(moving) < n
    for j, q in enumerate(mem.slots()):
        ey = es = 0.0
        for i in moving:
            ey += mem.wy[q, i] * -g[i]
            es += mem.ws[q, i] * -g[i]
        assert (p[j], p[mem.col + j]) == (ey, es)


def test_lent_kernels_are_the_kernels_on_the_same_arrays():
    """search_direction, the line search's step and add_step, called on arrays lent by
    address, give the same results and leave the same bits in every array."""
    from lbfgsb_py.compiled import _lend, direction

    n = 40
    engine = driver.start(np.zeros(n), np.full(n, -1.0), np.full(n, 0.5), maxcor=4,
                          backend="compiled")
    x = engine.pending
    c = np.linspace(-2.0, 2.0, n)
    while engine.state.nit < 6:
        x = engine.tell(float(np.sum((x - c) ** 2 * np.arange(1, n + 1))),
                        2 * (x - c) * np.arange(1, n + 1))
    s = engine.state
    lent, p = copy.deepcopy(s), copy.deepcopy(s)
    table = _lend.Lent(lent).table
    scalars = (s.nfree, s.iter, s.cnstnd, s.sbgnrm)
    memory = (s.theta, s.col, s.head, s.updatd, s.iupdat)
    got = direction.search_direction_lent(table, np.zeros(n), *scalars, *memory, 0, 1)
    want = direction.search_direction(
        p.x, p.l, p.u, p.nbd, p.g, p.iwhere, p.index, p.indx2, *scalars, p.ws, p.wy, p.sy,
        p.wt, *memory, p.wn, p.wn1, p.z, p.d, np.zeros(n), p.t_break, p.iorder, p.p, p.c,
        p.wbp, p.v, p.segments, p.r, p.xp, 0, p.xold, p.gold, 1)
    assert got == want
    got = line_search.slope_and_search_lent(1.5, table, 0.5, 1.0, 0, True, s.cnstnd, 1)
    want = line_search._slope_and_search(1.5, p.g, p.d, 0.5, 1.0, 0, True, p.isave, p.dsave,
                                         p.x, p.xold, p.z, p.l, p.u, p.nbd, s.cnstnd, 1)
    assert got == want
    step = (0.5, -0.5, -1.0, 1.0, 0, 1, s.col, s.head, s.theta, 1)
    got = lbfgs_matrices.add_lent_step_kernel(table, *step)
    want = lbfgs_matrices.add_step_kernel(p.ws, p.wy, p.sy, p.ss, p.wt, p.d, p.gold, p.g,
                                          *step[:-1], 1)
    assert got == want
    assert first_difference(lent, p) is None


def test_lent_refuses_an_array_it_cannot_lend():
    from types import SimpleNamespace

    from lbfgsb_py.compiled import _lend

    state = driver.start(np.zeros(5), np.full(5, -1.0), np.full(5, 1.0)).state
    owner = SimpleNamespace(**{name: getattr(state, name).copy() for name in _lend.SLOTS})
    owner.g = np.zeros((5, 2))[:, 0]                       # not contiguous
    with pytest.raises(ValueError, match="^g must be a C-contiguous"):
        _lend.Lent(owner)
    owner.g = np.zeros(5)
    owner.isave = np.zeros(2, np.int32)                    # 4-byte integers
    with pytest.raises(ValueError, match="^isave must be a C-contiguous"):
        _lend.Lent(owner)
    owner.isave = np.zeros(2, np.int64)
    lent = _lend.Lent(owner)
    assert lent.table[_lend.ISAVE, 1] == 2
    with pytest.raises(TypeError, match="raw addresses"):
        copy.deepcopy(lent)         # the copy's table would point at the original's arrays

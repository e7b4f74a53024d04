"""Sanity checks of the validation problem collection (validation/problems.py)."""

import numpy as np
import pytest

from validation import problems as P

SMALL = P.all_problems()
ANALYTIC = [p for p in SMALL if p.jac is not None and "wrong_gradient" not in p.tags]


def fd_grad(fun, x, rel=1e-4):
    """Fourth-order central finite differences, step rel * max(1, |x_i|)."""
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h = rel * max(1.0, abs(x[i]))
        g[i] = (8.0 * (fun(x + e) - fun(x - e)) - (fun(x + 2 * e) - fun(x - 2 * e))) / (12 * h)
    return g


def other_point(p):
    """A deterministic feasible point near x0 (relative perturbation up to 10%)."""
    rng = np.random.default_rng(7)
    lo, hi = p.bounds_arrays()
    return np.clip(p.x0 + 0.1 * (1.0 + np.abs(p.x0)) * rng.uniform(-1.0, 1.0, p.n), lo, hi)


@pytest.mark.parametrize("where", ["x0", "other"])
@pytest.mark.parametrize("p", ANALYTIC, ids=lambda p: p.name)
def test_gradient_matches_finite_differences(p, where):
    x = p.x0.copy() if where == "x0" else other_point(p)
    g = p.jac(x)
    assert isinstance(g, np.ndarray) and g.dtype == np.float64 and g.shape == x.shape
    fd = fd_grad(p.fun, x)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max() + 1e-12)


def test_wrong_gradient_really_is_wrong():
    p = P.get("seed_wrong_gradient")
    for x in (p.x0, np.array([0.5, 0.0]), np.array([-2.0, 3.0])):
        diff = p.jac(x) - fd_grad(p.fun, x)
        np.testing.assert_allclose(diff, [-1.0, 0.0], atol=1e-6)


def test_image_problem_has_zero_fd_gradient():
    p = P.get("seed_image_784")
    assert p.jac is None and p.n == 784
    lo, hi = p.bounds_arrays()
    fixed = lo == hi
    assert fixed.sum() == 4 * 27 and np.all(p.x0[fixed] == 0) and np.all(hi[~fixed] == 255)
    assert np.all(p.x0 == np.round(p.x0))
    f0 = p.fun(p.x0)
    steps = p.x0 + 1e-8 * np.eye(p.n)  # forward difference, eps = 1e-8
    assert all(p.fun(x) == f0 for x in steps)


@pytest.mark.parametrize("name, x, fstar", [
    ("mgh01_rosenbrock", [1, 1], 0.0),
    ("mgh02_freudenstein_roth", [5, 4], 0.0),
    ("mgh04_brown_badly_scaled", [1e6, 2e-6], 0.0),
    ("mgh05_beale", [3, 0.5], 0.0),
    ("mgh07_helical_valley", [1, 0, 0], 0.0),
    ("mgh11_gulf", [50, 25, 1.5], 0.0),
    ("mgh12_box3d", [1, 10, 1], 0.0),
    ("mgh13_powell_singular", [0, 0, 0, 0], 0.0),
    ("mgh14_wood", [1, 1, 1, 1], 0.0),
    ("mgh18_biggs_exp6", [1, 10, 1, 5, 4, 3], 0.0),
    ("mgh21_ext_rosenbrock", [1] * 10, 0.0),
    ("mgh22_ext_powell_singular", [0] * 12, 0.0),
    ("mgh25_variably_dimensioned", [1] * 10, 0.0),
    ("mgh27_brown_almost_linear", [0] * 9 + [11], 1.0),
    ("mgh32_linear_full_rank", [-1] * 10, 10.0),
    ("mgh33_linear_rank1", [3 / 41 / 55] * 10, 20 * 19 / (2 * 41)),
    ("mgh34_linear_rank1_zero", [0] + [3 / 37 / 44] * 8 + [0], (400 + 60 - 6) / 74),
])
def test_mgh_known_values(name, x, fstar):
    """Published optimal values of [MGH] at their known minimisers."""
    assert P.get(name).fun(np.array(x, dtype=float)) == pytest.approx(fstar, rel=1e-12, abs=1e-12)


def test_mgh_collection_complete():
    unbounded = {p.name for p in P.select(tags=("mgh", "unbounded"))}
    bounded = {p.name for p in P.select(tags=("mgh", "bounded"))}
    assert {int(name[3:5]) for name in unbounded} == set(range(1, 36))
    assert bounded == {name + "_bounded" for name in unbounded}


def test_names_unique_and_fields_sane():
    everything = P.all_problems(include_large=True)
    names = [p.name for p in everything]
    assert len(names) == len(set(names))
    for p in everything:
        assert p.x0.dtype == np.float64 and p.x0.ndim == 1 and p.n > 0, p.name
        assert ("bounded" in p.tags) != ("unbounded" in p.tags), p.name
        assert ("bounded" in p.tags) == (p.bounds is not None), p.name
        assert ("large" in p.tags) == (p.n >= 10_000), p.name
        assert p.description and isinstance(p.options, dict), p.name
        if p.bounds is not None:
            assert len(p.bounds) == p.n, p.name
    for p in SMALL:
        assert np.isfinite(p.fun(p.x0)), p.name


def test_x0_feasible_and_bounds_consistent():
    for p in P.all_problems(include_large=True):
        lo, hi = p.bounds_arrays()
        assert np.all(lo <= hi), p.name
        assert np.all((lo <= p.x0) & (p.x0 <= hi)), p.name


def test_bounded_mgh_variants_differ_from_unbounded():
    for p in P.select(tags=("mgh", "bounded")):
        lo, hi = p.bounds_arrays()
        assert np.isfinite(lo).any() or np.isfinite(hi).any(), p.name
        np.testing.assert_array_equal(p.x0, P.get(p.name[:-len("_bounded")]).x0)


def test_families_present():
    for tag in ("mgh", "quadratic", "least_squares", "logistic", "seed"):
        assert P.select(tags=tag), tag
    conds = {t for p in P.select(tags=("quadratic", "bounded")) for t in p.tags
             if t.startswith("cond")}
    assert conds == {"cond1e1", "cond1e2", "cond1e4", "cond1e6", "cond1e8", "cond1e10"}
    assert P.select(tags=("quadratic", "unbounded"))
    assert {p.name for p in P.select(tags="seed")} == {
        "seed_badly_scaled", "seed_wrong_gradient", "seed_overflow", "seed_image_784"}


def test_get_and_select():
    p = P.get("mgh01_rosenbrock_bounded")
    assert p.name == "mgh01_rosenbrock_bounded" and p.n == 2
    with pytest.raises(KeyError):
        P.get("no_such_problem")
    with pytest.raises(KeyError):
        P.select(names=["mgh01_rosenbrock", "no_such_problem"])
    assert [q.name for q in P.select(names=["mgh05_beale", "mgh01_rosenbrock"])] == [
        "mgh05_beale", "mgh01_rosenbrock"]
    assert [q.name for q in P.select(names="mgh05_beale")] == ["mgh05_beale"]
    assert P.select(names=["mgh05_beale", "mgh05_beale_bounded"], tags="bounded")[0].name \
        == "mgh05_beale_bounded"
    assert len(P.select()) == len(SMALL)
    assert all(set(q.tags) >= {"mgh", "bounded"} for q in P.select(tags=["mgh", "bounded"]))
    assert not P.select(tags="large")
    large = P.select(tags="large", include_large=True)
    assert len(large) == 6 and {q.n for q in large} == {10**4, 10**5, 10**6}
    assert P.select(names=["large_quartic_n1e4"])[0].n == 10**4
    assert P.get("large_quartic_n1e4_bounded").bounds is not None


def test_deterministic_and_fresh():
    a, b = P.all_problems(), P.all_problems()
    for p, q in zip(a, b):
        assert p.name == q.name and p.fun(p.x0) == q.fun(q.x0)
        np.testing.assert_array_equal(p.x0, q.x0)
    a[0].x0[:] = 123.0  # callers may modify their copy
    assert P.all_problems()[0].x0[0] != 123.0


@pytest.mark.parametrize("p", P.select(tags="large", include_large=True), ids=lambda p: p.name)
def test_large_gradient_directional(p):
    rng = np.random.default_rng(0)
    x, v = p.x0, rng.standard_normal(p.n)
    h = 1e-4
    fd = (p.fun(x + h * v) - p.fun(x - h * v)) / (2 * h)
    assert p.jac(x) @ v == pytest.approx(fd, rel=1e-6)


def test_overflow_is_silent():
    """Far-out trial points give inf, not a RuntimeWarning (pytest runs with -W error)."""
    far = np.array([800.0, 1.0])
    for name in ("seed_overflow", "mgh06_jennrich_sampson"):
        p = P.get(name)
        assert p.fun(far) == np.inf
        assert not np.isfinite(p.jac(far)[0])

"""explain(): each cause code from a run built to show it (the seed stories and more)."""
import math
import pathlib

import numpy as np
import pytest

import lbfgsb_py
from lbfgsb_py import Diagnosis, Trace, Tracer, explain, minimize
from lbfgsb_py.explain import CAUSES

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "explain.md"


# ----------------------------------------------------------------- objectives
def rosen(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosen_der(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def scaled(x):                 # seed 1: badly scaled parameters
    return 1000 * x[0] ** 2 + x[1] ** 2


def sphere(x):                 # seed 2: f ...
    return x[0] ** 2 + x[1] ** 2


def sphere_off_by_one(x):      # ... and its gradient with "-1" added to the first element
    return np.array([2 * x[0] - 1, 2 * x[1]])


def exp100(x):                 # seed 3: potential overflow
    with np.errstate(all="ignore"):
        return np.exp(100 * x[0]) + x[1] ** 2


def exp_overshoot(x):          # the line search overshoots into exp overflow
    with np.errstate(all="ignore"):
        return np.exp(10 * x[0]) - 20 * x[0] + x[1] ** 2


def nan_beyond_2(x):           # NaN outside x0 <= 2
    return math.nan if x[0] > 2 else float(np.sum((x - 3) ** 2))


def quad(x):
    return x[0] ** 2 + 10 * x[1] ** 2


def quad_sign_error(x):
    return np.array([2 * x[0], -20 * x[1]])


def image_problem(side=28, corner=4, seed=0):
    """Seed 4: 784 pixels, corner blocks fixed by (0, 0), the rest in [0, 255]; the
    objective rounds the pixels, so it is piecewise constant at the scale of eps."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=side * side)
    fixed = np.zeros((side, side), dtype=bool)
    for rows in (slice(0, corner), slice(side - corner, side)):
        for cols in (slice(0, corner), slice(side - corner, side)):
            fixed[rows, cols] = True
    fixed = fixed.ravel()
    x0 = rng.uniform(0, 255, side * side)
    x0[fixed] = 0.0
    bounds = [(0, 0) if c else (0, 255) for c in fixed]

    def fun(x):
        return -float(np.sum(w * np.round(x))) / 255
    return fun, x0, bounds, int(fixed.sum())


# ---------------------------------------------------------------------- seeds
def test_seed_bad_scaling_converges_and_is_flagged():
    res = minimize(scaled, [1.0, 1.0])
    assert res.success
    d = explain(res)
    assert d.causes[0] == "converged"
    assert "bad_scaling" in d.causes                      # the 341x step at iteration 2
    assert d.evidence["bad_scaling"]["long_steps"][0][0] == 2
    d = explain(res, scaled)
    ev = d.evidence["bad_scaling"]
    assert ev["curvature_ratio"] == pytest.approx(1000, rel=1e-3)
    assert ev["stiffest"][0] == 0 and ev["flattest"][0] == 1


def test_seed_wrong_gradient_needs_fun():
    res = minimize(sphere, [1.0, 1.0], jac=sphere_off_by_one)
    # The wrong gradient is the exact gradient of x0^2 - x0 + x1^2: the run
    # "converges" to its minimizer (SciPy does the same), not to f's.
    assert res.success and np.allclose(res.x, [0.5, 0.0])
    assert explain(res).causes == ["converged"]
    d = explain(res, sphere, jac=sphere_off_by_one)
    assert d.causes[0] == "wrong_gradient"
    i, analytic, numeric = d.evidence["wrong_gradient"]["worst"][0]
    assert i == 0 and analytic == pytest.approx(0.0) and numeric == pytest.approx(1.0)
    assert d.checks["direction"]["agree"] is False


def test_seed_overflow_converges_without_nonfinite():
    res = minimize(exp100, [1.0, 1.0])
    assert res.success and np.isfinite(res.fun)
    d = explain(res, exp100)
    assert d.causes[0] == "converged"
    assert "nonfinite" not in d.causes
    assert d.evidence["bad_scaling"]["theta_ratio"] > 1e40   # f spans 43 orders


def test_image_zero_projected_gradient_and_fd_step():
    fun, x0, bounds, n_fixed = image_problem()
    res = minimize(fun, x0, bounds=bounds)
    assert res.nit == 0
    d = explain(res)
    assert d.causes == ["zero_projected_gradient"]
    ev = d.evidence["zero_projected_gradient"]
    assert ev["projg"] == 0.0 and ev["n_zero_gradient"] == ev["n_solver"] == 784 - n_fixed
    assert ev["n_blocked"] == 0 and ev["gradient"] == "finite differences"
    d = explain(res, fun, bounds=bounds)
    assert d.causes[:2] == ["zero_projected_gradient", "fd_step_too_small"]
    fd = d.evidence["fd_step_too_small"]
    assert fd["changed_at_eps"] == 0.0 and fd["suggested_eps"] == 1.0
    assert d.evidence["zero_projected_gradient"]["n_fixed"] == n_fixed
    assert d.evidence["zero_projected_gradient"]["n_pushing_out"] == 0
    assert "eps=1" in " ".join(d.advice["fd_step_too_small"])


# ---------------------------------------------------------- other causes
def test_wrong_gradient_from_trace_alone():
    res = minimize(quad, [1.0, 1.0], jac=quad_sign_error)
    assert res.message.startswith("ABNORMAL")
    d = explain(res)
    assert d.causes[0] == "wrong_gradient"
    assert "line_search_exhausted" in d.causes
    ev = d.evidence["wrong_gradient"]
    assert ev["gd"] < 0 and ev["orders"] >= 3 and ev["n_trials"] == 20
    assert all(f >= ev["f0"] for _, f in ev["trials"])
    assert ev["measured_slope"] > 0                       # f rises where g'd says it falls
    d = explain(res, quad, jac=quad_sign_error)
    assert d.evidence["wrong_gradient"]["worst"][0][0] == 1


def test_bad_scaling_abnormal_blames_scaling():
    f = lambda x: 1e6 * x[0] ** 2 + x[1] ** 2  # noqa: E731
    res = minimize(f, [1.0, 1.0])
    assert res.message.startswith("ABNORMAL")
    d = explain(res)
    assert d.causes[0] == "bad_scaling"
    assert {"wrong_gradient", "line_search_exhausted"} <= set(d.causes)
    assert d.evidence["wrong_gradient"]["gradient"] == "finite differences"


def test_overflow_in_line_search():
    res = minimize(exp_overshoot, [-30.0, 1.0])
    d = explain(res)
    assert d.causes[0] == "nonfinite"
    ev = d.evidence["nonfinite"]
    assert (ev["event"], ev["trial"], ev["field"]) == ("line_search_trial", 1, "f")
    first = next(t for t in res.trace.of_kind("line_search_trial") if t.f == math.inf)
    assert ev["iteration"] == first.it == first.iteration + 1       # the table's numbering
    assert first in res.trace.at_iteration(ev["iteration"])
    assert ev["value"] == math.inf
    assert "stalled" in d.causes                          # ftol stop with projg = 20


def test_overflow_at_the_start():
    res = minimize(exp100, [8.0, 1.0])                   # exp(800) = inf at x0
    d = explain(res)
    assert d.causes[0] == "nonfinite"
    ev = d.evidence["nonfinite"]
    assert (ev["event"], ev["iteration"], ev["field"], ev["value"]) == \
        ("initial_point", 0, "f", math.inf)


def test_nan_region_abnormal():
    res = minimize(nan_beyond_2, [0.0, 0.0])
    assert res.message.startswith("ABNORMAL")
    d = explain(res)
    assert d.causes[:2] == ["nonfinite", "line_search_exhausted"]
    assert d.evidence["nonfinite"]["n_nonfinite_trials"] > 0
    assert d.evidence["line_search_exhausted"]["outcome"] == "maxls"


def test_nan_reported_as_convergence_is_still_nonfinite():
    res = minimize(nan_beyond_2, [0.0, 0.0], jac=lambda x: 2 * (x - 3))
    assert res.success and math.isnan(res.fun)           # SciPy reports CONVERGENCE too
    d = explain(res)
    assert d.causes[0] == "nonfinite"
    assert "converged" not in d.causes


def test_line_search_exhausted_maxls():
    res = minimize(rosen, [-1.2, 1.0], maxls=1)
    d = explain(res)
    assert d.causes[0] == "line_search_exhausted"
    ev = d.evidence["line_search_exhausted"]
    assert ev["outcome"] == "maxls" and ev["maxls"] == 1
    assert len(ev["bracket"]) == 1 and len(ev["bracket"][0]) == 5   # (stp, f, gd, stx, sty)


def test_stalled_by_loose_ftol():
    res = minimize(rosen, [-1.2, 1.0], ftol=1e-2)
    d = explain(res)
    assert d.causes[0] == "stalled"
    ev = d.evidence["stalled"]
    assert ev["reason"] == "ftol" and ev["projg_over_gtol"] > 1e3


def test_converged():
    res = minimize(rosen, [-1.2, 1.0], jac=rosen_der)
    d = explain(res, rosen, jac=rosen_der)
    assert d.causes == ["converged"]
    assert d.checks["direction"]["agree"] and d.checks["coordinates"]["n_mismatch"] == 0


def test_optimal_at_bounds():
    bounds = [(-2, 0.5), (-2, 2)]
    res = minimize(rosen, [-1.2, 1.0], jac=rosen_der, bounds=bounds)
    d = explain(res, rosen, jac=rosen_der, bounds=bounds)
    assert d.causes == ["optimal_at_bounds"]
    ev = d.evidence["optimal_at_bounds"]
    assert ev["n_active"] == 1 and ev["pushing_out_at_upper"] == [0]


# ----------------------------------------------------------- inputs, output
def test_from_jsonl_trace(tmp_path):
    path = tmp_path / "run.jsonl"
    res = minimize(quad, [1.0, 1.0], jac=quad_sign_error, trace=Tracer(jsonl=str(path)))
    d = explain(str(path))
    assert d.causes == explain(res).causes == explain(Trace.load(path)).causes
    assert d.causes[0] == "wrong_gradient"


def test_full_trace_with_fun_probes_last_line_search():
    res = minimize(quad, [1.0, 1.0], jac=quad_sign_error, trace="full")
    d = explain(res.trace, quad, jac=quad_sign_error)
    assert d.causes[0] == "wrong_gradient"
    assert d.checks["coordinates"]["worst"][0][0] == 1


def test_result_without_trace():
    res = minimize(quad, [1.0, 1.0], jac=quad_sign_error, trace="off")
    assert explain(res).causes == ["line_search_exhausted"]
    assert explain(res, quad, jac=quad_sign_error).causes[0] == "wrong_gradient"


def test_diagnosis_fields_and_text():
    d = explain(minimize(rosen, [-1.2, 1.0], maxls=1))
    assert isinstance(d, Diagnosis) and set(d.advice) == set(d.evidence) == set(d.causes)
    assert d.primary == d.causes[0]
    assert all(d.advice[c] for c in d.causes)
    text = str(d)
    assert text.splitlines()[0] == d.summary and "line_search_exhausted" in text
    assert "\n" not in d.summary
    with pytest.raises(TypeError):
        explain(42)


def test_codes_are_exported_and_documented():
    assert lbfgsb_py.explain is explain and "explain" in lbfgsb_py.__all__
    assert set(CAUSES) == {"wrong_gradient", "bad_scaling", "nonfinite", "nonsmooth",
                           "noise_floor", "line_search_exhausted", "zero_projected_gradient",
                           "fd_step_too_small", "optimal_at_bounds", "stalled", "converged"}
    doc = DOCS.read_text()
    assert all(f"`{code}`" in doc for code in CAUSES)

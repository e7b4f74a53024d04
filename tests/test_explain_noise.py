"""explain(), second round (issue 18): f's resolution (noise_floor), kinks (nonsmooth),
a start that is already optimal at its bounds, and advice that fits its evidence.

Every case runs with and without ``fun=``; each asserts the primary cause, that the
wrong causes are not listed first, and the evidence of the branch that found it.
"""
import re

import numpy as np
import pytest

from lbfgsb_py import explain, minimize
from test_explain import rosen, rosen_der

X4 = np.array([-1.2, 1.0, -1.2, 1.0])
X2 = np.array([-1.2, 1.0])
WRONG_FOR_NOISE = ("wrong_gradient", "nonsmooth", "zero_projected_gradient")



def rounded(quantum):
    """Rosenbrock's f rounded to a quantum (as a simulator returns it), exact gradient."""
    def fun(x):
        return round(rosen(x) / quantum) * quantum, rosen_der(x)
    return fun


def offset(constant):
    def fun(x):
        return rosen(x) + constant, rosen_der(x)
    return fun


def float32_f(x):
    """1 + Rosenbrock computed in float32; the gradient in float64."""
    y = x.astype(np.float32)
    f = np.float32(1) + np.sum(np.float32(100) * (y[1:] - y[:-1] ** 2) ** 2
                               + (np.float32(1) - y[:-1]) ** 2)
    return float(f), rosen_der(x)


def noisy(sigma, seed=0):
    rng = np.random.default_rng(seed)

    def fun(x):
        return rosen(x) + sigma * rng.standard_normal(), rosen_der(x)
    return fun


class InnerSolve:
    """f = rosen(x) + y(x), y = cos(y)/2 + sum(x)/10 solved by fixed-point iteration,
    warm-started at the previous solution and stopped once a step is below ``tol``."""

    def __init__(self, tol):
        self.tol, self.y = tol, 0.0

    def __call__(self, x):
        s, y, step = 0.1 * float(np.sum(x)), self.y, np.inf
        while step >= self.tol:
            y, step = 0.5 * np.cos(y) + s, abs(0.5 * np.cos(y) + s - y)
        self.y = y
        return rosen(x) + y, rosen_der(x) + 0.1 / (1 + 0.5 * np.sin(y))


def abs_f(x):
    return float(np.sum(np.abs(x - 1))), np.sign(x - 1)


def max_f(x):
    i = int(np.argmax(np.abs(x - 1)))
    g = np.zeros_like(x)
    g[i] = np.sign(x[i] - 1)
    return float(np.max(np.abs(x - 1))), g


def solve(fun, x0, **options):
    return minimize(fun, x0, jac=True, backend="reference", **options)


def both(res, fun, **kwargs):
    """The diagnosis from the trace alone and with fun=."""
    return explain(res, **kwargs), explain(res, fun, jac=True, **kwargs)


def assert_no_wrong_first(d, wrong=WRONG_FOR_NOISE):
    assert d.primary not in wrong and not set(wrong) & set(d.causes), d


# ---------------------------------------------------------------- noise_floor
@pytest.mark.parametrize("quantum, ftol", [(1e-10, 1e-13), (1e-8, 2.2e-9), (1e-6, 2.2e-9)])
def test_rounded_f_is_noise_floor_not_wrong_gradient(quantum, ftol):
    fun = rounded(quantum)
    res = solve(fun, X4, ftol=ftol)
    assert res.message.startswith("ABNORMAL")
    trace_only, probed = both(res, fun)
    for d in (trace_only, probed):
        assert d.primary == "noise_floor"
        assert_no_wrong_first(d)
    assert trace_only.evidence["noise_floor"]["flat_trials"] >= 2      # f == f0 trials
    ev = probed.evidence["noise_floor"]
    assert quantum <= ev["resolution"] <= 10 * quantum
    assert ev["resolution"] >= 0.1 * ev["expected_decrease"]
    coords = probed.checks["coordinates"]
    assert coords["n_mismatch"] == 0 and coords["n_unresolved"] > 0   # f did not change
    assert not any("worst" in tip or "sign error" in tip for tip in probed.advice["noise_floor"])


def suggested(advice, name):
    """The value of ``name >= VALUE`` in a list of advice (None if absent)."""
    found = [re.search(rf"\b{name} >= (\S+)", tip) for tip in advice]
    return next((float(m.group(1)) for m in found if m), None)


def test_following_the_noise_advice_ends_with_convergence():
    fun = rounded(1e-8)
    res = solve(fun, X4)
    advice = explain(res, fun, jac=True).advice["noise_floor"]
    for name in ("ftol", "gtol"):
        value = suggested(advice, name)
        assert value is not None, advice
        again = solve(fun, X4, **{name: value})
        assert again.status == 0 and not again.message.startswith("ABNORMAL"), name


def test_large_constant_is_noise_floor_in_the_last_bits():
    constant = 1e6
    fun = offset(constant)
    res = solve(fun, X4, ftol=0)
    assert "RELATIVE REDUCTION" in res.message                  # f stopped changing
    trace_only, probed = both(res, fun)
    for d in (trace_only, probed):
        assert d.primary == "noise_floor" and "stalled" not in d.causes
        assert_no_wrong_first(d)
        advice = " ".join(d.advice["noise_floor"])
        assert "subtract the constant" in advice and "lower ftol" not in advice
    assert trace_only.evidence["noise_floor"]["promised_over_eps_f0"] <= 100
    ulp = np.spacing(constant)
    assert ulp / 2 <= probed.evidence["noise_floor"]["resolution"] <= 10 * ulp


def test_float32_f_with_float64_gradient():
    res = solve(float32_f, X4)
    trace_only, probed = both(res, float32_f)
    for d in (trace_only, probed):
        assert d.primary == "noise_floor"
        assert_no_wrong_first(d)
    resolution = probed.evidence["noise_floor"]["resolution"]
    assert resolution >= np.finfo(np.float32).eps * abs(res.fun) / 2
    ftol = suggested(probed.advice["noise_floor"], "ftol")
    assert ftol >= resolution / max(abs(res.fun), 1.0) > 2.2e-9        # looser, not tighter


def test_random_noise():
    sigma = 1e-6
    fun = noisy(sigma)
    res = solve(fun, X4)
    trace_only, probed = both(res, noisy(sigma, seed=1))
    for d in (trace_only, probed):
        assert d.primary == "noise_floor"
        assert_no_wrong_first(d)
    assert "unscaled_rises" in trace_only.evidence["noise_floor"] \
        or "jitter_trials" in trace_only.evidence["noise_floor"]
    assert sigma / 10 <= probed.evidence["noise_floor"]["resolution"] <= 10 * sigma
    assert probed.checks["direction"]["resolved"] is False


def test_inner_solver_with_a_loose_tolerance():
    res = solve(InnerSolve(1e-4), X4)
    trace_only, probed = both(res, InnerSolve(1e-4))
    assert probed.primary == "noise_floor"
    assert_no_wrong_first(probed)
    assert_no_wrong_first(trace_only)            # the trace alone does not see it here
    assert probed.checks["coordinates"]["n_mismatch"] == 0


def test_a_wrong_gradient_is_still_wrong_when_f_is_noisy():
    """The slope of a wrong gradient is resolvable by differences: noise does not hide it."""
    def fun(x):
        f, g = rounded(1e-8)(x)
        return f, -g
    res = solve(fun, X4)
    trace_only, probed = both(res, fun)
    assert trace_only.primary == probed.primary == "wrong_gradient"
    assert trace_only.evidence["wrong_gradient"]["measured_slope"] > 0
    assert "noise_floor" not in probed.causes
    assert probed.checks["coordinates"]["n_mismatch"] > 0


def test_smooth_converged_run_has_no_noise_floor():
    res = solve(offset(0.0), X4)
    d = explain(res, offset(0.0), jac=True)
    assert d.causes == ["converged"]
    assert d.checks["resolution"]["resolution"] <= 100 * np.spacing(1.0)


# ------------------------------------------------------------------ nonsmooth
@pytest.mark.parametrize("fun, kinked", [(abs_f, [0, 1, 2, 3]), (max_f, [0, 2])])
def test_kinks_are_nonsmooth_not_wrong_gradient(fun, kinked):
    res = solve(fun, X4)
    trace_only, probed = both(res, fun)
    for d in (trace_only, probed):
        assert d.primary == "nonsmooth"
        assert_no_wrong_first(d, ("wrong_gradient", "noise_floor"))
    jump = trace_only.evidence["nonsmooth"]
    assert abs(jump["slopes"][1] - jump["slopes"][0]) >= abs(jump["gd"]) / 2
    ev = probed.evidence["nonsmooth"]
    assert [i for i, _, _ in ev["kinks"]] == kinked
    assert all(right - left > 0.1 for _, left, right in ev["kinks"])
    assert any(tip.startswith("kinks at: ") for tip in probed.advice["nonsmooth"])


# --------------------------------------------------------------- a KKT start
def kkt_problem():
    target = np.array([2.0, -3.0, 5.0])
    return (lambda x: float(np.sum((x - target) ** 2)), lambda x: 2 * (x - target),
            np.array([1.0, -1.0, 1.0]), [(0, 1), (-1, 0), (0, 1)])


@pytest.mark.parametrize("analytic", [True, False])
def test_kkt_start_is_optimal_at_bounds(analytic):
    f, g, x0, bounds = kkt_problem()
    jac = g if analytic else None
    res = minimize(f, x0, jac=jac, bounds=bounds, backend="reference")
    assert res.nit == 0 and res.success
    for d in (explain(res), explain(res, f, jac=jac, bounds=bounds)):
        assert d.causes == ["optimal_at_bounds"]
        assert d.evidence["optimal_at_bounds"]["n_pushing_out"] == 3
        assert not any("depends on x" in tip for tip in d.advice["optimal_at_bounds"])
    ev = explain(res, bounds=bounds).evidence["optimal_at_bounds"]
    assert (ev["pushing_out_at_lower"], ev["pushing_out_at_upper"]) == ([1], [0, 2])


def test_zero_gradient_start_stays_zero_projected_gradient():
    """One variable free with a zero gradient, the others pushed outward."""
    f, g, x0, bounds = kkt_problem()
    bounds[0] = (0, 3)            # variable 0 is free at x0 = 1 ...
    x0[0] = 2.0                   # ... and at its minimizer: g_0 = 0
    res = minimize(f, x0, jac=g, bounds=bounds, backend="reference")
    d = explain(res)
    assert d.causes == ["zero_projected_gradient"]
    assert d.evidence["zero_projected_gradient"]["n_zero_gradient"] == 1


# --------------------------------------------------------- advice vs evidence
def test_stall_advice_lowers_ftol_to_a_tighter_value():
    res = solve(offset(1e4), X2)                       # default ftol, f dominated by 1e4
    d = explain(res, offset(1e4), jac=True)
    assert d.primary == "stalled"
    tip = next(t for t in d.advice["stalled"] if t.startswith("lower ftol to "))
    suggested = float(re.search(r"lower ftol to (\S+)", tip).group(1))
    floor = d.checks["resolution"]["resolution"] / abs(res.fun)
    assert floor <= suggested < 2.220446049250313e-09
    assert any("constant offset" in t for t in d.advice["stalled"])


def test_stall_advice_never_lowers_ftol_below_the_resolution():
    fun = offset(1e8)
    res = solve(fun, X2, ftol=1e-15, gtol=1e-9)
    for d in (explain(res), explain(res, fun, jac=True)):
        assert "stalled" in d.causes
        advice = " ".join(a for tips in d.advice.values() for a in tips)
        assert "lower ftol" not in advice and "cannot help" in advice


def test_an_exponential_blow_up_is_not_a_kink():
    """phi' of exp grows fast along a long step, but without bound: not a kink."""
    def fun(x):
        with np.errstate(over="ignore"):
            e = np.exp(10 * x[0])
        return float(e - 20 * x[0] + x[1] ** 2), np.array([10 * e - 20, 2 * x[1]])
    res = solve(fun, np.array([-30.0, 1.0]))
    slopes = [t.gd for t in res.trace.of_kind("line_search_trial") if np.isfinite(t.gd)]
    gd0 = res.trace.of_kind("line_search_start")[0].gd
    assert max(map(abs, slopes)) > 1e3 * abs(gd0)            # the slope did blow up
    d = explain(res)
    assert d.primary == "nonfinite" and "nonsmooth" not in d.causes


def test_resolved_agreement_withdraws_the_traces_suspicion():
    """The trace of a sign-flipped gradient says wrong_gradient; probed with an f that
    this gradient does belong to, every difference resolves and agrees: withdrawn."""
    def quad(x):
        return float(x[0] ** 2 + 10 * x[1] ** 2)

    def saddle(x):                       # the function whose gradient the run used
        return float(x[0] ** 2 - 10 * x[1] ** 2)

    def grad(x):
        return np.array([2 * x[0], -20 * x[1]])
    res = minimize(quad, [1.0, 1.0], jac=grad, backend="reference")
    assert explain(res).primary == "wrong_gradient"
    d = explain(res, saddle, jac=grad)
    assert "wrong_gradient" not in d.causes
    assert d.checks["direction"]["resolved"] and d.checks["direction"]["agree"]
    assert d.checks["coordinates"]["n_mismatch"] == 0

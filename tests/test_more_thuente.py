"""dcstep's four cases built by hand; dcsrch against SciPy's independent Python DCSRCH
on the one-dimensional test functions of Moré & Thuente (1994), §5."""
import numpy as np
import pytest
from scipy.optimize._dcsrch import DCSRCH

from lbfgsb_py.compiled import more_thuente as mt


def test_case1_higher_value_brackets():
    # f(stp) > f(stx): a minimizer lies between; new step between stx and stp.
    stx, fx, dx, sty, fy, dy, stp, brackt, case = mt.dcstep(
        0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 1.0, 2.0, 1.0, False, 0.0, 10.0)
    assert case == 1 and brackt
    assert 0.0 < stp < 1.0
    assert (stx, sty) == (0.0, 1.0)  # stx keeps the lower value, sty moves to the trial


def test_case2_opposite_derivatives():
    # Lower value, derivative changed sign: bracketed, stx moves to the trial.
    out = mt.dcstep(0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 1.0, 0.5, 0.5, False, 0.0, 10.0)
    stx, fx, dx, sty, fy, dy, stp, brackt, case = out
    assert case == 2 and brackt
    assert (stx, sty) == (1.0, 0.0)
    assert 0.0 < stp < 1.0


def test_case3_extrapolates_when_slope_shrinks():
    out = mt.dcstep(0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 1.0, 0.5, -0.5, False, 1.1, 5.0)
    stx, fx, dx, sty, fy, dy, stp, brackt, case = out
    assert case == 3 and not brackt
    assert 1.1 <= stp <= 5.0 and stx == 1.0


def test_case4_goes_to_stpmax_when_slope_grows():
    out = mt.dcstep(0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 1.0, 0.5, -2.0, False, 1.1, 5.0)
    assert out[-1] == 4 and out[6] == 5.0


def phi_1(a, beta=2.0):
    return -a / (a * a + beta), (a * a - beta) / (a * a + beta) ** 2


def phi_2(a, beta=0.004):
    return (a + beta) ** 5 - 2 * (a + beta) ** 4, 5 * (a + beta) ** 4 - 8 * (a + beta) ** 3


def phi_3(a, beta=0.01, l=39):
    w = 2 * (1 - beta) / (l * np.pi)
    f = phi0(a, beta) + w * np.sin(l * np.pi * a / 2)
    g = dphi0(a, beta) + (1 - beta) * np.cos(l * np.pi * a / 2)
    return f, g


def phi0(a, beta):
    return 1 - a if a <= 1 - beta else (a - 1 if a >= 1 + beta else (a - 1) ** 2 / (2 * beta) + beta / 2)


def dphi0(a, beta):
    return -1.0 if a <= 1 - beta else (1.0 if a >= 1 + beta else (a - 1) / beta)


def run_ours(phi, stp, ftol, gtol, xtol=0.1, stpmax=1e10, limit=100):
    istate, dstate = np.zeros(2, np.int64), np.zeros(13)
    f, g = phi(0.0)
    task, trials = mt.START, []
    for _ in range(limit):
        stp, task, msg, case = mt.dcsrch(f, g, stp, ftol, gtol, xtol, 0.0, stpmax, task,
                                         istate, dstate)
        if task != mt.FG:
            return stp, task, trials
        trials.append(stp)
        f, g = phi(stp)
    return stp, task, trials


def run_scipy(phi, stp, ftol, gtol, xtol=0.1, stpmax=1e10):
    trials = []

    def f(a):
        trials.append(a)
        return phi(a)[0]

    search = DCSRCH(f, lambda a: phi(a)[1], ftol, gtol, xtol, 0.0, stpmax)
    stp, *_ = search(stp, phi(0.0)[0], phi(0.0)[1], maxiter=100)
    return stp, trials


@pytest.mark.parametrize("phi, ftol, gtol", [(phi_1, 1e-3, 0.1), (phi_2, 0.1, 0.1),
                                             (phi_3, 0.1, 0.1), (phi_1, 1e-3, 0.9)])
@pytest.mark.parametrize("stp0", [1e-3, 1e-1, 1e1, 1e3])
def test_dcsrch_matches_scipy_trial_by_trial(phi, ftol, gtol, stp0):
    stp, task, trials = run_ours(phi, stp0, ftol, gtol)
    stp_ref, trials_ref = run_scipy(phi, stp0, ftol, gtol)
    assert trials == trials_ref
    if stp_ref is None:  # SciPy's wrapper returns None when dcsrch ends with a warning
        assert task == mt.WARNING
    else:
        assert stp == stp_ref
    if task == mt.CONVERGENCE:
        f0, g0 = phi(0.0)
        f, g = phi(stp)
        assert f <= f0 + ftol * stp * g0 and abs(g) <= gtol * abs(g0)


def test_start_errors():
    istate, dstate = np.zeros(2, np.int64), np.zeros(13)
    assert mt.dcsrch(0.0, 1.0, 1.0, 1e-3, 0.9, 0.1, 0.0, 10.0, mt.START, istate, dstate)[1:3] \
        == (mt.ERROR, mt.ERROR_INITG)
    assert mt.dcsrch(0.0, -1.0, 20.0, 1e-3, 0.9, 0.1, 0.0, 10.0, mt.START, istate, dstate)[1:3] \
        == (mt.ERROR, mt.ERROR_STP2)

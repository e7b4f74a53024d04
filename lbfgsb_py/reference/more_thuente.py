"""The Moré-Thuente line search on scalars: ``dcsrch`` and ``dcstep`` [MT94].

Along d the search looks at phi(stp) = f(x + stp d), phi'(stp) = g(x + stp d)'d
for a step with

* sufficient decrease  phi(stp) <= phi(0) + ftol stp phi'(0)     [MT94 (1.1)]
* curvature            |phi'(stp)| <= gtol |phi'(0)|             [MT94 (1.2)]

It keeps an interval [stx, sty] (the *bracket*) known to contain such a step
and picks each new trial by one of the four cases of [MT94 §4] (:func:`dcstep`).
In *stage 1*, while the decrease is not sufficient, it works on the modified
function psi(stp) = phi(stp) - phi(0) - ftol stp phi'(0) [MT94 (2.1)].
L-BFGS-B calls MINPACK-2's ``dcsrch`` with ftol = 1e-3, gtol = 0.9, xtol = 0.1,
stpmin = 0 (:mod:`lbfgsb_py.constants`).

The search is stepped one trial at a time; between calls its state lives in
``isave`` = (brackt, stage) and ``dsave`` = (ginit, gtest, gx, gy, finit, fx,
fy, stx, sty, stmin, stmax, width, width1), SciPy's layout.
"""
import numpy as np

from ..constants import (CASE_BISECTION, CONVERGENCE, ERROR, ERROR_INITG, ERROR_STP1,
                         ERROR_STP2, FG, START, WARN_ROUND, WARN_STPMAX, WARN_STPMIN,
                         WARN_XTOL, WARNING, XTRAPL, XTRAPU)
from .blas import fmax_scalar as fmax
from .blas import fmin_scalar as fmin

#: The names of ``dsave``'s entries, in order.
DSAVE = ("ginit", "gtest", "gx", "gy", "finit", "fx", "fy", "stx", "sty", "stmin", "stmax",
         "width", "width1")


def cubic_gamma(theta, s, da, db, clip=False):
    """gamma = s sqrt((theta/s)^2 - (da/s)(db/s)) of the cubic's minimizer [MT94 §4]
    (scaled by s = max(|theta|, |da|, |db|) against overflow; case 3 clips at 0)."""
    ts = theta / s
    arg = ts * ts - (da / s) * (db / s)
    if clip:
        arg = fmax(0.0, arg)
    return s * np.sqrt(arg)


def dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """A safeguarded new trial step, and the updated bracket [MT94 §4].

    (stx, fx, dx): the best step so far, its value and derivative; (sty, fy,
    dy): the other end of the bracket; (stp, fp, dp): the trial.  Returns
    ``(stx, fx, dx, sty, fy, dy, stp, brackt, case)``, ``case`` 1-4 the case
    of [MT94 §4] that chose the step.
    """
    sgnd = dp * (dx / abs(dx))
    if fp > fx:
        case, stpf = 1, _case1(stx, fx, dx, stp, fp, dp)
        brackt = True
    elif sgnd < 0.0:
        case, stpf = 2, _case2(stx, fx, dx, stp, fp, dp)
        brackt = True
    elif abs(dp) < abs(dx):
        case, stpf = 3, _case3(stx, fx, dx, sty, stp, fp, dp, brackt, stpmin, stpmax)
    else:
        case, stpf = 4, _case4(stx, fy, dy, sty, stp, fp, dp, brackt, stpmin, stpmax)
    # Update the bracket [MT94 §2, updating algorithm].
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0.0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt, case


def _case1(stx, fx, dx, stp, fp, dp):
    """Higher function value: the minimizer is bracketed.  The cubic step if
    nearer stx than the quadratic one, else their mean."""
    theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
    s = fmax(abs(theta), fmax(abs(dx), abs(dp)))
    gamma = cubic_gamma(theta, s, dx, dp)
    if stp < stx:
        gamma = -gamma
    p = (gamma - dx) + theta
    q = ((gamma - dx) + gamma) + dp
    stpc = stx + (p / q) * (stp - stx)
    stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
    if abs(stpc - stx) < abs(stpq - stx):
        return stpc
    return stpc + (stpq - stpc) / 2.0


def _case2(stx, fx, dx, stp, fp, dp):
    """Lower value, derivatives of opposite sign: bracketed.  The cubic step if
    farther from stp than the secant step, else the secant step."""
    theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
    s = fmax(abs(theta), fmax(abs(dx), abs(dp)))
    gamma = cubic_gamma(theta, s, dx, dp)
    if stp > stx:
        gamma = -gamma
    p = (gamma - dp) + theta
    q = ((gamma - dp) + gamma) + dx
    stpc = stp + (p / q) * (stx - stp)
    stpq = stp + (dp / (dp - dx)) * (stx - stp)
    return stpc if abs(stpc - stp) > abs(stpq - stp) else stpq


def _case3(stx, fx, dx, sty, stp, fp, dp, brackt, stpmin, stpmax):
    """Lower value, same sign, |phi'| decreases: the cubic step (when it exists
    in the right direction) or the secant step, kept inside the safeguards."""
    theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
    s = fmax(abs(theta), fmax(abs(dx), abs(dp)))
    gamma = cubic_gamma(theta, s, dx, dp, clip=True)
    if stp > stx:
        gamma = -gamma
    p = (gamma - dp) + theta
    q = (gamma + (dx - dp)) + gamma
    r = p / q
    if r < 0.0 and gamma != 0.0:
        stpc = stp + r * (stx - stp)
    elif stp > stx:
        stpc = stpmax
    else:
        stpc = stpmin
    stpq = stp + (dp / (dp - dx)) * (stx - stp)
    if brackt:
        stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
        if stp > stx:
            return fmin(stp + 0.66 * (sty - stp), stpf)
        return fmax(stp + 0.66 * (sty - stp), stpf)
    stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
    return fmax(stpmin, fmin(stpmax, stpf))


def _case4(stx, fy, dy, sty, stp, fp, dp, brackt, stpmin, stpmax):
    """Lower value, same sign, |phi'| does not decrease: the cubic step toward
    sty if bracketed, else stpmax or stpmin."""
    if brackt:
        theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        s = fmax(abs(theta), fmax(abs(dy), abs(dp)))
        gamma = cubic_gamma(theta, s, dy, dp)
        if stp > sty:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dy
        return stp + (p / q) * (sty - stp)
    return stpmax if stp > stx else stpmin


def _start(f, g, stp, ftol, stpmin, stpmax, isave, dsave):
    """The first call: check the input and set up the search."""
    msg = 0
    if stp < stpmin:
        msg = ERROR_STP1
    if stp > stpmax:
        msg = ERROR_STP2
    if g >= 0.0:
        msg = ERROR_INITG
    if msg:
        return stp, ERROR, msg, 0
    isave[:] = (0, 1)                                       # not bracketed, stage 1
    dsave[:] = (g, ftol * g, g, g, f, f, f, 0.0, 0.0, 0.0, stp + XTRAPU * stp,
                stpmax - stpmin, (stpmax - stpmin) / 0.5)
    return stp, FG, 0, 0


def dcsrch(f, g, stp, ftol, gtol, xtol, stpmin, stpmax, task, isave, dsave):
    """One call of the Moré-Thuente search: test the last trial, choose the next.

    On ``task`` START, f and g are phi(0) and phi'(0) and ``stp`` the first
    trial; later f and g are phi(stp), phi'(stp) of the last trial.  Returns
    ``(stp, task, msg, case)``: the next (or accepted) step, FG (evaluate at
    stp), CONVERGENCE, WARNING or ERROR, the detail code and the case that
    chose the step (0 none, 5 a bisection).
    """
    f, g, stp = np.float64(f), np.float64(g), np.float64(stp)
    if task == START:
        return _start(f, g, stp, ftol, stpmin, stpmax, isave, dsave)
    brackt, stage = bool(isave[0] == 1), int(isave[1])
    ginit, gtest, gx, gy, finit, fx, fy, stx, sty, stmin, stmax, width, width1 = dsave

    # The sufficient-decrease line; stage 2 once psi has decreased and phi' >= 0 [MT94 §3].
    ftest = finit + stp * gtest
    if stage == 1 and f <= ftest and g >= 0.0:
        stage = 2

    # Warnings (a later one wins), then convergence.
    task, msg = FG, 0
    if brackt and (stp <= stmin or stp >= stmax):
        task, msg = WARNING, WARN_ROUND
    if brackt and stmax - stmin <= xtol * stmax:
        task, msg = WARNING, WARN_XTOL
    if stp == stpmax and f <= ftest and g <= gtest:
        task, msg = WARNING, WARN_STPMAX
    if stp == stpmin and (f > ftest or g >= gtest):
        task, msg = WARNING, WARN_STPMIN
    if f <= ftest and abs(g) <= gtol * (-ginit):
        task, msg = CONVERGENCE, 0
    if task in (WARNING, CONVERGENCE):
        isave[1] = stage
        return stp, task, msg, 0

    if stage == 1 and f <= fx and f > ftest:
        # Stage 1, decrease not sufficient: step on psi [MT94 (2.1)].
        stx, fxm, gxm, sty, fym, gym, stp, brackt, case = dcstep(
            stx, fx - stx * gtest, gx - gtest, sty, fy - sty * gtest, gy - gtest,
            stp, f - stp * gtest, g - gtest, brackt, stmin, stmax)
        fx, fy = fxm + stx * gtest, fym + sty * gtest
        gx, gy = gxm + gtest, gym + gtest
    else:
        stx, fx, gx, sty, fy, gy, stp, brackt, case = dcstep(
            stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax)

    if brackt:
        # Bisect when the bracket did not shrink by a factor 0.66 in two trials.
        if abs(sty - stx) >= 0.66 * width1:
            stp = stx + 0.5 * (sty - stx)
            case = CASE_BISECTION
        width1, width = width, abs(sty - stx)
        stmin, stmax = fmin(stx, sty), fmax(stx, sty)
    else:
        stmin = stp + XTRAPL * (stp - stx)
        stmax = stp + XTRAPU * (stp - stx)

    stp = fmin(fmax(stp, stpmin), stpmax)
    # No further progress possible: fall back to the best step so far.
    if brackt and (stp <= stmin or stp >= stmax or stmax - stmin <= xtol * stmax):
        stp = stx

    isave[:] = (1 if brackt else 0, stage)
    dsave[:] = (ginit, gtest, gx, gy, finit, fx, fy, stx, sty, stmin, stmax, width, width1)
    return stp, FG, 0, case

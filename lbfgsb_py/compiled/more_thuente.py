"""The Moré–Thuente line search on scalars: ``dcsrch`` and ``dcstep``.

[MT94] J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed
sufficient decrease", ACM TOMS 20 (1994).  L-BFGS-B calls MINPACK-2's
``dcsrch`` with ``ftol = 1e-3``, ``gtol = 0.9``, ``xtol = 0.1``, ``stpmin = 0``
(SciPy ``lnsrlb``, C:2578).  The search works on phi(stp) = f(x + stp d) with
phi'(stp) = g(x + stp d)' d and looks for a step that satisfies

* sufficient decrease  phi(stp) <= phi(0) + ftol stp phi'(0)       [MT94 (1.1)]
* curvature            |phi'(stp)| <= gtol |phi'(0)|               [MT94 (1.2)]

It keeps an interval [stx, sty] (the *bracket*) known to contain such a step and
chooses each new trial by one of the four cases of [MT94 §4] (``dcstep``).
While in *stage 1* and the decrease is insufficient, it works on the modified
function psi(stp) = phi(stp) - phi(0) - ftol stp phi'(0) [MT94 (2.1)].

Everything here runs on scalars; the state between calls lives in two small
arrays so the search can be stepped trial by trial, saved and resumed:

``dstate`` (float64[13]) = ginit, gtest, gx, gy, finit, fx, fy, stx, sty,
stmin, stmax, width, width1 — SciPy's ``dsave`` of ``dcsrch``.
``istate`` (int64[2]) = brackt, stage.
"""
import numpy as np

from ..constants import (CASE_BISECTION, CONVERGENCE, ERROR, ERROR_INITG, ERROR_STP1,
                         ERROR_STP2, FG, START, WARN_ROUND, WARN_STPMAX, WARN_STPMIN,
                         WARN_XTOL, WARNING, XTRAPL, XTRAPU)
from ._jit import fmax, fmin, jit


@jit
def _cubic_min_gamma(theta, s, da, db, clip):
    # gamma of [MT94 §4]: s * sqrt((theta/s)^2 - (da/s)(db/s)); case 3 clips at 0.
    ts = theta / s
    arg = ts * ts - (da / s) * (db / s)
    if clip:
        arg = fmax(0.0, arg)
    return s * np.sqrt(arg)


@jit
def dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """Compute a safeguarded new trial step and update the bracket [MT94 §4].

    Returns ``(stx, fx, dx, sty, fy, dy, stp, brackt, case)`` where ``case`` is
    1–4, the case of [MT94 §4] that chose the step.
    """
    sgnd = dp * (dx / abs(dx))
    if fp > fx:
        # Case 1: higher function value; the minimum is bracketed.
        case = 1
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = fmax(abs(theta), fmax(abs(dx), abs(dp)))
        gamma = _cubic_min_gamma(theta, s, dx, dp, False)
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + (p / q) * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) < abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:
        # Case 2: lower value, derivatives of opposite sign; bracketed.
        case = 2
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = fmax(abs(theta), fmax(abs(dx), abs(dp)))
        gamma = _cubic_min_gamma(theta, s, dx, dp, False)
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + (p / q) * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):
        # Case 3: lower value, same sign, derivative magnitude decreases.
        case = 3
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = fmax(abs(theta), fmax(abs(dx), abs(dp)))
        gamma = _cubic_min_gamma(theta, s, dx, dp, True)
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
                stpf = fmin(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = fmax(stp + 0.66 * (sty - stp), stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = fmax(stpmin, fmin(stpmax, stpf))
    else:
        # Case 4: lower value, same sign, derivative does not decrease.
        case = 4
        if brackt:
            theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
            s = fmax(abs(theta), fmax(abs(dy), abs(dp)))
            gamma = _cubic_min_gamma(theta, s, dy, dp, False)
            if stp > sty:
                gamma = -gamma
            p = (gamma - dp) + theta
            q = ((gamma - dp) + gamma) + dy
            stpf = stp + (p / q) * (sty - stp)
        elif stp > stx:
            stpf = stpmax
        else:
            stpf = stpmin
    # Update the interval that contains a minimizer [MT94 §2, updating algorithm].
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0.0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt, case


@jit
def dcsrch(f, g, stp, ftol, gtol, xtol, stpmin, stpmax, task, istate, dstate):
    """One call of the Moré–Thuente search: test the trial, choose the next one.

    On ``task == START`` ``f``/``g`` are phi(0)/phi'(0) and ``stp`` the first
    trial; later calls pass phi(stp)/phi'(stp) of the last trial.
    Returns ``(stp, task, msg, case)``: the next (or accepted) step, the task
    word (FG: evaluate at ``stp``; CONVERGENCE; WARNING; ERROR), its detail
    code and the dcstep case used (0 if none, 5 if bisection overrode it).
    """
    if task == START:
        msg = 0
        if stp < stpmin:
            msg = ERROR_STP1
        if stp > stpmax:
            msg = ERROR_STP2
        if g >= 0.0:
            msg = ERROR_INITG
        if msg != 0:
            return stp, ERROR, msg, 0
        istate[0] = 0
        istate[1] = 1
        dstate[0] = g                      # ginit
        dstate[1] = ftol * g               # gtest
        dstate[2] = g                      # gx
        dstate[3] = g                      # gy
        dstate[4] = f                      # finit
        dstate[5] = f                      # fx
        dstate[6] = f                      # fy
        dstate[7] = 0.0                    # stx
        dstate[8] = 0.0                    # sty
        dstate[9] = 0.0                    # stmin
        dstate[10] = stp + XTRAPU * stp    # stmax
        dstate[11] = stpmax - stpmin       # width
        dstate[12] = (stpmax - stpmin) / 0.5  # width1
        return stp, FG, 0, 0

    brackt = istate[0] == 1
    stage = istate[1]
    ginit, gtest, gx, gy, finit, fx, fy = (dstate[0], dstate[1], dstate[2], dstate[3],
                                           dstate[4], dstate[5], dstate[6])
    stx, sty, stmin, stmax, width, width1 = (dstate[7], dstate[8], dstate[9], dstate[10],
                                             dstate[11], dstate[12])

    # Sufficient-decrease line and stage switch [MT94 §3].
    ftest = finit + stp * gtest
    if stage == 1 and f <= ftest and g >= 0.0:
        stage = 2

    # Warnings (a later one overrides an earlier), then convergence.
    task = FG
    msg = 0
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
    if task == WARNING or task == CONVERGENCE:
        istate[1] = stage
        return stp, task, msg, 0

    if stage == 1 and f <= fx and f > ftest:
        # Stage 1 with insufficient decrease: step on psi, the modified function.
        stx, fxm, gxm, sty, fym, gym, stp, brackt, case = dcstep(
            stx, fx - stx * gtest, gx - gtest, sty, fy - sty * gtest, gy - gtest,
            stp, f - stp * gtest, g - gtest, brackt, stmin, stmax)
        fx = fxm + stx * gtest
        fy = fym + sty * gtest
        gx = gxm + gtest
        gy = gym + gtest
    else:
        stx, fx, gx, sty, fy, gy, stp, brackt, case = dcstep(
            stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax)

    if brackt:
        # Bisect when the bracket did not shrink by 0.66 in two trials.
        if abs(sty - stx) >= 0.66 * width1:
            stp = stx + 0.5 * (sty - stx)
            case = CASE_BISECTION
        width1 = width
        width = abs(sty - stx)
        stmin = fmin(stx, sty)
        stmax = fmax(stx, sty)
    else:
        stmin = stp + XTRAPL * (stp - stx)
        stmax = stp + XTRAPU * (stp - stx)

    stp = fmin(fmax(stp, stpmin), stpmax)
    # No further progress possible: fall back to the best step so far.
    if brackt and (stp <= stmin or stp >= stmax or stmax - stmin <= xtol * stmax):
        stp = stx

    istate[0] = 1 if brackt else 0
    istate[1] = stage
    dstate[2] = gx
    dstate[3] = gy
    dstate[5] = fx
    dstate[6] = fy
    dstate[7] = stx
    dstate[8] = sty
    dstate[9] = stmin
    dstate[10] = stmax
    dstate[11] = width
    dstate[12] = width1
    return stp, FG, 0, case

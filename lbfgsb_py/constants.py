"""The constants and codes both backends and the driver share.

Values are SciPy's (``scipy/optimize/src/lbfgsb.c`` and ``_lbfgsb_py.py``) or
the papers': [BLNZ95] Byrd, Lu, Nocedal, Zhu 1995; [MT94] Moré, Thuente 1994.
"""

#: SciPy's machine epsilon constant, used in the BFGS skip test [BLNZ95 §6]
#: and the L-BFGS-B 3.0 curvature safeguard of the Cauchy search.
EPSMCH = 2.220446049250313e-16

# -- the line search [BLNZ95 §6]: dcsrch's parameters as L-BFGS-B sets them (lnsrlb).
#: Sufficient-decrease constant mu of [MT94 (1.1)].
FTOL = 1e-3
#: Curvature constant eta of [MT94 (1.2)].
GTOL = 0.9
#: Relative width below which the bracket is "small enough" [MT94 §2].
XTOL = 0.1
#: Smallest step dcsrch may take.
STPMIN = 0.0
#: "Infinite" step bound for a direction no bound limits.
BIG_STEP = 1e10
#: Extrapolation factors of dcsrch's stage 1 (MINPACK-2).
XTRAPL, XTRAPU = 1.1, 4.0

# -- dcsrch's task words (SciPy's enum values) and its warning / error details.
START, FG, CONVERGENCE, WARNING, ERROR = 0, 3, 4, 6, 7
WARN_ROUND, WARN_STPMAX, WARN_STPMIN, WARN_XTOL = 601, 602, 603, 604
ERROR_STP1, ERROR_STP2, ERROR_INITG = 706, 707, 710

#: ``case`` reported when dcsrch replaced dcstep's step by a bisection.
CASE_BISECTION = 5
#: What each ``case`` of a line-search trial means ([MT94 §4]).
CASE_NAMES = {
    0: "none",
    1: "case 1: higher f, minimizer bracketed (cubic or cubic/quadratic mean)",
    2: "case 2: lower f, derivatives of opposite sign (cubic or secant)",
    3: "case 3: lower f, same sign, |phi'| decreases (cubic or secant, safeguarded)",
    4: "case 4: lower f, same sign, |phi'| does not decrease (cubic or stpmin/stpmax)",
    CASE_BISECTION: "bisection: bracket did not shrink enough",
}

# -- the subspace step [BLNZ95 §5, MN11].
#: ``variant`` names and their codes.
VARIANTS = {"scipy": 0, "1995": 1}
#: ``iword`` (the ``sub`` column of the iteration table).
SUB_NOT_RUN = -1   # '---': no subspace step this iteration
SUB_CONVERGED = 0  # 'con': xcp + d lies inside the box
SUB_BOUNDED = 1    # 'bnd': a bound was met
#: Blocks of ``wn1``: Y'ZZ'Y, S'AA'S, S'AA'Y (lower), S'ZZ'Y (upper), logical order.
YY_Z, SS_A, SY_A, SY_Z = 0, 1, 2, 3

# -- what a search-direction step reports: which part failed (0: none).
OK, FAILED_CAUCHY, FAILED_FORMK, FAILED_SUBSM = 0, 1, 2, 3

#: Columns of the per-segment record of the Cauchy search (full trace level).
SEGMENT_FIELDS = ("variable", "t_break", "dt", "f1", "f2", "dtm")

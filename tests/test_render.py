"""Text renderings against golden Fortran 3.0 output.

Golden lines come from gfortran logs of SciPy 1.14.1 (the last Fortran-based
SciPy; driver1 problem n=25 m=5, a wrong-sign gradient run) and from the
iterate.dat of user story 002 (784-pixel image); the events are built by hand.
"""
import numpy as np
import pytest

from lbfgsb_py import builtin_problems
from lbfgsb_py import trace as tr
from lbfgsb_py.render import (FMT_ROW, RENDERERS, events_text, fortran_format, fortran_int,
                              fortran_real, fortran_task, iteration_events, iteration_table,
                              list_directed, summary_table)

LEGEND = """\
RUNNING THE L-BFGS-B CODE

it    = iteration number
nf    = number of function evaluations
nseg  = number of segments explored during the Cauchy search
nact  = number of active bounds at the generalized Cauchy point
sub   = manner in which the subspace minimization terminated:
        con = converged, bnd = a bound was reached
itls  = number of iterations performed in the line search
stepl = step length used
tstep = norm of the displacement (total step)
projg = norm of the projected gradient
f     = function value

           * * *

Machine precision = 2.220D-16
"""
HEADER = "   it   nf  nseg  nact  sub  itls  stepl    tstep     projg        f"
SUMMARY_LEGEND = """
           * * *

Tit   = total number of iterations
Tnf   = total number of function evaluations
Tnint = total number of segments explored during Cauchy searches
Skip  = number of BFGS updates skipped
Nact  = number of active bounds at final generalized Cauchy point
Projg = norm of the final projected gradient
F     = final function value

           * * *

   N    Tit     Tnf  Tnint  Skip  Nact     Projg        F
"""
# iterate.dat rows of the driver1 run: (it, nf, nseg, nact, sub, itls, stepl, tstep, projg, f)
DRIVER1_ROWS = [
    ((1, 5, 25, 24, "---", 3, 1.2e-2, 4.1773206113501731, 65.07, 2397.69),
     "    1    5    25    24  ---    3  1.2D-02  4.2D+00  6.507D+01  2.398D+03"),
    ((2, 6, 1, 0, "con", 0, 1.0, 4.2, 36.40, 143.8),
     "    2    6     1     0  con    0  1.0D+00  4.2D+00  3.640D+01  1.438D+02"),
    ((6, 10, 1, 0, "bnd", 0, 1.0, 0.61, 19.67, 2.127),
     "    6   10     1     0  bnd    0  1.0D+00  6.1D-01  1.967D+01  2.127D+00"),
    ((16, 21, 1, 0, "con", 1, 0.46, 4.8e-4, 8.081e-3, 3.908e-6),
     "   16   21     1     0  con    1  4.6D-01  4.8D-04  8.081D-03  3.908D-06"),
]


def run_start(n=25, m=5, maxls=20):
    return tr.RunStart(0, 0, n=n, m=m, n_bounded=n, n_fixed=0, n_projected=0, ftol=2.2e-9,
                       gtol=1e-5, maxls=maxls, variant="scipy", level="iteration")


def initial_point(f, projg):
    return tr.InitialPoint(0, 1, f=f, projg=projg, n_at_bound=0, n_zero_gradient=0,
                           n_blocked=0)


def iteration_end(it, nf, nseg, nact, sub, itls, stepl, tstep, projg, f):
    return tr.IterationEnd(it, nf, f=f, projg=projg, nseg=nseg, nact=nact, sub=sub, itls=itls,
                           stepl=stepl, tstep=tstep)


def trial(k, it=0, stp=1.0):
    return tr.LineSearchTrial(it, 1 + k, trial=k, stp=stp, f=1.0, gd=-1.0, ftest=1.5,
                              sufficient_decrease=True, curvature=False, stx=0.0, sty=stp,
                              brackt=True, stage=1, task="FG", message="", case=3,
                              next_stp=stp / 2)


def termination(message, it, nfev, projg, f, nint=0, nskip=0, nact=0):
    return tr.Termination(it, nfev, status=0, message=message, nit=it, f=f, f_last_trial=f,
                          projg=projg, n_skipped=nskip, n_segments_total=nint, n_active=nact)


def driver1_trace():
    events = [run_start(), initial_point(3460.0, 103.0)]
    events += [iteration_end(*values) for values, _ in DRIVER1_ROWS]
    events.append(termination("CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH", 23, 28,
                              1.721e-4, 1.0834900834862953e-09, nint=47))
    return tr.Trace(events)


# ------------------------------------------------------------ number formats
@pytest.mark.parametrize("value, width, digits, expected", [
    (103.0, 10, 3, " 1.030D+02"),
    (3460.0, 10, 3, " 3.460D+03"),
    (1.083e-9, 10, 3, " 1.083D-09"),
    (0.0, 10, 3, " 0.000D+00"),
    (-5.96117, 12, 5, "-5.96117D+00"),
    (9.9996e2, 10, 3, " 1.000D+03"),           # rounding carries into the exponent
    (1e100, 10, 3, " 1.000+100"),              # three-digit exponent: D dropped
    (-2.5e-123, 10, 3, "-2.500-123"),
    (1e-300, 7, 1, "1.0-300"),
    (float("inf"), 10, 3, "  Infinity"),
    (-float("inf"), 10, 3, " -Infinity"),
    (float("inf"), 7, 1, "    Inf"),
    (float("nan"), 10, 3, "       NaN"),
    (-1.0, 7, 1, "*******"),                   # does not fit: asterisks
])
def test_fortran_real_1p(value, width, digits, expected):
    assert fortran_real(value, width, digits) == expected


def test_fortran_real_other_scale_and_letter():
    assert fortran_real(103.0, 10, 3, scale=0) == " 0.103D+03"
    assert fortran_real(3.337e-3, 10, 3, letter="E") == " 3.337E-03"


def test_fortran_int_overflows_to_asterisks():
    assert fortran_int(7, 4) == "   7"
    assert fortran_int(12345, 4) == "****"


def test_fortran_format_other_statements():
    """The interpreter reproduces iprint=99 lines of the doc as well."""
    at_iterate = "(/,'At iterate',i5,4x,'f= ',1p,d12.5,4x,'|proj g|= ',1p,d12.5)"
    assert fortran_format(at_iterate, 0, 3460.0, 103.0) == \
        "\nAt iterate    0    f=  3.46000D+03    |proj g|=  1.03000D+02"
    piece = "(/,'Piece    ',i3,' --f1, f2 at start point ',1p,2(1x,d11.4))"
    assert fortran_format(piece, 25, -1315.2, 2304.0) == \
        "\nPiece     25 --f1, f2 at start point  -1.3152D+03  2.3040D+03"
    with pytest.raises(ValueError, match="left over"):
        fortran_format("(i4)", 1, 2)


@pytest.mark.parametrize("items, expected", [
    (("LINE SEARCH", 3, " times; norm of step = ", 4.1773206113501731),
     " LINE SEARCH           3  times; norm of step =    4.1773206113501731     "),
    ((" F =", 1.0834900834862953e-09), "  F =   1.0834900834862953E-009"),
    ((1, " variables are free at GCP ", 1),
     "           1  variables are free at GCP            1"),
    (("There are ", 25, "  breakpoints "), " There are           25   breakpoints "),
    (("N = ", 784, "    M = ", 10), " N =          784     M =           10"),
])
def test_list_directed_matches_gfortran(items, expected):
    assert list_directed(*items) == expected


# ------------------------------------------------------------ iterate.dat
def test_iteration_table_golden_rows():
    text = iteration_table(driver1_trace(), nf="nfev")
    lines = text.splitlines()
    assert text.startswith(LEGEND)
    assert lines[17] == " N =           25     M =            5"
    assert lines[18:20] == ["", HEADER]
    assert lines[20] == "    0    1     -     -   -     -     -        -     1.030D+02  3.460D+03"
    assert lines[21:25] == [row for _, row in DRIVER1_ROWS]
    assert lines[25:] == ["", "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH".ljust(60)]


def test_seed_image_row_zero():
    """Seed 002: N = 784, row 0 with a zero projected gradient."""
    trace = tr.Trace([run_start(784, 10), initial_point(1.694, 0.0)])
    lines = iteration_table(trace).splitlines()
    assert " N =          784     M =           10" in lines
    assert lines[-1] == "    0    1     -     -   -     -     -        -     0.000D+00  1.694D+00"


def test_nf_counts_f_and_g_evaluations():
    """Fortran's nf is 1 + line-search trials, whatever nfev (finite differences) says."""
    trace = tr.Trace([run_start(), initial_point(3460.0, 103.0), trial(1), trial(2),
                      iteration_end(1, 99, 25, 24, "---", 1, 0.5, 4.2, 65.07, 2397.69)])
    fg_row = iteration_table(trace, legend=False).splitlines()[-1]
    nfev_row = iteration_table(trace, legend=False, nf="nfev").splitlines()[-1]
    assert fg_row.startswith("    1    3 ")
    assert nfev_row.startswith("    1   99 ")
    with pytest.raises(ValueError, match="nf must be"):
        iteration_table(trace, nf="calls")


def test_row_format_is_fortran_3001():
    values, row = DRIVER1_ROWS[0]
    assert fortran_format(FMT_ROW, *values) == row


# ----------------------------------------------------------------- summary
def test_summary_table_golden():
    text = summary_table(driver1_trace(), nf="nfev")
    assert text == (SUMMARY_LEGEND
                    + "   25     23     28     47     0     0   1.721D-04   1.083D-09\n"
                    + "\n" + "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH".ljust(60) + "\n")


def test_summary_table_failure_row_golden():
    """The wrong-sign gradient run of the doc: N=2, Tit 1, Tnf 21 (1 + 20 trials)."""
    events = [run_start(2, 5), initial_point(13.0, 4.0)] + [trial(k) for k in range(1, 21)]
    events.append(termination("ABNORMAL: ", 1, 21, 4.0, 13.0, nint=2, nact=1))
    lines = summary_table(tr.Trace(events)).splitlines()
    assert lines[-3] == "    2      1     21      2     0     1   4.000D+00   1.300D+01"
    assert lines[-1] == "ABNORMAL_TERMINATION_IN_LNSRCH".ljust(60)


def test_summary_needs_a_finished_run():
    with pytest.raises(ValueError, match="termination"):
        summary_table(tr.Trace([run_start()]))


@pytest.mark.parametrize("message, task", [
    ("CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
     "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL"),
    ("ABNORMAL: ", "ABNORMAL_TERMINATION_IN_LNSRCH"),
    ("STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT", "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT"),
    ("`callback` raised `StopIteration`.", "`callback` raised `StopIteration`."),
])
def test_fortran_task_words(message, task):
    assert fortran_task(message) == task


# ------------------------------------------------------------ from real runs
@pytest.fixture(scope="module")
def abnormal():
    return builtin_problems.get("wrong_gradient_sign").solve()


def test_failed_line_search_row_and_notice(abnormal):
    """prn3lb 3002: the failing iteration's row ends with '-' columns, then the notice."""
    lines = iteration_table(abnormal).splitlines()
    fail = next(line for line in lines if line.startswith("    1   21"))
    assert fail.endswith("      -          -")
    assert fail[27:32] == "   19"                     # itls = trials - 1, as the Fortran
    assert "ABNORMAL_TERMINATION_IN_LNSRCH" + " " * 30 in lines
    assert " Line search cannot locate an adequate point after 20 function" in lines


def test_events_text_one_line_per_trial(abnormal):
    text = events_text(abnormal, kinds=["line_search_trial"])
    lines = text.splitlines()
    assert len(lines) == 20
    # one numbering: the first iteration's trials are "it 1", as in the table's row 1
    assert lines[0].startswith("it   1 nfev     2  line_search_trial  trial=1 stp=0.353553")
    assert "bracket=[0, 0.353553]" in lines[0] and "task=FG case=1" in lines[0]
    assert "message=" not in lines[0]                 # empty fields are left out


def test_events_text_filters(abnormal):
    every = events_text(abnormal).splitlines()
    assert len(every) == len(abnormal.trace)
    first = events_text(abnormal, iteration=1).splitlines()
    assert first[0].split()[4] == "iteration_start" and "termination" in first[-1]
    assert {line.split()[1] for line in first} == {"1"}       # labelled as selected
    assert events_text(abnormal, iteration=0).splitlines()[0].split()[4] == "run_start"
    with pytest.raises(ValueError, match="unknown event kind"):
        events_text(abnormal, kinds=["trial"])


def test_events_text_cuts_long_vectors():
    start = tr.LineSearchStart(0, 1, stp=1.0, stpmax=2.0, dnorm=1.0, gd=-1.0, f0=1.0,
                               x=tr.frozen_array(np.arange(10.0)),
                               d=tr.frozen_array([1.0, float("nan")]))
    line = events_text([start])
    assert "x=[0, 1, 2, 3, 4, 5, ...] (10 values)" in line and "d=[1, nan]" in line


def test_iteration_events_cover_restarts():
    """A memory reset restarts iteration k: both tries belong to it."""
    events = [run_start(), initial_point(1.0, 1.0),
              tr.IterationStart(0, 1, f=1.0, projg=1.0, col=0, theta=1.0),
              tr.IterationStart(0, 1, f=1.0, projg=1.0, col=0, theta=1.0),
              iteration_end(1, 2, 1, 0, "con", 0, 1.0, 1.0, 0.5, 0.5),
              tr.IterationStart(1, 2, f=0.5, projg=0.5, col=1, theta=1.0)]
    assert [e.kind for e in iteration_events(events, 1)] == \
        ["iteration_start", "iteration_start", "iteration_end"]
    assert [e.kind for e in iteration_events(events, 0)] == ["run_start", "initial_point"]


def test_renderers_registry():
    assert {"table", "summary", "events", "iterate.dat", "trials", "iprint0", "iprint1",
            "iprint99", "iprint100", "iprint101"} <= set(RENDERERS)
    assert {f"r-trace{k}" for k in range(1, 7)} <= set(RENDERERS)
    assert RENDERERS["table"] is iteration_table

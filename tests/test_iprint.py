"""The classic printed output: iprint levels, R trace levels, line-search trials,
``minimize(iprint=..., disp=...)`` and ``show --format``.

Lines quoted here come from SciPy 1.14.1 runs (tests/golden) or, for R, from
the format strings of R's ``src/appl/lbfgsb.c`` and ``optim.c``.
"""
import functools

import numpy as np
import pytest
from click.testing import CliRunner

import lbfgsb_py
from lbfgsb_py import render
from lbfgsb_py import trace as tr
from lbfgsb_py.cli import cli
from lbfgsb_py.render import (NOT_RECORDED, RENDERERS, classic_text, fortran_format,
                              iprint_from, r_trace_text, trials_text)
from validation.golden import minimize_options

TASK_F = "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH".ljust(60)


@functools.cache
def run(name, level="full"):
    return lbfgsb_py.minimize(**minimize_options(name), trace=level)


def lines(text):
    return text.splitlines()


# ------------------------------------------------------------ FORMAT reversion
def test_vector_format_reverts_to_its_last_group():
    text = fortran_format(render.FMT_VECTOR, "X0 =", *[3.0] * 7)
    assert lines(text) == ["", "X0 =" + "  3.0000D+00" * 6, "      3.0000D+00"]
    cauchy = fortran_format("('Cauchy X =  ',/,(4x,1p,6(1x,d11.4)))", 1.0, -100.0)
    assert lines(cauchy) == ["Cauchy X =  ", "      1.0000D+00 -1.0000D+02"]


def test_x_positions_write_no_trailing_blanks():
    assert fortran_format("(i3,5x)", 7) == "  7"
    assert fortran_format("(i3,2x,i2)", 7, 1) == "  7   1"
    with pytest.raises(ValueError, match="left over"):    # no group to revert to
        fortran_format("(i4)", 1, 2)


# ------------------------------------------------------------- iprint levels
def test_negative_iprint_prints_nothing():
    assert classic_text(run("driver1"), -1) == ""


def test_iprint0_header_notices_and_summary_only():
    text = classic_text(run("rosenbrock2_free"), 0)
    assert lines(text)[:7] == ["RUNNING THE L-BFGS-B CODE", "", "           * * *", "",
                               "Machine precision = 2.220D-16",
                               " N =            2     M =           10",
                               " This problem is unconstrained."]
    assert "At iterate" not in text and "ITERATION" not in text
    assert lines(text)[-1] == TASK_F


def test_iprint_k_prints_every_kth_iterate():
    text = classic_text(run("driver1"), 5)
    its = [int(line.split()[2]) for line in lines(text) if line.startswith("At iterate")]
    assert its == [0, 5, 10, 15, 20]
    assert "  F =   1.08349008" in text and "LINE SEARCH" not in text


def test_iprint99_iteration_block():
    text = classic_text(run("driver1"), 99)
    block = lines(text)[lines(text).index("ITERATION     2"):][:20]
    assert block == [
        "ITERATION     2", "", "---------------- CAUCHY entered-------------------",
        " There are           25   breakpoints ", "", " GCP found in this segment",
        "Piece      1 --f1, f2 at start point  -1.3714D+06  4.2861D+08",
        "Distance to the stationary point =   3.1996D-03", "",
        "---------------- exit CAUCHY----------------------", "",
        "           0  variables leave;           24  variables enter",
        "          25  variables are free at GCP            2", "",
        "----------------SUBSM entered-----------------", "", "",
        "----------------exit SUBSM --------------------", "",
        block[19]]
    assert block[19].startswith(" LINE SEARCH           0  times; norm of step =    4.23718392")


def test_iprint100_segments_fixed_and_entering_variables():
    text = classic_text(run("driver1"), 100)
    assert " Variable             3   is fixed." in lines(text)
    assert "Distance to the next break point =   6.8493D-03" in lines(text)
    assert " Variable           24  enters the set of free variables" in lines(text)
    tail = lines(text)[lines(text).index(render.fortran_format(render.FMT_SUMMARY_HEADER)
                                         .splitlines()[-1]):]
    assert tail[3].startswith(" X =  1.0000D+00") and tail[8].startswith("  F =")  # prn3lb


def test_all_variables_fixed_prints_no_gcp_lines():
    """cauchy returns at once when every variable is fixed (rosenbrock5_box, it. 1)."""
    text = classic_text(run("rosenbrock5_box"), 99)
    first = lines(text)[lines(text).index("ITERATION     1"):lines(text).index("ITERATION     2")]
    assert "GCP found in this segment" not in " ".join(first)


def test_no_breakpoints_gcp_derived_from_the_step():
    """0 breakpoints and B = I: f1 = -||d||^2, f2 = ||d||^2, dt* = 1 (wrong_sign, it. 1)."""
    text = classic_text(run("wrong_sign", "iteration"), 99)
    assert "Piece      1 --f1, f2 at start point  -8.0000D+00  8.0000D+00" in lines(text)
    assert "Distance to the stationary point =   1.0000D+00" in lines(text)


def test_abnormal_end_text():
    text = classic_text(run("wrong_sign"), 0)
    assert lines(text)[-7:] == [
        "ABNORMAL_TERMINATION_IN_LNSRCH".ljust(60), "",
        " Line search cannot locate an adequate point after MAXLS",
        "  function and gradient evaluations.", "  Previous x, f and g restored.",
        " Possible causes: 1 error in function or gradient evaluation;",
        "                  2 rounding error dominate computation."]


def test_level_iteration_trace_says_what_is_missing():
    text = classic_text(run("quadratic_infeasible", "iteration"), 101)
    missing = [line for line in lines(text) if NOT_RECORDED in line]
    assert any("Cauchy segment(s); record with trace='full'" in line for line in missing)
    assert any("which variables leave and enter" in line for line in missing)
    assert any(line.startswith(" X = (not recorded") for line in missing)
    assert not any(line.startswith(" X =  ") for line in lines(text))   # no made-up numbers


def _events(*extra):
    start = tr.RunStart(0, 0, n=2, m=5, n_bounded=2, n_fixed=0, n_projected=0, ftol=2.2e-9,
                        gtol=1e-5, maxls=20, variant="scipy", level="iteration")
    first = tr.InitialPoint(0, 1, f=1.0, projg=1.0, n_at_bound=0, n_zero_gradient=0,
                            n_blocked=0)
    return tr.Trace([start, first, *extra])


def test_skipped_update_and_memory_refresh_notices():
    skipped = tr.BFGSUpdate(1, 3, applied=False, sy=-1e-10, threshold=render.EPSMCH * 2.0,
                            yy=1.0, theta=1.0, col=0, n_skipped=1)
    reset = tr.MemoryReset(1, 3, reason="formk_not_positive_definite", info=-1, col_before=2)
    text = classic_text(_events(skipped, reset), 99)
    assert "  ys=-1.000E-10  -gs= 2.000E+00 BFGS update SKIPPED" in lines(text)
    assert lines(text)[-5:-3] == [" Nonpositive definiteness in Cholesky factorization in formk;",
                                  "   refresh the lbfgs memory and restart the iteration."]
    assert lines(text)[-1] == "ITERATION     2"       # mainlb goes back to label 222
    assert "ys=" not in classic_text(_events(skipped), 0)


def test_positive_directional_derivative_notice():
    step = tr.SubspaceStep(1, 3, n_free=2, outcome="backtracked", alpha=0.5, dd_p=0.1)
    assert lines(classic_text(_events(step), 0))[-2:] == [
        "  Positive dir derivative in projection ", "  Using the backtracking step "]


# ---------------------------------------------------------------- R levels
def test_r_trace1_driver_lines():
    assert r_trace_text(run("driver1"), 1) == (
        "iter   10 value 0.003860\niter   20 value 0.000000\nfinal  value 0.000000 \n"
        "converged\n")


def test_r_trace2_and_3():
    text = r_trace_text(run("driver1"), 3, report=10)
    assert lines(text)[:4] == [
        "N = 25, M = 5 machine precision = 2.22045e-16",
        "At X0, 0 variables are exactly at the bounds",
        "At iterate     0  f=         3460  |proj g|=          103",
        "At iterate    10  f =    0.0038603  |proj g|=       0.20081"]
    assert "iterations 23\nfunction evaluations 28\n" in text and "F = 1.08349e-09" in text
    assert "At X0" not in r_trace_text(run("driver1"), 2)


def test_r_trace4_iterations():
    text = r_trace_text(run("driver1"), 4)
    assert "Iteration     0" in lines(text) and "There are 25  breakpoints" in lines(text)
    assert "1  variables are free at GCP on iteration 1" in lines(text)
    assert "LINE SEARCH 3 times; norm of step = 4.17732" in lines(text)
    assert "At iterate     1" not in text and "SUBSM" not in text


def test_r_passes_x0_unclipped():
    """R's setulb projects x0 itself: notice, and its X0 line is not in the trace."""
    text = r_trace_text(run("quadratic_infeasible"), 6)
    assert "The initial X is infeasible.  Restart with its projection." in lines(text)
    assert "X0 = (not recorded in the trace: x0 before its projection)" in lines(text)
    assert "infeasible" not in classic_text(run("quadratic_infeasible"), 101)


def test_r_abnormal_stops():
    text = r_trace_text(run("wrong_sign"), 2)
    assert text.endswith("Line search cannot locate an adequate point after 20 function\n"
                         "and gradient evaluations\nfinal  value 2.000000 \n"
                         "stopped after 0 iterations\n")
    assert "\niterations " not in text        # R prints the totals only on convergence
    with pytest.raises(ValueError, match="1-6"):
        r_trace_text(run("wrong_sign"), 7)


# ------------------------------------------------------------------- trials
def test_trials_one_line_per_trial():
    res = run("wrong_sign", "iteration")
    text = trials_text(res)
    rows = [line for line in lines(text)[1:] if line.split()[1].isdigit()]
    assert len(rows) == 20 == len(res.trace.of_kind("line_search_trial"))
    assert lines(text)[0].split()[:5] == ["it", "trial", "stp", "f(stp)", "g'd(stp)"]
    assert rows[0].split()[:5] == ["1", "1", "3.535534e-01", "5.82842712e+00", "-1.36568542e+01"]
    assert rows[16].split()[-3:] == ["1", "4", "FG"]           # stage 1, dcstep case 4
    assert lines(text)[-1].startswith("   1 end     maxls: ")


# --------------------------------------------------- minimize(iprint=..., disp=...)
def test_minimize_iprint_prints_at_the_end(capsys):
    res = lbfgsb_py.minimize(**minimize_options("driver1"), iprint=99)
    out = capsys.readouterr().out
    assert out == classic_text(res, 99)
    assert res.trace.of_kind("cauchy_breakpoint")              # raised to 'full'
    assert out.startswith("RUNNING THE L-BFGS-B CODE") and TASK_F in out


@pytest.mark.parametrize("disp, iprint, expected", [
    (True, -1, 1), (False, 99, -1), (0, 5, -1), (100, -1, 100), (None, 3, 3), (None, -1, -1)])
def test_disp_overrides_iprint_as_scipy_114(disp, iprint, expected):
    assert iprint_from(iprint, disp) == expected


def test_minimize_disp_true_is_iprint_1(capsys):
    lbfgsb_py.minimize(**minimize_options("rosenbrock2_free"), disp=True)
    with_disp = capsys.readouterr().out
    lbfgsb_py.minimize(**minimize_options("rosenbrock2_free"), iprint=1)
    assert with_disp == capsys.readouterr().out and "At iterate   10" in with_disp
    lbfgsb_py.minimize(**minimize_options("rosenbrock2_free"), disp=False, iprint=101)
    assert capsys.readouterr().out == ""


def test_minimize_iprint_with_trace_off_or_a_tracer(capsys):
    res = lbfgsb_py.minimize(**minimize_options("wrong_sign"), trace="off", iprint=0)
    assert "ABNORMAL_TERMINATION_IN_LNSRCH" in capsys.readouterr().out and len(res.trace)
    tracer = tr.Tracer(level="iteration", memory=False)
    res = lbfgsb_py.minimize(**minimize_options("wrong_sign"), trace=tracer, iprint=100)
    assert res.trace.of_kind("cauchy_breakpoint") and " X =  1.0000D+00" in \
        capsys.readouterr().out
    with pytest.raises(TypeError, match="iprint must be an integer"):
        lbfgsb_py.minimize(**minimize_options("wrong_sign"), iprint="99")


def test_minimize_without_iprint_prints_nothing(capsys):
    res = lbfgsb_py.minimize(**minimize_options("wrong_sign"))
    assert capsys.readouterr().out == ""
    assert res.trace.events[0].level == "iteration"


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def saved_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("iprint") / "driver1.jsonl"
    run("driver1").trace.save(path)
    return path


@pytest.mark.parametrize("fmt, expected", [
    ("iprint0", "   25     23     28     47     0     0   1.721D-04   1.083D-09"),
    ("iprint1", "At iterate   23    f=  1.08349D-09    |proj g|=  1.72052D-04"),
    ("iprint99", "---------------- CAUCHY entered-------------------"),
    ("iprint100", " Variable             1   is fixed."),
    ("iprint101", " G =  3.4003D+02 -4.8317D+01  3.3383D+02 -4.8317D+01  3.3383D+02"),
    ("iterate.dat", "   it   nf  nseg  nact  sub  itls  stepl    tstep     projg        f"),
    ("r-trace1", "iter   10 value 0.003860"),
    ("r-trace4", "Iteration    22"),
    ("r-trace6", "X0 = 3 3 3"),
    ("trials", "   1 end     converged: stp= 1.160098e-02  4 trial(s)"),
])
def test_show_classic_formats(saved_trace, fmt, expected):
    result = CliRunner().invoke(cli, ["show", str(saved_trace), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert expected in result.stdout


def test_registry_has_every_level():
    for key in ("iprint0", "iprint1", "iprint99", "iprint100", "iprint101", "iterate.dat",
                "trials", *(f"r-trace{k}" for k in range(1, 7))):
        assert callable(RENDERERS[key])
    assert RENDERERS["iterate.dat"] is RENDERERS["table"]
    assert np.isclose(render.EPSMCH, 2.220446049250313e-16)

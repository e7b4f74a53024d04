"""``lbfgsb-py explain TRACE --fun MODULE:FUNCTION [--jac ... | --jac-true]`` and the
``rounded_rosenbrock`` demo (the third story of docs/debugging-line-search.md)."""
import pytest
from click.testing import CliRunner

from lbfgsb_py import Tracer, builtin_problems
from lbfgsb_py.cli import cli

FUN = "lbfgsb_py.builtin_problems:rounded_rosenbrock"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def causes(output):
    """The cause codes in explain's text, in order ("1. code: meaning")."""
    return [line.split(". ", 1)[1].split(":")[0] for line in output.splitlines()
            if line[:1].isdigit() and ". " in line]


def first_cause(output):
    return causes(output)[0]


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """The rounded Rosenbrock run saved at level 'full' and at level 'iteration'."""
    prob, out = builtin_problems.get("rounded_rosenbrock"), {}
    for level in ("full", "iteration"):
        out[level] = tmp_path_factory.mktemp(level) / "rr.jsonl"
        prob.solve(trace=Tracer(level=level, jsonl=str(out[level])), backend="reference")
    return out


def test_explain_with_fun_measures_the_resolution(traces):
    result = invoke("explain", traces["full"], "--fun", FUN, "--jac-true")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ABNORMAL after ")
    assert first_cause(result.stdout) == "noise_floor"
    assert "wrong_gradient" not in causes(result.stdout)
    assert "check resolution: resolution=" in result.stdout
    assert "n_mismatch=0" in result.stdout


def test_explain_trace_only_sees_the_flat_trials(traces):
    result = invoke("explain", traces["iteration"])
    assert result.exit_code == 0, result.output
    assert first_cause(result.stdout) == "noise_floor"
    assert "flat_trials=" in result.stdout and "\ncheck " not in result.stdout


def test_demo_rounded_rosenbrock_is_abnormal_with_noise_floor():
    result = invoke("demo", "rounded_rosenbrock")
    assert result.exit_code == 0, result.output
    assert "message: ABNORMAL" in result.stdout
    assert first_cause(result.stdout) == "noise_floor"


@pytest.mark.parametrize("args, fragment", [
    (["--jac-true"], "--jac and --jac-true need --fun"),
    (["--fun", FUN, "--jac", FUN, "--jac-true"], "either --jac MODULE:FUNCTION or --jac-true"),
    (["--fun", "nosuchmodule_xyz:f"], "cannot import module 'nosuchmodule_xyz'"),
])
def test_explain_option_errors(traces, args, fragment):
    result = invoke("explain", traces["full"], *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and fragment in result.stderr


def test_explain_fun_needs_a_full_trace(traces):
    result = invoke("explain", traces["iteration"], "--fun", FUN, "--jac-true")
    assert result.exit_code == 2
    assert "level 'full'" in result.stderr and len(result.stderr.splitlines()) == 1

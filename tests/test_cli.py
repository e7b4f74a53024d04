"""The ``lbfgsb-py`` command line: demo, run, show, explain, plot, and its errors."""
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from lbfgsb_py import builtin_problems
from lbfgsb_py.cli import cli
from lbfgsb_py.trace import Trace

HEADER = "   it   nf  nseg  nact  sub  itls  stepl    tstep     projg        f"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

USER_MODULE = """
import numpy as np

def f(x):
    return float(np.sum((x - 3.0) ** 2))

def g(x):
    return 2.0 * (x - 3.0)

def fg(x):
    return f(x), g(x)

not_callable = 3
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def full_trace(tmp_path_factory):
    """A saved level-'full' trace of the rosenbrock demo."""
    path = tmp_path_factory.mktemp("trace") / "rosen.jsonl"
    result = invoke("demo", "rosenbrock", "--full", "--trace-file", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module ``userobj`` in the working directory; sys.path/modules restored after."""
    (tmp_path / "userobj.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "userobj", raising=False)
    yield tmp_path
    sys.modules.pop("userobj", None)


# ----------------------------------------------------------------------- demo
def test_demo_default_prints_table_message_and_explanation():
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("rosenbrock: ")
    assert HEADER in out
    assert "    0    1     -     -   -     -     -        -     3.900D+00  8.482D+02" in out
    assert "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL" in out
    assert "message: CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL" in out
    assert out.index("message:") < len(out) - 20       # something (the explanation) follows


def test_demo_list_names_every_problem():
    result = invoke("demo", "--list")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == builtin_problems.names()


def test_demo_wrong_gradient_sign_is_abnormal():
    result = invoke("demo", "wrong_gradient_sign")
    assert result.exit_code == 0, result.output
    assert "ABNORMAL_TERMINATION_IN_LNSRCH" in result.stdout
    assert "message: ABNORMAL" in result.stdout
    assert " Line search cannot locate an adequate point after 20 function" in result.stdout


def test_demo_wrong_gradient_seed_converges_to_the_wrong_point():
    """Seed 000's off-by-one gradient does not fail: it 'converges' at [0.5, 0]."""
    result = invoke("demo", "wrong_gradient")
    assert result.exit_code == 0, result.output
    assert "message: CONVERGENCE" in result.stdout
    assert "at x = [0.5" in result.stdout


def test_demo_image784_stops_at_iteration_zero():
    result = invoke("demo", "image784")
    assert result.exit_code == 0, result.output
    assert "    0    1     -     -   -     -     -        -     0.000D+00" in result.stdout
    assert "iterations 0," in result.stdout


def test_demo_trace_file_is_full(full_trace):
    trace = Trace.load(full_trace)
    assert trace.of_kind("cauchy_breakpoint") and trace.of_kind("termination")


def test_python_dash_m_smoke():
    proc = subprocess.run([sys.executable, "-m", "lbfgsb_py", "demo", "bounded_quadratic"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert HEADER in proc.stdout and proc.stderr == ""


# ------------------------------------------------------------------------ run
def test_run_user_module_with_bounds(user_module):
    result = invoke("run", "userobj:f", "-1.5", "0", "--jac", "userobj:g",
                    "--bounds", "-2:2", "--trace-file", "t.jsonl")
    assert result.exit_code == 0, result.output
    assert "   N    Tit     Tnf  Tnint  Skip  Nact     Projg        F" in result.stdout
    assert "at x = [2, 2]" in result.stdout
    trace = Trace.load(user_module / "t.jsonl")
    assert trace.of_kind("termination")[0].n_active == 2


def test_run_x0_file_and_jac_true(user_module):
    np.save(user_module / "x0.npy", np.zeros(4))
    result = invoke("run", "userobj:fg", "--x0-file", "x0.npy", "--jac-true", "--level", "full",
                    "--bounds", ":1", "--bounds", "0:", "--bounds", "-inf:inf", "--bounds",
                    "none:2.5", "--trace-file", "t.jsonl", "--maxiter", "50")
    assert result.exit_code == 0, result.output
    assert "at x = [1, 3, 3, 2.5]" in result.stdout
    assert Trace.load(user_module / "t.jsonl").of_kind("line_search_start")[0].x.size == 4


def test_run_file_path_and_progress(user_module):
    result = invoke("run", "userobj.py:f", "1", "--progress", "--trace-file", "t.jsonl")
    assert result.exit_code == 0, result.output
    assert "it " in result.stderr and "projg" in result.stderr


# ------------------------------------------------------------- show / explain
@pytest.mark.parametrize("fmt, expected", [
    ("table", HEADER), ("summary", "   N    Tit     Tnf  Tnint  Skip  Nact     Projg        F"),
    ("events", "line_search_trial  trial=1")])
def test_show_formats(full_trace, fmt, expected):
    result = invoke("show", full_trace, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert expected in result.stdout


def test_show_events_filtered(full_trace):
    result = invoke("show", full_trace, "--format", "events", "--kind", "line_search_trial",
                    "--kind", "line_search_end", "--iteration", "1")
    lines = result.stdout.splitlines()
    assert [line.split()[4] for line in lines] == \
        ["line_search_trial", "line_search_trial", "line_search_end"]


def test_show_truncated_trace_warns(full_trace, tmp_path):
    cut = tmp_path / "cut.jsonl"
    cut.write_text(full_trace.read_text()[:-40])
    result = invoke("show", cut)
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: ") and HEADER in result.stdout


def test_explain_trace(full_trace):
    pytest.importorskip("lbfgsb_py.explain")
    result = invoke("explain", full_trace)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


# ----------------------------------------------------------------------- plot
@pytest.mark.parametrize("kind", ["convergence", "line-search", "cauchy"])
def test_plot_writes_png(full_trace, tmp_path, kind):
    pytest.importorskip("matplotlib")
    out = tmp_path / f"{kind}.png"
    result = invoke("plot", full_trace, "--kind", kind, "--iteration", "1", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG_MAGIC)


# --------------------------------------------------------------------- errors
def test_error_unknown_problem():
    assert_one_line_error(invoke("demo", "nope"), "unknown problem 'nope'", "rosenbrock")


def test_error_missing_trace_file(tmp_path):
    assert_one_line_error(invoke("show", tmp_path / "missing.jsonl"), "does not exist")


def test_error_malformed_trace(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "run_start"}\nnot json\n{}\n')
    assert_one_line_error(invoke("show", bad), "not a readable lbfgsb_py trace")
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"kind": "teleport", "iteration": 0}\n')
    assert_one_line_error(invoke("explain", unknown), "not a readable lbfgsb_py trace")


@pytest.mark.parametrize("spec, fragment", [
    ("nosuchmodule_xyz:f", "cannot import module 'nosuchmodule_xyz'"),
    ("userobj:missing", "has no attribute 'missing'"),
    ("userobj:not_callable", "not a function"),
    ("userobj", "not of the form module:function"),
    ("missing.py:f", "no such file"),
])
def test_error_bad_module_path(user_module, spec, fragment):
    assert_one_line_error(invoke("run", spec, "1"), fragment)


@pytest.mark.parametrize("args, fragment", [
    (["--bounds", "0-1"], "not of the form LO:HI"),
    (["--bounds", "a:b"], "must be numbers"),
    (["--bounds", "0:1", "--bounds", "0:1", "--bounds", "0:1"], "3 times for 2 variables"),
    (["--jac-true", "--jac", "userobj:g"], "not both"),
])
def test_error_bad_run_options(user_module, args, fragment):
    assert_one_line_error(invoke("run", "userobj:f", "1", "2", *args), fragment)


def test_error_x0_twice_or_never(user_module):
    assert_one_line_error(invoke("run", "userobj:f"), "either as X0 values or with --x0-file")


def test_error_objective_raises(user_module):
    (user_module / "broken.py").write_text("def f(x):\n    raise RuntimeError('boom')\n")
    assert_one_line_error(invoke("run", "broken.py:f", "1"), "RuntimeError: boom")


def test_error_cauchy_plot_needs_full_level(tmp_path):
    path = tmp_path / "it.jsonl"
    assert invoke("demo", "bounded_quadratic", "--trace-file", path).exit_code == 0
    assert_one_line_error(invoke("plot", path, "--kind", "cauchy", "-o", tmp_path / "c.png"),
                          "level 'full'")


def test_error_usage_is_one_line():
    assert_one_line_error(invoke("show"), "Missing argument")
    assert_one_line_error(invoke("frobnicate"), "No such command")


def test_help_exits_zero():
    result = invoke("--help")
    assert result.exit_code == 0 and "demo" in result.stdout
    assert invoke().exit_code == 0


def test_replay_walks_a_trace(tmp_path):
    from click.testing import CliRunner

    from lbfgsb_py.cli import cli
    path = tmp_path / "t.jsonl"
    CliRunner().invoke(cli, ["demo", "--trace-file", str(path)])
    out = CliRunner().invoke(cli, ["replay", str(path), "--keys", "N N P p g 3 x q"])
    assert out.exit_code == 0
    lines = [ln for ln in out.output.splitlines() if ln.startswith("[")]
    assert lines[0].startswith("[0/") and "run_start" in lines[0]
    assert "iteration_start" in lines[1] and "iteration_start" in lines[2]
    assert lines[3] == lines[1]                     # P goes back one iteration
    assert lines[5].startswith("[3/")               # g 3
    assert out.output.count("n/p: next/previous event") == 2  # start, and unknown key 'x'
    assert len(lines) == 7


@pytest.mark.parametrize("cached", [True, False])
def test_run_says_when_the_kernels_must_be_compiled(monkeypatch, tmp_path, cached):
    from lbfgsb_py.compiled import _cache, backend
    monkeypatch.setattr(backend, "compiled_here", False)
    monkeypatch.setattr(_cache, "READY", tmp_path / "kernels.ready")
    monkeypatch.setattr(_cache, "LOCK", tmp_path / "compile.lock")
    if cached:
        _cache.mark_ready()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "objective.py").write_text(USER_MODULE)
    result = invoke("run", "objective:fg", "--jac-true", "--backend", "compiled",
                    "--no-progress", "1", "2")
    assert result.exit_code == 0, result.output
    assert ("compiling the Numba kernels" in result.stderr) is not cached
    assert _cache.is_ready() and not _cache.LOCK.exists()


def test_demo_starts_on_the_reference_when_nothing_is_compiled(monkeypatch):
    from lbfgsb_py import backends
    monkeypatch.setattr(backends, "compiled_ready", lambda: False)
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    assert "compiling" not in result.stderr


def test_kernels_cached_once_a_compiled_solve_has_run():
    code = ("import numpy as np, lbfgsb_py; "
            "lbfgsb_py.minimize(lambda x: (x @ x, 2 * x), np.ones(2), jac=True, "
            "backend='compiled')")
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run([sys.executable, "-c", "from lbfgsb_py import backends; "
                          "print(backends.compiled_ready())"], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "True"


def test_replay_takes_an_argument_on_the_same_line_and_jumps_by_kind(tmp_path):
    from click.testing import CliRunner

    from lbfgsb_py.cli import cli
    path = tmp_path / "t.jsonl"
    CliRunner().invoke(cli, ["demo", "--trace-file", str(path)])
    typed = "g 12\nk line_search_trial\nk line_search_trial\nK iteration_start\nk trial\nq\n"
    out = CliRunner().invoke(cli, ["replay", str(path)], input=typed)
    assert out.exit_code == 0, out.output
    lines = [ln for ln in out.output.splitlines() if ln.startswith("[")]
    assert lines[1].startswith("[12/")                      # g 12 on one line
    assert "line_search_trial" in lines[2] and "line_search_trial" in lines[3]
    assert int(lines[3][1:].split("/")[0]) > int(lines[2][1:].split("/")[0])
    assert "iteration_start" in lines[4]
    assert "unknown event kind 'trial'" in out.output and lines[5] == lines[4]

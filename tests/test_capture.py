"""lbfgsb_py.capture(): SciPy's L-BFGS-B calls solved and traced here, SciPy left as found."""
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize as so
from click.testing import CliRunner
from scipy.optimize import basinhopping, dual_annealing, rosen, rosen_der

import lbfgsb_py
from lbfgsb_py import api, capture
from lbfgsb_py.capture import SOLVER, CaptureError, parse_python
from lbfgsb_py.cli import cli
from lbfgsb_py.trace import Trace

from conftest import common_prefix

SCIPY_SOLVER = so._lbfgsb_py._minimize_lbfgsb
LOOKED_UP_IN = (so._minimize, so._lbfgsb_py)


def scipy_is_restored():
    return all(getattr(module, SOLVER) is SCIPY_SOLVER for module in LOOKED_UP_IN)


def here():
    """``module:function:line`` of the line after the caller's."""
    frame = sys._getframe(1)
    return f"{__name__}:{frame.f_code.co_name}:{frame.f_lineno + 1}"


def wrong_sign_gradient(x):
    return -2.0 * np.asarray(x)


def sphere(x):
    return float(np.sum(np.asarray(x) ** 2))


# ----------------------------------------------------------------- what is captured
@pytest.mark.parametrize("spelling", ["L-BFGS-B", "l-bfgs-b", "L-bfgs-B", None])
def test_minimize_any_spelling_is_solved_here_with_scipys_arguments(spelling):
    bounds = [(-2.0, 0.9)] * 4
    with capture() as runs:
        where = here()
        res = so.minimize(rosen, np.zeros(4), jac=rosen_der, bounds=bounds, method=spelling,
                          options={"maxcor": 5})
    ours = lbfgsb_py.minimize(rosen, np.zeros(4), jac=rosen_der, bounds=bounds, maxcor=5)
    assert scipy_is_restored()
    [run] = runs
    assert run.result is res and run.entry == "minimize" and run.caller == where
    assert run.filename == __file__ and run.trace is res.trace and len(run.trace)
    assert run.options == {"maxcor": 5} and run.arguments["jac"] is rosen_der
    np.testing.assert_array_equal(res.x, ours.x)
    assert (res.nit, res.nfev, res.message) == (ours.nit, ours.nfev, ours.message)


def test_fmin_l_bfgs_b_is_solved_here_and_returns_scipys_tuple():
    with capture() as runs:
        where = here()
        x, f, d = so.fmin_l_bfgs_b(rosen, np.zeros(3), approx_grad=True, m=4, factr=1e10)
    ours = lbfgsb_py.fmin_l_bfgs_b(rosen, np.zeros(3), approx_grad=True, m=4, factr=1e10)
    [run] = runs
    assert run.entry == "fmin_l_bfgs_b" and run.caller == where
    assert run.options["maxcor"] == 4 and run.options["ftol"] == 1e10 * np.finfo(float).eps
    assert "iprint" not in run.options                   # left unset by the caller
    np.testing.assert_array_equal(x, ours[0])
    assert (f, d["nit"], d["funcalls"], d["task"]) == (ours[1], ours[2]["nit"],
                                                      ours[2]["funcalls"], ours[2]["task"])


def test_other_methods_and_calls_after_the_block_are_scipys():
    with capture() as runs:
        so.minimize(rosen, np.zeros(3), method="BFGS")
    after = so.minimize(rosen, np.zeros(3), method="L-BFGS-B")
    assert runs.seen == 0 and len(runs) == 0 and "trace" not in after
    assert runs.summary() == "no SciPy L-BFGS-B call was made\n"


def test_arguments_are_kept_as_given():
    x0 = np.array([1.0, -1.0])
    with capture() as runs:
        so.minimize(sphere, x0, method="L-BFGS-B", args=(), options={"gtol": 1e-9})
        x0[:] = 5.0                      # the caller reuses its array
    [run] = runs
    np.testing.assert_array_equal(run.arguments["x0"], [1.0, -1.0])
    assert run.arguments["fun"] is sphere and run.options == {"gtol": 1e-9} and run.n == 2


# ------------------------------------------------------------- SciPy's own optimizers
def bumpy(x):
    return float(np.cos(14.5 * x[0] - 0.3) + (x[1] + 0.2) * x[1] + (x[0] + 0.2) * x[0])


def bumpy_grad(x):
    return np.array([-14.5 * np.sin(14.5 * x[0] - 0.3) + 2.0 * x[0] + 0.2, 2.0 * x[1] + 0.2])


def assert_same_optimum(a, b):
    """Equal to the tolerance of validation/REPORT.md (every point to 1e-8)."""
    assert common_prefix([np.atleast_1d(a.x)], [np.atleast_1d(b.x)]) == 1, (a.x, b.x)
    assert abs(a.fun - b.fun) <= 1e-8 * max(1.0, abs(a.fun))


def test_basinhopping_every_local_solve_is_captured():
    def options():
        return dict(niter=12, rng=np.random.default_rng(5),
                    minimizer_kwargs={"method": "L-BFGS-B", "jac": bumpy_grad})
    plain = basinhopping(bumpy, [1.0, 1.0], **options())
    with capture() as runs:
        where = here()
        captured = basinhopping(bumpy, [1.0, 1.0], **options())
    assert len(runs) == runs.seen == 12 + 1         # the first local solve, one per hop
    assert {run.caller for run in runs} == {where}
    assert all(run.entry == "minimize" and run.arguments["jac"] is bumpy_grad for run in runs)
    assert captured.lowest_optimization_result.fun == min(run.result.fun for run in runs)
    assert_same_optimum(plain, captured)
    assert scipy_is_restored()


def rastrigin(x):
    return float(np.sum(x ** 2 - 10.0 * np.cos(2.0 * np.pi * x)) + 10.0 * x.size)


def test_dual_annealing_every_local_search_is_captured(monkeypatch):
    starts = []

    def counted(fun, x0, *args, **kwargs):             # SciPy's solver, counting its calls
        starts.append(np.array(x0, copy=True))
        return SCIPY_SOLVER(fun, x0, *args, **kwargs)
    bounds = [(-5.0, 5.0)] * 3
    with monkeypatch.context() as patch:
        patch.setattr(so._minimize, SOLVER, counted)
        plain = dual_annealing(rastrigin, bounds, maxiter=100, rng=np.random.default_rng(3))
    with capture() as runs:
        where = here()
        captured = dual_annealing(rastrigin, bounds, maxiter=100, rng=np.random.default_rng(3))
    assert len(runs) == len(starts) >= 2
    assert {run.caller for run in runs} == {where}
    # the first search starts where the annealing's random walk led (no solve before it);
    # the later ones start from earlier solves' x, equal to round-off (validation/REPORT.md)
    np.testing.assert_array_equal(runs[0].arguments["x0"], starts[0])
    assert_same_optimum(plain, captured)


# ------------------------------------------------------------- no trace of itself
@pytest.mark.parametrize("error", [ValueError("in the block"), KeyboardInterrupt()])
def test_an_exception_in_the_block_restores_scipy(error):
    with pytest.raises(type(error)):
        with capture() as runs:
            so.minimize(sphere, np.ones(2), method="L-BFGS-B")
            assert not scipy_is_restored()
            raise error
    assert scipy_is_restored() and len(runs) == 1


def test_a_run_that_raises_is_recorded_and_the_error_reaches_the_caller():
    def broken(x):
        if np.any(x < 0.5):
            raise ArithmeticError("objective failed")
        return sphere(x)
    with capture() as runs:
        with pytest.raises(ArithmeticError, match="objective failed"):
            so.minimize(broken, np.ones(2), method="L-BFGS-B")
    [run] = runs
    assert run.result is None and isinstance(run.error, ArithmeticError)
    assert run.trace.of_kind("run_start") and not run.converged and run.cause is None
    assert run.message == "raised ArithmeticError: objective failed"
    assert scipy_is_restored()


def test_nested_captures_both_record_and_the_outer_keeps_capturing():
    with capture(level="iteration") as outer:
        with capture(level="full") as inner:
            so.minimize(sphere, np.ones(2), method="L-BFGS-B")
        so.minimize(sphere, np.ones(3), method="L-BFGS-B")
        assert not scipy_is_restored()
    assert scipy_is_restored()
    assert [run.n for run in outer] == [2, 3] and [run.n for run in inner] == [2]
    assert outer[0].result is inner[0].result
    assert inner[0].trace.of_kind("cauchy_breakpoint")     # solved at the deepest level
    assert not outer[1].trace.of_kind("cauchy_breakpoint")


def test_captures_in_two_threads_keep_their_own_runs_and_others_get_scipy():
    barrier, found, errors = threading.Barrier(3), {}, []

    def work(n, capturing):
        try:
            if not capturing:
                barrier.wait()
                found[n] = so.minimize(sphere, np.ones(n), method="L-BFGS-B")
                return
            with capture() as runs:
                barrier.wait()                  # all three are inside SciPy's minimize
                for _ in range(3):
                    so.minimize(sphere, np.ones(n), method="L-BFGS-B")
            found[n] = runs
        except BaseException as exc:            # noqa: BLE001 - reported by the test
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(n, n != 4)) for n in (2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and scipy_is_restored()
    assert [run.n for run in found[2]] == [2] * 3 and [run.n for run in found[3]] == [3] * 3
    assert "trace" not in found[4] and found[4].success     # SciPy's own solver


def test_a_capture_cannot_be_entered_twice_at_once():
    cap = capture()
    with cap:
        with pytest.raises(RuntimeError, match="already active"):
            cap.__enter__()
    assert scipy_is_restored()


def impostor(fun, x0, args=(), jac=None, bounds=None, **options):
    raise AssertionError("must not be called")


def solver_with_a_new_option(fun, x0, args=(), jac=None, bounds=None, shiny=None):
    raise AssertionError("must not be called")


solver_with_a_new_option.__module__, solver_with_a_new_option.__name__ = (
    "scipy.optimize._lbfgsb_py", SOLVER)


@pytest.mark.parametrize("module, name, value, fragment", [
    (so._minimize, SOLVER, impostor, "not SciPy's own solver"),
    (so._lbfgsb_py, "fmin_l_bfgs_b", len, "no longer calls _minimize_lbfgsb"),
    (so._minimize, SOLVER, solver_with_a_new_option, "cannot pass on: shiny"),
])
def test_unexpected_scipy_internals_are_refused_at_entry(monkeypatch, module, name, value,
                                                          fragment):
    monkeypatch.setattr(module, name, value)
    with pytest.raises(CaptureError, match=fragment) as info:
        with capture():
            raise AssertionError("the block must not run")
    assert "method=lbfgsb_py.scipy_method" in str(info.value)
    assert getattr(module, name) is value                  # nothing was replaced
    monkeypatch.undo()
    with capture() as runs:                                 # and nothing was left behind
        so.minimize(sphere, np.ones(2), method="L-BFGS-B")
    assert len(runs) == 1 and scipy_is_restored()


def test_without_scipy_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize._minimize", None)
    with pytest.raises(CaptureError, match="needs SciPy.*pip install scipy"):
        with capture():
            raise AssertionError("the block must not run")


def test_the_package_imports_without_scipy():
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import lbfgsb_py\n"
            "from lbfgsb_py.capture import CaptureError\n"
            "try:\n    lbfgsb_py.capture().__enter__()\n"
            "except CaptureError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "needs SciPy" in out.stdout and "pip install scipy" in out.stdout


def test_bad_options_name_the_fix():
    with pytest.raises(ValueError, match="level must be one of 'iteration', 'full'"):
        capture(level="everything")
    with pytest.raises(TypeError, match="keep must be a callable"):
        capture(keep="failed")
    with pytest.raises(ValueError, match="max_runs must be None or an integer"):
        capture(max_runs=-1)
    with pytest.raises(ValueError, match="backend must be one of"):
        capture(backend="fortran")


def test_the_backend_is_the_users_choice(monkeypatch):
    chosen = []
    real = api.minimize

    def spy(*args, **kwargs):
        chosen.append(kwargs["backend"])
        return real(*args, **kwargs)
    monkeypatch.setattr(api, "minimize", spy)
    for backend in ("reference", "auto"):
        with capture(backend=backend):
            so.minimize(sphere, np.ones(2), method="L-BFGS-B")
    assert chosen == ["reference", "auto"]


# ------------------------------------------------------------ keeping and writing
def test_keep_max_runs_and_the_trace_folder(tmp_path):
    out = tmp_path / "traces"
    with capture(out=out, keep=lambda run: run.n != 3, max_runs=2) as runs:
        for n in (2, 3, 4, 5):
            so.minimize(sphere, np.ones(n), method="L-BFGS-B")
    assert [run.number for run in runs] == [1, 3] and runs.seen == 4
    assert sorted(p.name for p in out.iterdir()) == ["index.jsonl", "run-0001.jsonl",
                                                     "run-0003.jsonl"]
    for run in runs:
        assert run.path == out / f"run-{run.number:04d}.jsonl"
        assert [e.to_dict() for e in Trace.load(run.path)] == [e.to_dict() for e in run.trace]
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert index == [dict(run.row(), file=run.path.name) for run in runs]
    assert runs.summary().splitlines()[-1] == "2 runs captured, 0 did not converge; 2 more not kept"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        with capture(out=out):
            raise AssertionError("the block must not run")
    with capture(out=out, overwrite=True) as runs:
        pass
    assert list(out.iterdir()) == [] and scipy_is_restored()


LIBRARY = '''
import numpy as np
from scipy.optimize import minimize


def fit(data, buggy):
    """A model fit as a library would write it."""
    def loss(w):
        return float(np.sum((w - data) ** 2))

    def grad(w):
        g = 2.0 * (w - data)
        return -g if buggy else g
    return minimize(loss, np.zeros(data.size), jac=grad, method="L-BFGS-B").x
'''


def test_an_abnormal_run_inside_a_library_is_found_by_the_summary(tmp_path, monkeypatch):
    (tmp_path / "modellib.py").write_text(LIBRARY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import modellib
    line = LIBRARY.splitlines().index(next(s for s in LIBRARY.splitlines()
                                           if "minimize(loss" in s)) + 1
    with capture(keep=lambda run: not run.converged) as runs:
        for buggy in (False, True, False):
            modellib.fit(np.arange(1.0, 4.0), buggy)
    [run] = runs
    assert run.number == 2 and run.caller == f"modellib:fit:{line}"
    assert run.result.message.startswith("ABNORMAL") and run.cause == "wrong_gradient"
    row = runs.summary().splitlines()[1].split()
    assert row[:2] == ["2", run.caller] and row[-1] == "wrong_gradient"


# --------------------------------------------------------------------- the command line
SCRIPT = '''
import os
import sys
import numpy as np
from scipy.optimize import fmin_l_bfgs_b, minimize

print("args", sys.argv[1:])
os.chdir("..")                                  # the traces still go where they were asked
minimize(lambda x: float(np.sum(x ** 2)), np.ones(2), method="L-BFGS-B")
fmin_l_bfgs_b(lambda x: float(np.sum(x ** 2)), np.ones(3), fprime=lambda x: -2 * x)
sys.exit(int(sys.argv[1]))
'''


def test_cli_captures_a_script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fit.py").write_text(SCRIPT)
    out = CliRunner().invoke(cli, ["capture", "--level", "full", "--", "python", "fit.py",
                                   "3", "--flag"])
    assert out.exit_code == 3, out.output
    assert out.stdout == "args ['3', '--flag']\n"          # the script's output, untouched
    header, first, second, counts, hint = out.stderr.splitlines()
    assert header.split() == ["run", "caller", "n", "nit", "nfev", "message", "cause"]
    line = {word: SCRIPT.splitlines().index(next(s for s in SCRIPT.splitlines()
                                                 if s.startswith(word))) + 1
            for word in ("minimize(", "fmin_l_bfgs_b(")}
    assert first.split()[:3] == ["1", f"fit.py:<module>:{line['minimize(']}", "2"]
    assert second.split()[:3] == ["2", f"fit.py:<module>:{line['fmin_l_bfgs_b(']}", "3"]
    assert second.split()[-1] == "wrong_gradient" and "ABNORMAL" in second
    assert counts == "2 runs captured, 1 did not converge"
    run_2 = tmp_path / "lbfgsb-capture" / "run-0002.jsonl"
    assert hint.endswith(f"lbfgsb-py explain {run_2.relative_to(tmp_path)}")
    assert Trace.load(run_2).of_kind("cauchy_breakpoint")     # --level full
    explained = CliRunner().invoke(cli, ["explain", str(run_2)])
    assert explained.exit_code == 0 and "wrong_gradient" in explained.stdout
    assert Path.cwd() == tmp_path and scipy_is_restored()


def test_cli_python_dash_m_and_its_errors(tmp_path):
    (tmp_path / "tiny.py").write_text("import numpy as np, scipy.optimize as so\n"
                                      "so.minimize(lambda x: float(x @ x), np.ones(2), "
                                      "bounds=[(0.5, 2)] * 2)\n")
    proc = subprocess.run([sys.executable, "-m", "lbfgsb_py", "capture", "--out", "t", "--",
                           "python", "-m", "tiny"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[1].split()[:3] == ["1", "tiny.py:<module>:2", "2"]
    assert (tmp_path / "t" / "run-0001.jsonl").is_file()
    bad = CliRunner().invoke(cli, ["capture", "--", "bash", "fit.sh"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: capture runs Python code")
    missing = CliRunner().invoke(cli, ["capture", "--", "python", "missing.py"])
    assert missing.exit_code == 2 and missing.stderr == "error: missing.py: no such script\n"


@pytest.mark.parametrize("command, parsed", [
    (["python", "s.py", "-x"], ("script", "s.py", ["-x"])),
    (["s.py"], ("script", "s.py", [])),
    (["python3.11", "-m", "pkg.mod", "a"], ("-m", "pkg.mod", ["a"])),
    (["/usr/bin/python", "-c", "print(1)", "a"], ("-c", "print(1)", ["a"])),
])
def test_parse_python(tmp_path, monkeypatch, command, parsed):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.py").write_text("")
    assert parse_python(command) == parsed


@pytest.mark.parametrize("command, fragment", [
    (["python", "-u", "s.py"], "options other than -m and -c"),
    (["python", "-m"], "needs an argument"),
    (["python"], "give the script to run"),
    (["node", "s.js"], "capture runs Python code"),
])
def test_parse_python_refuses_with_the_fix(command, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_python(command)


# --------------------------------------------------------------------- the guide
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "capture.md"


def guide_blocks():
    """The guide's files, its console sessions (command, output lines) and its Python
    example with the output shown after it."""
    text = GUIDE.read_text()
    files = dict(re.findall(r"`(\w+\.py)`:\n\n```python\n(.*?)```", text, re.S))
    block = r"((?:(?!```).)*)```"                 # a fenced block's text
    example, shown = re.search(rf"```python\n{block}\n\n```console\n{block}", text,
                               re.S).groups()
    sessions = []
    for block in re.findall(r"```console\n(\$ .*?)```", text, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *lines = chunk.rstrip("\n").split("\n")
            sessions.append((command.split(), lines))
    return files, sessions, example, shown.rstrip("\n").split("\n")


def same_text(shown, real):
    """The guide's lines against real output ('...' stands for any lines)."""
    pattern = "\n".join(".*?" if line == "..." else re.escape(line) for line in shown)
    return re.fullmatch(pattern, "\n".join(line.rstrip() for line in real), re.S)


def test_the_guide_shows_real_output(tmp_path, monkeypatch, capsys):
    files, sessions, example, shown = guide_blocks()
    assert set(files) == {"glm.py", "fit_path.py"} and len(sessions) == 3
    for name, code in files.items():
        (tmp_path / name).write_text(code)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "glm", raising=False)
    for command, lines in sessions:
        assert command[0] == "lbfgsb-py"
        out = CliRunner().invoke(cli, command[1:])
        assert out.exit_code == 0, out.output
        assert same_text(lines, out.output.splitlines()), (command, out.output)
    exec(compile(example, str(GUIDE), "exec"), {"__name__": "guide"})
    assert same_text(shown, capsys.readouterr().out.splitlines())
    monkeypatch.delitem(sys.modules, "glm")

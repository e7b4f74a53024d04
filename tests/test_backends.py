"""Choosing a backend, starting without Numba, and compiling the compiled one."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

import lbfgsb_py
from lbfgsb_py import backends
from lbfgsb_py.cli import cli
from lbfgsb_py.compiled import _cache


@pytest.mark.parametrize("ready, n, expected", [(True, 5, "compiled"), (False, 5, "reference"),
                                                (False, backends.AUTO_COMPILED_MIN_N,
                                                 "compiled")])
def test_auto_takes_compiled_code_when_ready_or_the_problem_is_large(monkeypatch, ready, n,
                                                                     expected):
    monkeypatch.setattr(backends, "compiled_ready", lambda: ready)
    assert backends.resolve("auto", n) == expected
    assert backends.resolve("reference", 10 ** 7) == "reference"
    assert backends.resolve("compiled", 1) == "compiled"


def test_the_environment_can_choose_for_auto(monkeypatch):
    monkeypatch.setenv(backends.CHOICE, "reference")
    assert backends.resolve("auto", 10 ** 7) == "reference"
    assert backends.resolve("compiled", 5) == "compiled"
    monkeypatch.setenv(backends.CHOICE, "fast")
    with pytest.raises(ValueError, match="LBFGSB_PY_BACKEND must be 'reference' or "
                                         "'compiled', got 'fast'"):
        backends.resolve("auto", 5)


def test_an_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'reference', "
                                         "'compiled', got 'numba'"):
        lbfgsb_py.minimize(lambda x: float(x @ x), np.ones(2), backend="numba")


def test_import_and_a_reference_solve_do_not_import_numba():
    code = ("import sys, numpy as np, lbfgsb_py; "
            "r = lbfgsb_py.minimize(lambda x: (float(x @ x), 2 * x), np.ones(3), jac=True, "
            "backend='reference'); print(r.success, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.split()
    assert out == ["True", "False"]


@pytest.fixture
def background(monkeypatch, tmp_path):
    """Background compilation switched on, its lock in tmp_path, Popen recorded."""
    started = []
    monkeypatch.delenv(backends.BACKGROUND_COMPILE, raising=False)
    monkeypatch.setattr(_cache, "CACHE", tmp_path)
    monkeypatch.setattr(_cache, "LOCK", tmp_path / "compile.lock")
    monkeypatch.setattr(_cache, "READY", tmp_path / "kernels.ready")
    monkeypatch.setattr(backends, "compiled_ready", lambda: False)
    monkeypatch.setattr(subprocess, "Popen", lambda args, **kw: started.append(args))
    return started


def test_auto_starts_one_background_compilation_at_a_time(background):
    assert backends.resolve("auto", 5) == "reference"
    assert len(background) == 1 and background[0][-3:] == ["compile", "--quiet",
                                                             "--holding-lock"]
    backends.resolve("auto", 5)
    assert len(background) == 1                     # the lock is held
    _cache.release_lock()
    backends.resolve("auto", 5)
    assert len(background) == 2


def test_a_stale_lock_is_taken_over(background):
    _cache.LOCK.write_text("12345")
    old = time.time() - _cache.STALE_LOCK - 1
    os.utime(_cache.LOCK, (old, old))
    backends.resolve("auto", 5)
    assert len(background) == 1


def test_background_compilation_can_be_switched_off(background, monkeypatch):
    monkeypatch.setenv(backends.BACKGROUND_COMPILE, "0")
    assert backends.resolve("auto", 5) == "reference"
    assert background == [] and not _cache.LOCK.exists()


def test_a_failed_start_gives_the_lock_back(background, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no processes left")
    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert backends.resolve("auto", 5) == "reference"       # the solve is not touched
    assert not _cache.LOCK.exists()


def test_compile_command_compiles_every_step_and_gives_the_lock_back(monkeypatch, tmp_path):
    from lbfgsb_py.compiled import backend
    monkeypatch.setattr(_cache, "LOCK", tmp_path / "compile.lock")
    monkeypatch.setattr(_cache, "READY", tmp_path / "kernels.ready")
    monkeypatch.setattr(backend, "compiled_here", False)
    assert _cache.acquire_lock() == _cache.TAKEN
    result = CliRunner().invoke(cli, ["compile", "--holding-lock"])
    assert result.exit_code == 0, result.output
    assert "ready in" in result.output and not _cache.LOCK.exists()
    assert _cache.is_ready() and backends.compiled_ready()
    assert result.stderr.startswith("compiling")


def test_a_compilation_reports_each_step(monkeypatch, tmp_path):
    from lbfgsb_py.compiled import backend
    monkeypatch.setattr(_cache, "LOCK", tmp_path / "compile.lock")
    monkeypatch.setattr(_cache, "READY", tmp_path / "kernels.ready")
    monkeypatch.setattr(backend, "compiled_here", False)
    heard = []
    backend.ensure_compiled(heard.append)
    assert heard == [label for label, _ in backend.STEPS]
    assert _cache.is_ready() and not _cache.LOCK.exists()


def test_a_compilation_waits_for_the_one_another_process_holds(monkeypatch, tmp_path):
    """While the lock is held the compiled backend waits (and says so), then loads."""
    import threading

    from lbfgsb_py.compiled import backend
    monkeypatch.setattr(_cache, "LOCK", tmp_path / "compile.lock")
    monkeypatch.setattr(_cache, "READY", tmp_path / "kernels.ready")
    monkeypatch.setattr(backend, "compiled_here", False)
    assert _cache.acquire_lock() == _cache.TAKEN          # "another process"
    heard = []
    waiter = threading.Thread(target=backend.ensure_compiled, args=(heard.append,))
    waiter.start()
    time.sleep(1.5)
    assert waiter.is_alive() and heard == ["waiting for another process that compiles them"]
    _cache.mark_ready()
    _cache.release_lock()
    waiter.join(10)
    assert not waiter.is_alive() and backend.compiled_here
    assert heard == ["waiting for another process that compiles them"]   # it only loaded

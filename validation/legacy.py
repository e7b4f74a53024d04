"""Run the last Fortran-based SciPy (1.14.1) on the problem collection.

SciPy 1.14 cannot be imported next to the installed SciPy, so :func:`ensure_env`
builds a separate virtual environment (``<repo>/.venv-scipy114``, created once and
marked ready by a marker file) and :func:`run_fortran` runs
``validation/legacy_worker.py`` there as a subprocess.  The worker rebuilds the
problems from ``validation/problems.py`` (NumPy only), records every point passed
to ``fun`` and writes an ``.npz`` file (arrays plus a JSON string; no pickle).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ENV = REPO / ".venv-scipy114"
WORKER = Path(__file__).with_name("legacy_worker.py")
#: SciPy 1.14.1 supports NumPy < 2.3; 2.0.2 has cp311 wheels and is the newest
#: NumPy released before SciPy 1.14.1.
REQUIREMENTS = ("scipy==1.14.1", "numpy==2.0.2")
MARKER = ".lbfgsb-py-ready"


class LegacyError(RuntimeError):
    """The legacy environment could not be built or the worker failed."""


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_env(path: str | Path = DEFAULT_ENV) -> Path:
    """Create the SciPy 1.14.1 virtual environment at ``path`` if needed; return its python.

    Idempotent: a marker file holding the requirements says the environment is complete,
    so an interrupted or failed install is retried on the next call.
    """
    env = Path(path)
    python, marker = _python(env), env / MARKER
    wanted = "\n".join(REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(env)], f"creating the virtual environment {env}")
    _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
          *REQUIREMENTS],
         f"installing {' '.join(REQUIREMENTS)} into {env} (this needs access to PyPI)")
    marker.write_text(wanted)
    return python


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        raise LegacyError(f"{what} failed: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise LegacyError(f"{what} failed (exit code {proc.returncode}):\n{tail}")
    return proc


def run_fortran(problem_names, env: str | Path = DEFAULT_ENV) -> dict:
    """Run SciPy 1.14.1 (Fortran L-BFGS-B) on the named problems, in one subprocess.

    Returns ``{name: (points, result)}``: ``points`` the list of arrays passed to ``fun``,
    ``result`` a dict with ``nit, nfev, status, message, fun, x`` and ``versions``
    (``"SciPy 1.14.1, NumPy 2.0.2"``).  A problem that raised in the worker has
    ``status`` None and the exception in ``message``.
    """
    python = ensure_env(env)
    names = list(problem_names)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fortran.npz"
        _run([str(python), "-I", str(WORKER), str(out), *names],
             f"running SciPy 1.14.1 on {len(names)} problems")
        return load_results(out)


def load_results(path: str | Path) -> dict:
    """Read the worker's ``.npz`` file (see :func:`run_fortran`)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        runs = {}
        for i, (name, res) in enumerate(zip(meta["names"], meta["results"])):
            res = dict(res, x=data[f"x{i}"], versions=meta["versions"])
            runs[name] = (list(data[f"points{i}"]), res)
    return runs

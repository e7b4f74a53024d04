"""Capture SciPy's L-BFGS-B where it already runs: ``with lbfgsb_py.capture() as runs:``.

While the block runs, every call that SciPy routes to its own L-BFGS-B —
``scipy.optimize.minimize`` with ``method="L-BFGS-B"`` in any spelling (or no method
and bounds, which SciPy sends there too), and ``scipy.optimize.fmin_l_bfgs_b`` — is
solved by :func:`~lbfgsb_py.scipy_method` with the arguments SciPy hands its solver,
and recorded: result, trace, arguments, options and the caller (the first frame outside
SciPy and lbfgsb_py, as ``module:function:line``).

How: SciPy's ``minimize`` and ``fmin_l_bfgs_b`` both call the module-level function
``_minimize_lbfgsb`` by its global name (``scipy.optimize._minimize`` and
``scipy.optimize._lbfgsb_py``).  While at least one capture is active anywhere in the
process, that name points to this module's stand-in in both modules (global); the
stand-in solves a call only when the calling thread has a capture active (per-thread)
and hands every other call to SciPy's own solver unchanged.  The last capture to exit
puts SciPy's function back, whatever ended the block.

Guide with a real captured example: ``docs/capture.md``.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import json
import os
import re
import runpy
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import backends
from .scipy_compat import MINIMIZE_OPTIONS, _is_no_value, scipy_method
from .trace import LEVELS, JsonlSink, Tracer

#: SciPy's solver: its name, the module that defines it, and where it is looked up by
#: name: module -> the entry point there that calls it.
SOLVER = "_minimize_lbfgsb"
SOLVER_HOME = "scipy.optimize._lbfgsb_py"
ROUTES = {"scipy.optimize._minimize": "minimize",
          "scipy.optimize._lbfgsb_py": "fmin_l_bfgs_b"}
#: The solver's leading parameters, which ``minimize`` passes by position.
POSITIONAL = ("fun", "x0", "args", "jac", "bounds")
#: Every other parameter of SciPy's solver that the capture knows how to pass on.
KNOWN_PARAMETERS = frozenset(MINIMIZE_OPTIONS) | {"callback", "workers"}
#: Packages whose frames are not the caller of a run.
NOT_CALLERS = ("scipy", "lbfgsb_py")
#: Trace levels a capture records at.
CAPTURE_LEVELS = ("iteration", "full")
INDEX = "index.jsonl"
RUN_FILE = "run-{:04d}.jsonl"


class CaptureError(RuntimeError):
    """SciPy is missing, or its internals are not what :func:`capture` expects."""


# ------------------------------------------------------------------- the records
@dataclasses.dataclass
class CapturedRun:
    """One L-BFGS-B call made inside a capture.

    Attributes:
        number: 1 for the capture's first L-BFGS-B call, 2 for the next, ... (calls
            that were not kept still count, so numbers match the trace files).
        entry: ``"minimize"`` or ``"fmin_l_bfgs_b"`` (the SciPy function called).
        caller: ``module:function:line`` of the first frame outside SciPy and
            lbfgsb_py (a script run as ``__main__`` shows its file name).
        filename: the caller's file.
        arguments: ``fun``, ``x0`` (a copy), ``args``, ``jac``, ``bounds``,
            ``callback`` as SciPy handed them to its solver (after its own
            processing: ``jac=True`` split, fixed variables removed, bounds
            standardized, callback wrapped).
        options: the solver options SciPy passed (those it left unset omitted).
        result: what the caller received (a :class:`~lbfgsb_py.Result`), None if the
            run raised.
        error: the exception the run raised (from the objective, the callback, or a
            refused argument), else None.
        trace: the run's :class:`~lbfgsb_py.Trace` (also when it raised).
        path: the JSON Lines trace file (with ``out=``), else None.
        seconds: wall-clock time of the run.
    """

    number: int
    entry: str
    caller: str
    filename: str
    arguments: dict
    options: dict
    result: object = None
    error: BaseException | None = None
    trace: object = None
    path: Path | None = None
    seconds: float = 0.0

    @property
    def n(self):
        """Number of variables SciPy's solver was given."""
        return int(np.size(self.arguments["x0"]))

    @property
    def converged(self):
        """True when the run ended with status 0 (SciPy's ``success``)."""
        return self.result is not None and bool(self.result.success)

    @functools.cached_property
    def diagnosis(self):
        """``lbfgsb_py.explain(result)`` (None for a run that raised)."""
        from .explain import explain
        return None if self.result is None else explain(self.result)

    @property
    def cause(self):
        """explain's primary cause for a run that did not converge, else None."""
        return None if self.converged or self.result is None else self.diagnosis.primary

    @property
    def message(self):
        """The result's message, or what the run raised."""
        if self.result is not None:
            return str(self.result.message)
        return " ".join(f"raised {type(self.error).__name__}: {self.error}".split())

    def row(self):
        """The run as a summary-table row (also the line of ``index.jsonl``)."""
        res = self.result
        return {"run": self.number, "caller": self.caller, "n": self.n,
                "nit": None if res is None else int(res.nit),
                "nfev": None if res is None else int(res.nfev),
                "message": self.message, "cause": self.cause}


class CapturedRuns(Sequence):
    """The runs a capture kept, in call order (a read-only list).

    ``seen`` counts every L-BFGS-B call in the block, kept or not (``keep`` said
    no, or ``max_runs`` was reached).  :meth:`summary` is the table the
    ``lbfgsb-py capture`` command prints.
    """

    def __init__(self):
        self._runs = []
        self.seen = 0

    def __getitem__(self, i):
        return self._runs[i]

    def __len__(self):
        return len(self._runs)

    def __repr__(self):
        return f"<CapturedRuns: {len(self)} kept of {self.seen} L-BFGS-B calls>"

    def summary(self):
        """One line per kept run: run, caller, n, nit, nfev, message, and explain's
        primary cause for runs that did not converge; then the counts."""
        if not self.seen:
            return "no SciPy L-BFGS-B call was made\n"
        rows = [run.row() for run in self._runs]
        lines = _table(rows, SUMMARY_COLUMNS) if rows else []
        not_kept = self.seen - len(self)
        failed = sum(not run.converged for run in self._runs)
        lines.append(f"{len(self)} run{'s' * (len(self) != 1)} captured, {failed} did not "
                     f"converge" + (f"; {not_kept} more not kept" if not_kept else ""))
        return "\n".join(lines) + "\n"

    def hint(self):
        """Where the trace files are and a command to start with ('' without files)."""
        files = [run for run in self._runs if run.path is not None]
        if not files:
            return ""
        first = next((run for run in files if not run.converged), files[0])
        command = "show" if first.converged else "explain"
        return (f"traces in {_shown(first.path.parent)}{os.sep} ({INDEX} lists them); "
                f"start with: lbfgsb-py {command} {_shown(first.path)}\n")


def _shown(path):
    """``path`` relative to the current directory when it is below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


SUMMARY_COLUMNS = ("run", "caller", "n", "nit", "nfev", "message", "cause")
NUMERIC = frozenset({"run", "n", "nit", "nfev"})


def _table(rows, columns):
    """Text table: a header and one line per row (numbers right-aligned, no value '-')."""
    cells = [[("-" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.rjust(w) if c in NUMERIC else v.ljust(w)
                         for c, v, w in zip(columns, values, widths)).rstrip()
    return [line(columns)] + [line(values) for values in cells]


# ------------------------------------------------------------------- the capture
class Capture:
    """The context manager :func:`capture` returns; ``__enter__`` gives the runs."""

    def __init__(self, level="iteration", out=None, keep=None, max_runs=None,
                 backend="auto", overwrite=False):
        if level not in CAPTURE_LEVELS:
            raise ValueError(f"level must be one of {', '.join(map(repr, CAPTURE_LEVELS))}, "
                             f"got {level!r}")
        if keep is not None and not callable(keep):
            raise TypeError(f"keep must be a callable taking a CapturedRun (e.g. "
                            f"lambda run: not run.converged), got {type(keep).__name__}")
        if max_runs is not None and (isinstance(max_runs, bool) or not isinstance(
                max_runs, (int, np.integer)) or max_runs < 0):
            raise ValueError(f"max_runs must be None or an integer >= 0, got {max_runs!r}")
        self.level, self.keep, self.max_runs = level, keep, max_runs
        self.backend = backends.check(backend)
        self.out = None if out is None else Path(out).absolute()   # the code may chdir
        self.overwrite = overwrite
        self.runs = None
        self._thread = None

    def __enter__(self):
        if self._thread is not None:
            raise RuntimeError("this capture is already active; start another one with "
                               "lbfgsb_py.capture()")
        _PATCH.acquire()
        try:
            if self.out is not None:
                _prepare_folder(self.out, self.overwrite)
        except BaseException:
            _PATCH.release()
            raise
        self.runs, self._thread = CapturedRuns(), threading.get_ident()
        _stack().append(self)
        return self.runs

    def __exit__(self, *exc_info):
        try:
            stack = _stack()
            if self in stack:
                stack.remove(self)
        finally:
            self._thread = None
            _PATCH.release()
        return False

    # -- used by the stand-in, in the thread that entered the capture
    def has_room(self):
        return self.max_runs is None or len(self.runs) < self.max_runs

    def take(self, run):
        """Keep ``run`` (a copy numbered for this capture) if ``keep`` accepts it."""
        if self.keep is None or self.keep(run):
            self.runs._runs.append(run)
            if self.out is not None:
                with open(self.out / INDEX, "a") as fh:
                    fh.write(json.dumps(dict(run.row(), file=run.path.name)) + "\n")
        elif run.path is not None:
            run.path.unlink(missing_ok=True)


def capture(level="iteration", out=None, keep=None, max_runs=None, backend="auto",
            overwrite=False):
    """Solve and record every SciPy L-BFGS-B call made in a ``with`` block.

    ``with lbfgsb_py.capture() as runs:`` — inside the block, calls of
    ``scipy.optimize.minimize(method="L-BFGS-B")`` (any spelling, or bounds and no
    method) and ``scipy.optimize.fmin_l_bfgs_b`` made by this thread, also deep inside a
    library, are solved by :func:`~lbfgsb_py.scipy_method` with SciPy's arguments (the
    caller receives what it returns); ``runs`` is a :class:`CapturedRuns` of
    :class:`CapturedRun`.

    Parameters:
        level: trace level, ``"iteration"`` or ``"full"``.
        out: folder (created if needed) to write each kept run's trace to, as
            ``run-0001.jsonl``, ... event by event, plus ``index.jsonl`` (one line per
            kept run: the summary row and the file name).
        keep: a callable taking a :class:`CapturedRun` after it ended, True to keep it
            (e.g. ``lambda run: not run.converged``); the trace file of a run it
            refuses is deleted.
        max_runs: keep at most this many runs; later calls are still solved by
            lbfgsb_py (untraced once no active capture has room) and counted in
            ``runs.seen``.
        backend: ``"auto"``, ``"reference"`` or ``"compiled"`` (as in ``minimize``).
        overwrite: allow ``out`` to hold the traces of an earlier capture (they are
            deleted at entry); without it such a folder is refused.

    SciPy is restored on exit, whatever ends the block.  Captures nest (a run is
    recorded by every active capture of the thread, solved once at the most detailed
    level among those with room and with the innermost's backend).  What is global: the
    replaced SciPy name, while any capture is active in the process; calls from threads
    without an active capture go to SciPy's own solver.  SciPy missing, or internals
    that differ from what the capture knows, raise :class:`CaptureError` at entry.
    """
    return Capture(level, out, keep, max_runs, backend, overwrite)


def _prepare_folder(out, overwrite):
    """Create ``out``; refuse (or with ``overwrite`` delete) an earlier capture's files."""
    out.mkdir(parents=True, exist_ok=True)
    old = sorted(out.glob("run-*.jsonl")) + sorted(out.glob(INDEX))
    if old and not overwrite:
        raise FileExistsError(f"{out} already holds the traces of an earlier capture "
                              f"({old[0].name}, ...): choose another folder, or pass "
                              f"overwrite=True (--overwrite) to replace them")
    for path in old:
        path.unlink()


# ------------------------------------------------------------ thread and process state
_LOCAL = threading.local()          # .stack: this thread's active captures, innermost last


def _stack():
    if not hasattr(_LOCAL, "stack"):
        _LOCAL.stack = []
    return _LOCAL.stack


class _Patch:
    """The replaced SciPy name (process-wide): put in place by the first active
    capture, SciPy's function put back by the last one to exit."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.modules = {}
        self.scipy_solver = None

    def acquire(self):
        with self.lock:
            if not self.count:
                self.modules = _checked_scipy()
                self.scipy_solver = getattr(self.modules[SOLVER_HOME], SOLVER)
                for name, module in self.modules.items():
                    setattr(module, SOLVER, _STAND_INS[ROUTES[name]])
            self.count += 1

    def release(self):
        with self.lock:
            self.count -= 1
            if not self.count:
                for module in self.modules.values():
                    setattr(module, SOLVER, self.scipy_solver)


_PATCH = _Patch()


def _checked_scipy():
    """SciPy's modules that look up the solver, after checking they are as expected."""
    try:
        modules = {name: importlib.import_module(name) for name in ROUTES}
    except ImportError as exc:
        raise CaptureError(f"lbfgsb_py.capture() needs SciPy (it stands in for SciPy's "
                           f"L-BFGS-B), and importing it failed ({exc}): install it with "
                           f"`pip install scipy`") from None
    for name, module in modules.items():
        problem = _route_problem(module, ROUTES[name])
        if problem:
            import scipy
            raise CaptureError(f"lbfgsb_py.capture() does not know SciPy {scipy.__version__}'s "
                               f"internals: {problem}. Nothing was replaced. Pass "
                               f"method=lbfgsb_py.scipy_method to minimize yourself, or use a "
                               f"SciPy whose L-BFGS-B entry points match (tested: 1.17)")
    return modules


def _route_problem(module, entry):
    """What differs from the expected internals in ``module`` (None: nothing)."""
    solver = getattr(module, SOLVER, None)
    if (getattr(solver, "__module__", None), getattr(solver, "__name__", None)) != (
            SOLVER_HOME, SOLVER):
        return (f"{module.__name__}.{SOLVER} is {solver!r}, not SciPy's own solver (was it "
                f"replaced by other code?)")
    caller = getattr(module, entry, None)
    if SOLVER not in getattr(getattr(caller, "__code__", None), "co_names", ()):
        return f"{module.__name__}.{entry} no longer calls {SOLVER} by its global name"
    params = inspect.signature(solver).parameters
    names = [p.name for p in params.values() if p.kind is not p.VAR_KEYWORD]
    if tuple(names[:len(POSITIONAL)]) != POSITIONAL:
        return f"{SOLVER} takes {tuple(names[:len(POSITIONAL)])} first, not {POSITIONAL}"
    unknown = sorted(set(names[len(POSITIONAL):]) - KNOWN_PARAMETERS)
    if unknown:
        return f"{SOLVER} has parameters the capture cannot pass on: {', '.join(unknown)}"
    return None


# ----------------------------------------------------------------- the stand-ins
def _stand_in(entry):
    """SciPy's solver as reached from ``entry``: solved here for a capturing thread."""
    def _minimize_lbfgsb(fun, x0, args=(), jac=None, bounds=None, **options):
        captures = list(_stack())
        if not captures:        # a thread without a capture: SciPy's own solver
            return _PATCH.scipy_solver(fun, x0, args, jac, bounds, **options)
        return _solve(captures, entry, (fun, x0, args, jac, bounds), options)
    _minimize_lbfgsb.__qualname__ = f"capture stand-in for {SOLVER} ({entry})"
    return _minimize_lbfgsb


_STAND_INS = {entry: _stand_in(entry) for entry in ROUTES.values()}


def _solve(captures, entry, positional, options):
    """Solve one call with :func:`scipy_method`, record it in every active capture."""
    fun, x0, args, jac, bounds = positional
    options = {k: v for k, v in options.items() if not _is_no_value(v)}
    callback = options.pop("callback", None)
    caller, filename = _caller()
    run = CapturedRun(0, entry, caller, filename, dict(
        fun=fun, x0=np.array(x0, copy=True), args=args, jac=jac, bounds=bounds,
        callback=callback), dict(options))
    takers = _numbered(captures, run)
    sinks = [JsonlSink(copy.path) for copy in takers.values() if copy.path is not None]
    level = max((c.level for c in takers), key=LEVELS.get, default="off")
    tracer = Tracer(level=level, memory=bool(takers), callback=_fan_out(sinks))
    start = time.perf_counter()
    try:
        result = scipy_method(fun, x0, args, jac, bounds, callback=callback,
                              **dict(options, trace=tracer, backend=captures[-1].backend))
    except BaseException as exc:
        _finish(takers, sinks, start, error=exc, trace=getattr(exc, "lbfgsb_trace", None))
        raise
    _finish(takers, sinks, start, result=result, trace=result.trace)
    return result


def _numbered(captures, run):
    """capture -> its numbered copy of ``run``, for the captures that may keep it."""
    takers = {}
    for cap in captures:
        cap.runs.seen += 1
        if cap.has_room():
            path = None if cap.out is None else cap.out / RUN_FILE.format(cap.runs.seen)
            takers[cap] = dataclasses.replace(run, number=cap.runs.seen, path=path)
    return takers


def _fan_out(sinks):
    """One trace callback feeding every JSON Lines sink (None without sinks)."""
    if not sinks:
        return None

    def deliver(event):
        for sink in sinks:
            sink(event)
    return deliver


def _finish(takers, sinks, start, **outcome):
    """Close the files and hand the finished run to each capture."""
    seconds = time.perf_counter() - start
    for sink in sinks:
        sink.close()
    for cap, run in takers.items():
        cap.take(dataclasses.replace(run, seconds=seconds, **outcome))


def _caller():
    """(``module:function:line``, file) of the first frame outside SciPy and lbfgsb_py."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__") or "?"
        if module.partition(".")[0] not in NOT_CALLERS:
            filename = frame.f_code.co_filename
            shown = Path(filename).name if module == "__main__" else module
            function = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
            return f"{shown}:{function}:{frame.f_lineno}", filename
        frame = frame.f_back
    return "?", "?"


# ------------------------------------------------------- a script, for the command line
PYTHON_NAME = re.compile(r"python[0-9.]*(\.exe)?$")


def run_python(command):
    """Run ``python script.py ARGS`` / ``python -m module ARGS`` / ``python -c CODE
    ARGS`` *in this process* (so that an active capture sees its calls), with
    ``sys.argv`` and ``sys.path`` set as Python sets them, and restored after
    with the current directory.

    Returns the exit code Python would give: 0, the ``SystemExit`` code, or 1 after
    printing the traceback of an exception (130 for ``KeyboardInterrupt``).
    """
    kind, target, args = parse_python(command)
    saved_argv, saved_path, saved_cwd = sys.argv[:], sys.path[:], os.getcwd()
    try:
        _RUNNERS[kind](target, args)
        return 0
    except SystemExit as exc:
        return _exit_code(exc.code)
    except BaseException as exc:      # noqa: BLE001 - reported as Python reports it
        traceback.print_exc()
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.chdir(saved_cwd)
        for stream in (sys.stdout, sys.stderr):     # what Python does when a script ends
            stream.flush()


def parse_python(command):
    """``(kind, target, args)`` from ``python script.py ARGS`` (kind ``"script"``),
    ``python -m module ARGS`` (``"-m"``) or ``python -c CODE ARGS`` (``"-c"``);
    ``script.py ARGS`` alone is accepted too."""
    words = list(command)
    if words and PYTHON_NAME.match(Path(words[0]).name):
        words.pop(0)
    elif not (words and words[0].endswith(".py")):
        raise ValueError(f"capture runs Python code in this process: give `python "
                         f"script.py ARGS`, `python -m module ARGS` or `python -c CODE` "
                         f"after --, got {' '.join(command) or 'nothing'!r}")
    if words and words[0] in ("-m", "-c"):
        if len(words) < 2:
            raise ValueError(f"python {words[0]} needs an argument (python -m module, "
                             f"python -c CODE)")
        return words[0], words[1], words[2:]
    if not words:
        raise ValueError("give the script to run after python: python script.py ARGS")
    if words[0].startswith("-"):
        raise ValueError(f"python options other than -m and -c are not supported under "
                         f"capture (the code runs in this interpreter): give them to it, "
                         f"e.g. `python -W error -m lbfgsb_py capture -- python script.py`; "
                         f"got {' '.join(command)!r}")
    if not Path(words[0]).is_file():
        raise FileNotFoundError(2, "no such script", words[0])
    return "script", words[0], words[1:]


def _run_script(path, args):
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    runpy.run_path(path, run_name="__main__")


def _run_module(name, args):
    sys.argv = [name, *args]          # runpy puts the module's file in argv[0]
    sys.path.insert(0, os.getcwd())
    runpy.run_module(name, run_name="__main__", alter_sys=True)


def _run_code(code, args):
    sys.argv = ["-c", *args]
    sys.path.insert(0, "")
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102


_RUNNERS = {"script": _run_script, "-m": _run_module, "-c": _run_code}


def _exit_code(code):
    """The process exit code of ``SystemExit(code)``, as Python computes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1

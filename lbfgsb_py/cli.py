"""``lbfgsb-py``: run L-BFGS-B on a built-in or your own problem, look at its trace.

Commands: ``demo`` (a built-in problem: table, result, explanation), ``run``
(your ``module:function``, JSON Lines trace), ``show`` (render a saved trace),
``replay`` (walk a saved trace), ``explain`` (diagnose a saved trace), ``view`` (a page
to explore a saved trace), ``plot``
(convergence, line search, Cauchy path to an image file), ``variants`` (the two
subspace steps side by side), ``capture`` (trace SciPy's L-BFGS-B runs inside a
script), ``compile`` (compile the Numba kernels ahead of time).

Every failure prints one line ``error: ...`` on stderr and exits with code 2
(set ``LBFGSB_PY_TRACEBACK=1`` to see the traceback instead).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
import warnings
from pathlib import Path

import click
import numpy as np

from . import backends, builtin_problems, render
from .trace import Trace, Tracer

EXIT_ERROR = 2
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())   # click >= 8.2


class CliError(click.ClickException):
    """A user-facing error: printed as one ``error: ...`` line, exit code 2."""

    exit_code = EXIT_ERROR


class _Cli(click.Group):
    """The command group; turns every exception into one ``error:`` line."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:
            click.echo(exc.ctx.get_help())
            code = 0
        except click.Abort:
            click.echo("error: interrupted", err=True)
            code = 130
        except Exception as exc:            # noqa: BLE001 - the single top-level handler
            if os.environ.get("LBFGSB_PY_TRACEBACK"):
                raise
            click.echo(f"error: {_one_line(exc)}", err=True)
            code = EXIT_ERROR
        sys.exit(code if isinstance(code, int) else 0)


def _one_line(exc):
    """A one-line description of an exception."""
    if isinstance(exc, click.ClickException):
        text = exc.format_message()
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
        if not isinstance(exc, (ValueError, TypeError, KeyError, ImportError)):
            text = f"{type(exc).__name__}: {text}"
    return " ".join(text.split())


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Traceable L-BFGS-B: solve, then see every decision the solver took."""


# -------------------------------------------------------------------- compile
@cli.command("compile")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--holding-lock", is_flag=True, hidden=True,
              help="The caller took the compilation lock for this process.")
def compile_(quiet, holding_lock):
    """Compile the compiled backend's kernels now (for images and CI), with progress.

    Without it the first run that uses the compiled backend compiles them.
    """
    from .compiled import _cache
    from .compiled.backend import STEPS, ensure_compiled
    start = time.perf_counter()
    if quiet:
        ensure_compiled(holding_lock=holding_lock)
        return
    with click.progressbar(length=len(STEPS), label="compiling", file=sys.stderr,
                           show_eta=False, show_percent=False, show_pos=True,
                           item_show_func=lambda label: label) as bar:
        def report(label):
            bar.update(0 if label.startswith("waiting") else 1, label)
        ensure_compiled(report, holding_lock=holding_lock)
    click.echo(f"ready in {time.perf_counter() - start:.1f} s; cached under {_cache.CACHE}")


# ----------------------------------------------------------------------- demo
@cli.command()
@click.argument("problem", required=False, default="rosenbrock")
@click.option("--list", "list_", is_flag=True, help="List the built-in problems.")
@click.option("--trace-file", type=click.Path(dir_okay=False), help="Also write the trace "
              "as JSON Lines.")
@click.option("--full", is_flag=True, help="Record at trace level 'full' (Cauchy segments, "
              "line-search x and d).")
def demo(problem, list_, trace_file, full):
    """Solve a built-in PROBLEM (default rosenbrock) and explain the outcome."""
    if list_:
        for name in builtin_problems.names():
            click.echo(f"{name:<20} {builtin_problems.get(name).description}")
        return
    prob = builtin_problems.get(problem)
    click.echo(f"{prob.name}: {prob.description}\n")
    tracer = Tracer(level="full" if full else "iteration", jsonl=trace_file)
    result = prob.solve(trace=tracer)
    click.echo(render.iteration_table(result))
    _echo_result(result)
    _echo_explanation(result, prob.fun, jac=prob.jac, bounds=prob.bounds)
    if trace_file:
        click.echo(f"\ntrace written to {trace_file}")


def _echo_result(result):
    click.echo(f"message: {result.message}")
    click.echo(f"f = {result.fun:.10g} at x = {render.compact(np.asarray(result.x))}")
    click.echo(f"iterations {result.nit}, function evaluations {result.nfev}")


def _echo_explanation(result_or_trace, fun=None, leading="\n", **kwargs):
    """Print ``explain(...)`` after ``leading``."""
    from .explain import explain
    click.echo(leading + str(explain(result_or_trace, fun, **kwargs)))


@cli.command()
@click.argument("problem", required=False, default="rosenbrock_tight_box")
def variants(problem):
    """Run a built-in PROBLEM with the 'scipy' and '1995' subspace steps; show where
    they part and which decision differed."""
    from .variants import compare_variants
    prob = builtin_problems.get(problem)
    click.echo(f"{prob.name}: {prob.description}\n")
    click.echo(str(compare_variants(prob.fun, prob.x0, jac=prob.jac, bounds=prob.bounds,
                                    **prob.options)))


# ------------------------------------------------------------------------ run
@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("function")
@click.argument("x0", nargs=-1, type=float)
@click.option("--x0-file", type=click.Path(exists=True, dir_okay=False),
              help="Starting point from a .npy file or a text file of numbers.")
@click.option("--jac", "jac_path", metavar="MODULE:FUNCTION", help="Gradient function.")
@click.option("--jac-true", is_flag=True, help="FUNCTION returns (f, g).")
@click.option("--bounds", "bounds_", multiple=True, metavar="LO:HI",
              help="Bounds, one per variable or one for all (empty side: no bound).")
@click.option("--trace-file", type=click.Path(dir_okay=False), default="lbfgsb-trace.jsonl",
              show_default=True, help="JSON Lines trace written as the run goes.")
@click.option("--level", type=click.Choice(["iteration", "full"]), default="iteration",
              show_default=True, help="Trace detail level.")
@click.option("--maxiter", type=int, default=15000, show_default=True)
@click.option("--maxfun", type=int, default=15000, show_default=True)
@click.option("--maxcor", type=int, default=10, show_default=True)
@click.option("--gtol", type=float, default=1e-5, show_default=True)
@click.option("--ftol", type=float, default=2.220446049250313e-09, show_default=True)
@click.option("--backend", type=click.Choice(backends.BACKENDS), default="auto",
              show_default=True, help="reference (NumPy), compiled (Numba) or auto.")
@click.option("--progress/--no-progress", default=None,
              help="Show iteration, f and projg while running [default: if stderr is a TTY].")
def run(function, x0, x0_file, jac_path, jac_true, bounds_, trace_file, level, progress,
        **options):
    """Minimize FUNCTION (module:function or path/file.py:function) from X0.

    The current directory is searched first for the module.  The trace is
    written event by event, so an interrupted run leaves a readable file.
    """
    from .api import minimize
    fun = load_callable(function)
    start = _read_x0(x0, x0_file)
    jac = _jac_option(jac_path, jac_true)
    show = sys.stderr.isatty() if progress is None else progress
    tracer = Tracer(level=level, jsonl=trace_file, callback=Progress() if show else None)
    result = minimize(fun, start, jac=jac, bounds=parse_bounds(bounds_, start.size),
                      trace=tracer, **options)
    click.echo(render.summary_table(result), nl=False)
    _echo_result(result)
    click.echo(f"trace written to {trace_file}; see it with: lbfgsb-py show {trace_file}")


def load_callable(spec):
    """Import ``module:function`` (the current directory first on sys.path) or
    ``path/to/file.py:function``."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise CliError(f"{spec!r} is not of the form module:function")
    module = _import(module_name)
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise CliError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise CliError(f"{spec} is a {type(obj).__name__}, not a function")
    return obj


def _import(module_name):
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise CliError(f"{module_name}: no such file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise CliError(f"cannot import module {module_name!r} ({exc}); run from the "
                       f"directory that contains it, or give path/to/file.py:function") from None


def _read_x0(values, path):
    """X0 from the command line or from ``--x0-file`` (exactly one of them)."""
    if bool(values) == bool(path):
        raise CliError("give the starting point either as X0 values or with --x0-file")
    if not path:
        return np.array(values, dtype=float)
    if path.endswith(".npy"):
        return np.asarray(np.load(path, allow_pickle=False), dtype=float).ravel()
    return np.loadtxt(path, dtype=float, ndmin=1).ravel()


def _jac_option(jac_path, jac_true):
    if jac_path and jac_true:
        raise CliError("use either --jac MODULE:FUNCTION or --jac-true, not both")
    return True if jac_true else load_callable(jac_path) if jac_path else None


def parse_bounds(specs, n):
    """``LO:HI`` strings (empty side or ``inf``: no bound) as (lo, hi) pairs."""
    if not specs:
        return None
    if len(specs) not in (1, n):
        raise CliError(f"--bounds given {len(specs)} times for {n} variables: give one "
                       f"LO:HI for all, or one per variable")
    pairs = [_bound_pair(s) for s in specs]
    return pairs * n if len(pairs) == 1 else pairs


def _bound_pair(spec):
    lo, sep, hi = spec.partition(":")
    if not sep:
        raise CliError(f"bound {spec!r} is not of the form LO:HI (e.g. 0:1, :5, -2:)")
    try:
        return tuple(None if not s.strip() or s.strip().lower() in ("none", "inf", "-inf")
                     else float(s) for s in (lo, hi))
    except ValueError:
        raise CliError(f"bound {spec!r}: LO and HI must be numbers") from None


class Progress:
    """A trace callback showing ``it, f, projg`` on stderr, at most every ``every`` s."""

    def __init__(self, every=0.2):
        self.every, self.last, self.tty = every, 0.0, sys.stderr.isatty()

    def __call__(self, event):
        if event.kind == "termination":
            self._show(event, final=True)
        elif event.kind == "iteration_end" and time.monotonic() - self.last >= self.every:
            self._show(event)

    def _show(self, event, final=False):
        self.last = time.monotonic()
        text = f"it {event.iteration:>6}  nfev {event.nfev:>7}  f {event.f: .6e}  " \
               f"projg {event.projg:.3e}"
        if self.tty:
            click.echo("\r" + text, err=True, nl=final)
        else:
            click.echo(text, err=True)


# ----------------------------------------------------------- show / explain
def load_trace(path):
    """Read a JSON Lines trace; warnings become ``warning:`` lines on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            trace = Trace.load(path)
        except (KeyError, TypeError, ValueError) as exc:
            raise CliError(f"{path}: not a readable lbfgsb_py trace ({_one_line(exc)})") from None
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    if not len(trace):
        raise CliError(f"{path}: the trace has no events")
    return trace


@cli.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted([*render.RENDERERS, "story"])),
              default="table", show_default=True)
@click.option("--kind", "kinds", multiple=True, help="Event kinds to list (events format).")
@click.option("--iteration", type=int, help="Only the events of this iteration, numbered as "
              "the table's rows (events format; story: the iteration to tell, default 1).")
def show(trace_path, fmt, kinds, iteration):
    """Render a saved TRACE: iteration table, end-of-run summary, event lines or the
    story of one iteration."""
    trace = load_trace(trace_path)
    if fmt == "events":
        text = render.events_text(trace, kinds=kinds or None, iteration=iteration)
    elif fmt == "story":
        text = trace.story(1 if iteration is None else iteration)
    else:
        if kinds or iteration is not None:
            raise CliError("--kind and --iteration apply to --format events")
        text = render.RENDERERS[fmt](trace)
    click.echo(text, nl=False)


@cli.command("explain")
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False))
@click.option("--fun", "fun_path", metavar="MODULE:FUNCTION", help="The objective: also "
              "probe f at the final x (needs a trace recorded with --level full).")
@click.option("--jac", "jac_path", metavar="MODULE:FUNCTION", help="Gradient function.")
@click.option("--jac-true", is_flag=True, help="FUNCTION returns (f, g).")
def explain_cmd(trace_path, fun_path, jac_path, jac_true):
    """Diagnose the run recorded in TRACE: causes, most likely first, with evidence
    and advice."""
    if not fun_path and (jac_path or jac_true):
        raise CliError("--jac and --jac-true need --fun MODULE:FUNCTION")
    trace = load_trace(trace_path)
    fun = load_callable(fun_path) if fun_path else None
    _echo_explanation(trace, fun, jac=_jac_option(jac_path, jac_true), leading="")


# --------------------------------------------------------------------- replay
REPLAY_HELP = ("n/p: next/previous event, N/P: next/previous iteration, "
               "g I: go to event I, k/K KIND: next/previous event of KIND "
               "(e.g. k line_search_trial), q: quit")
#: Replay commands that take an argument, and what they do with it.
_REPLAY_WITH_ARG = {"g": lambda rp, arg: rp.goto(int(arg)),
                    "k": lambda rp, arg: rp.next_of_kind(arg),
                    "K": lambda rp, arg: rp.prev_of_kind(arg)}


@cli.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False))
@click.option("--keys", help="Commands to run instead of asking (e.g. 'N N p q').")
def replay(trace_path, keys):
    """Walk TRACE forwards and backwards, event by event or iteration by iteration."""
    from .replay import Replay
    rp = Replay(load_trace(trace_path))
    scripted = iter(keys.split()) if keys is not None else None
    click.echo(REPLAY_HELP)
    while True:
        click.echo(f"[{rp.pos}/{len(rp.trace) - 1}] {render.event_line(rp.current)}")
        words = [next(scripted, "q")] if scripted else click.prompt(
            ">", default="n", show_default=False).split()
        if words[0] == "q":
            return
        if words[0] in _REPLAY_WITH_ARG and len(words) == 1:
            words.append(next(scripted, "") if scripted else click.prompt("which"))
        _replay_command(rp, words)


def _replay_command(rp, words):
    """One replay command (``words``: the command and its argument, if any)."""
    cmd, arg = words[0], " ".join(words[1:])
    move = {"n": rp.next, "p": rp.prev, "N": rp.next_iteration, "P": rp.prev_iteration}
    try:
        if cmd in _REPLAY_WITH_ARG:
            return _REPLAY_WITH_ARG[cmd](rp, arg)
        if cmd in move and not arg:
            return move[cmd]()
    except ValueError as exc:
        click.echo(f"{exc}")
    click.echo(REPLAY_HELP)


# ----------------------------------------------------------------------- plot
PLOT_KINDS = ("convergence", "line-search", "cauchy", "iteration")


@cli.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(PLOT_KINDS), default="convergence",
              show_default=True)
@click.option("--iteration", type=int, help="Iteration to draw (line-search, cauchy, "
              "iteration; default: the last one that has the events).")
@click.option("--fun", "fun_path", metavar="MODULE:FUNCTION", help="Objective, to draw "
              "phi(stp) in a line-search plot and contours of f in an iteration plot "
              "(needs a 'full' trace).")
@click.option("--coords", nargs=2, type=int, default=(0, 1), show_default=True,
              help="The two coordinates of an iteration plot.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Image file to write (.png, .svg, .pdf).")
def plot(trace_path, kind, iteration, fun_path, coords, output):
    """Draw TRACE: convergence history, the line searches of one iteration, one Cauchy
    path, or one iteration in the plane of two coordinates (needs a 'full' trace)."""
    from . import plots
    trace = load_trace(trace_path)
    fun = load_callable(fun_path) if fun_path else None
    if kind == "convergence":
        fig = plots.plot_convergence(trace)
    elif kind == "line-search":
        fig = plots.plot_line_search(trace, iteration, fun=fun)
    elif kind == "iteration":
        fig = plots.plot_iteration_2d(trace, iteration, fun=fun, coords=coords)
    else:
        fig = plots.plot_cauchy(trace, iteration)
    plots.save(fig, output)
    click.echo(f"wrote {output}")


# ----------------------------------------------------------------------- view
@cli.command("view")
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False))
@click.option("--fun", "fun_path", metavar="MODULE:FUNCTION", help="Objective: phi curves "
              "and, for a 'full' trace, each iteration over contours of f.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="HTML file to write (self-contained, works offline).")
def view_cmd(trace_path, fun_path, output):
    """Write a page to explore TRACE: summary, diagnosis, convergence, the iteration
    table and, for the selected iteration, its decisions, pictures and story."""
    from .view import view
    trace = load_trace(trace_path)
    view(trace, fun=load_callable(fun_path) if fun_path else None, path=output)
    click.echo(f"wrote {output}")


# -------------------------------------------------------------------- capture
@cli.command("capture", context_settings={"ignore_unknown_options": True,
                                          "allow_interspersed_args": False})
@click.option("--out", type=click.Path(file_okay=False), default="lbfgsb-capture",
              show_default=True, help="Folder for the traces (run-0001.jsonl, ..., "
              "index.jsonl).")
@click.option("--level", type=click.Choice(["iteration", "full"]), default="iteration",
              show_default=True, help="Trace detail level.")
@click.option("--backend", type=click.Choice(backends.BACKENDS), default="auto",
              show_default=True, help="reference (NumPy), compiled (Numba) or auto.")
@click.option("--max-runs", type=click.IntRange(min=0), help="Keep at most this many runs.")
@click.option("--failed-only", is_flag=True, help="Keep only the runs that did not converge.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier capture's traces in --out.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def capture_cmd(out, level, backend, max_runs, failed_only, overwrite, command):
    """Run a Python script with every SciPy L-BFGS-B call in it solved and traced by
    lbfgsb_py: lbfgsb-py capture [OPTIONS] -- python script.py ARGS...

    The script runs in this process (also `python -m module`, `python -c CODE`), its
    output untouched; then the summary of the runs goes to stderr.  The exit code is
    the script's.
    """
    from .capture import capture, parse_python, run_python
    parse_python(command)
    keep = (lambda run: not run.converged) if failed_only else None
    with capture(level, out, keep, max_runs, backend, overwrite) as runs:
        code = run_python(command)
    click.echo(runs.summary() + runs.hint(), err=True, nl=False)
    return code


def main(argv=None):
    """Entry point of the ``lbfgsb-py`` script and ``python -m lbfgsb_py``."""
    cli.main(args=argv, prog_name="lbfgsb-py")

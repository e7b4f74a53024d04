"""Pictures of a trace: convergence history, one line search, one Cauchy path.

matplotlib is optional (``pip install 'lbfgsb-py[plot]'``) and imported only
inside these functions.  Figures are built as :class:`matplotlib.figure.Figure`
objects without pyplot, so nothing is registered globally (no figure to close,
no GUI backend needed): Jupyter displays them, :func:`save` writes them with
the Agg renderer.

The iteration ``k`` of :func:`plot_line_search` and :func:`plot_cauchy` is the
table's row k (its events have ``iteration == k - 1``); by default the last
iteration that has the events to draw.
"""
from __future__ import annotations

import numpy as np

# The Moré–Thuente constants of SciPy's L-BFGS-B line search (``ftol``, ``gtol``).
from .constants import FTOL as SUFFICIENT_DECREASE
from .constants import GTOL as CURVATURE
from .render import as_trace, iteration_events

_INSTALL_HINT = "install the plot extra: pip install 'lbfgsb-py[plot]'"


def _figure(nrows=1, height=4.0):
    """A new Figure with ``nrows`` stacked axes (sharing x)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib: {_INSTALL_HINT}") from exc
    fig = Figure(figsize=(7.0, height), layout="constrained")
    axes = fig.subplots(nrows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, axes


def save(fig, path, dpi=120):
    """Write a figure to ``path`` (format from the suffix) with the Agg renderer."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib: {_INSTALL_HINT}") from exc
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi)


def _pick_iteration(trace, kind, iteration):
    """The events of ``iteration`` (default: the last one having ``kind`` events)."""
    if iteration is None:
        starts = [e.it for e in trace.of_kind(kind)]
        if not starts:
            raise ValueError(f"the trace has no {kind} events{_LEVEL_HINT.get(kind, '')}")
        iteration = starts[-1]
    block = iteration_events(trace, iteration)
    if not any(e.kind == kind for e in block):
        raise ValueError(f"iteration {iteration} has no {kind} events"
                         f"{_LEVEL_HINT.get(kind, '')}")
    return iteration, block


_LEVEL_HINT = {"cauchy_breakpoint": " (they are recorded at trace level 'full', and only "
                                    "when the Cauchy search runs)"}


# ------------------------------------------------------------------ convergence
def plot_convergence(trace):
    """f and the projected-gradient norm per iteration (log scale for projg).

    Parameters
    ----------
    trace : Trace, Result or list of events

    Returns
    -------
    matplotlib.figure.Figure
    """
    trace = as_trace(trace)
    rows = trace.of_kind("initial_point") + trace.of_kind("iteration_end")
    if not rows:
        raise ValueError("the trace has no initial_point or iteration_end events")
    its = np.array([e.iteration for e in rows])
    f = np.array([e.f for e in rows], dtype=float)
    projg = np.array([e.projg for e in rows], dtype=float)
    fig, (ax_f, ax_g) = _figure(2, 5.0)
    ax_f.plot(its, f, "o-", ms=3)
    if np.all(f[np.isfinite(f)] > 0) and np.nanmax(f) > 1e3 * np.nanmin(f):
        ax_f.set_yscale("log")
    ax_f.set_ylabel("f")
    ax_g.plot(its, np.where(projg > 0, projg, np.nan), "o-", ms=3, color="C1")
    ax_g.set_yscale("log")
    _mark_gtol(ax_g, trace)
    ax_g.set_ylabel("projected gradient (inf-norm)")
    ax_g.set_xlabel("iteration")
    fig.suptitle(_title(trace, "convergence"))
    return fig


def _mark_gtol(ax, trace):
    start = trace.of_kind("run_start")
    if start and start[0].gtol > 0:
        ax.axhline(start[0].gtol, ls="--", color="gray", lw=1, label=f"gtol = {start[0].gtol:g}")
        ax.legend(loc="best", fontsize="small")


def _title(trace, what):
    end = trace.of_kind("termination")
    return f"{what}: {end[0].message}" if end else what


# ------------------------------------------------------------------ line search
def plot_line_search(trace, iteration=None, fun=None, args=(), n_grid=200):
    """The line search of one iteration: trials, Wolfe tests, bracket, phi.

    Top: the trials (stp, phi(stp)) numbered in order, phi(0) = f0, the
    sufficient-decrease line f0 + 1e-3 stp phi'(0), the final bracket
    [stx, sty] shaded and, when ``fun`` is given and the trace is at level
    ``"full"``, phi(stp) = fun(x + stp d) sampled on a grid across the trials.
    Bottom: phi'(stp) of each trial and the curvature band
    |phi'| <= 0.9 |phi'(0)|.  The step axis is logarithmic when the trials
    span more than three decades.

    Parameters
    ----------
    trace : Trace, Result or list of events
    iteration : int, optional
        The table row k (default: the last iteration with a line search).
    fun : callable, optional
        The objective ``fun(x, *args)`` (a returned ``(f, g)`` pair is fine).
    args : tuple
    n_grid : int
        Evaluations of ``fun`` for the phi curve.

    Returns
    -------
    matplotlib.figure.Figure
    """
    trace = as_trace(trace)
    iteration, block = _pick_iteration(trace, "line_search_trial", iteration)
    start, trials = _last_search(block)
    stp = np.array([t.stp for t in trials], dtype=float)
    fig, (ax_f, ax_g) = _figure(2, 6.0)
    log_x = stp.min() > 0 and stp.max() > 1e3 * stp.min()
    grid = _step_grid(stp, log_x, n_grid)
    _draw_phi_panel(ax_f, start, trials, grid, fun, args)
    _draw_slope_panel(ax_g, start, trials)
    if log_x:
        ax_f.set_xscale("log")
    ax_g.set_xlabel("step stp")
    fig.suptitle(f"line search of iteration {iteration}: {_search_outcome(block)}")
    return fig


def _last_search(block):
    """The last line_search_start of an iteration and its trials."""
    starts = [i for i, e in enumerate(block) if e.kind == "line_search_start"]
    first = starts[-1] if starts else 0
    trials = [e for e in block[first:] if e.kind == "line_search_trial"]
    return (block[first] if starts else None), trials


def _search_outcome(block):
    ends = [e for e in block if e.kind == "line_search_end"]
    return f"{ends[-1].outcome} after {ends[-1].n_trials} trial(s)" if ends else "unfinished"


def _step_grid(stp, log_x, n):
    if log_x:
        return np.geomspace(stp.min() / 2.0, stp.max() * 1.5, n)
    return np.linspace(0.0, stp.max() * 1.15, n)


def _draw_phi_panel(ax, start, trials, grid, fun, args):
    stp = [t.stp for t in trials]
    ax.plot(stp, [t.f for t in trials], "o", color="C0", label="trials")
    for t in trials:
        ax.annotate(str(t.trial), (t.stp, t.f), textcoords="offset points", xytext=(4, 4),
                    fontsize="x-small")
    if start is not None:
        ax.axhline(start.f0, color="gray", lw=1, label="phi(0) = f0")
        ax.plot(grid, start.f0 + SUFFICIENT_DECREASE * grid * start.gd, "--", color="C2",
                label="sufficient decrease f0 + 1e-3 stp phi'(0)")
        phi = _sample_phi(start, grid, fun, args)
        if phi is not None:
            ax.plot(grid, phi, "-", color="C0", lw=1, alpha=0.7, label="phi(stp) = f(x + stp d)")
    _shade_bracket(ax, trials[-1])
    ax.set_ylabel("phi(stp)")
    ax.legend(loc="best", fontsize="x-small")


def _sample_phi(start, grid, fun, args):
    """phi on the grid, or None without ``fun`` or without x and d (level full)."""
    if fun is None or not len(start.x):
        return None
    x, d = np.asarray(start.x, dtype=float), np.asarray(start.d, dtype=float)
    values = np.empty_like(grid)
    with np.errstate(all="ignore"):
        for i, s in enumerate(grid):
            out = fun(x + s * d, *args)
            values[i] = out[0] if isinstance(out, tuple) else out
    return np.where(np.isfinite(values), values, np.nan)


def _shade_bracket(ax, trial):
    lo, hi = sorted((trial.stx, trial.sty))
    if hi > lo:
        label = "bracket [stx, sty]" + ("" if trial.brackt else " (not yet bracketed)")
        ax.axvspan(lo, hi, color="C1", alpha=0.15, label=label)


def _draw_slope_panel(ax, start, trials):
    ax.plot([t.stp for t in trials], [t.gd for t in trials], "o", color="C3",
            label="phi'(stp) at the trials")
    if start is not None:
        band = CURVATURE * abs(start.gd)
        ax.axhspan(-band, band, color="C2", alpha=0.15, label="|phi'| <= 0.9 |phi'(0)|")
        ax.axhline(start.gd, color="gray", lw=1, ls=":", label="phi'(0)")
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_ylabel("phi'(stp)")
    ax.legend(loc="best", fontsize="x-small")


# ---------------------------------------------------------------- Cauchy path
def plot_cauchy(trace, iteration=None, n_grid=50):
    """The piecewise quadratic model along the projected-gradient path [BLNZ95 §4].

    On segment j, m(t) = m(t_{j-1}) + f1 (t - t_{j-1}) + f2 (t - t_{j-1})^2 / 2
    with f1, f2 of the segment's ``cauchy_breakpoint`` event (trace level
    ``"full"``); m is drawn relative to f(x) (m(0) = 0).  Breakpoints and the
    generalized Cauchy point are marked.

    Parameters
    ----------
    trace : Trace, Result or list of events
    iteration : int, optional
        The table row k (default: the last iteration with breakpoint events).
    n_grid : int
        Points drawn per segment.

    Returns
    -------
    matplotlib.figure.Figure
    """
    trace = as_trace(trace)
    iteration, block = _pick_iteration(trace, "cauchy_breakpoint", iteration)
    pieces = cauchy_pieces([e for e in block if e.kind == "cauchy_breakpoint"])
    if not np.isfinite(pieces[-1][1]):
        raise ValueError(f"iteration {iteration}: the Cauchy path has no finite end")
    fig, (ax,) = _figure(1, 4.0)
    for k, (t0, t1, m0, f1, f2) in enumerate(pieces):
        t = np.linspace(t0, t1, n_grid)
        ax.plot(t, _model(m0, f1, f2, t - t0), color=f"C{k % 10}")
    ax.plot([p[0] for p in pieces[1:]], [p[2] for p in pieces[1:]], "|", ms=14, color="black",
            label="breakpoints t_j")
    t0, t_gcp, m0, f1, f2 = pieces[-1]
    m_gcp = _model(m0, f1, f2, t_gcp - t0)
    ax.plot([t_gcp], [m_gcp], "*", ms=14, color="C3", label=f"GCP (t = {t_gcp:.4g})")
    ax.set_xlabel("path parameter t")
    ax.set_ylabel("model m(t) - f(x)")
    ax.legend(loc="best", fontsize="small")
    fig.suptitle(f"Cauchy search of iteration {iteration}: {len(pieces)} segment(s)")
    return fig


def cauchy_pieces(breakpoints):
    """Segments ``(t_start, t_end, m_start, f1, f2)`` of the Cauchy path.

    A segment ends at its breakpoint t_j, or at the GCP t_{j-1} + dt* when
    the search stops inside it (``gcp_in_segment``).
    """
    pieces, t0, m0 = [], 0.0, 0.0
    for e in breakpoints:
        end = t0 + max(e.dtm, 0.0) if e.gcp_in_segment else e.t_break
        pieces.append((t0, end, m0, e.f1, e.f2))
        t0, m0 = end, _model(m0, e.f1, e.f2, end - t0)
    return pieces


def _model(m0, f1, f2, dt):
    """m(t_{j-1} + dt) on a segment starting at value m0 with slope f1, curvature f2."""
    return m0 + f1 * dt + 0.5 * f2 * dt * dt

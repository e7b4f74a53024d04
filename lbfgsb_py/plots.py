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


def _figure(nrows=1, height=4.0, ncols=1, width=7.0):
    """A new Figure with ``nrows`` stacked axes (sharing x) per column: a 1-D array of
    axes for one column, else a 2-D (rows, columns) array."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib: {_INSTALL_HINT}") from exc
    fig = Figure(figsize=(width * ncols ** 0.5, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex="col", squeeze=False)
    return fig, (axes[:, 0] if ncols == 1 else axes)


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
    _mark_zero_projg(ax_g, its, projg)
    _mark_gtol(ax_g, trace)
    ax_g.set_ylabel("projected gradient (inf-norm)")
    ax_g.set_xlabel("iteration")
    fig.suptitle(_title(trace, "convergence"))
    return fig


def _mark_zero_projg(ax, its, projg):
    """Iterations where projg is exactly 0 (no place on a log axis): a triangle on
    the bottom edge of the axes, labelled."""
    zero = its[projg == 0]
    if not np.any(projg > 0):              # nothing else to scale the log axis by
        ax.set_ylim(1e-8, 1.0)
    if len(zero):
        ax.plot(zero, np.zeros(len(zero)), "v", ms=9, color="C3", clip_on=False,
                transform=ax.get_xaxis_transform(), label="projg = 0 (exactly)")


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
    """Every line search of one iteration: trials, Wolfe tests, bracket, phi.

    One column per search (an iteration restarted after a memory reset has
    two).  Top: f(stp) - f0 of the trials, numbered in order, on a symlog axis
    whose linear part is as small as the smallest change, so that an increase
    of 1e-12 shows as clearly as one of 100; the sufficient-decrease line
    1e-3 stp phi'(0), the final bracket [stx, sty] shaded and, when ``fun`` is
    given and the trace is at level ``"full"``, phi(stp) - f0 sampled on a grid
    across the trials.  Bottom: phi'(stp) of each trial and the curvature band
    |phi'| <= 0.9 |phi'(0)|.  The step axis is logarithmic when the trials span
    more than three decades.

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
    searches = line_searches(block)
    fig, axes = _figure(2, 6.0, ncols=len(searches))
    axes = np.asarray(axes).reshape(2, len(searches))
    for col, (start, trials) in enumerate(searches):
        _draw_search(axes[:, col], start, trials, fun, args, n_grid)
        if len(searches) > 1:
            axes[0, col].set_title(_search_label(block, col, len(searches)), fontsize="small")
    fig.suptitle(f"line search of iteration {iteration}: {_search_outcome(block)}")
    return fig


def line_searches(block):
    """The line searches of an iteration's events: ``(line_search_start or None,
    [its line_search_trial events])`` in order (more than one after a memory reset)."""
    searches = []
    for e in block:
        if e.kind == "line_search_start" or (e.kind == "line_search_trial" and not searches):
            searches.append((e if e.kind == "line_search_start" else None, []))
        if e.kind == "line_search_trial":
            searches[-1][1].append(e)
    return [s for s in searches if s[1]]


def _search_label(block, i, count):
    resets = [e for e in block if e.kind == "memory_reset"]
    why = f" (then memory reset: {resets[i].reason})" if i < len(resets) else ""
    return f"search {i + 1} of {count}{why}"


def _draw_search(axes, start, trials, fun, args, n_grid):
    ax_f, ax_g = axes
    stp = np.array([t.stp for t in trials], dtype=float)
    log_x = stp.min() > 0 and stp.max() > 1e3 * stp.min()
    f0 = start.f0 if start is not None else trials[0].f
    _draw_phi_panel(ax_f, start, trials, f0, _step_grid(stp, log_x, n_grid), fun, args)
    _draw_slope_panel(ax_g, start, trials)
    if log_x:
        ax_f.set_xscale("log")
    ax_g.set_xlabel("step stp")


def _search_outcome(block):
    ends = [e for e in block if e.kind == "line_search_end"]
    return f"{ends[-1].outcome} after {ends[-1].n_trials} trial(s)" if ends else "unfinished"


def _step_grid(stp, log_x, n):
    if log_x:
        return np.geomspace(stp.min() / 2.0, stp.max() * 1.5, n)
    return np.linspace(0.0, stp.max() * 1.15, n)


def symlog_threshold(values):
    """The linear range of a symlog axis for ``values``: the smallest nonzero
    magnitude among them (1.0 when all are zero or non-finite)."""
    mags = np.abs(np.asarray(values, dtype=float))
    mags = mags[np.isfinite(mags) & (mags > 0)]
    return float(mags.min()) if len(mags) else 1.0


def _draw_phi_panel(ax, start, trials, f0, grid, fun, args):
    rise = np.array([t.f for t in trials], dtype=float) - f0
    ax.plot([t.stp for t in trials], rise, "o", color="C0", label="trials")
    label_trials(ax, [t.stp for t in trials], rise, [t.trial for t in trials])
    ax.axhline(0.0, color="gray", lw=1, label="f0 = phi(0)")
    if start is not None:
        ax.plot(grid, SUFFICIENT_DECREASE * grid * start.gd, "--", color="C2",
                label="sufficient decrease 1e-3 stp phi'(0)")
        phi = _sample_phi(start, grid, fun, args)
        if phi is not None:
            ax.plot(grid, phi - f0, "-", color="C0", lw=1, alpha=0.7,
                    label="phi(stp) - f0 = f(x + stp d) - f0")
    _shade_bracket(ax, trials[-1])
    ax.set_yscale("symlog", linthresh=symlog_threshold(rise))
    ax.set_ylabel(f"f - f0  (f0 = {f0:.10g})")
    ax.legend(loc="best", fontsize="x-small")


def label_trials(ax, x, y, numbers):
    """Trial numbers beside their points; neighbours (in x order) get labels at
    different heights, so that close trials do not print on top of each other."""
    offsets = ((4, 6), (4, -12), (-12, 6), (-12, -12))
    for rank, i in enumerate(np.argsort(x, kind="stable")):
        ax.annotate(str(numbers[i]), (x[i], y[i]), textcoords="offset points",
                    xytext=offsets[rank % len(offsets)], fontsize="x-small", color="C0")


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


# ------------------------------------------------------------ 2-D iteration
def plot_iteration_2d(trace, iteration=None, fun=None, args=(), coords=(0, 1), n_grid=60):
    """One iteration in the plane of two coordinates [BLNZ95 §4-6].

    Draws the box, the projected steepest-descent path P(x - t g) with its
    breakpoints, the generalized Cauchy point, the subspace (Newton) step and
    its projection xbar, the search direction and every line-search trial,
    over contours of f when ``fun`` is given (the other coordinates held at
    x).  Needs a trace recorded at level ``"full"`` (the vectors).

    Parameters
    ----------
    trace : Trace, Result or list of events
    iteration : int, optional
        The table row k (default: the last iteration with a line search).
    fun : callable, optional
        The objective ``fun(x, *args)`` (a returned ``(f, g)`` pair is fine).
    args : tuple
    coords : pair of int
        The two coordinates to draw (for n = 2: both).
    n_grid : int
        Contour grid points per axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    trace = as_trace(trace)
    iteration, block = _pick_iteration(trace, "line_search_trial", iteration)
    geo = iteration_geometry(trace, block)
    i, j = coords
    fig, (ax,) = _figure(1, 5.5, width=6.0)
    lim = _limits([p[[i, j]] for p in geo["points"]])
    if fun is not None:
        _draw_contours(ax, fun, args, geo["x"], (i, j), lim, n_grid)
    _draw_box(ax, geo, (i, j), lim)
    _draw_path_2d(ax, geo, (i, j))
    ax.set_xlim(lim[0]), ax.set_ylim(lim[1])
    ax.set_xlabel(f"x[{i}]"), ax.set_ylabel(f"x[{j}]")
    ax.legend(loc="best", fontsize="x-small")
    fig.suptitle(f"iteration {iteration} in the plane of x[{i}], x[{j}]: "
                 f"{_search_outcome(block)}")
    return fig


def iteration_geometry(trace, block):
    """The vectors of one iteration (full trace): x, g, the box, the Cauchy path
    (points at t = 0, each breakpoint and the GCP), xcp, the Newton point, xbar,
    d and the trial points of its last line search; ``points``: all of them, to
    frame a picture.  Raises ValueError when the trace lacks the vectors."""
    start, trials = line_searches(block)[-1]
    if start is None or not len(start.x):
        raise ValueError("the 2-D picture needs the vectors of a trace recorded at level 'full'")
    x, g = start.x, _gradient_at(trace, block)
    run = trace.of_kind("run_start")[0]
    lo, hi = (run.lower, run.upper) if len(run.lower) else (np.full_like(x, -np.inf),) * 2
    hi = hi if len(run.upper) else np.full_like(x, np.inf)
    last = lambda kind: [e for e in block if e.kind == kind][-1:]  # noqa: E731
    cp, sub = last("cauchy_point"), last("subspace_step")
    ts = [0.0] + [e.t_break for e in block if e.kind == "cauchy_breakpoint"
                  and not e.gcp_in_segment and np.isfinite(e.t_break)]
    ts += [cp[0].t] if cp and np.isfinite(cp[0].t) else []
    path = np.array([np.clip(x - t * g, lo, hi) for t in ts])
    geo = {"x": x, "g": g, "lower": lo, "upper": hi, "path": path, "d": start.d,
           "xcp": cp[0].xcp if cp and len(cp[0].xcp) else None,
           "newton": sub[0].newton if sub and len(sub[0].newton) else None,
           "xbar": sub[0].xbar if sub and len(sub[0].xbar) else None,
           "trials": [(t.trial, t.x if len(t.x) else np.clip(x + t.stp * start.d, lo, hi))
                      for t in trials]}
    geo["points"] = [x, *path, *(geo[k] for k in ("xcp", "newton", "xbar") if geo[k] is not None),
                     *(p for _, p in geo["trials"])]
    return geo


def _gradient_at(trace, block):
    """g at the iteration's start: the previous iterate's (initial_point or iteration_end)."""
    k = block[0].it
    before = [e for e in trace.of_kind("initial_point", "iteration_end") if e.it < k]
    if not before or not len(before[-1].g):
        raise ValueError("the 2-D picture needs the vectors of a trace recorded at level 'full'")
    return before[-1].g


def _limits(points):
    pts = np.array([p for p in points if np.all(np.isfinite(p))])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.maximum((hi - lo) * 0.15, 1e-3 * np.maximum(np.abs(hi), 1.0))
    return [(lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])]


def _draw_contours(ax, fun, args, x, ij, lim, n):
    u, v = np.linspace(*lim[0], n), np.linspace(*lim[1], n)
    values = np.empty((n, n))
    point = np.array(x, dtype=float)
    with np.errstate(all="ignore"):
        for a, vv in enumerate(v):
            for b, uu in enumerate(u):
                point[list(ij)] = uu, vv
                out = fun(point, *args)
                values[a, b] = out[0] if isinstance(out, tuple) else out
    values = np.where(np.isfinite(values), values, np.nan)
    ax.contour(u, v, values, levels=_contour_levels(values), colors="0.7", linewidths=0.7)


def _contour_levels(values):
    """Levels dense near the minimum: quantiles of the sampled f."""
    finite = values[np.isfinite(values)]
    return np.unique(np.quantile(finite, np.linspace(0.0, 1.0, 16) ** 2)) if len(finite) else 10


def _draw_box(ax, geo, ij, lim):
    (i, j), lo, hi = ij, geo["lower"], geo["upper"]
    x0, x1 = max(lo[i], lim[0][0] - 1e9), min(hi[i], lim[0][1] + 1e9)
    y0, y1 = max(lo[j], lim[1][0] - 1e9), min(hi[j], lim[1][1] + 1e9)
    from matplotlib.patches import Rectangle
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="black", lw=1.5,
                           label="box [l, u]"))


def _draw_path_2d(ax, geo, ij):
    pick = lambda p: (p[ij[0]], p[ij[1]])  # noqa: E731
    path = geo["path"][:, list(ij)]
    ax.plot(*pick(geo["x"]), "ko", ms=6, label="x (iterate)")
    ax.plot(path[:, 0], path[:, 1], "-", color="C1", lw=1.5, label="P(x - t g): Cauchy path")
    ax.plot(path[1:-1, 0], path[1:-1, 1], "|", color="C1", ms=12, mew=2, label="breakpoints")
    if geo["xcp"] is not None:
        ax.plot(*pick(geo["xcp"]), "*", color="C3", ms=14, label="Cauchy point xcp")
    if geo["newton"] is not None:
        ax.annotate("", pick(geo["newton"]), pick(geo["xcp"]),
                    arrowprops={"arrowstyle": "->", "color": "C4", "ls": "--"})
        ax.plot(*pick(geo["newton"]), "s", color="C4", mfc="none", label="subspace step (Newton)")
    if geo["xbar"] is not None:
        ax.plot(*pick(geo["xbar"]), "D", color="C4", label="xbar (projected)")
    trials = np.array([pick(p) for _, p in geo["trials"]])
    ax.plot(trials[:, 0], trials[:, 1], "o", color="C0", ms=5, mfc="none", label="trials")
    label_trials(ax, trials[:, 0], trials[:, 1], [n for n, _ in geo["trials"]])

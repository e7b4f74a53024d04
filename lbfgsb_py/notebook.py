"""Compact HTML summaries, shown by Jupyter for results, traces, events and the Solver.

Each ``_repr_html_`` calls one function here.  A summary is small on purpose:
the message, a few rows of the iteration table (the first and the last ones)
and, for a run, a little inline SVG chart of the projected gradient per
iteration (drawn here as one polyline, without matplotlib, so it costs nothing).
The whole run is one call away: ``lbfgsb_py.view(result_or_trace)``.
"""
import html
import math

from .render import compact
from .status import Task

#: Iteration-table rows shown: the first HEAD_ROWS and the last TAIL_ROWS.
HEAD_ROWS, TAIL_ROWS = 3, 2
#: ``iteration_end`` fields in the table's columns (after ``it``).
ROW_FIELDS = ("nfev", "f", "projg", "itls", "stepl")
#: Size of the projected-gradient chart, in pixels.
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 240, 64, 4
_STYLE = "font-family:monospace;font-size:12px;border:1px solid #ccc;padding:4px 8px"


# ------------------------------------------------------------------ building blocks
def _esc(value):
    return html.escape(str(value), quote=True)


def _box(title, *parts):
    body = "".join(p for p in parts if p)
    return f'<div class="lbfgsb-py" style="{_STYLE}"><b>{_esc(title)}</b>{body}</div>'


def _table(header, rows):
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fields(pairs):
    """A two-column table: name, compact value."""
    return _table(("field", "value"), [(name, compact(value)) for name, value in pairs])


def _elided(rows):
    """The first HEAD_ROWS and last TAIL_ROWS rows, with a row of dots between."""
    if len(rows) <= HEAD_ROWS + TAIL_ROWS + 1:
        return rows
    dots = ("...",) * len(rows[0])
    return rows[:HEAD_ROWS] + [dots] + rows[-TAIL_ROWS:]


# ------------------------------------------------------------------ the chart
def projg_chart(points):
    """``points`` = [(iteration, projg), ...] as a small SVG: log10(projg) per
    iteration, one polyline; a projg of exactly 0 is a red dot on the bottom
    edge (a log axis has no place for it).  "" with fewer than two points."""
    if len(points) < 2:
        return ""
    logs = [math.log10(g) for _, g in points if g > 0 and math.isfinite(g)]
    low, high = (min(logs), max(logs)) if logs else (0.0, 1.0)
    its = [k for k, _ in points]
    to_x = _scale(min(its), max(its), CHART_PAD, CHART_WIDTH - CHART_PAD)
    to_y = _scale(low, high, CHART_HEIGHT - CHART_PAD, CHART_PAD)
    line = " ".join(f"{to_x(k):.1f},{to_y(math.log10(g)):.1f}" for k, g in points
                    if g > 0 and math.isfinite(g))
    zeros = "".join(f'<circle cx="{to_x(k):.1f}" cy="{CHART_HEIGHT - CHART_PAD}" r="2.5" '
                    f'fill="red"><title>projg = 0 at iteration {k}</title></circle>'
                    for k, g in points if g == 0)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" '
            f'height="{CHART_HEIGHT}" style="display:block"><title>projected gradient '
            f'(log scale) per iteration</title><polyline points="{line}" fill="none" '
            f'stroke="#d62728" stroke-width="1.5"/>{zeros}</svg>')


def _scale(lo, hi, out_lo, out_hi):
    span = hi - lo or 1.0
    return lambda v: out_lo + (v - lo) / span * (out_hi - out_lo)


# ------------------------------------------------------------------ runs
def _message(trace):
    end = trace.of_kind("termination")
    if end:
        return end[-1].message
    return f"running: {len(trace.of_kind('iteration_end'))} iterations so far"


def run_parts(trace):
    """The iteration table's first and last rows and the projected-gradient chart."""
    ends = trace.of_kind("iteration_end")
    rows = [[e.it] + [compact(getattr(e, name)) for name in ROW_FIELDS] for e in ends]
    table = _table(("it",) + ROW_FIELDS, _elided(rows)) if rows else ""
    points = [(e.it, e.projg) for e in trace.of_kind("initial_point") + ends]
    chart = projg_chart(points)
    caption = ("<div>projected gradient per iteration (log scale; a red dot: exactly 0)</div>"
               if chart else "")
    return table + caption + chart


def trace_html(trace):
    """``Trace._repr_html_``: message, event count, table rows, chart."""
    head = f"<div>{_esc(_message(trace))}</div><div>{len(trace)} events</div>"
    return _box("lbfgsb_py Trace", head, run_parts(trace))


def result_html(result):
    """``Result._repr_html_``: message, SciPy's main fields, then the trace's rows
    and chart when the run was traced."""
    keys = [k for k in ("success", "status", "fun", "x", "nit", "nfev", "njev")
            if k in result]
    trace = result.get("trace")
    return _box("lbfgsb_py result", f"<div>{_esc(result.get('message', ''))}</div>",
                _fields((k, result[k]) for k in keys), run_parts(trace) if trace else "")


def event_html(event):
    """``Event._repr_html_``: kind, the table's iteration number, a one-line
    description (the class docstring's first line) and every field."""
    about = (type(event).__doc__ or "").strip().splitlines()
    fields = [(k, v) for k, v in event.to_dict().items() if k != "kind"]
    return _box(f"{event.kind} (it {event.it})",
                f"<div>{_esc(about[0])}</div>" if about else "", _fields(fields))


def solver_html(solver):
    """``Solver._repr_html_``: where the run is (task, iteration, evaluations,
    the last f evaluated, the last iterate's projg, the next point to evaluate)
    and the table rows recorded so far."""
    state = solver.engine.state
    where = "done" if solver.done else f"task {Task(state.task).name}"
    pairs = [("nit", state.nit), ("nfev", state.nfev), ("f of the last evaluation", state.f),
             ("projg at the last iterate", state.sbgnrm),
             ("next point" if not solver.done else "x", solver.ask() if not solver.done
              else state.x)] if state.nfev else []
    trace = solver.tracer.trace if solver.tracer.on else None
    note = (solver.result()["message"] if solver.done
            else "" if pairs else "nothing evaluated yet")
    return _box(f"lbfgsb_py Solver: {where}", f"<div>{_esc(note)}</div>" if note else "",
                _fields(pairs) if pairs else "", run_parts(trace) if trace else "")

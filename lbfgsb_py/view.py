"""A page to explore a run: one self-contained HTML file, offline.

:func:`view` (and ``lbfgsb-py view TRACE -o run.html``) writes the run's
summary and :func:`~lbfgsb_py.explain` diagnosis, the convergence chart, the
iteration table and, for the iteration selected (click a row, or the arrow
keys), its Cauchy path, free-set changes, subspace step, line-search trials
and picture, update and :meth:`Trace.story` text; with ``fun`` and a trace at
level ``"full"`` also the iteration in the plane of x[0], x[1] (over contours
of f when n = 2).

Everything is inline: the pictures are matplotlib SVGs (text kept as text,
coordinates rounded, styles shared once per page: ~20 kB an iteration with
``fun``, ~2 MB for 100 iterations), the data a JSON object, the interaction a
few lines of JavaScript; the page makes no network request.  Without matplotlib
the page has the tables and the stories but no pictures.
"""
from __future__ import annotations

import hashlib
import html
import io
import json
import re
from importlib import resources

import numpy as np

from .render import as_trace, compact
from .story import story


def view(result_or_trace, fun=None, path=None, args=()):
    """The page of a run, as a :class:`Page` (Jupyter shows it inline).

    Parameters
    ----------
    result_or_trace : Result, Trace or list of events
    fun : callable, optional
        The objective: phi curves in the line-search pictures and, at trace
        level ``"full"``, the iteration pictures over contours of f.
    path : str or Path, optional
        Also write the page there.
    args : tuple
        Extra arguments of ``fun``.
    """
    page = Page(page_html(result_or_trace, fun, args))
    if path is not None:
        page.save(path)
    return page


class Page:
    """An HTML page: ``.html`` (the text), :meth:`save`, shown inline by Jupyter."""

    def __init__(self, text):
        self.html = text

    def save(self, path):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.html)

    def _repr_html_(self):
        escaped = html.escape(self.html, quote=True)
        return (f'<iframe srcdoc="{escaped}" style="width:100%;height:640px;border:1px solid '
                f'#ccc"></iframe>')


def page_html(result_or_trace, fun=None, args=()):
    """The page's HTML text (see :func:`view`)."""
    trace = as_trace(result_or_trace)
    data = {"summary": _summary(trace), "diagnosis": _diagnosis(trace, fun),
            "convergence": _svg(_convergence_figure, trace),
            "iterations": [_iteration(trace, k, fun, args) for k in iteration_numbers(trace)]}
    rules = _hoist_styles(data)
    template = resources.files("lbfgsb_py").joinpath("view_template.html").read_text("utf-8")
    payload = json.dumps(data, allow_nan=False, default=_jsonable).replace("</", "<\\/")
    return template.replace("/*SVG_STYLES*/", rules).replace("/*DATA*/null", payload)


_SVG_STYLE = re.compile(r"<style type='text/css'>([^<]*)</style>")
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")


def _hoist_styles(data):
    """Move the pictures' CSS rules into the page's head, each rule once.

    The rules are ``*{...}`` (the same in every matplotlib SVG, and page-wide
    already, since an inline SVG's style sheet applies to the whole document)
    and ``.s<hash>{...}`` (see :func:`_slim_svg`: one name, one style), so
    writing them once for the page draws the same as writing them in each
    picture: ~2 kB a picture less.
    """
    rules = {}

    def hoist(svg):
        match = _SVG_STYLE.search(svg)
        if not match or _RULE.sub("", match.group(1)).strip():
            return svg
        for selector, body in _RULE.findall(match.group(1)):
            rules.setdefault(selector.strip(), body)
        svg = svg[:match.start()] + svg[match.end():]
        return svg.replace("<defs></defs>", "", 1)

    data["convergence"] = hoist(data["convergence"])
    for it in data["iterations"]:
        it["line_search"], it["plane"] = hoist(it["line_search"]), hoist(it["plane"])
    return "\n".join(f"{selector} {{{body}}}" for selector, body in rules.items())


def iteration_numbers(trace):
    """The iterations the page lists: the table's rows 1, 2, ... that have events."""
    return sorted({e.it for e in trace if e.it > 0 and e.kind == "iteration_start"})


def _summary(trace):
    end = trace.of_kind("termination")
    start = trace.of_kind("run_start")
    head = f"n = {start[0].n}, m = {start[0].m}, level {start[0].level}" if start else ""
    if not end:
        return f"{head}; the run did not finish"
    e = end[0]
    return (f"{e.message} | {head} | iterations {e.nit}, evaluations {e.nfev}, "
            f"f = {e.f:.10g}, projected gradient {e.projg:.3g}")


def _diagnosis(trace, fun):
    from .explain import explain
    try:
        return str(explain(trace, fun))
    except Exception as exc:  # a diagnosis that fails must not lose the page
        return f"(explain failed: {type(exc).__name__}: {exc})"


def _iteration(trace, k, fun, args):
    events = trace.at_iteration(k)
    ends = [e for e in events if e.kind == "iteration_end"]
    return {"k": k, "story": story(trace, k),
            "n_trials": sum(e.kind == "line_search_trial" for e in events),
            "row": {name: compact(getattr(ends[-1], name)) for name in TABLE_FIELDS}
            if ends else None,
            "sections": _sections(events),
            "line_search": _svg(_line_search_figure, trace, k, fun, args),
            "plane": _svg(_plane_figure, trace, k, fun, args) if fun is not None else ""}


#: The iteration table's columns (``iteration_end`` fields).
TABLE_FIELDS = ("nfev", "f", "projg", "nseg", "nact", "sub", "itls", "stepl", "tstep")
#: The detail sections of the selected iteration and the event kinds in each.
SECTIONS = {"Cauchy path": ("cauchy_breakpoint", "cauchy_point"),
            "Free set": ("free_set",), "Subspace step": ("subspace_step",),
            "Line search": ("line_search_start", "line_search_trial", "line_search_end"),
            "Update and stopping tests": ("memory_reset", "iteration_end", "convergence_test",
                                          "bfgs_update")}


def _sections(events):
    """``{section: [{"kind": ..., "fields": {name: text}}]}`` for the detail panel."""
    return {title: [_event_row(e) for e in events if e.kind in kinds]
            for title, kinds in SECTIONS.items()}


def _event_row(e):
    fields = {name: compact(value) for name, value in e.to_dict().items()
              if name not in ("kind", "iteration", "nfev")}
    return {"kind": e.kind, "fields": fields}


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# ------------------------------------------------------------------ pictures
def _svg(draw, *args):
    """``draw(*args)`` as inline SVG text; "" without matplotlib or when the
    trace lacks what the picture needs."""
    try:
        fig = draw(*args)
    except (ImportError, ValueError):
        return ""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "lbfgsb_py"}):
        FigureCanvasSVG(fig)
        fig.savefig(out, format="svg")
    text = out.getvalue()
    return _slim_svg(text[text.index("<svg"):])


#: An element's start tag (or empty-element tag).
_TAG = re.compile(r"<[A-Za-z][^>]*>")
_DECIMAL = re.compile(r"-?\d+\.\d{3,}")
_PATH_DATA = re.compile(r' d="([^"]*)"')
_STYLE = re.compile(r' style="([^"]*)"')


def _slim_svg(text):
    """matplotlib's SVG with the same picture in about half the bytes.

    Drops what is not drawn (metadata, comments, the indentation between
    tags, ids of groups, rotations by 0), rounds coordinates in attributes to
    0.01 pt (a hundredth of a point; the text between tags, labels included,
    is kept as it is), writes path data without spaces around its commands,
    and shares each repeated ``style`` as a CSS class whose name is the
    style's hash (the same name in two pictures means the same style, so the
    pictures of one page cannot disagree).
    """
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r">\s+<", "><", text)
    styles = {}
    text = _TAG.sub(lambda m: _slim_tag(m.group(0), styles), text)
    if styles:
        rules = "".join(f".{name}{{{style}}}" for style, name in styles.items())
        if "</style>" in text:
            text = text.replace("</style>", rules + "</style>", 1)
        else:
            start = text.index(">") + 1
            text = f"{text[:start]}<style type='text/css'>{rules}</style>{text[start:]}"
    return text


def _slim_tag(tag, styles):
    tag = _DECIMAL.sub(_round_number, tag)
    tag = re.sub(r' transform="rotate\(-?0 [^")]*\)"', "", tag)
    if tag.startswith("<g "):
        tag = re.sub(r' id="[^"]*"', "", tag)
    tag = _PATH_DATA.sub(lambda m: f' d="{_slim_path(m.group(1))}"', tag)
    if ' id="' not in tag:          # shared definitions (markers) keep their own style
        tag = _STYLE.sub(lambda m: f' class="{_style_class(m.group(1), styles)}"', tag, count=1)
    return re.sub(r'="([^"\']*)"', r"='\1'", tag)   # no backslash for it in the JSON


def _round_number(match):
    text = f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _slim_path(d):
    d = " ".join(d.split())
    return re.sub(r" ?([A-Za-z]) ?", r"\1", d)


def _style_class(style, styles):
    if style not in styles:
        styles[style] = "s" + hashlib.blake2s(style.encode(), digest_size=4).hexdigest()
    return styles[style]


def _convergence_figure(trace):
    from .plots import plot_convergence
    return _small(plot_convergence(trace), 3.6)


def _line_search_figure(trace, k, fun, args):
    from .plots import plot_line_search
    return _small(plot_line_search(trace, k, fun=fun, args=args, n_grid=60), 4.4)


def _plane_figure(trace, k, fun, args):
    """The iteration in the plane of x[0], x[1]; contours of f for n = 2 only (for
    larger n a slice through x says little and would make each picture ~50 kB)."""
    from .plots import plot_iteration_2d
    contours = fun if trace.of_kind("run_start")[0].n == 2 else None
    return _small(plot_iteration_2d(trace, k, fun=contours, args=args, n_grid=24), 4.4)


def _small(fig, height):
    width = fig.get_figwidth() * height / fig.get_figheight()
    fig.set_size_inches(min(width, 7.0), height)
    if fig._suptitle is not None:
        fig._suptitle.set_fontsize("small")
    return fig

"""Jupyter's rich display: ``_repr_html_`` of results, traces, events and the Solver.

The HTML is parsed back (stdlib ``html.parser``) and checked against the run:
the message, the fields, the table rows it claims to show and the chart's points.
"""
from html.parser import HTMLParser

import numpy as np
import pytest
from scipy.optimize import OptimizeResult, minimize as scipy_minimize, rosen, rosen_der

import lbfgsb_py
from lbfgsb_py import notebook


class Parsed(HTMLParser):
    """Text of the page, table cells row by row, polyline points, circles."""

    def __init__(self, text):
        super().__init__()
        self.text, self.rows, self.points, self.circles = [], [], [], 0
        self._in_cell = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")
        elif tag == "polyline":
            self.points = [tuple(map(float, p.split(","))) for p in attrs["points"].split()]
        elif tag == "circle":
            self.circles += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_cell:
            self.rows[-1][-1] += data

    def field(self, name):
        return next(row[1] for row in self.rows if row and row[0] == name)

    def iteration_rows(self):
        """The iteration table's rows (first cell an iteration number or dots)."""
        start = next(i for i, row in enumerate(self.rows) if row[0] == "it")
        return self.rows[start + 1:]


@pytest.fixture(scope="module")
def result():
    return lbfgsb_py.minimize(rosen, np.zeros(4), jac=rosen_der, bounds=[(-2, 2)] * 4)


def test_result_html_holds_message_fields_rows_and_chart(result):
    page = Parsed(result._repr_html_())
    assert result.message in "".join(page.text)     # escaped once, read back as is
    assert page.field("nit") == str(result.nit)
    assert page.field("fun") == lbfgsb_py.render.compact(result.fun)
    ends = result.trace.of_kind("iteration_end")
    assert len(ends) > notebook.HEAD_ROWS + notebook.TAIL_ROWS + 1
    rows = page.iteration_rows()
    shown = ends[:notebook.HEAD_ROWS] + ends[-notebook.TAIL_ROWS:]
    assert [r[0] for r in rows] == ([str(e.it) for e in shown[:notebook.HEAD_ROWS]] + ["..."]
                                    + [str(e.it) for e in shown[notebook.HEAD_ROWS:]])
    assert rows[-1][3] == lbfgsb_py.render.compact(ends[-1].projg)
    assert len(page.points) == len(ends) + 1             # x0 and every iterate


def test_chart_falls_with_the_projected_gradient(result):
    points = Parsed(result._repr_html_()).points
    ends = result.trace.of_kind("iteration_end")
    smallest = int(np.argmin([e.projg for e in ends]))
    assert max(y for _, y in points) == points[smallest + 1][1]   # SVG's y grows downwards
    assert all(0 <= x <= notebook.CHART_WIDTH for x, _ in points)


def test_zero_projected_gradient_is_a_dot_not_a_gap():
    res = lbfgsb_py.minimize(np.sum, np.full(2, 0.5), jac=lambda x: np.ones(2),
                             bounds=[(0, 1)] * 2)
    assert res.trace.of_kind("iteration_end")[-1].projg == 0
    page = Parsed(res._repr_html_())
    assert page.circles == 1 and len(page.points) == 1


def test_result_without_trace_has_no_table_or_chart():
    res = lbfgsb_py.minimize(rosen, np.zeros(2), jac=rosen_der, trace="off")
    page = Parsed(res._repr_html_())
    assert res.message in "".join(page.text)
    assert not page.points and all(row[0] != "it" for row in page.rows)


def test_scipy_minimize_returns_our_result_with_its_display():
    res = scipy_minimize(rosen, np.zeros(3), jac=rosen_der, method=lbfgsb_py.scipy_method)
    assert isinstance(res, OptimizeResult)
    assert res._repr_html_() == notebook.result_html(res)


def test_trace_html_counts_events(result):
    page = Parsed(result.trace._repr_html_())
    text = "".join(page.text)
    assert f"{len(result.trace)} events" in text and result.message in text


def test_event_html_shows_every_field(result):
    event = result.trace.of_kind("line_search_trial")[0]
    page = Parsed(event._repr_html_())
    assert f"line_search_trial (it {event.it})" in "".join(page.text)
    for name, value in event.to_dict().items():
        if name != "kind":
            assert page.field(name) == lbfgsb_py.render.compact(value)


def test_solver_html_follows_the_run():
    solver = lbfgsb_py.Solver(rosen, np.zeros(3), jac=rosen_der)
    assert "nothing evaluated yet" in "".join(Parsed(solver._repr_html_()).text)
    solver.step()
    page = Parsed(solver._repr_html_())
    assert page.field("nit") == "1"
    assert page.field("next point") == lbfgsb_py.render.compact(solver.ask())
    assert [r[0] for r in page.iteration_rows()] == ["1"]
    result = solver.run()
    text = "".join(Parsed(solver._repr_html_()).text)
    assert "Solver: done" in text and result.message in text

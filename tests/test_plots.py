"""Plots render to non-empty PNG files; the Cauchy model is continuous."""
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from lbfgsb_py import builtin_problems, plots  # noqa: E402
from lbfgsb_py import trace as tr  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rosen():
    problem = builtin_problems.get("rosenbrock")
    return problem, problem.solve(trace="full")


@pytest.fixture(scope="module")
def abnormal():
    problem = builtin_problems.get("wrong_gradient_sign")
    return problem, problem.solve(trace="full")


def saved(fig, tmp_path, name="fig.png"):
    path = tmp_path / name
    plots.save(fig, path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    return fig


def test_convergence(rosen, tmp_path):
    fig = saved(plots.plot_convergence(rosen[1]), tmp_path)
    ax_f, ax_g = fig.axes
    assert ax_g.get_yscale() == "log"
    assert len(ax_f.lines[0].get_xdata()) == rosen[1].nit + 1


def test_line_search_with_phi_curve(rosen, tmp_path):
    problem, result = rosen
    fig = saved(plots.plot_line_search(result, 1, fun=problem.fun), tmp_path)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "phi(stp) = f(x + stp d)" in labels and "trials" in labels


def test_line_search_default_iteration_log_axis(abnormal, tmp_path):
    """The failed search: 20 trials over 16 decades, drawn on a log step axis."""
    problem, result = abnormal
    fig = saved(plots.plot_line_search(result, fun=problem.fun), tmp_path)
    assert fig.axes[0].get_xscale() == "log"
    assert len(fig.axes[0].lines[0].get_xdata()) == 20
    assert "maxls" in fig._suptitle.get_text()


def test_cauchy(rosen, tmp_path):
    fig = saved(plots.plot_cauchy(rosen[1], 1), tmp_path)
    assert "5 segment(s)" in fig._suptitle.get_text()  # all 5 fixed: Fortran counts 5


def test_cauchy_needs_full_level(tmp_path):
    result = builtin_problems.get("rosenbrock").solve(trace="iteration")
    with pytest.raises(ValueError, match="level 'full'"):
        plots.plot_cauchy(result)
    unbounded = builtin_problems.get("wrong_gradient").solve(trace="full")
    with pytest.raises(ValueError, match="iteration 2 has no cauchy_breakpoint"):
        plots.plot_cauchy(unbounded, 2)          # no bounds, memory not empty: no search


def test_cauchy_pieces_continuous_and_end_at_gcp():
    def bp(seg, t_break, dt, f1, f2, dtm, gcp):
        return tr.CauchyBreakpoint(0, 1, segment=seg, variable=seg - 1, t_break=t_break, dt=dt,
                                   f1=f1, f2=f2, dtm=dtm, gcp_in_segment=gcp)
    pieces = plots.cauchy_pieces([bp(1, 0.5, 0.5, -4.0, 2.0, 2.0, False),
                                  bp(2, np.inf, np.inf, -1.0, 4.0, 0.25, True)])
    assert pieces[0] == (0.0, 0.5, 0.0, -4.0, 2.0)
    t0, t1, m0, _, _ = pieces[1]
    assert (t0, t1) == (0.5, 0.75)
    assert m0 == pytest.approx(-4.0 * 0.5 + 0.5 * 2.0 * 0.25)


def test_missing_matplotlib_message(monkeypatch, rosen):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'lbfgsb-py\[plot\]'"):
        plots.plot_convergence(rosen[1])

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
    assert "phi(stp) - f0 = f(x + stp d) - f0" in labels and "trials" in labels


def test_line_search_default_iteration_log_axis(abnormal, tmp_path):
    """The failed search: 20 trials over 16 decades, drawn on a log step axis."""
    problem, result = abnormal
    fig = saved(plots.plot_line_search(result, fun=problem.fun), tmp_path)
    assert fig.axes[0].get_xscale() == "log"
    assert len(fig.axes[0].lines[0].get_xdata()) == 20
    assert "maxls" in fig._suptitle.get_text()


def test_line_search_tiny_rises_visible_on_symlog(abnormal):
    """Trials above f0 by tiny amounts are drawn as f - f0 on a symlog axis whose
    linear part is no larger than the smallest rise: none sits on the f0 line."""
    result = abnormal[1]
    ax = plots.plot_line_search(result).axes[0]
    start = result.trace.of_kind("line_search_start")[0]
    rise = np.array([t.f for t in result.trace.of_kind("line_search_trial")]) - start.f0
    assert ax.get_yscale() == "symlog"
    assert np.array_equal(ax.lines[0].get_ydata(), rise)
    assert ax.yaxis.get_transform().linthresh <= np.abs(rise[rise != 0]).min()
    labels = [t.get_text() for t in ax.texts]
    assert sorted(labels, key=int) == [str(i) for i in range(1, 21)]


def test_label_trials_neighbours_at_different_heights():
    from matplotlib.figure import Figure
    ax = Figure().subplots()
    plots.label_trials(ax, [3.0, 1.0, 2.0], [0.0, 0.0, 0.0], [1, 2, 3])
    offsets = {t.get_text(): t.xyann for t in ax.texts}
    ordered = [offsets[n] for n in ("2", "3", "1")]            # in x order
    assert ordered[0] != ordered[1] != ordered[2]


def test_line_search_every_search_of_an_iteration():
    """A memory reset restarts the iteration: both searches get a column."""
    trial = lambda it, n: tr.LineSearchTrial(it, n, trial=1, stp=1.0, f=1.0 + n, gd=-1.0,  # noqa: E731
                                             ftest=0.5, sufficient_decrease=False,
                                             curvature=False, stx=0.0, sty=1.0, brackt=True,
                                             stage=1, task="FG", message="", case=1,
                                             next_stp=0.5)
    start = tr.LineSearchStart(1, 1, stp=1.0, stpmax=10.0, dnorm=1.0, gd=-1.0, f0=1.0)
    reset = tr.MemoryReset(1, 3, reason="line_search_failed", info=-4, col_before=2)
    events = [start, trial(1, 2), reset, start, trial(1, 4), trial(1, 5)]
    assert [len(t) for _, t in plots.line_searches(events)] == [1, 2]
    fig = plots.plot_line_search(events, 2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["search 1 of 2 (then memory reset: line_search_failed)", "search 2 of 2"]


def test_symlog_threshold():
    assert plots.symlog_threshold([0.0, -3e-12, 5.0, np.nan]) == 3e-12
    assert plots.symlog_threshold([0.0]) == 1.0


def test_convergence_marks_zero_projg(tmp_path):
    """A projected gradient of exactly 0 has no place on the log axis: it is marked."""
    result = builtin_problems.get("image784").solve()
    assert result.trace.of_kind("initial_point")[0].projg == 0
    fig = saved(plots.plot_convergence(result), tmp_path)
    zero = [ln for ln in fig.axes[1].lines if ln.get_label() == "projg = 0 (exactly)"]
    assert len(zero) == 1 and list(zero[0].get_xdata()) == [0]


@pytest.mark.parametrize("name, k", [("bounded_quadratic", 1), ("wrong_gradient_sign", 1)])
def test_iteration_2d(name, k, tmp_path):
    """The iteration in the plane: the path starts at x and ends at the Cauchy point,
    every trial is drawn, contours when fun is given."""
    problem = builtin_problems.get(name)
    result = problem.solve(trace="full")
    fig = saved(plots.plot_iteration_2d(result, k, fun=problem.fun), tmp_path)
    lines = {ln.get_label(): ln for ln in fig.axes[0].lines}
    path = np.column_stack(lines["P(x - t g): Cauchy path"].get_data())
    cp = result.trace.at_iteration(k)
    xcp = [e for e in cp if e.kind == "cauchy_point"][0].xcp
    assert np.allclose(path[0], lines["x (iterate)"].get_xydata()[0])
    assert np.allclose(path[-1], xcp[:2])
    n_trials = len([e for e in cp if e.kind == "line_search_trial"])
    assert len(lines["trials"].get_xdata()) == n_trials
    assert fig.axes[0].collections                               # the contours


def test_iteration_2d_needs_full_level():
    result = builtin_problems.get("bounded_quadratic").solve()
    with pytest.raises(ValueError, match="level 'full'"):
        plots.plot_iteration_2d(result, 1)


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

"""The story view: one iteration in sentences, built from its events."""
import pytest
from click.testing import CliRunner

import lbfgsb_py
from lbfgsb_py.builtin_problems import get
from lbfgsb_py.cli import cli
from lbfgsb_py.story import CASE_WORDS


@pytest.fixture(scope="module")
def failed():
    return get("wrong_gradient_sign").solve(trace="full")


def test_story_tells_every_trial_with_its_tests_and_case(failed):
    text = failed.trace.story(1)
    trials = failed.trace.at_iteration(1)
    trials = [e for e in trials if e.kind == "line_search_trial"]
    lines = [line for line in text.splitlines() if line.startswith("  Trial ")]
    assert len(lines) == len(trials) > 1
    for line, e in zip(lines, trials):
        assert line.startswith(f"  Trial {e.trial}: ")
        assert ("sufficient decrease holds" in line) == e.sufficient_decrease
        assert CASE_WORDS[e.case] in line
    assert "the search failed" in text and text.startswith("Iteration 1 starts")


def test_story_names_the_variables_of_a_full_trace():
    res = lbfgsb_py.minimize(lambda x: (x[0] - 2) ** 2 + 10 * (x[1] + 1) ** 2, [0.5, 0.5],
                             bounds=[(0, 1), (-0.5, 1)], trace="full")
    text = res.trace.story(1)
    hits = [e for e in res.trace.at_iteration(1) if e.kind == "cauchy_breakpoint"]
    for e in hits:
        assert f"variable {e.variable} hits its bound at t = {e.t_break:.4g}" in text
    assert "generalized Cauchy point at [1, -0.5]" in text


def test_show_story_on_the_command_line(failed, tmp_path):
    path = tmp_path / "t.jsonl"
    failed.trace.save(path)
    out = CliRunner().invoke(cli, ["show", str(path), "--format", "story", "--iteration", "1"])
    assert out.exit_code == 0 and out.stdout == failed.trace.story(1)
    with pytest.raises(ValueError, match="no events for iteration 7"):
        failed.trace.story(7)

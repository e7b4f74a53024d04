"""The run page: self-contained, one row per iteration, details of the selected one.

The DOM-level tests read the page's data; the browser tests load it in a real
headless Chromium (Playwright driving the system's ``chromium``): no console
error, as many rows as iterations, a click or an arrow key shows the selected
iteration's trial count.  Locally they skip when no browser is found; with
``CI=true`` they must run.
"""
import io
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from lbfgsb_py import builtin_problems, minimize
from lbfgsb_py.cli import main
from lbfgsb_py.view import view

matplotlib = pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def failed_run():
    problem = builtin_problems.get("wrong_gradient_sign")
    return problem, problem.solve(trace="full")


@pytest.fixture(scope="module")
def page(failed_run, tmp_path_factory):
    problem = builtin_problems.get("bounded_quadratic")
    result = problem.solve(trace="full")
    path = tmp_path_factory.mktemp("view") / "run.html"
    view(result, fun=problem.fun, path=path)
    return result, path


def page_data(text):
    match = re.search(r"const DATA = (.*);\n", text)
    return json.loads(match.group(1))


def test_page_is_self_contained(page):
    text = page[1].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script src" not in text and "@import" not in text
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text)


def test_page_data_one_entry_per_iteration(page):
    result, path = page
    data = page_data(path.read_text())
    assert [it["k"] for it in data["iterations"]] == list(range(1, result.nit + 1))
    trials = [len([e for e in result.trace.at_iteration(it["k"])
                   if e.kind == "line_search_trial"]) for it in data["iterations"]]
    assert [it["n_trials"] for it in data["iterations"]] == trials
    assert data["iterations"][0]["story"] == result.trace.story(1)
    assert data["iterations"][0]["plane"].startswith("<svg")     # fun given, level full
    assert result.message in data["summary"]


def test_cli_view(failed_run, tmp_path, capsys):
    trace_path, out = tmp_path / "t.jsonl", tmp_path / "t.html"
    failed_run[1].trace.save(trace_path)
    with pytest.raises(SystemExit) as stop:
        main(["view", str(trace_path), "-o", str(out)])
    assert stop.value.code in (0, None)
    data = page_data(out.read_text())
    assert data["iterations"][0]["n_trials"] == 20
    assert "maxls" in data["iterations"][0]["story"] or "trial limit" in data["iterations"][0]["story"]


def test_notebook_display_is_an_iframe(failed_run):
    shown = view(failed_run[1])._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "&lt;script&gt;" in shown


# ------------------------------------------------------------------ browser
def _browser():
    """The system's Chromium and Playwright, or a skip (a failure with CI=true)."""
    exe = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if exe and sync_playwright:
        return exe, sync_playwright
    why = "no chromium on PATH" if not exe else "playwright is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {why}")
    pytest.skip(f"browser test skipped: {why} (apt-get install chromium; pip install playwright)")


@pytest.fixture(scope="module")
def browser_page(page):
    exe, sync_playwright = _browser()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        tab = browser.new_page()
        errors, requests = [], []
        tab.on("console", lambda m: m.type == "error" and errors.append(m.text))
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("request", lambda r: not r.url.startswith(("file:", "data:")) and
               requests.append(r.url))
        tab.goto(page[1].as_uri())
        yield tab, errors, requests
        browser.close()


def test_browser_loads_without_errors_or_requests(browser_page, page):
    tab, errors, requests = browser_page
    assert errors == [] and requests == []
    assert tab.locator("#iterations tbody tr").count() == page[0].nit


def test_browser_selecting_shows_the_trial_count(browser_page, page):
    tab, errors, _ = browser_page
    trials = page_data(page[1].read_text())["iterations"]
    tab.locator("#iterations tbody tr").nth(2).click()
    assert tab.locator("#sel-k").inner_text() == str(trials[2]["k"])
    assert tab.locator("#n-trials").inner_text() == str(trials[2]["n_trials"])
    tab.keyboard.press("ArrowDown")
    assert tab.locator("#n-trials").inner_text() == str(trials[3]["n_trials"])
    assert tab.locator("#iterations tbody tr.selected").count() == 1
    assert errors == []


# ------------------------------------------------------------------ size
from lbfgsb_py.builtin_problems import _rosenbrock, _rosenbrock_grad  # noqa: E402


def test_long_run_page_stays_small():
    """92 iterations (extended Rosenbrock, n = 14) with ``fun``: two pictures per
    iteration.  The page was 4.75 MB before the SVGs were slimmed and is 1.9 MB
    since (~20 kB an iteration: 16 kB of pictures, the rest the event tables and
    the story); 2.2 MB leaves ~15% for another matplotlib's ticks and layout."""
    result = minimize(_rosenbrock, np.tile([-1.2, 1.0], 7), jac=_rosenbrock_grad, trace="full")
    assert 85 <= result.nit <= 100
    text = view(result, fun=_rosenbrock).html
    assert len(text.encode("utf-8")) < 2.2e6
    data = page_data(text)
    assert all(it["plane"].startswith("<svg") and it["line_search"].startswith("<svg")
               for it in data["iterations"])


def test_slim_svg_keeps_every_element_and_label(failed_run):
    import matplotlib.pyplot as plt

    from lbfgsb_py.view import _slim_svg

    fig, ax = plt.subplots()
    ax.plot([0.123456, 1.5, 2.25], [1e-3, 2.0, 0.5], "o-", label="phi(stp) - f0 = 1.23456789")
    ax.set_yscale("log")
    ax.set_title("iteration 3: 2 trial(s)")
    ax.legend()
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg")
    plt.close(fig)
    raw = out.getvalue()
    raw = raw[raw.index("<svg"):]
    slim = _slim_svg(raw)
    assert len(slim) < 0.6 * len(raw)
    for element in ("<path", "<use", "<text", "<tspan", "<clipPath"):
        assert slim.count(element) == raw.count(element), element
    labels = re.findall(r">([^<>]+)</t", slim)
    assert labels == [t for t in re.findall(r">([^<>]+)</t", raw) if t.strip()]
    assert "1.23456789" in slim and "<metadata" not in slim and "<!--" not in slim
    assert all(" id=" in tag for tag in re.findall(r"<[^>]* style=[^>]*>", slim))
    ET.fromstring(slim)                             # still well-formed XML


def test_page_shares_the_pictures_styles_once(page):
    text = page[1].read_text()
    data = page_data(text)
    head = text.split("</style>", 1)[0]
    used = set()
    for it in data["iterations"]:
        for svg in (it["line_search"], it["plane"]):
            assert "<style" not in svg
            used.update(re.findall(r"class='(s[0-9a-f]{8})'", svg))
    assert used and all(head.count(f".{name} {{") == 1 for name in used)

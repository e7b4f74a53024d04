"""The run page: self-contained, one row per iteration, details of the selected one.

The DOM-level tests read the page's data; the browser tests load it in a real
headless Chromium (Playwright driving the system's ``chromium``): no console
error, as many rows as iterations, a click or an arrow key shows the selected
iteration's trial count.  Locally they skip when no browser is found; with
``CI=true`` they must run.
"""
import json
import os
import re
import shutil

import pytest

from lbfgsb_py import builtin_problems
from lbfgsb_py.view import view
from lbfgsb_py.cli import main

pytest.importorskip("matplotlib")


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

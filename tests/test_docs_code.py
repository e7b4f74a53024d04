"""The Python examples in the docs run as written."""
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", ["reading-the-code.md", "exploring-a-run.md"])
def test_python_blocks_run(page, capsys, monkeypatch):
    monkeypatch.chdir(DOCS.parent)          # the pages' examples run from the repository root
    monkeypatch.setattr(sys, "path", list(sys.path))
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, page, "exec"), {})
    assert capsys.readouterr().out.strip()


def test_the_pdb_walk_stops_in_the_cauchy_search(monkeypatch):
    import io
    import pdb
    import sys

    import lbfgsb_py
    from lbfgsb_py.builtin_problems import get
    p = get("rosenbrock")
    solver = lbfgsb_py.Solver(p.fun, p.x0, jac=p.jac, bounds=p.bounds, backend="reference")
    solver.step()
    commands = ("from lbfgsb_py.reference.cauchy import generalized_cauchy_point\n"
                "break generalized_cauchy_point\ncontinue\np 'nfev', state.nfev\ncontinue\n")
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(commands))
    pdb.Pdb(stdin=sys.stdin, stdout=out).runcall(solver.step)
    text = out.getvalue()
    assert "generalized_cauchy_point()" in text and "('nfev', 4)" in text


def _local_links(page):
    """(target, resolved path) of every link and image of a Markdown page that is
    not a web address or an anchor."""
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"(https?|mailto):|#", target):
            yield target, (page.parent / target.split("#")[0]).resolve()


def test_docs_point_only_inside_the_repository():
    root = DOCS.parent
    pages = [root / "README.md", *DOCS.glob("*.md")]
    links = [(page.name, target, path) for page in pages for target, path in _local_links(page)]
    assert len(links) > 10
    for name, target, path in links:
        assert path.is_relative_to(root) and path.exists(), f"{name}: {target}"

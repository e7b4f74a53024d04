"""The benchmark's own machinery (not its timings): the code its fresh processes run,
the reading of the previous BENCH.md and the report."""
import argparse
import json
import os
import subprocess
import sys

import pytest

from validation import bench

ROOT = bench.ROOT


def _row(n, bounded, maxcor, ratio, backend="compiled"):
    return dict(n=n, bounded=bounded, maxcor=maxcor, nit=[(30, 30)], backend=backend,
                scipy=1e-4, ours=ratio * 1e-4, ratio=ratio, mem_scipy=2**20, mem_ours=2**20,
                bandwidth=1e-6)


def _case(median, **output):
    out = dict(nit=31, status=0, numba=False, scipy=False, ours=True, compiled=False,
               file="x", cache_files_after=0)
    out.update(output)
    return dict(median=median, times=[median], outputs=[out])


def _results(tmp_path):
    args = argparse.Namespace(quick=True, sections=",".join(bench.SECTIONS), maxiter=30,
                              note="a note")
    first = dict(python_numpy=dict(median=0.1, times=[0.1], outputs=[""]),
                 python_scipy_import=_case(0.5, ours=False, nit=None, scipy=True),
                 python_numba_import=_case(0.4, ours=False, nit=None, numba=True),
                 scipy=_case(0.6, ours=False, scipy=True),
                 ours_import=_case(0.2, nit=None),
                 auto_cold=_case(0.7), reference_cold=_case(0.7),
                 auto_background=_case(0.8), background_compile_done_after=40.0,
                 background_ready=True,
                 compile=dict(median=40.0, times=[40.0], files=200, ready=True),
                 compiled_warm=_case(0.9, numba=True, compiled=True),
                 auto_warm=_case(0.9, numba=True, compiled=True))
    return dict(args=args, pairs=3, runs=1, sections=list(bench.SECTIONS), commit="abc1234",
                dirty=False, load=[1.0, 2.0], first=first,
                reference=[_row(10, True, 10, 25.0, "reference")],
                compiled=[_row(10, True, 5, 0.9), _row(10, False, 5, 0.8)],
                previous=({(10, "box", 5): 0.86}, "2026-11-27"),
                tracing={1000: dict(off=1e-4, iteration=1.2e-4, full=2e-4)},
                tracing_off=dict(tests=10.0, per_test=1.5e-8, per_it=2.5e-5, n=10, maxcor=10),
                against=dict(rev="HEAD~3", commit="def5678", rows=[dict(
                    n=10, bounded=True, maxcor=5, scipy=1e-4, before=0.9e-4, now=1e-4,
                    before_scipy=0.9, now_scipy=1.0, now_before=1.11)]))


def test_report_has_every_section_and_compares_with_the_previous_ratios(tmp_path):
    text = bench._report(_results(tmp_path))
    for heading in ("## First solve", "## Reference backend", "## Compiled backend",
                    "## Growth", "## The same session", "## Cost of tracing"):
        assert heading in text
    assert "a note" in text and "abc1234" in text
    assert "| 10 | box | 5 |" in text and "| 0.86 | 1.05 |" in text   # 0.9 / 0.86
    assert "| 10 | none | 5 |" in text                                # no previous: blanks
    assert "| compiled | NumPy, lbfgsb_py, Numba |" in text
    assert "**40.0 s**" in text
    assert "lbfgsb_py at def5678" in text and "| 0.90 | 1.00 | **1.11** |" in text


def test_previous_ratios_are_read_back_from_a_report_and_from_the_committed_file(tmp_path):
    path = tmp_path / "BENCH.md"
    path.write_text(bench._report(_results(tmp_path)))
    ratios, _ = bench.previous_ratios(path)
    # the compiled table, not the reference one written above it
    assert ratios == {(10, "box", 5): 0.9, (10, "none", 5): 0.8}
    committed, _ = bench.previous_ratios(ROOT / "validation" / "BENCH.md")
    assert len(committed) >= 24 and all(0 < r < 10 for r in committed.values())
    assert bench.previous_ratios(tmp_path / "missing.md") == ({}, None)


def test_unknown_section_is_refused():
    with pytest.raises(SystemExit):
        bench.main(["--sections", "first,nonsense"])


def test_sizes_and_maxcors_restrict_the_tables_and_are_named_in_the_header(tmp_path):
    args = bench.parse_args(["--sections", "compiled", "--sizes", "10,100", "--maxcors", "20"])
    assert args.sizes == (10, 100) and args.maxcors == (20,)
    assert bench.parse_args([]).sizes is None           # main's defaults: 10 to 1e6
    for bad in ("10,x", "0", ""):
        with pytest.raises(SystemExit):
            bench.parse_args(["--sizes", bad])
    results = _results(tmp_path)
    results.update(args=args, sections=["compiled"])
    assert "--sections compiled --sizes 10,100 --maxcors 20`" in bench._report(results)


def test_first_solve_code_runs_and_reports_its_imports():
    env = dict(os.environ, LBFGSB_PY_BACKGROUND_COMPILE="0", PYTHONPATH=str(ROOT))
    env.pop("LBFGSB_PY_BACKEND", None)
    out = subprocess.run([sys.executable] + bench._code(bench.ours_first("reference")),
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["status"] == 0 and report["nit"] > 10
    assert report["ours"] and not report["numba"] and not report["compiled"]

"""Golden tests: the classic ``iprint`` text against the Fortran's own (SciPy 1.14.1).

Fixtures: ``tests/golden/<problem>.iprint<k>.txt``, k in 0, 1, 99, 100, 101,
written by ``python -m validation.golden`` from ``fmin_l_bfgs_b(..., iprint=k)``
of SciPy 1.14.1 (gfortran build, run in ``.venv-scipy114``) with the Fortran's
stdout and stderr merged in write order (``GFORTRAN_UNBUFFERED_ALL=y``);
``tests/golden/MANIFEST.json`` records versions and settings.  These tests read
the committed files only: no venv, no SciPy 1.14, no network.

Each problem is run here with :func:`lbfgsb_py.minimize` (same x0, bounds, m,
ftol = factr * eps, gtol = pgtol, ``jac=True``, ``trace="full"``) and rendered
with :func:`lbfgsb_py.render.classic_text`.  The comparison
(:func:`validation.golden.compare_text`) goes line by line, in order:

1. The golden log's timing lines (``Total User time`` ...) are dropped: a trace
   has no timings.  Nothing else is dropped.
2. Where our line says ``not recorded in the trace`` (a vector a trace below
   level "full", or one written before schema 1.2, does not hold), the golden
   line there must carry the same label; it and its FORMAT 1004 / 1010
   continuation lines are skipped.  A full trace holds every vector, so the
   tests below never skip a line.
3. Identical lines pass.  A line without numbers must be identical.  Otherwise
   the text between numbers must be identical (up to the blanks next to a
   number, which move when a fixed-width field gains a sign or digit), both
   lines must have the same count of numbers, integers must be equal, and
   reals must agree within a relative 1e-6, or an absolute 1e-12, or one unit
   of the last printed digit (a value on a rounding boundary prints either way).
4. Both texts must end together: no extra or missing lines.

Why these tolerances: our iterates equal the Fortran's up to round-off (the C
operation order of SciPy >= 1.15).  Numbers printed with 5 significant
digits come out identical except for one rounding-boundary case; the
list-directed 17-digit numbers (``norm of step``, ``F =``) differ from the
9th-16th digit on (at most ~3e-8 relatively here); an f of ~1e-16 at a
minimum is cancellation noise and differs by ~3e-6 relatively (hence the
absolute bound).

The Cauchy segment count follows the Fortran: when all n variables are fixed
the search stops without counting a further segment (``nleft == 0 .and.
nbreak == n``), so ``Tnint`` matches too.
"""
import dataclasses
import functools
import json

import pytest

import lbfgsb_py
from lbfgsb_py.render import NOT_RECORDED, classic_text
from validation.golden import (GOLDEN_DIR, IPRINTS, PROBLEMS, compare_line, compare_text,
                               fixture_path, minimize_options, numbers_match)

CASES = [(name, k) for name in PROBLEMS for k in IPRINTS]


@functools.cache
def our_run(name):
    return lbfgsb_py.minimize(**minimize_options(name), trace="full")


def test_fixtures_are_complete():
    manifest = json.loads((GOLDEN_DIR / "MANIFEST.json").read_text())
    assert manifest["versions"].startswith("SciPy 1.14.1")
    assert set(manifest["problems"]) == set(PROBLEMS)
    for name, k in CASES:
        assert fixture_path(name, k).stat().st_size > 0


@pytest.mark.parametrize("name, iprint", CASES)
def test_classic_text_matches_fortran(name, iprint):
    golden = fixture_path(name, iprint).read_text()
    result = compare_text(classic_text(our_run(name), iprint), golden)
    bad = result["differences"]
    assert not bad, "\n".join(f"ours {i} / golden {j}: {why}" for i, j, why in bad[:10])
    compared = result["identical"] + result["close"]
    assert result["identical"] >= 0.9 * compared         # close is the exception
    assert NOT_RECORDED not in classic_text(our_run(name), iprint)


#: The array fields schema 1.1 already had.
FIELDS_1_1 = {("line_search_start", "x"), ("line_search_start", "d"),
              ("free_set", "entering"), ("free_set", "leaving")}


def _as_schema_1_1(trace):
    """The trace without the vectors added in schema 1.2."""
    return lbfgsb_py.Trace([dataclasses.replace(e, **{
        f.name: f.default_factory() for f in dataclasses.fields(e)
        if f.default_factory is not dataclasses.MISSING and (e.kind, f.name) not in FIELDS_1_1})
        for e in trace])


def test_a_trace_without_the_vectors_says_which_are_missing():
    text = classic_text(_as_schema_1_1(our_run("driver1").trace), 101)
    labels = {line.split("(")[0].strip() for line in text.splitlines() if NOT_RECORDED in line}
    assert labels == {"L =", "U =", "G =", "Cauchy X =", "X0 ="}
    assert " X =  1.0000D+00" in text          # rebuilt from the line searches' x and d
    full = classic_text(our_run("driver1"), 101)
    assert " L =  1.0000D+00" in full and "X0 =  3.0000D+00" in full


def test_comparison_rules():
    """The comparison itself: text must match, numbers within the stated bounds."""
    assert compare_line("At iterate    0", "At iterate    0") is None
    assert compare_line("exit CAUCHY", "exit  CAUCHY") == "text differs"
    assert compare_line("   25   breakpoints", "   24   breakpoints").startswith("numbers")
    assert compare_line("f=  4.73716D-16", "f=  4.73717D-16") is None      # one unit
    assert compare_line("f=  4.73716D+00", "f=  4.73718D+00").startswith("numbers")
    assert compare_line(" step =   0.51466119791383258", " step =   0.51466119791383269") is None
    assert compare_line(" =  -1.0000D+00 x", " =   1.0000D+00 x").startswith("numbers")
    assert numbers_match("4.7371555552767630E-016", "4.7371691974122680E-016")  # absolute
    assert not numbers_match("1.0000001", "1.0000100")

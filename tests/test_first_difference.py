"""``validation.first_difference``: SciPy's setulb and our engine in lockstep, and the
replay that names the first operation rounding otherwise."""
import io

import pytest

from lbfgsb_py.reference import blas, compact, line_search
from validation import first_difference as fd
from validation import problems

pytest.importorskip("scipy.optimize._lbfgsb")
PROBLEM = problems.get("mgh28_discrete_bvp")


def test_a_bit_identical_run_has_no_difference():
    out = io.StringIO()
    event = fd.Lockstep(PROBLEM, "reference").run()
    assert event is None
    assert fd.report(PROBLEM, event, 0.0, out) is None
    assert "no difference" in out.getvalue()


def test_the_correctly_rounded_norm_is_found_as_the_first_differing_operation(monkeypatch):
    """With dnrm2 modelled as the correctly rounded norm (the model before the x87 one),
    the run parts from SciPy's, and the replay names dnrm2 of y as the cause."""
    for module in (blas, compact, line_search):
        monkeypatch.setattr(module, "norm2", blas.norm2_rounded)
    event = fd.Lockstep(PROBLEM, "reference").run()
    assert event is not None and event.nfev == 18
    out = io.StringIO()
    first = fd.report(PROBLEM, event, 0.0, out)
    assert first is not None and "dnrm2" in first.name, out.getvalue()
    assert f"first differing operation: {first.name}" in out.getvalue()

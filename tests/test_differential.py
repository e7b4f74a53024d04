"""The two backends give the same bits after every evaluation (the quick subset of
``python -m validation.differential``; the whole zoo runs there)."""
import numpy as np
import pytest

from lbfgsb_py.differential import compare_backends
from validation import differential


@pytest.mark.parametrize("name", differential.QUICK)
def test_backends_are_bit_identical_after_every_evaluation(name):
    (case,) = differential.select([name])
    agreement = case.run()
    assert agreement.identical, str(agreement)
    assert agreement.evaluations >= 2


def test_the_runner_names_the_first_field_and_evaluation_that_differ(monkeypatch):
    """A reference whose accepted step at iteration 3 is one bit longer is caught
    after the evaluation where that happened, in the stored pair among others."""
    from lbfgsb_py import reference
    step = reference.line_search_step
    changed = []

    def off_by_one_bit(state, f, first):
        gd, stp, *rest = step(state, f, first)
        if state.iter == 3 and not first and not changed:
            changed.append(state.nfev)
            stp = np.nextafter(stp, np.inf)
        return (gd, stp, *rest)
    monkeypatch.setattr(reference, "line_search_step", off_by_one_bit)
    (case,) = differential.select(["builtin/rosenbrock"])
    agreement = case.run()
    assert not agreement.identical and agreement.evaluation == changed[0]
    assert {"ws", "x"} <= set(agreement.fields)
    assert f"after evaluation {changed[0]}: " in str(agreement)


def test_the_zoo_covers_the_paths_it_claims():
    names = {c.name for c in differential.zoo()}
    assert set(differential.QUICK) <= names and len(names) == len(differential.zoo())
    assert sum(n.startswith("validation/") for n in names) >= 70


def test_compare_backends_takes_minimize_arguments():
    agreement = compare_backends(lambda x: float(x @ x), np.ones(3), bounds=[(0.5, 2)] * 3,
                                 maxcor=2, trace="off")
    assert agreement.identical and "CONVERGENCE" in agreement.message

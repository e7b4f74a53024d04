"""The 1995 variant backtracks where SciPy's projects; the comparison names that decision."""
import numpy as np
from click.testing import CliRunner
from scipy.optimize import rosen, rosen_der

import lbfgsb_py
from lbfgsb_py.cli import cli
from lbfgsb_py.variants import compare_variants


def test_variants_part_at_a_subspace_decision():
    c = compare_variants(rosen, np.zeros(4), jac=rosen_der, bounds=[(-2, 0.8)] * 4)
    assert c.iteration == 14 and c.event == "subspace_step"
    assert c.scipy["outcome"] == "projected" and c.v1995["outcome"] == "backtracked"
    assert 0 < c.v1995["alpha"] < 1
    # Up to that iteration both runs are the same run.
    its = {v: [e.f for e in r.trace.of_kind("iteration_end")][:13] for v, r in c.results.items()}
    assert its["scipy"] == its["1995"]
    assert "first difference at iteration 14: subspace_step" in str(c)


def test_1995_variant_never_projects_and_both_converge():
    res = lbfgsb_py.minimize(rosen, np.zeros(4), jac=rosen_der, bounds=[(-2, 0.8)] * 4,
                             variant="1995")
    outcomes = {e.outcome for e in res.trace.of_kind("subspace_step")}
    assert "projected" not in outcomes and "backtracked" in outcomes
    ref = lbfgsb_py.minimize(rosen, np.zeros(4), jac=rosen_der, bounds=[(-2, 0.8)] * 4)
    assert res.success and ref.success
    np.testing.assert_allclose(res.x, ref.x, atol=1e-4)   # same minimizer, other path


def test_unconstrained_problems_do_not_depend_on_the_variant():
    c = compare_variants(rosen, np.zeros(5), jac=rosen_der)
    assert c.iteration is None


def test_cli_variants_command():
    out = CliRunner().invoke(cli, ["variants"])
    assert out.exit_code == 0
    assert "first difference at iteration 14: subspace_step" in out.output

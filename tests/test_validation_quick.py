"""A quick subset of the validation run (the full run is `python -m validation`)."""
import pytest

from lbfgsb_py.reference.blas import _scipy_openblas
from validation import problems
from validation.blas_patterns import CORES
from validation.compare import compare

QUICK = ["mgh01_rosenbrock_bounded", "mgh05_beale", "mgh07_helical_valley_bounded",
         "mgh14_wood", "mgh26_trigonometric_bounded", "mgh35_chebyquad_bounded",
         "quad_cond1e2_n25", "lsq_nonneg_m20_n10", "logistic_n10_bounded",
         "seed_badly_scaled", "seed_overflow", "seed_wrong_gradient"]


@pytest.mark.parametrize("name", QUICK)
def test_full_agreement_with_scipy(name):
    c = compare(problems.get(name))
    assert c.verdict == "agree", c.detail
    assert c.same_termination
    assert c.bound_violation == 0.0
    if (_scipy_openblas() or ("",))[0] in CORES.values():      # kernels we model
        assert c.bit_identical, f"bits equal for {c.bit_prefix} of {c.evals_scipy} points"


def test_report_is_written(tmp_path):
    from validation.report import write_report
    path = tmp_path / "REPORT.md"
    write_report([compare(problems.get("mgh05_beale"))], path)
    text = path.read_text()
    assert "full evaluation-sequence agreement" in text and "| mgh05_beale | 2 |" in text
    assert "bit-identical (every point passed to `fun` has SciPy's bits): **1 / 1**" in text


def test_family_reruns_with_scipys_openblas_on_that_familys_kernels(tmp_path):
    """``--family haswell``: SciPy's OpenBLAS runs its Haswell kernels, our model follows,
    and the run is still bit-identical."""
    import subprocess
    import sys
    path = tmp_path / "REPORT.md"
    subprocess.run([sys.executable, "-m", "validation", "--family", "haswell", "--backend",
                    "reference", "--names", "mgh05_beale", "--report", str(path)],
                   check=True, capture_output=True)
    text = path.read_text()
    if "runs its Haswell kernels" not in text:
        pytest.skip("SciPy's OpenBLAS does not run the Haswell kernels when asked")
    assert "OPENBLAS_CORETYPE=Haswell python -m validation --backend reference" in text
    assert "our BLAS/LAPACK model: haswell" in text and "backend: reference" in text
    assert "has SciPy's bits): **1 / 1**" in text

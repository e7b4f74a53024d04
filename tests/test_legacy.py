"""Three-way validation: ours vs SciPy's C L-BFGS-B vs SciPy 1.14.1's Fortran one.

The slow tests build ``.venv-scipy114`` on first use (``pip install scipy==1.14.1``,
needs access to PyPI) and run three small problems there (`pytest -m slow`).
"""
import pytest

from validation import problems
from validation.compare import canonical_message, compare

NAMES = ["mgh01_rosenbrock_bounded", "mgh05_beale", "seed_badly_scaled"]
PAIRS = ("ours/C", "ours/Fortran", "C/Fortran")


def test_fortran_messages_in_c_wording():
    assert canonical_message("CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH") == \
        "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    assert canonical_message("ABNORMAL_TERMINATION_IN_LNSRCH") == "ABNORMAL: "
    assert canonical_message("ERROR: M .LE. 0") == "ERROR: M <= 0"
    assert canonical_message("ABNORMAL: ") == "ABNORMAL: "


@pytest.fixture(scope="module")
def fortran():
    from validation.legacy import run_fortran
    return run_fortran(NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_three_way_full_agreement(name, fortran):
    points, res = fortran[name]
    assert res["versions"].startswith("SciPy 1.14.1") and len(points) == res["nfev"]
    c = compare(problems.get(name), fortran[name])
    for pair in PAIRS:
        assert c.pairs[pair].full_agreement and c.pairs[pair].same_termination, (pair, c.pairs)


@pytest.mark.slow
def test_three_way_report(tmp_path, fortran):
    from validation.report import write_report
    path = tmp_path / "REPORT.md"
    write_report([compare(problems.get(n), fortran[n]) for n in NAMES], path)
    text = path.read_text()
    assert "full agreement ours/C: **3 / 3**, ours/Fortran: **3 / 3**, C/Fortran: **3 / 3**" in text
    assert "| prefix ours/Fortran | prefix C/Fortran |" in text
    assert "| mgh05_beale | 2 |" in text and "| 16/15 | 16 | 16 | same |" in text

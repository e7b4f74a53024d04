"""The OpenBLAS model (``reference/blas.py`` and ``compiled/_dense.py``) against the
OpenBLAS SciPy's L-BFGS-B calls: ``scipy.linalg.blas`` and ``scipy.linalg.lapack``
reach the same library and the same symbols, so they are exact oracles.

The in-process comparisons (reference and compiled) run where SciPy's OpenBLAS
runs the SkylakeX kernels.  Every family of the reference model is compared with
SciPy's OpenBLAS forced to that family's kernels (``OPENBLAS_CORETYPE``, in a
subprocess; skipped where the library does not take it) and with the bit
patterns recorded in ``tests/data/blas_patterns.json`` (everywhere).  The
exact FMA is checked against the hardware everywhere.
"""
import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lbfgsb_py.compiled import _dense
from lbfgsb_py.reference import blas
from validation import blas_patterns

scipy_linalg = pytest.importorskip("scipy.linalg")
lapack, sblas = scipy_linalg.lapack, scipy_linalg.blas

LOADED = blas._scipy_openblas()
same_kernels = pytest.mark.skipif(LOADED is None or LOADED[0] != "SkylakeX",
                                  reason=f"SciPy's OpenBLAS runs {LOADED}, not SkylakeX")
SIZES = list(range(1, 70)) + [95, 96, 97, 111, 1000, 1023, 10000, 10001, 10017, 30001, 100003]
SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0 ** -1074, -(2.0 ** -1022), 2.0 ** 1023,
            -1.7976931348623157e308, np.inf, -np.inf, np.nan, 3.0]


def _random_triples(rng, count):
    """Triples over the whole exponent range, half with c near -a*b (cancellation)."""
    a = rng.standard_normal(count) * 2.0 ** rng.integers(-1074, 1024, count)
    b = rng.standard_normal(count) * 2.0 ** rng.integers(-600, 600, count)
    c = np.where(rng.random(count) < 0.5, -(a * b) * (1 + rng.standard_normal(count) * 1e-15),
                 rng.standard_normal(count) * 2.0 ** rng.integers(-1074, 1024, count))
    return a, b, c


def _same_bits(x, y):
    """Equal bit patterns, any NaN matching any NaN."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return bool(np.all((x.view(np.int64) == y.view(np.int64)) | (np.isnan(x) & np.isnan(y))))


def _hardware_fma(a, b, c):
    return np.array([_dense.fma(x, y, z) for x, y, z in zip(a, b, c)])


def test_exact_fma_agrees_with_the_hardware_on_random_and_special_triples():
    rng = np.random.default_rng(20)
    with np.errstate(all="ignore"):
        a, b, c = _random_triples(rng, 20000)
        assert _same_bits(blas.fma(a, b, c), _hardware_fma(a, b, c))
        grid = np.array(np.meshgrid(SPECIALS, SPECIALS, SPECIALS)).reshape(3, -1)
        assert _same_bits(blas.fma(*grid), _hardware_fma(*grid))
        for x, y, z in grid.T[:400]:                       # the scalar path
            assert _same_bits(blas.fma(x, y, z), _dense.fma(x, y, z))


def test_the_fma_is_fused():
    """(1 + 2^-52)(1 - 2^-52) - 1 is -2^-104 fused and 0 after a rounded product."""
    a, b = 1.0 + 2.0 ** -52, 1.0 - 2.0 ** -52
    assert blas.fma(a, b, -1.0) == _dense.fma(a, b, -1.0) == -(2.0 ** -104)
    assert a * b - 1.0 == 0.0


@same_kernels
@pytest.mark.parametrize("dot", [blas.dot, _dense.dot], ids=["reference", "compiled"])
def test_ddot_is_scipys_on_every_size(dot):
    rng = np.random.default_rng(21)
    for n in SIZES:
        for _ in range(3 if n < 1000 else 1):
            x, y = rng.standard_normal(n), rng.standard_normal(n) * 10.0 ** rng.integers(-5, 5)
            assert dot(x, y) == sblas.ddot(x, y), n


@same_kernels
def test_ddot_follows_openblas_thread_count():
    """With OPENBLAS_NUM_THREADS=1 long vectors are summed whole, by one kernel call,
    and still match SciPy's ddot in that process (they did not split)."""
    code = ("import numpy as np; from scipy.linalg.blas import ddot; "
            "from lbfgsb_py.reference import blas; assert blas.openblas()[1] == 1; "
            "r = np.random.default_rng(3); x, y = r.standard_normal(30001), r.standard_normal(30001); "
            "assert blas.dot(x, y) == ddot(x, y) == blas.dot_kernel(x, y)")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if blas.openblas()[1] > 1:           # here the split matters: one kernel differs
        rng = np.random.default_rng(3)
        x, y = rng.standard_normal(30001), rng.standard_normal(30001)
        assert blas.dot(x, y) == sblas.ddot(x, y) != blas.dot_kernel(x, y)


@same_kernels
def test_daxpy_is_scipys_and_skips_a_zero_alpha():
    rng = np.random.default_rng(22)
    for n in SIZES:
        x, y, a = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal()
        expected = sblas.daxpy(x, y.copy(), a=a)
        assert np.array_equal(blas.axpy(a, x, y), expected), n
        out = y.copy()
        _dense.axpy(a, x, out)
        assert np.array_equal(out, expected), n
    x, y = np.array([np.inf, np.nan]), np.array([-0.0, 1.0])
    assert _same_bits(blas.axpy(0.0, x, y), y) and _same_bits(sblas.daxpy(x, y.copy(), a=0.0), y)


def _spd(rng, k):
    m = rng.standard_normal((k + 2, k)) * 10.0 ** rng.integers(-3, 3, k)
    return m.T @ m


def _compiled_cholesky(S, o=1):
    k = S.shape[0]
    a = np.full((k + 2 * o, k + 2 * o), 7.0)
    a[o:o + k, o:o + k] = S
    return _dense.cholesky_upper(a, o, k), np.triu(a[o:o + k, o:o + k])


@same_kernels
def test_dpotrf_is_scipys_up_to_order_32():
    rng = np.random.default_rng(23)
    for k in range(1, blas.DTB_ENTRIES // 2 + 1):
        for _ in range(3):
            S = _spd(rng, k)
            R, info = lapack.dpotrf(S, lower=0, clean=1)
            A = S.copy()
            assert blas.cholesky_upper(A) == info == 0
            assert np.array_equal(np.triu(A), R), k
            assert _compiled_cholesky(S) == (0, pytest.approx(R, abs=0)) and \
                np.array_equal(_compiled_cholesky(S)[1], R), k


@same_kernels
def test_dpotrf_flags_nonpositive_pivots_but_not_nan_ones():
    for S in (np.array([[4.0, 1.0], [1.0, -2.0]]), np.array([[4.0, 1.0], [1.0, np.nan]])):
        _, info = lapack.dpotrf(S, lower=0, clean=0)
        A = S.copy()
        assert blas.cholesky_upper(A) == info == _compiled_cholesky(S)[0]


def _triangular(rng, k):
    return np.linalg.cholesky(_spd(rng, k)).T


@same_kernels
def test_dtrtrs_one_right_hand_side_is_scipys():
    rng = np.random.default_rng(24)
    for k in range(1, blas.DTB_ENTRIES + 1):
        R, b = _triangular(rng, k), rng.standard_normal(k)
        for trans, ref, comp in ((1, blas.solve_upper_transposed, _dense.solve_upper_transposed),
                                 (0, blas.solve_upper, _dense.solve_upper)):
            x, info = lapack.dtrtrs(R, b, lower=0, trans=trans)
            mine = b.copy()
            assert ref(R, mine) == info == 0 and np.array_equal(mine, x), (k, trans)
            a, bb = np.pad(R, 1), np.concatenate([[5.0], b])
            assert comp(a, 1, k, bb, 1) == 0 and np.array_equal(bb[1:], x), (k, trans)


@same_kernels
def test_dtrtrs_several_right_hand_sides_is_scipys():
    rng = np.random.default_rng(25)
    for k in range(1, 41):
        for nrhs in (2, 3, 10):
            R, B = _triangular(rng, k), rng.standard_normal((k, nrhs))
            X, info = lapack.dtrtrs(R, B, lower=0, trans=1)
            mine = B.copy()
            assert blas.solve_upper_transposed(R, mine) == info == 0
            assert np.array_equal(mine, X), (k, nrhs)
            a = np.zeros((k + 1, 2 * k + 1 + nrhs))
            a[1:, 1:k + 1], a[1:, k + 1:k + 1 + nrhs] = R, B
            assert _dense.solve_upper_transposed_block(a, 1, k, k + 1, nrhs) == 0
            assert np.array_equal(a[1:, k + 1:k + 1 + nrhs], X), (k, nrhs)


def test_a_zero_pivot_is_reported_and_leaves_b_alone():
    R, b = np.array([[2.0, 1.0], [0.0, 0.0]]), np.array([1.0, 2.0])
    for solve in (blas.solve_upper, blas.solve_upper_transposed):
        x = b.copy()
        assert solve(R, x) == 2 and np.array_equal(x, b)


@same_kernels
def test_the_detected_model_is_scipys_openblas():
    assert blas.openblas() == ("skylakex", LOADED[1]) == (_dense.FAMILY, _dense.THREADS)


# ---------------------------------------------------------------- every kernel family
@functools.lru_cache(maxsize=None)
def _model_digests(family):
    return blas_patterns.model_digests(family)


@pytest.mark.parametrize("family", blas.FAMILIES)
def test_each_family_reproduces_the_stored_bit_patterns(family):
    stored = json.loads(blas_patterns.PATTERNS.read_text())["patterns"][family]
    assert len(stored) == len(_model_digests(family)) > 500
    assert blas_patterns.differences(stored, _model_digests(family)) == []


@pytest.mark.parametrize("family", blas.FAMILIES)
def test_each_family_is_scipys_openblas_forced_to_its_kernels(family):
    """ddot n = 1..70, 95-97, 1000, 1023 and 10001, 10017, 30001 on 1 and 2 threads;
    daxpy n = 1..70, ...; dpotrf orders 1..32; dtrtrs orders 1..64 (one rhs, both
    transposes) and 1..40 with 2, 3, 10 rhs on 1 and 2 threads."""
    found = blas_patterns.record(blas_patterns.CORES[family])
    if found is None:
        pytest.skip(f"SciPy's OpenBLAS does not run the {blas_patterns.CORES[family]} kernels when asked")
    assert blas_patterns.differences(found, _model_digests(family)) == []


# ---------------------------------------------------------------- choosing the family
@pytest.fixture
def fresh_choice(monkeypatch):
    """openblas() chooses again, with no override and no forced core."""
    monkeypatch.setattr(blas, "_CHOICE", None)
    monkeypatch.delenv("LBFGSB_PY_BLAS", raising=False)
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    return monkeypatch


def test_the_override_is_checked_and_case_blind(fresh_choice):
    fresh_choice.setenv("LBFGSB_PY_BLAS", "pentium")
    with pytest.raises(ValueError, match="LBFGSB_PY_BLAS='pentium'.*skylakex, haswell, sandybridge, nehalem"):
        blas.openblas()
    fresh_choice.setenv("LBFGSB_PY_BLAS", "Haswell")
    family, threads = blas.openblas()
    assert family == "haswell" and threads >= 1
    assert blas.openblas_source() == "LBFGSB_PY_BLAS=Haswell"
    assert "{}, {} threads".format(*blas.openblas()) == f"haswell, {threads} threads"


def test_without_scipy_a_forced_core_then_the_cpu_decide(fresh_choice):
    fresh_choice.setattr(blas, "_scipy_openblas", lambda: None)
    fresh_choice.setenv("OPENBLAS_NUM_THREADS", "3")
    fresh_choice.setenv("OPENBLAS_CORETYPE", "zen")
    assert blas.openblas() == ("haswell", 3)
    assert "OPENBLAS_CORETYPE=zen" in blas.openblas_source()
    fresh_choice.setattr(blas, "_CHOICE", None)
    fresh_choice.setenv("OPENBLAS_CORETYPE", "SapphireRapids")     # not taken: the CPU decides
    fresh_choice.setattr(blas, "_cpu_flags", lambda: frozenset({"sse4_2", "avx"}))
    fresh_choice.setattr(blas.platform, "machine", lambda: "x86_64")
    assert blas.openblas() == ("sandybridge", 3)
    assert "CPU flag avx" in blas.openblas_source()


def test_scipys_core_decides_when_loaded(fresh_choice):
    fresh_choice.setattr(blas, "_scipy_openblas", lambda: ("Zen", 5))
    assert blas.openblas() == ("haswell", 5)
    assert blas.openblas_source() == "SciPy's OpenBLAS: core Zen"


def test_core_names_map_to_their_family_or_the_closest():
    assert {core: blas.core_family(core, "x")[0] for core in blas.CORE_FAMILIES} == {
        "SkylakeX": "skylakex", "Cooperlake": "skylakex", "SapphireRapids": "skylakex",
        "Haswell": "haswell", "Zen": "haswell", "Sandybridge": "sandybridge", "Nehalem": "nehalem"}
    with pytest.warns(RuntimeWarning, match="core Katmai, whose kernels are not modelled"):
        assert blas.core_family("Katmai", "x")[0] == "nehalem"
    with pytest.warns(RuntimeWarning, match="core Piledriver"):
        assert blas.core_family("Piledriver", "x")[0] == "sandybridge"


def test_an_unknown_core_goes_by_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(blas, "_cpu_flags", lambda: frozenset({"avx", "avx2", "fma"}))
    monkeypatch.setattr(blas.platform, "machine", lambda: "x86_64")
    with pytest.warns(RuntimeWarning, match="core Zen5.*CPU flag avx2"):
        assert blas.core_family("Zen5", "SciPy's OpenBLAS")[0] == "haswell"


@pytest.mark.parametrize("flags, family", [
    ({"sse2", "avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"}, "skylakex"),
    ({"sse2", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512er"}, "haswell"),  # Knights Landing
    ({"sse2", "avx", "avx2", "fma"}, "haswell"),
    ({"sse2", "avx", "fma", "fma4"}, "sandybridge"),                                # Piledriver
    ({"sse2", "sse4_2"}, "nehalem"),
    ({"sse2", "ssse3"}, "nehalem"),
])
def test_cpu_flags_pick_the_family_openblas_picks(flags, family):
    assert blas.cpu_family(frozenset(flags), "x86_64")[0] == family


def test_off_x86_the_generic_family_is_a_guess():
    family, why = blas.cpu_family(None, "aarch64")
    assert family == blas.GENERIC and "not known to match" in why
    assert blas.cpu_family(None, "x86_64")[0] == "haswell"


def test_the_forced_core_table_is_scipys_openblas():
    """Each OPENBLAS_CORETYPE value in FORCED_CORES, and one it does not take, runs
    the core the table says (one short subprocess each, run together)."""
    code = "from lbfgsb_py.reference.blas import _scipy_openblas; print(_scipy_openblas()[0])"
    names = list(blas.FORCED_CORES) + ["SapphireRapids"]
    runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, OPENBLAS_CORETYPE=name)) for name in names]
    cores = {name: run.communicate()[0].strip() for name, run in zip(names, runs)}
    if cores["haswell"] != "Haswell":
        pytest.skip(f"SciPy's OpenBLAS does not take OPENBLAS_CORETYPE ({cores['haswell']})")
    assert {name: cores[name] for name in blas.FORCED_CORES} == blas.FORCED_CORES
    assert cores["SapphireRapids"] == LOADED[0]

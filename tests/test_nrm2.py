"""``norm2`` against SciPy's ``dnrm2`` bit for bit: the reference model
(:func:`lbfgsb_py.reference.blas.norm2`, NumPy's ``longdouble``) and the compiled
kernel (:func:`lbfgsb_py.compiled._x87.norm2`, x87 instructions).

``scipy.linalg.blas.dnrm2`` is the OpenBLAS SciPy's L-BFGS-B calls; on x86-64 it
runs ``kernel/x86_64/nrm2.S`` (80-bit extended sums of squares).
"""
import numba
import numpy as np
import pytest
from scipy.linalg.blas import dnrm2

from lbfgsb_py.compiled import _x87
from lbfgsb_py.reference import blas

pytestmark = pytest.mark.skipif(not blas.X87, reason="models the x87 kernel of x86-64")

#: mgh28_discrete_bvp's y at the first step where the correctly rounded norm is
#: not dnrm2's (the x87 sums give 0.0071931567200047945, 1 ulp below).
MGH28_Y = [0.002302400284692757, 0.001064153101004682, -0.003540546179252294,
           0.0013427691104619405, -0.0005076916266144905, 0.0023515738928431493,
           -0.0036220645103793823, 0.0028740188708412497, -0.0013005154373613003,
           0.0014530009712446007]


def bits(x):
    return int(np.float64(x).view(np.uint64))


def scipy_norm(v):
    """``dnrm2(v)``; 0.0 for no entries (OpenBLAS's answer, which SciPy's wrapper
    refuses to ask for)."""
    return np.float64(dnrm2(v)) if v.shape[0] else np.float64(0.0)


def assert_all_agree(v):
    expected = bits(scipy_norm(v))
    assert bits(blas.norm2(v)) == expected, v
    assert bits(_x87.norm2(v)) == expected, v


def random_vectors(rng, count, max_n):
    """Vectors of random lengths whose entries spread over a random range of
    binary exponents, from subnormals (2^-1074) to near overflow (2^1023)."""
    for _ in range(count):
        n = int(rng.integers(0, max_n + 1))
        low = int(rng.integers(-1074, 1024))
        high = int(rng.integers(low, 1024))
        exponents = rng.integers(low, high + 1, size=n)
        yield rng.uniform(-1.0, 1.0, size=n) * np.exp2(exponents.astype(np.float64))


def test_the_compiled_kernel_is_the_x87_one_here():
    """x86-64: the x87 kernel, except without JIT (then the reference model)."""
    assert _x87.X87 == (not numba.config.DISABLE_JIT)


def test_short_vectors_every_length_mod_8():
    rng = np.random.default_rng(20240601)
    for n in range(0, 41):
        for _ in range(5):
            assert_all_agree(rng.standard_normal(n) * np.exp2(rng.integers(-60, 60)))


@pytest.mark.parametrize("seed, count, max_n", [(1, 400, 64), (2, 200, 4000)])
def test_random_vectors_over_the_whole_range(seed, count, max_n):
    with np.errstate(all="ignore"):      # the reference squares near-overflow entries
        for v in random_vectors(np.random.default_rng(seed), count, max_n):
            assert_all_agree(v)


@pytest.mark.parametrize("scale", [2.0 ** -1074, 2.0 ** -1040, 2.0 ** -540, 1.0,
                                   2.0 ** 510, 2.0 ** 1000, 1.7e308])
def test_tiny_and_huge_vectors(scale):
    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 8, 9, 33, 1000):
        with np.errstate(all="ignore"):
            assert_all_agree(rng.uniform(0.5, 1.0, size=n) * scale)


def test_a_million_entries():
    rng = np.random.default_rng(3)
    assert_all_agree(rng.standard_normal(10 ** 6) * 1e-3)


def test_strided_vectors():
    """The compiled kernel takes any layout (the vector's entries in order)."""
    rng = np.random.default_rng(4)
    for n in (5, 17, 1001):
        base = rng.standard_normal(3 * n)
        v = base[::3]
        assert bits(_x87.norm2(v)) == bits(scipy_norm(np.ascontiguousarray(v)))
        assert bits(_x87.norm2(v[::-1])) == bits(scipy_norm(v[::-1].copy()))


NAN, INF = np.nan, np.inf
SPECIAL = [[0.0, 0.0], [-0.0, -0.0], [0.0] * 9, [-0.0] * 17, [0.0, -0.0, 0.0],
           [NAN, 1.0], [1.0, NAN], [-NAN, 1.0, 2.0], [INF, 1.0], [-INF, 1.0], [INF, -INF],
           [INF, NAN], [NAN, INF], [-NAN, INF, -INF], [1e308, 1e308], [1e308] * 9,
           [1e308, -1e308, NAN], [5e-324, 5e-324, 5e-324], [5e-324, 1e308],
           [INF] + [1.0] * 8 + [NAN], [0.0] * 8 + [-INF], [3.0, 4.0], [1.0], [-2.5],
           [INF], [-INF], [0.0], [-0.0]]


@pytest.mark.parametrize("v", SPECIAL, ids=repr)
def test_special_values(v):
    with np.errstate(all="ignore"):
        assert_all_agree(np.array(v))


def test_one_negative_nan():
    """OpenBLAS's interface returns fabs(x[0]) for n = 1 without the kernel, whose x87
    NaN would keep its sign."""
    assert_all_agree(np.array([-NAN]))


def test_the_x87_sums_are_needed():
    """mgh28's y: the correctly rounded norm is 1 ulp off dnrm2; both models agree."""
    y = np.array(MGH28_Y)
    assert scipy_norm(y) == 0.0071931567200047945
    assert blas.norm2_rounded(y) == 0.007193156720004795
    assert blas.norm2_rounded(y) != scipy_norm(y)
    assert_all_agree(y)

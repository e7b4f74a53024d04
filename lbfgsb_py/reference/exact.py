"""Exact arithmetic in plain Python and NumPy: error-free products and sums, and a
fused multiply-add (a*b + c rounded once) as hardware computes it.

:mod:`lbfgsb_py.reference.blas` models SciPy's BLAS, whose kernels fuse
multiplies into adds; NumPy has no fma ufunc and Python has ``math.fma`` only
from 3.13.  One fused multiply-add (:func:`fma` on numbers and on small arrays,
:data:`fma_float` on Python floats) is Python's ``math.fma`` where present,
else the C library's ``fma`` (C99: correctly rounded) through :mod:`ctypes`,
once it has passed :func:`_agrees`, else Boldo and Melquiond's emulation.
Larger arrays take the emulation, vectorized: it is built from error-free
transformations [Dekker 1971; Knuth, TAOCP vol. 2, 4.2.2; Boldo and Melquiond
2008] and is exact where no intermediate overflows or underflows; elsewhere,
exact fractions.  A chain of fused multiply-adds into one accumulator (a dot
kernel's lanes) takes :func:`fused_running_sum`: the products split once,
one safety test for the whole chain.
"""
import ctypes
import ctypes.util
import math
import struct
from fractions import Fraction

import numpy as np


# ---------------------------------------------------------------- error-free transformations
#: Veltkamp's splitting constant 2^27 + 1: a double splits into two 26-bit halves.
SPLIT = 134217729.0


def exact_squares(a):
    """a*a = p + e exactly, elementwise (Dekker): p the rounded square, e its error."""
    p = a * a
    c = SPLIT * a
    ah = c - (c - a)
    al = a - ah
    e = ((ah * ah - p) + 2.0 * ah * al) + al * al
    return p, e


def two_product(a, b):
    """a*b = p + e exactly (Dekker), elementwise."""
    p = a * b
    return p, _product_error(a, b, p)


def _product_error(a, b, p):
    """a*b - p exactly for p = fl(a*b): Veltkamp's splits of a and b, then
    Dekker's sum of the partial products' errors."""
    c = SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


def two_sum(a, b):
    """a + b = s + e exactly (Knuth), elementwise."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


# ---------------------------------------------------------------- the exact FMA
#: Up to this many elements an array's FMA goes one element at a time (when
#: :data:`fma_float` is the C library's or Python's); larger ones are emulated.
#: Measured: the two cost the same at about 34 elements (15 us on 2020s x86-64).
_ELEMENTWISE_MAX = 32

#: Products and sums within these magnitudes need no special care in the emulation.
_SAFE_LO, _SAFE_HI = 2.0 ** -900, 2.0 ** 900
#: Nonzero factors above this have products above ``_SAFE_LO``.
_SAFE_LO_FACTOR = 2.0 ** -450


def fma(a, b, c):
    """a*b + c rounded once (a fused multiply-add), elementwise, exactly as hardware does.

    Numbers (``float``, ``np.float64``) give an ``np.float64``, computed by
    :data:`fma_float`; arrays (any mix of arrays and numbers, broadcast) a
    float64 array: one element at a time up to :data:`_ELEMENTWISE_MAX`
    elements, else by the vectorized emulation (:func:`_emulated_fma_array`).
    """
    if isinstance(a, float) and isinstance(b, float) and isinstance(c, float):
        return np.float64(fma_float(a, b, c))
    if np.ndim(a) == np.ndim(b) == np.ndim(c) == 0:
        return np.float64(fma_float(float(a), float(b), float(c)))
    if fma_float is not _emulated_fma_number and np.broadcast(a, b, c).size <= _ELEMENTWISE_MAX:
        return _FMA_UFUNC(a, b, c).astype(np.float64)
    a, b, c = (np.asarray(v, dtype=np.float64) for v in (a, b, c))
    if not a.shape == b.shape == c.shape:
        a, b, c = np.broadcast_arrays(a, b, c)
    with np.errstate(all="ignore"):
        return _emulated_fma_array(a, b, c)


def fused_running_sum(a, b, acc):
    """acc = fma(a[k], b[k], acc) for k = 0, 1, ... along the first axis, exactly:
    the fused running sums of the dot kernels' lanes.  ``a`` and ``b`` have the
    same first axis (the steps) and broadcast along the others; ``acc`` holds
    one start per sum.

    Each step rounds once, as :func:`fma` does; the emulation
    (:func:`_emulated_fma_array`) splits into a part that does not depend on
    acc, the exact products a[k]*b[k] = uh + ul (Dekker), done for every step
    in one vectorized pass, and a part that does: TwoSum, round to odd, one
    add.  One test covers every step (:func:`_chain_safe`); a chain that fails
    it goes step by step through :func:`fma`.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    acc = np.array(np.broadcast_to(acc, np.broadcast_shapes(a.shape[1:], b.shape[1:])),
                   dtype=np.float64)
    steps = a.shape[0]
    with np.errstate(all="ignore"):
        if not _chain_safe(a, b, acc, steps):
            for k in range(steps):
                acc = fma(a[k], b[k], acc)
            return acc
        uh = a * b
        ul = _product_error(a, b, uh)
        for u, l in zip(uh, ul):
            th, tl = two_sum(acc, u)
            acc = th + _round_to_odd_sum(tl, l)
    return acc


def _chain_safe(a, b, acc, steps):
    """Whether no step of :func:`fused_running_sum` can leave the emulation's
    safe range, tested once on the factors and the start.

    Nonzero factors in (2^-450, 2^900) give products above 2^-900, whose
    splitting is exact; a zero factor (the other finite) gives an exact zero
    product uh = +-0, which the steps add as the fma does (th = acc + uh, the
    rest zeros) except to a -0 accumulator, which only the start can hold (so
    none may).  The sums stay below 2^900 when steps * max|a| max|b| + max|acc|
    does.
    """
    if a.size == 0 or b.size == 0 or acc.size == 0:
        return True
    big_a, big_b = np.abs(a).max(), np.abs(b).max()
    return bool(big_a < _SAFE_HI and big_b < _SAFE_HI
                and steps * big_a * big_b + np.abs(acc).max() < _SAFE_HI
                and not _tiny(a) and not _tiny(b) and not np.signbit(acc[acc == 0.0]).any())


def _tiny(a):
    """Whether some nonzero |a_i| is at most 2^-450 (a product with it may leave
    the safe range)."""
    return bool(((np.abs(a) <= _SAFE_LO_FACTOR) & (a != 0.0)).any())


# ---- Boldo and Melquiond's emulation
def _emulated_fma_array(a, b, c):
    """:func:`fma` for arrays of one shape, by Boldo and Melquiond's emulation
    [IEEE Trans. Comput. 57 (2008), Alg. 5.4]: a*b = uh + ul exactly (Dekker),
    c + uh = th + tl exactly (Knuth's TwoSum), v = tl + ul rounded to odd, and
    the result th + v rounded to nearest.

    Their proof needs no overflow or underflow: when some element is outside
    the safe range (one test over all elements), a product that is an exact
    zero (a zero factor, the other finite) gives uh + c (one rounding; the
    emulation may miss the sign of a zero sum), and the other elements outside
    are recomputed one at a time by :data:`fma_float`.
    """
    uh = a * b
    ul = _product_error(a, b, uh)
    th, tl = two_sum(c, uh)
    out = th + _round_to_odd_sum(tl, ul)
    if not _all_safe(a, b, uh, c):
        zero = ((a == 0.0) | (b == 0.0)) & (abs(a) < _SAFE_HI) & (abs(b) < _SAFE_HI)
        out = np.where(zero, uh + c, out)
        for i in zip(*np.nonzero(~(zero | _safe(a, b, uh, c)))):
            out[i] = fma_float(float(a[i]), float(b[i]), float(c[i]))
    return out


def _round_to_odd_sum(a, b):
    """a + b rounded to odd, elementwise: exact if representable, else the
    neighbour with an odd last bit [Boldo and Melquiond 2008].

    With s + e = a + b (TwoSum), that is s truncated toward zero (its bit
    pattern minus one where e has the other sign; sign and magnitude: one less
    is one ulp nearer zero) with the last bit set, wherever e != 0.
    """
    s, e = two_sum(a, b)
    inexact = e != 0.0
    beyond = np.copysign(e, s) != e       # e != 0 of the other sign: s is farther from 0
    return ((s.view(np.int64) - beyond) | inexact).view(np.float64)


def _all_safe(a, b, p, c):
    """Whether a, b, p = a*b and c are all within the safe range, with two
    reductions over one array (a NaN fails both tests)."""
    mags = np.abs(np.concatenate((a, b, p, c), axis=None))
    return bool(mags[:3 * a.size].min() > _SAFE_LO) and bool(mags.max() < _SAFE_HI)


def _safe(a, b, p, c):
    """Where a, b, p = a*b and c are within the safe range (a mask, or a bool)."""
    mag_a, mag_b, mag_p = abs(a), abs(b), abs(p)
    return ((_SAFE_LO < mag_a) & (mag_a < _SAFE_HI) & (_SAFE_LO < mag_b)
            & (mag_b < _SAFE_HI) & (_SAFE_LO < mag_p) & (mag_p < _SAFE_HI)
            & (abs(c) < _SAFE_HI))


def _emulated_fma_number(a, b, c):
    """:func:`fma` for three Python floats: the emulation on floats where it is
    safe, else exact fractions (:func:`_fma_fraction`)."""
    uh = a * b
    if not _safe(a, b, uh, c):
        return _fma_fraction(a, b, c)
    ul = _product_error(a, b, uh)
    th, tl = two_sum(c, uh)
    s, e = two_sum(tl, ul)
    if e != 0.0 and not struct.unpack("<q", struct.pack("<d", s))[0] & 1:
        s = math.nextafter(s, math.copysign(math.inf, e))      # round to odd
    return th + s


def _fma_fraction(a, b, c):
    """a*b + c rounded once for three Python floats, with Python's exact fractions."""
    if not (math.isfinite(a) and math.isfinite(b)) or a == 0.0 or b == 0.0:
        return a * b + c          # the product is exact (inf, NaN or a signed zero)
    if not math.isfinite(c):
        return c                  # a finite exact product cannot cancel inf; NaN stays
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return 0.0                # exact cancellation of nonzero terms: +0 when rounding to nearest
    try:
        return float(exact)       # correctly rounded (integer true division)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


# ---- one FMA at a time: Python's, the C library's, or the emulation
#: Triples that an FMA not fused, not correctly rounded or mishandling
#: underflow, overflow, signed zeros or NaN gets wrong (see :func:`_agrees`).
_CHECKS = ((1.0 + 2.0 ** -52, 1.0 - 2.0 ** -52, -1.0),      # -2^-104 only when fused
           (1.0 + 2.0 ** -30, 1.0 + 2.0 ** -23, -(1.0 + 2.0 ** -23)),
           (0.1, 0.7, -0.07), (3.0, 1.0 / 3.0, -1.0),
           (2.0 ** -537, 2.0 ** -537, 2.0 ** -1074),        # a subnormal result
           (2.0 ** -600, -(2.0 ** -600), 0.0),              # underflow to -0.0
           (1.7976931348623157e308, 2.0, -1.7976931348623157e308),  # overflow
           (-0.0, 1.0, 0.0), (-0.0, 1.0, -0.0), (1.0, -1.0, 1.0),
           (math.inf, 0.0, 1.0), (math.inf, 1.0, -math.inf), (math.nan, 1.0, 1.0))


def _agrees(candidate):
    """Whether ``candidate(a, b, c)`` equals the emulation bit for bit on :data:`_CHECKS`."""
    def bits(x):
        return "nan" if x != x else struct.pack("<d", x)
    try:
        return all(bits(candidate(*t)) == bits(_emulated_fma_number(*t)) for t in _CHECKS)
    except (OSError, TypeError, ValueError, ctypes.ArgumentError):
        return False


def _libm_fma():
    """The C library's ``fma`` through :mod:`ctypes` (called without releasing
    the GIL: it is short and pure), or None when no C math library is found."""
    path = ctypes.util.find_library("m")
    if path is None:
        return None
    try:
        function = ctypes.PyDLL(path).fma
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_double,) * 3
    function.restype = ctypes.c_double
    return function


def _choose_fma_number():
    """The fastest exact FMA for three Python floats: ``math.fma`` (Python 3.13+),
    else the C library's, each used only if :func:`_agrees`; else the emulation."""
    for candidate in (getattr(math, "fma", None), _libm_fma()):
        if candidate is not None and _agrees(candidate):
            return candidate
    return _emulated_fma_number


#: fma(a, b, c) for three Python floats, returning a Python float.
fma_float = _choose_fma_number()
#: :data:`fma_float` as a ufunc of Python objects (broadcasts; for small arrays).
_FMA_UFUNC = np.frompyfunc(fma_float, 3, 1)

"""Exact arithmetic in plain Python and NumPy: error-free products and sums, and a
fused multiply-add (a*b + c rounded once) as hardware computes it.

:mod:`lbfgsb_py.reference.blas` models SciPy's BLAS, whose kernels fuse
multiplies into adds; Python 3.11 has no ``math.fma`` and NumPy no fma ufunc,
so the fused result is computed here from error-free transformations
[Dekker 1971; Knuth, TAOCP vol. 2, 4.2.2; Boldo and Melquiond 2008].
"""
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
    """a*b = p + e exactly (Dekker), for scalars."""
    p = a * b
    c = SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


# ---------------------------------------------------------------- the exact FMA
#: Products and sums within these magnitudes need no special care in :func:`fma`.
_FMA_SAFE_LO, _FMA_SAFE_HI = 2.0 ** -900, 2.0 ** 900


def fma(a, b, c):
    """a*b + c rounded once (a fused multiply-add), elementwise, exactly as hardware does.

    Boldo and Melquiond's emulation [Boldo, Melquiond, IEEE Trans. Comput. 57
    (2008), Alg. 5.4]: a*b = uh + ul exactly (Dekker), c + uh = th + tl exactly
    (Knuth's TwoSum), v = tl + ul rounded to odd, and the result th + v rounded
    to nearest.  Their proof needs no overflow or underflow, so zeros,
    infinities, NaNs and extreme magnitudes take :func:`_fma_special`.
    """
    if np.ndim(a) == np.ndim(b) == np.ndim(c) == 0:
        a, b, c = float(a), float(b), float(c)
        if _fma_safe(a, b, c):
            return np.float64(_emulated_fma(a, b, c, _round_to_odd_scalar))
        return np.float64(_fma_special(a, b, c))
    a, b, c = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
    with np.errstate(all="ignore"):
        out = _emulated_fma(a, b, c, round_to_odd_sum)
        safe = _fma_safe(a, b, c)
    for i in zip(*np.nonzero(~safe)):
        out[i] = _fma_special(float(a[i]), float(b[i]), float(c[i]))
    return out


def _emulated_fma(a, b, c, round_to_odd):
    uh, ul = two_product(a, b)
    th, tl = two_sum(c, uh)
    return th + round_to_odd(tl, ul)


def _fma_safe(a, b, c):
    """Where :func:`_emulated_fma` is proven exact: a, b, a*b and c well inside the
    normal range (True/False, or a mask)."""
    mag_a, mag_b, mag_p = abs(a), abs(b), abs(a * b)
    return ((_FMA_SAFE_LO < mag_a) & (mag_a < _FMA_SAFE_HI) & (_FMA_SAFE_LO < mag_b)
            & (mag_b < _FMA_SAFE_HI) & (_FMA_SAFE_LO < mag_p) & (mag_p < _FMA_SAFE_HI)
            & (abs(c) < _FMA_SAFE_HI))


def two_sum(a, b):
    """a + b = s + e exactly (Knuth), elementwise."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def round_to_odd_sum(a, b):
    """a + b rounded to odd: exact if representable, else the neighbour with an odd
    last bit (consecutive doubles alternate in the last bit of their pattern)."""
    s, e = two_sum(a, b)
    even = (np.asarray(s).view(np.int64) & 1) == 0
    return np.where((e != 0) & even, np.nextafter(s, np.copysign(np.inf, e)), s)


def _round_to_odd_scalar(a, b):
    """:func:`round_to_odd_sum` for two Python floats."""
    s, e = two_sum(a, b)
    if e != 0.0 and not struct.unpack("<q", struct.pack("<d", s))[0] & 1:
        return math.nextafter(s, math.copysign(math.inf, e))
    return s


def _fma_special(a, b, c):
    """:func:`fma` for one triple outside the safe range, with Python's exact fractions."""
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

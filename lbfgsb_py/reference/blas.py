"""Sums, norms and small factorizations, each in the order SciPy's code adds.

This is the one module that writes down the order of floating-point sums; every
other module of :mod:`lbfgsb_py.reference` sums through it.  Floating-point
addition is not associative, so two programs that add the same numbers in a
different order usually disagree in the last bits; to follow SciPy's
L-BFGS-B evaluation by evaluation we must add as it does:

* **running sums** -- SciPy's C loops ``s += a[i] * b[i]``: the terms left to
  right, from 0.0 (:func:`running_sum`, :func:`running_difference`).  NumPy's
  ``np.sum``, ``np.dot`` and ``@`` add in other orders (pairwise, blocked), so
  they are not used where the order matters; ``np.add.accumulate`` is
  sequential by definition (each output is the previous one plus a term).
* **ddot** -- SciPy's BLAS inner product (OpenBLAS on x86-64) keeps 16 partial
  sums and combines them pairwise (:func:`dot`).
* **dnrm2** -- the Euclidean norm, which OpenBLAS computes in extended
  precision: in practice the correctly rounded result (:func:`norm2`).
* **dpotrf / dtrtrs** -- Cholesky and triangular solves, each entry a running
  difference in increasing index (:func:`cholesky_upper`,
  :func:`solve_upper_transposed`, :func:`solve_upper`).

Also here: C's ``fmax``/``fmin`` (:func:`fmax`, :func:`fmin`), whose NaN and
signed-zero rules differ from Python's ``max`` and NumPy's ``np.fmax``.

Scalars are NumPy floats (``np.float64``) under ``np.errstate(all="ignore")``
(see :mod:`lbfgsb_py.reference`), so x/0 gives inf or NaN as in C.
"""
import math

import numpy as np


# ---------------------------------------------------------------- running sums
def running_sum(terms, axis=-1, start=None):
    """0.0 + terms[0] + terms[1] + ..., added left to right along ``axis``.

    A 2-D (3-D) ``terms`` gives one running sum per row (``axis=-1``) or per
    column (``axis=0``).  ``start``: add the terms to it instead of 0.0 (a
    scalar, or one start per sum).

    ``np.add.accumulate`` adds left to right; started from the first term
    instead of 0.0 it differs only in the sign of a zero (0.0 + (-0.0) is 0.0),
    so adding 0.0 at the end gives the sum from 0.0 exactly.
    """
    terms = np.asarray(terms, dtype=np.float64)
    if start is not None:
        return _accumulate(np.add, start, terms, axis)
    if terms.shape[axis] == 0:
        return np.zeros(np.delete(terms.shape, axis % terms.ndim))
    partial = np.add.accumulate(terms, axis=axis)
    return (partial[-1] if axis == 0 else partial[..., -1]) + 0.0


def running_difference(start, terms):
    """start - terms[0] - terms[1] - ..., subtracted left to right (along axis 0;
    rows of a 2-D ``terms`` are subtracted from a row ``start``)."""
    return _accumulate(np.subtract, start, np.asarray(terms, dtype=np.float64), 0)


def _accumulate(op, start, terms, axis):
    """start op terms[0] op terms[1] ... along axis 0 or -1, left to right."""
    if terms.shape[axis] == 0:
        return np.array(start, dtype=np.float64)
    column = terms.copy()
    if axis == 0:
        column[0] = op(start, column[0])
        return op.accumulate(column, axis=0)[-1]
    column[..., 0] = op(start, column[..., 0])
    return op.accumulate(column, axis=-1)[..., -1]


# ---------------------------------------------------------------- ddot
#: Partial sums OpenBLAS's x86-64 ``ddot`` keeps (four registers of four lanes).
DDOT_LANES = 16


def dot(a, b):
    """a'b summed as SciPy's BLAS ``ddot`` groups it.

    The first n - n % 16 products go to 16 running sums c_0..c_15 (c_k takes
    the products i = k, k + 16, k + 32, ...); register r holds c_{4r..4r+3},
    the four registers are added pairwise, then the four lanes pairwise; the
    last n % 16 products are added one by one.
    """
    products = np.asarray(a) * np.asarray(b)
    n16 = products.shape[0] - products.shape[0] % DDOT_LANES
    total = np.float64(0.0)
    if n16:
        c = running_sum(products[:n16].reshape(-1, DDOT_LANES), axis=0)
        q = (c[0:4] + c[4:8]) + (c[8:12] + c[12:16])     # q_k = (c_k + c_k+4) + (c_k+8 + c_k+12)
        total = (q[0] + q[2]) + (q[1] + q[3])
    return running_sum(products[n16:], start=total)


# ---------------------------------------------------------------- dnrm2
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


def max_abs(a):
    """max |a_i|; the first NaN's |.| if some a_i is NaN; 0.0 for no entries."""
    mags = np.abs(a)
    nan = np.isnan(mags)
    if nan.any():
        return mags[nan][0]
    return mags.max() if mags.shape[0] else np.float64(0.0)


def norm2(a):
    """The Euclidean norm ||a||, correctly rounded (as SciPy's ``dnrm2`` in practice).

    The sum of squares S is held exactly as the unevaluated sum of the
    rounded squares and their errors (:func:`exact_squares`); ``math.fsum``
    rounds it correctly to hi, and the remainder S - hi to lo.  Then
    root = sqrt(hi + lo) takes one Newton correction with the exact remainder
    hi - root^2 [Dekker 1971].  Vectors whose largest entry is tiny or huge are
    first scaled by a power of two (exact), and the root scaled back.  A NaN
    entry gives NaN, an infinite one inf.
    """
    big = max_abs(a)
    if big != big or big == 0.0 or big == np.inf:
        return big
    k = 0                                 # the entries are scaled by 2^-k
    if not 2.0 ** -400 < big < 2.0 ** 400:
        k = int(np.floor(np.log2(big)))
    p, e = exact_squares(np.ldexp(a, -k))
    terms = p.tolist() + e.tolist()
    hi = np.float64(math.fsum(terms))
    lo = np.float64(math.fsum(terms + [-float(hi)]))
    root = np.sqrt(hi + lo)
    rr, err = two_product(root, root)
    root = root + ((hi - rr) - err + lo) / (2.0 * root)
    return np.ldexp(root, k)


# ---------------------------------------------------------------- dpotrf, dtrtrs
def cholesky_upper(A):
    """Factor the symmetric matrix A = R'R in place, R upper (LAPACK ``dpotrf('U')``).

    Reads only the upper triangle.  Row j of R is (A[j, j:] - sum_{p<j} R[p, j]
    R[p, j:]) / R[j, j], the terms subtracted in increasing p.  Returns 0, or
    j+1 when the j-th pivot is not positive (or NaN), row j then left with its
    terms subtracted (the LAPACK ``info``).
    """
    for j in range(A.shape[0]):
        A[j, j:] = running_difference(A[j, j:], A[:j, j, np.newaxis] * A[:j, j:])
        pivot = A[j, j]
        if not pivot > 0.0:
            return j + 1
        A[j, j] = np.sqrt(pivot)
        A[j, j + 1:] /= A[j, j]
    return 0


def _zero_pivot(R):
    """j+1 for the first zero on the diagonal of R, else 0 (``dtrtrs``'s check)."""
    zero = np.flatnonzero(np.diagonal(R) == 0.0)
    return int(zero[0]) + 1 if zero.shape[0] else 0


def solve_upper_transposed(R, b):
    """Solve R'x = b in place (``dtrtrs('U', 'T')``), R upper.

    x_j = (b_j - sum_{p<j} R[p, j] x_p) / R[j, j], the terms subtracted in
    increasing p: column by column, as soon as x_p is known its terms leave
    every later b_j (the same subtractions, in the same order, as row by row).
    ``b`` may be a matrix: its rows are then solved together (several
    right-hand sides, one per column).  Returns 0, or j+1 (and b untouched)
    when R[j, j] = 0.
    """
    info = _zero_pivot(R)
    if info:
        return info
    for p in range(R.shape[0]):
        b[p] = b[p] / R[p, p]
        b[p + 1:] -= np.multiply.outer(R[p, p + 1:], b[p])
    return 0


def solve_upper(R, b):
    """Solve R x = b in place (``dtrtrs('U', 'N')``), R upper.

    x_j = (b_j - sum_{p>j} R[j, p] x_p) / R[j, j] for j from the last, the terms
    subtracted in increasing p.  Returns 0, or j+1 (b untouched) when R[j, j] = 0.
    """
    info = _zero_pivot(R)
    if info:
        return info
    for j in range(R.shape[0] - 1, -1, -1):
        b[j] = running_difference(b[j], R[j, j + 1:] * b[j + 1:]) / R[j, j]
    return 0


# ---------------------------------------------------------------- C's fmax / fmin
def fmax(a, b):
    """C's ``fmax`` as SciPy's code relies on it: a NaN argument is ignored;
    otherwise a if a >= b else b (so fmax(-0.0, 0.0) is -0.0).  Elementwise."""
    return np.where((b != b) & (a == a), a, np.where(a >= b, a, b))


def fmin(a, b):
    """C's ``fmin``: a NaN argument is ignored; otherwise a if a <= b else b."""
    return np.where((b != b) & (a == a), a, np.where(a <= b, a, b))


def fmax_scalar(a, b):
    """:func:`fmax` for two numbers."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a >= b else b


def fmin_scalar(a, b):
    """:func:`fmin` for two numbers."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a <= b else b

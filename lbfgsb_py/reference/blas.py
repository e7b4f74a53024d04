"""Sums, norms and small factorizations, each in the order SciPy's code adds.

This is the one module that writes down the order of floating-point sums; every
other module of :mod:`lbfgsb_py.reference` sums through it.  Floating-point
addition is not associative, so two programs that add the same numbers in a
different order usually disagree in the last bits; to follow SciPy's
L-BFGS-B evaluation by evaluation we must add as it does:

* **running sums** -- SciPy's C loops ``s += a[i] * b[i]`` (no fused
  multiply-adds: SciPy's own code is compiled without them): the terms left to
  right, from 0.0 (:func:`running_sum`, :func:`running_difference`).  NumPy's
  ``np.sum``, ``np.dot`` and ``@`` add in other orders (pairwise, blocked), so
  they are not used where the order matters; ``np.add.accumulate`` is
  sequential by definition (each output is the previous one plus a term).
* **SciPy's BLAS and LAPACK** -- SciPy's L-BFGS-B calls OpenBLAS's ``ddot``,
  ``daxpy``, ``dpotrf`` and ``dtrtrs``, whose kernels sum in their own orders
  and fuse multiplies into adds (one rounding for a*b + c).  We model them
  operation by operation, for the kernel family OpenBLAS picks on this machine
  (:func:`openblas`; SkylakeX), with an exact fused multiply-add (:func:`fma`):
  :func:`dot` (``ddot``, split among OpenBLAS's threads above 10,000
  elements), :func:`axpy` (``daxpy``), :func:`cholesky_upper` (``dpotrf``:
  the unblocked ``potf2`` with the ``dgemv_t`` kernel, :func:`gemv_t_subtract`),
  :func:`solve_upper_transposed` and :func:`solve_upper` (``dtrtrs``: ``dtrsv``
  for one right-hand side, the ``dtrsm`` kernel for several).  The model is
  exact (tested bit for bit against SciPy's own BLAS and LAPACK) for factors
  of order <= 32 and solves of order <= 64, far above L-BFGS-B's usual
  2m = 20; larger ones keep these orders where OpenBLAS blocks differently.
* **dnrm2** -- the Euclidean norm, which OpenBLAS's x86-64 kernel computes
  with the x87 unit in 80-bit extended precision (:func:`norm2`).

Also here: C's ``fmax``/``fmin`` (:func:`fmax`, :func:`fmin`), whose NaN and
signed-zero rules differ from Python's ``max`` and NumPy's ``np.fmax``.

Scalars are NumPy floats (``np.float64``) under ``np.errstate(all="ignore")``
(see :mod:`lbfgsb_py.reference`), so x/0 gives inf or NaN as in C.
"""
import ctypes
import importlib.util
import math
import os
from pathlib import Path

import numpy as np

from .exact import exact_squares, fma, two_product


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


# ddot, daxpy: see the OpenBLAS model below.


# ---------------------------------------------------------------- dnrm2
def max_abs(a):
    """max |a_i|; the first NaN's |.| if some a_i is NaN; 0.0 for no entries."""
    mags = np.abs(a)
    nan = np.isnan(mags)
    if nan.any():
        return mags[nan][0]
    return mags.max() if mags.shape[0] else np.float64(0.0)


#: NumPy's ``longdouble`` is the x87 80-bit format (64-bit significand) here.
X87 = np.finfo(np.longdouble).nmant == 63


def norm2(a):
    """||a|| as SciPy's BLAS ``dnrm2`` computes it: OpenBLAS's x86-64 ``nrm2.S``.

    The x87 unit squares and adds in 80-bit extended precision (64-bit
    significand, so no square under- or overflows): the first n - n % 8 squares
    go to four partial sums (sum k takes entries 4i + k, in order), the last
    n % 8 to the first of them; the sums are added ((s0 + s2) + s1) + s3, the
    square root taken in extended precision and rounded to double.  NumPy's
    ``longdouble`` is that x87 format on x86-64, so the model runs it directly;
    where it is not (:data:`X87` False), the correctly rounded norm
    (:func:`norm2_rounded`), which the kernel gives in all but rare cases.
    """
    a = np.asarray(a, dtype=np.float64)
    if not X87:
        return norm2_rounded(a)
    squares = np.square(a.astype(np.longdouble))
    n8 = a.shape[0] - a.shape[0] % 8
    sums = [_extended_sum(squares[k:n8:4], np.longdouble(0.0)) for k in range(4)]
    sums[0] = _extended_sum(squares[n8:], sums[0])
    return np.float64(np.sqrt(((sums[0] + sums[2]) + sums[1]) + sums[3]))


def _extended_sum(terms, start):
    """start + terms[0] + terms[1] + ..., left to right, in ``longdouble``."""
    if terms.shape[0] == 0:
        return start
    return np.add.accumulate(np.concatenate(([start], terms)))[-1]


def norm2_rounded(a):
    """The Euclidean norm ||a||, correctly rounded.

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


# ---------------------------------------------------------------- which OpenBLAS
#: The kernel families modelled: OpenBLAS's SkylakeX kernels (AVX-512 CPUs).
FAMILIES = ("skylakex",)
#: ``ddot`` splits vectors longer than this among OpenBLAS's threads.
DDOT_THREAD_MIN = 10000
#: OpenBLAS's ``DTB_ENTRIES`` on x86-64: the block of ``dtrsv``; ``dpotrf`` runs
#: the unblocked ``potf2`` up to half of it.
DTB_ENTRIES = 64
#: Rows of the ``dtrsm`` kernel's blocks (``DGEMM_UNROLL_M``) per family.
TRSM_UNROLL = {"skylakex": 16}


def openblas():
    """(kernel family, thread count) of the OpenBLAS whose arithmetic we model.

    ``LBFGSB_PY_BLAS`` names the family; else SkylakeX, the only one modelled
    so far (on CPUs where OpenBLAS picks other kernels, the Haswell ones on
    AVX2-only CPUs, others without FMA or on ARM, SciPy's results then differ
    from ours in the last bits; ``validation``'s report names both).  The thread count is
    that OpenBLAS's, else ``OPENBLAS_NUM_THREADS`` (or ``GOTO_NUM_THREADS``,
    ``OMP_NUM_THREADS``), else the number of CPUs.
    """
    global _OPENBLAS
    if _OPENBLAS is None:
        _OPENBLAS = _detect()
    return _OPENBLAS


_OPENBLAS = None


def _detect():
    lib = _scipy_openblas()
    family = os.environ.get("LBFGSB_PY_BLAS", "").strip().lower() or "skylakex"
    if family not in FAMILIES:
        raise ValueError(f"LBFGSB_PY_BLAS={family!r}: expected one of {', '.join(FAMILIES)}")
    return family, lib[1] if lib is not None else _env_threads()


def _env_threads():
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return min(int(value), 64)
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1, 64)


def _scipy_openblas():
    """(core name, threads) from the OpenBLAS bundled with SciPy, or None.

    Loads the library SciPy's wheels bundle (``scipy.libs``) without importing
    SciPy; it is the library SciPy's L-BFGS-B calls.
    """
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]).parent
    for path in sorted(root.glob("scipy.libs/libscipy_openblas*.so*")):
        try:
            lib = ctypes.CDLL(str(path))
            corename = lib.scipy_openblas_get_corename
            corename.restype = ctypes.c_char_p
            return corename().decode(), int(lib.scipy_openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return None


# ---------------------------------------------------------------- ddot
def dot(a, b):
    """a'b as SciPy's BLAS ``ddot`` computes it (OpenBLAS, the family of :func:`openblas`).

    Vectors longer than :data:`DDOT_THREAD_MIN` are cut into one contiguous
    share per OpenBLAS thread, each ceil(rest / threads left) long; each share is
    summed by :func:`dot_kernel` and the shares' sums are added in order.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = a.shape[0]
    if n <= DDOT_THREAD_MIN:
        return dot_kernel(a, b)
    total, start = np.float64(0.0), 0
    for left in range(openblas()[1], 0, -1):
        share = -(-(n - start) // left)
        total = total + dot_kernel(a[start:start + share], b[start:start + share])
        start += share
    return total


def dot_kernel(a, b):
    """a'b as one thread of OpenBLAS's SkylakeX ``ddot`` sums it.

    The first n - n % 16 products go to 32 partial sums (four 8-wide registers),
    as many as the largest multiple of 32 allows, each updated by a fused
    multiply-add; each register is folded to 4 lanes (lane k + lane k+4); 16 more
    products, if left, are fused into those; the four registers are added
    ((r0 + r1) + r2) + r3, then the lanes (l0 + l2) + (l1 + l3).  The last
    n % 16 products are fused into the total one at a time.
    """
    n = a.shape[0]
    n16 = n - n % 16
    n32 = n16 - n16 % 32
    acc = np.zeros(32)
    for i in range(0, n32, 32):
        acc = fma(a[i:i + 32], b[i:i + 32], acc)
    regs = acc.reshape(4, 8)
    regs = regs[:, :4] + regs[:, 4:]
    if n16 > n32:
        regs = fma(a[n32:n16].reshape(4, 4), b[n32:n16].reshape(4, 4), regs)
    total = np.float64(0.0)
    if n16:
        lanes = ((regs[0] + regs[1]) + regs[2]) + regs[3]
        total = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
    for i in range(n16, n):
        total = fma(b[i], a[i], total)
    return total


# ---------------------------------------------------------------- daxpy
def axpy(alpha, x, y):
    """y + alpha x as SciPy's BLAS ``daxpy`` computes it: one fused multiply-add per
    element; y itself (untouched) when alpha = 0."""
    if alpha == 0.0:
        return np.array(y, dtype=np.float64)
    return np.asarray(fma(alpha, x, y), dtype=np.float64)


# ---------------------------------------------------------------- dgemv_t
def gemv_t_subtract(A, x, y):
    """y - A'x as OpenBLAS's ``dgemv_t`` kernel computes it (alpha = -1).

    A has m rows.  Over the first m - m % 4 rows each column's product with x is
    a sum of its own: columns in groups of four as 4 lanes of fused
    multiply-adds (lane k takes rows 4i + k), a pair left over as 2 lanes of
    plain multiply-and-add, a single one left as 4 such lanes; the lanes are
    added (l0 + l2) + (l1 + l3) (two lanes: l0 + l1) and the sum subtracted
    from y.  The last m % 4 rows come after, for every column:
    y + (a0 t0 + a1 t1 + a2 t2) with t = -x, the sum fused as
    fma(a2, t2, fma(a0, t0, a1 t1)) (the C compiler's contraction).
    """
    m, ncol = A.shape
    m4 = m - m % 4
    y = np.array(y, dtype=np.float64)
    if m4 and ncol:
        n4, pair = ncol - ncol % 4, ncol % 4 >= 2
        y[:n4] -= _lane_sums(A[:m4, :n4], x[:m4], 4, fused=True)
        if pair:
            y[n4:n4 + 2] -= _lane_sums(A[:m4, n4:n4 + 2], x[:m4], 2, fused=False)
        if ncol % 2:
            y[-1:] -= _lane_sums(A[:m4, -1:], x[:m4], 4, fused=False)
    if m > m4:
        y = _tail_rows(A[m4:], -x[m4:], y)
    return y


def _lane_sums(A, x, lanes, fused):
    """Each column's A'x summed in ``lanes`` lanes (lane k: rows k, k + lanes, ...)."""
    acc = np.zeros((lanes, A.shape[1]))
    for i in range(0, A.shape[0], lanes):
        block, xs = A[i:i + lanes], x[i:i + lanes, np.newaxis]
        acc = fma(block, xs, acc) if fused else acc + block * xs
    if lanes == 2:
        return acc[0] + acc[1]
    return (acc[0] + acc[2]) + (acc[1] + acc[3])


def _tail_rows(A, t, y):
    """y + (A't) for 1 to 3 rows, fused as the C compiler contracts it."""
    if A.shape[0] == 1:
        return fma(A[0], t[0], y)
    s = fma(A[0], t[0], A[1] * t[1])
    if A.shape[0] == 3:
        s = fma(A[2], t[2], s)
    return y + s


# ---------------------------------------------------------------- dpotrf, dtrtrs
def cholesky_upper(A):
    """Factor the symmetric matrix A = R'R in place, R upper, as SciPy's LAPACK
    ``dpotrf('U')`` does it (OpenBLAS's unblocked ``potf2``, used up to order
    :data:`DTB_ENTRIES` / 2).

    Reads only the upper triangle.  For each row j: the pivot
    A[j, j] - ddot(R[:j, j], R[:j, j]); then the rest of the row,
    A[j, j+1:] - R[:j, j+1:]'R[:j, j] (:func:`gemv_t_subtract`), times 1/R[j, j]
    (a multiplication by the reciprocal).  Returns 0, or j+1 when the j-th pivot
    is <= 0 (left there; a NaN pivot is not caught, as in OpenBLAS).
    """
    for j in range(A.shape[0]):
        pivot = A[j, j] - dot(A[:j, j], A[:j, j])
        if pivot <= 0.0:
            A[j, j] = pivot
            return j + 1
        A[j, j] = np.sqrt(pivot)
        if j + 1 < A.shape[0]:
            A[j, j + 1:] = gemv_t_subtract(A[:j, j + 1:], A[:j, j], A[j, j + 1:]) * (1.0 / A[j, j])
    return 0


def _zero_pivot(R):
    """j+1 for the first zero on the diagonal of R, else 0 (``dtrtrs``'s check)."""
    zero = np.flatnonzero(np.diagonal(R) == 0.0)
    return int(zero[0]) + 1 if zero.shape[0] else 0


def solve_upper_transposed(R, b):
    """Solve R'x = b in place (``dtrtrs('U', 'T')``), R upper, as OpenBLAS does.

    One right-hand side (``dtrsv``): x_j = (b_j - ddot(R[:j, j], x[:j])) / R[j, j].
    Several (``b`` a matrix, one right-hand side per column): ``dtrsm``
    (:func:`_trsm_upper_transposed`).  Returns 0, or j+1 (and b untouched) when
    R[j, j] = 0.
    """
    info = _zero_pivot(R)
    if info:
        return info
    if b.ndim == 2 and b.shape[1] > 1:
        _trsm_upper_transposed(R, b)
        return 0
    x = b.reshape(-1)
    for j in range(R.shape[0]):
        if j:
            x[j] = x[j] - dot(R[:j, j], x[:j])
        x[j] = x[j] / R[j, j]
    return 0


def _trsm_upper_transposed(R, B):
    """R'X = B in place for several right-hand sides, as OpenBLAS's ``dtrsm`` kernel.

    Rows go in blocks of :data:`TRSM_UNROLL` (16), then of 8, 4, 2, 1 as the
    order's binary digits say.  A block's rows first lose the products with the
    rows already solved (one sum of fused multiply-adds from 0.0 per entry,
    subtracted once); then, row i of the block in turn: x_i = b_i * (1/R[i, i])
    and every later row of the block loses x_i R[i, q] (fused).
    """
    for r0, r1 in _trsm_blocks(R.shape[0], TRSM_UNROLL[openblas()[0]]):
        if r0:
            acc = np.zeros((r1 - r0, B.shape[1]))
            for p in range(r0):
                acc = fma(R[p, r0:r1, np.newaxis], B[p], acc)
            B[r0:r1] = B[r0:r1] - acc
        for i in range(r0, r1):
            B[i] = B[i] * (1.0 / R[i, i])
            for q in range(i + 1, r1):
                B[q] = fma(-B[i], R[i, q], B[q])


def _trsm_blocks(k, unroll):
    """The row blocks [r0, r1) of ``dtrsm``'s kernel for order k."""
    sizes = [unroll] * (k // unroll)
    size = unroll // 2
    while size:
        if k & size:
            sizes.append(size)
        size //= 2
    ends = np.cumsum([0] + sizes)
    return list(zip(ends[:-1].tolist(), ends[1:].tolist()))


def solve_upper(R, b):
    """Solve R x = b in place (``dtrtrs('U', 'N')``), R upper, as OpenBLAS's ``dtrsv``.

    From the last row up: x_j = b_j / R[j, j], then b[:j] loses x_j R[:j, j]
    (a ``daxpy``: one fused multiply-add per entry).  Returns 0, or j+1 (b
    untouched) when R[j, j] = 0.
    """
    info = _zero_pivot(R)
    if info:
        return info
    for j in range(R.shape[0] - 1, -1, -1):
        b[j] = b[j] / R[j, j]
        if j:
            b[:j] = fma(-b[j], R[:j, j], b[:j])
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

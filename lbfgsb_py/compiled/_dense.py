"""The BLAS and LAPACK calls of SciPy's code, computed as SciPy's OpenBLAS computes them.

The compiled twin of the OpenBLAS model in :mod:`lbfgsb_py.reference.blas` (read
that module for the order of every operation; these kernels perform the same
operations, fused where OpenBLAS fuses, in the same order): ``ddot``
(:func:`dot`), ``daxpy`` (:func:`axpy`), ``dpotrf`` (:func:`cholesky_upper`)
and ``dtrtrs`` (:func:`solve_upper_transposed`,
:func:`solve_upper_transposed_block`, :func:`solve_upper`).  Numba would route
``np.linalg`` to SciPy's LAPACK, which is not a run-time dependency here, so
these are plain loops.  They act on the square block ``a[o:o+k, o:o+k]`` of a
larger array, as the Fortran code does with its leading dimensions.

The fused multiply-add is LLVM's ``llvm.fma.f64`` (one ``vfmadd`` instruction);
without JIT (``NUMBA_DISABLE_JIT=1``) it is the reference's exact emulation.
The kernel family and OpenBLAS's thread count are fixed when the kernels are
compiled (:func:`lbfgsb_py.reference.blas.openblas`; the compiled cache is
keyed on them, see :mod:`._cache`).
"""
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from ..reference import blas as _model
from ._jit import jit

#: For the small helpers of the hot loops: inlined into their callers by Numba.
inline = numba.njit(cache=True, error_model="numpy", inline="always")

FAMILY, THREADS = _model.openblas()
DDOT_THREAD_MIN = _model.DDOT_THREAD_MIN
TRSM_UNROLL = _model.TRSM_UNROLL[FAMILY]


@intrinsic
def _fma_intrinsic(typingctx, a, b, c):
    """a*b + c rounded once: LLVM's ``llvm.fma.f64``."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


if numba.config.DISABLE_JIT:
    def fma(a, b, c):
        """a*b + c rounded once (the reference's exact emulation)."""
        return _model.fma(a, b, c)
else:
    @inline
    def fma(a, b, c):
        """a*b + c rounded once (one hardware fused multiply-add)."""
        return _fma_intrinsic(float(a), float(b), float(c))


# ---------------------------------------------------------------- ddot
@inline
def dot(a, b):
    """a'b as SciPy's ``ddot``: one :func:`dot_kernel` per OpenBLAS thread's share
    above :data:`DDOT_THREAD_MIN` elements, the shares' sums added in order."""
    n = a.shape[0]
    if n <= DDOT_THREAD_MIN:
        return dot_kernel(a, b)
    total = 0.0
    start = 0
    for left in range(THREADS, 0, -1):
        share = (n - start + left - 1) // left
        total += dot_kernel(a[start:start + share], b[start:start + share])
        start += share
    return total


@jit
def dot_call(a, b):
    """:func:`dot` as a call of its own (:func:`dot` is inlined into its callers, which
    Numba's parallel loops cannot take)."""
    return dot(a, b)


@inline
def _fma8(a, b, i, r):
    return (fma(a[i], b[i], r[0]), fma(a[i + 1], b[i + 1], r[1]),
            fma(a[i + 2], b[i + 2], r[2]), fma(a[i + 3], b[i + 3], r[3]),
            fma(a[i + 4], b[i + 4], r[4]), fma(a[i + 5], b[i + 5], r[5]),
            fma(a[i + 6], b[i + 6], r[6]), fma(a[i + 7], b[i + 7], r[7]))


@inline
def _fma4(a, b, i, r):
    return (fma(a[i], b[i], r[0]), fma(a[i + 1], b[i + 1], r[1]),
            fma(a[i + 2], b[i + 2], r[2]), fma(a[i + 3], b[i + 3], r[3]))


@inline
def _fold(r):
    """An 8-wide register folded to 4 lanes: lane k + lane k+4."""
    return (r[0] + r[4], r[1] + r[5], r[2] + r[6], r[3] + r[7])


@inline
def dot_kernel(a, b):
    """a'b as one thread of OpenBLAS's SkylakeX ``ddot`` (32 fused partial sums;
    see :func:`lbfgsb_py.reference.blas.dot_kernel`).  The partial sums are
    tuples, so that they stay in registers."""
    n = a.shape[0]
    n16 = n - n % 16
    n32 = n16 - n16 % 32
    z8 = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    r0, r1, r2, r3 = z8, z8, z8, z8
    for i in range(0, n32, 32):
        r0 = _fma8(a, b, i, r0)
        r1 = _fma8(a, b, i + 8, r1)
        r2 = _fma8(a, b, i + 16, r2)
        r3 = _fma8(a, b, i + 24, r3)
    q0, q1, q2, q3 = _fold(r0), _fold(r1), _fold(r2), _fold(r3)
    if n16 > n32:
        q0 = _fma4(a, b, n32, q0)
        q1 = _fma4(a, b, n32 + 4, q1)
        q2 = _fma4(a, b, n32 + 8, q2)
        q3 = _fma4(a, b, n32 + 12, q3)
    total = 0.0
    if n16:
        l0 = ((q0[0] + q1[0]) + q2[0]) + q3[0]
        l1 = ((q0[1] + q1[1]) + q2[1]) + q3[1]
        l2 = ((q0[2] + q1[2]) + q2[2]) + q3[2]
        l3 = ((q0[3] + q1[3]) + q2[3]) + q3[3]
        total = (l0 + l2) + (l1 + l3)
    for i in range(n16, n):
        total = fma(b[i], a[i], total)
    return total


# ---------------------------------------------------------------- daxpy
@jit
def axpy(alpha, x, y):
    """y += alpha x as SciPy's ``daxpy``: one fused multiply-add per element, none
    when alpha = 0."""
    if alpha == 0.0:
        return
    for i in range(y.shape[0]):
        y[i] = fma(alpha, x[i], y[i])


# ---------------------------------------------------------------- dpotrf
@jit
def cholesky_upper(a, o, k):
    """Factor the symmetric block A = R'R in place, R upper, as OpenBLAS's ``potf2``
    (see :func:`lbfgsb_py.reference.blas.cholesky_upper`).

    Returns 0, or j+1 when the j-th pivot is <= 0 (a NaN pivot is not caught).
    """
    for j in range(k):
        col_j = a[o:o + j, o + j]
        pivot = a[o + j, o + j] - dot(col_j, col_j)
        if pivot <= 0.0:
            a[o + j, o + j] = pivot
            return j + 1
        rjj = np.sqrt(pivot)
        a[o + j, o + j] = rjj
        _row_update(a, o, j, k)
        inv = 1.0 / rjj
        for q in range(o + j + 1, o + k):
            a[o + j, q] *= inv
    return 0


@jit
def _row_update(a, o, j, k):
    """A[j, q] -= R[:j, q]'R[:j, j] for q > j, as OpenBLAS's ``dgemv_t`` kernel (see
    :func:`lbfgsb_py.reference.blas.gemv_t_subtract`): over the first j - j % 4
    rows, the columns in groups of four with 4 fused lanes each
    (:func:`_group4_fused`), a pair left over with 2 plain lanes, a single one
    with 4; then the last j % 4 rows, contracted as the C compiler does:
    fma(a0, t0, y) for one row, else y + fma(a2, t2, fma(a0, t0, a1 t1)) with
    t = -R[m4:j, j] (a2's term for three rows only)."""
    m4 = j - j % 4
    x = o + j
    ncol = k - j - 1
    n4 = ncol - ncol % 4
    if m4:
        for q in range(x + 1, x + 1 + n4, 4):
            _group4_fused(a, o, q, x, m4)
    for c in range(ncol):
        q = x + 1 + c
        y = a[x, q]
        if m4 and c >= n4:
            if ncol % 4 >= 2 and c < n4 + 2:
                y -= _lanes2(a, o, q, x, m4)
            else:
                y -= _lanes4(a, o, q, x, m4)
        rows = j - m4
        if rows == 1:
            y = fma(a[o + m4, q], -a[o + m4, x], y)
        elif rows > 1:
            s = fma(a[o + m4, q], -a[o + m4, x], a[o + m4 + 1, q] * -a[o + m4 + 1, x])
            if rows == 3:
                s = fma(a[o + m4 + 2, q], -a[o + m4 + 2, x], s)
            y = y + s
        a[x, q] = y


@inline
def _fma_row4(xp, a, p, q, acc):
    """acc + xp a[p, q:q+4], one fused multiply-add per column."""
    return (fma(xp, a[p, q], acc[0]), fma(xp, a[p, q + 1], acc[1]),
            fma(xp, a[p, q + 2], acc[2]), fma(xp, a[p, q + 3], acc[3]))


@jit
def _group4_fused(a, o, q, x, m4):
    """Row x, columns q..q+3, loses each column's rows o..o+m4 times column x: 4 lanes
    of fused multiply-adds per column (lane l: rows o + 4i + l), then
    (l0 + l2) + (l1 + l3).  The four columns' 16 lanes are independent, held in
    registers; row p's entry of column x is read once for the four."""
    z4 = (0.0, 0.0, 0.0, 0.0)
    l0, l1, l2, l3 = z4, z4, z4, z4
    for p in range(o, o + m4, 4):
        l0 = _fma_row4(a[p, x], a, p, q, l0)
        l1 = _fma_row4(a[p + 1, x], a, p + 1, q, l1)
        l2 = _fma_row4(a[p + 2, x], a, p + 2, q, l2)
        l3 = _fma_row4(a[p + 3, x], a, p + 3, q, l3)
    a[x, q] -= (l0[0] + l2[0]) + (l1[0] + l3[0])
    a[x, q + 1] -= (l0[1] + l2[1]) + (l1[1] + l3[1])
    a[x, q + 2] -= (l0[2] + l2[2]) + (l1[2] + l3[2])
    a[x, q + 3] -= (l0[3] + l2[3]) + (l1[3] + l3[3])


@jit
def _lanes4(a, o, q, x, m4):
    """Column q's rows o..o+m4 times column x: 4 lanes, each product rounded before
    it is added, then (l0 + l2) + (l1 + l3)."""
    l0 = l1 = l2 = l3 = 0.0
    for i in range(o, o + m4, 4):
        l0 += a[i, q] * a[i, x]
        l1 += a[i + 1, q] * a[i + 1, x]
        l2 += a[i + 2, q] * a[i + 2, x]
        l3 += a[i + 3, q] * a[i + 3, x]
    return (l0 + l2) + (l1 + l3)


@jit
def _lanes2(a, o, q, x, m4):
    """Two lanes (even rows, odd rows), each product rounded before it is added."""
    l0 = l1 = 0.0
    for i in range(o, o + m4, 2):
        l0 += a[i, q] * a[i, x]
        l1 += a[i + 1, q] * a[i + 1, x]
    return l0 + l1


# ---------------------------------------------------------------- dtrtrs
@jit
def _zero_pivot(a, o, k):
    for j in range(k):
        if a[o + j, o + j] == 0.0:
            return j + 1
    return 0


@jit
def solve_upper_transposed(a, o, k, b, bo):
    """Solve R' x = b in place (``dtrtrs('U', 'T')``, one right-hand side: ``dtrsv``),
    R = a[o:o+k, o:o+k] upper; ``b[bo:bo+k]`` becomes x.  Returns 0 or j+1 for
    a zero pivot.  x_j = (b_j - ddot(R[:j, j], x[:j])) / R[j, j]."""
    info = _zero_pivot(a, o, k)
    if info:
        return info
    for j in range(k):
        if j:
            b[bo + j] -= dot(a[o:o + j, o + j], b[bo:bo + j])
        b[bo + j] = b[bo + j] / a[o + j, o + j]
    return 0


@jit
def solve_upper_transposed_block(a, o, k, c, nc):
    """Solve R' X = B in place for the nc right-hand sides B = a[o:o+k, c:c+nc]
    (``dtrtrs('U', 'T')``: ``dtrsv`` for one, the ``dtrsm`` kernel for several;
    see :func:`lbfgsb_py.reference.blas.solve_upper_transposed`).  Returns 0 or
    j+1 for a zero pivot."""
    if nc == 1:
        return solve_upper_transposed(a, o, k, a[:, c], o)
    info = _zero_pivot(a, o, k)
    if info:
        return info
    acc = np.empty(nc)
    r0 = 0
    size = TRSM_UNROLL
    while r0 < k:
        while r0 + size > k:
            size //= 2
        _trsm_block(a, o, r0, r0 + size, c, acc)
        r0 += size
    return 0


@jit
def _trsm_block(a, o, r0, r1, c, acc):
    """Rows r0..r1 of the right-hand sides a[o:o+k, c:c+len(acc)]: each entry loses
    the solved rows' products (one fused sum from 0.0 over the rows in order,
    subtracted once), then the rows are solved with the reciprocal pivots.  The
    inner loops run along a row (one entry per right-hand side: independent
    sums, each in its own order)."""
    nc = acc.shape[0]
    if r0:
        for r in range(r0, r1):
            acc[:] = 0.0
            for p in range(r0):
                rpr = a[o + p, o + r]
                rhs = a[o + p, c:c + nc]
                for q in range(nc):
                    acc[q] = fma(rpr, rhs[q], acc[q])
            out = a[o + r, c:c + nc]
            for q in range(nc):
                out[q] -= acc[q]
    for i in range(r0, r1):
        inv = 1.0 / a[o + i, o + i]
        xi = a[o + i, c:c + nc]
        for q in range(nc):
            xi[q] *= inv
        for s in range(i + 1, r1):
            ris = a[o + i, o + s]
            out = a[o + s, c:c + nc]
            for q in range(nc):
                out[q] = fma(-xi[q], ris, out[q])


@jit
def solve_upper(a, o, k, b, bo):
    """Solve R x = b in place (``dtrtrs('U', 'N')``: ``dtrsv``), R = a[o:o+k, o:o+k]
    upper: from the last row up, x_j = b_j / R[j, j], then b[:j] loses
    x_j R[:j, j] (fused).  Returns 0 or j+1 for a zero pivot."""
    info = _zero_pivot(a, o, k)
    if info:
        return info
    for j in range(k - 1, -1, -1):
        xj = b[bo + j] / a[o + j, o + j]
        b[bo + j] = xj
        for p in range(j):
            b[bo + p] = fma(-xj, a[o + p, o + j], b[bo + p])
    return 0

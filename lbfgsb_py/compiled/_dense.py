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
keyed on them, see :mod:`._cache`): every per-family fact is read here from
the reference's table (:data:`lbfgsb_py.reference.blas.KERNELS`) into module
constants, and where families differ in structure the kernel is chosen when
this module is imported (``dot_kernel``, ``_group4``), so only the chosen
family's code is compiled and run; where they differ only in fusion the
multiply-add helpers (:func:`madd_asm`, :func:`madd_c`, :func:`madd_gemv`)
are chosen likewise.
"""
import types as _pytypes

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from ..reference import blas as _model
from ._jit import jit

#: For the small helpers of the hot loops: inlined into their callers by Numba.
inline = numba.njit(cache=True, error_model="numpy", inline="always")

FAMILY, THREADS = _model.openblas()
#: The chosen family's row of the reference's table (one source of each fact).
KERNELS = _model.KERNELS[FAMILY]
DDOT_THREAD_MIN = _model.DDOT_THREAD_MIN
TRSM_UNROLL = _model.TRSM_UNROLL[FAMILY]
GEMM_UNROLL_N = KERNELS.gemm_unroll_n
#: The ``dgemm`` kernel's order of sums for a block of ``rows`` x ``cols``
#: (powers of two up to TRSM_UNROLL x GEMM_UNROLL_N): ``GEMM_ORDER[rows, cols]``
#: is 0 for one running sum per entry, else 1 + the index in
#: :data:`GEMM_ORDERS` of the name ``KERNELS.gemm_sums`` gives that shape.
GEMM_ORDERS = tuple(_model.GEMM_SUMS)
GEMM_ORDER = np.zeros((TRSM_UNROLL + 1, GEMM_UNROLL_N + 1), dtype=np.int64)
for (_rows, _cols), _name in KERNELS.gemm_sums.items():
    GEMM_ORDER[_rows, _cols] = 1 + GEMM_ORDERS.index(_name)
IN_ORDER, QUADS_OF_EIGHT, EVEN_ODD, EVEN_ODD_PIPELINED, TWO_LANES_OF_PAIRS = 0, 1, 2, 3, 4
assert GEMM_ORDERS == ("quads of eight", "even, odd", "even, odd, pipelined",
                       "two lanes of pairs"), GEMM_ORDERS


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


@inline
def mul_add(a, b, c):
    """c + a*b, the product rounded before it is added (code not fused)."""
    return c + a * b


#: a*b + c as each part of OpenBLAS rounds it for the chosen family (the flags
#: of :class:`lbfgsb_py.reference.blas.Kernels`; the reference's ``_madd``):
#: its assembly kernels (``fused``), its C code (``fused_c``: the tails of
#: ``ddot.c`` and ``daxpy.c``, ``trsm_kernel_LT.c``'s solve) and ``dgemv_t_4.c``
#: (``fused_gemv``).
madd_asm = fma if KERNELS.fused else mul_add
madd_c = fma if KERNELS.fused_c else mul_add
madd_gemv = fma if KERNELS.fused_gemv else mul_add


# ---------------------------------------------------------------- ddot
# A call of its own, not inlined: Numba inlines an ``inline="always"`` function
# by typing its body again in every caller, and the unrolled dot kernel took
# ~4 s of compilation per call site (~40 s in all); compiled once per pair of
# argument types instead.  The same operations in the same order: the same bits.
@jit
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


#: :func:`dot` inlined into its caller, for the two hot callers of many short dot
#: products (``cauchy._update_derivatives``: three per breakpoint;
#: ``subspace._add_column_products``: ~1.5 col^2 per iteration), where the calls
#: cost a few percent of an iteration (n = 1000 with bounds, n = 10).  A renamed
#: copy of :func:`dot` (Numba names cache files after the function).
if numba.config.DISABLE_JIT:
    dot_inlined = dot
else:
    dot_inlined = _pytypes.FunctionType(dot.py_func.__code__, dot.py_func.__globals__,
                                        "dot_inlined")
    dot_inlined.__qualname__ = "dot_inlined"
    dot_inlined = inline(dot_inlined)


@inline
def _fma8(a, b, i, r):
    return (fma(a[i], b[i], r[0]), fma(a[i + 1], b[i + 1], r[1]),
            fma(a[i + 2], b[i + 2], r[2]), fma(a[i + 3], b[i + 3], r[3]),
            fma(a[i + 4], b[i + 4], r[4]), fma(a[i + 5], b[i + 5], r[5]),
            fma(a[i + 6], b[i + 6], r[6]), fma(a[i + 7], b[i + 7], r[7]))


@inline
def _fold(r):
    """An 8-wide register folded to 4 lanes: lane k + lane k+4."""
    return (r[0] + r[4], r[1] + r[5], r[2] + r[6], r[3] + r[7])


@inline
def _dot_skylakex(a, b):
    """a'b as one thread of OpenBLAS's SkylakeX ``ddot`` (32 fused partial sums;
    see :func:`lbfgsb_py.reference.blas.dot_kernel` and ``_dot_skylakex``).  The
    partial sums are tuples, so that they stay in registers."""
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
        q0 = _madd4(a, b, n32, q0)
        q1 = _madd4(a, b, n32 + 4, q1)
        q2 = _madd4(a, b, n32 + 8, q2)
        q3 = _madd4(a, b, n32 + 12, q3)
    total = 0.0
    if n16:
        l0 = ((q0[0] + q1[0]) + q2[0]) + q3[0]
        l1 = ((q0[1] + q1[1]) + q2[1]) + q3[1]
        l2 = ((q0[2] + q1[2]) + q2[2]) + q3[2]
        l3 = ((q0[3] + q1[3]) + q2[3]) + q3[3]
        total = (l0 + l2) + (l1 + l3)
    for i in range(n16, n):
        total = madd_c(b[i], a[i], total)
    return total


@inline
def _madd4(a, b, i, r):
    """Register r (4 lanes) takes products i..i+3, each added by :func:`madd_asm`."""
    return (madd_asm(a[i], b[i], r[0]), madd_asm(a[i + 1], b[i + 1], r[1]),
            madd_asm(a[i + 2], b[i + 2], r[2]), madd_asm(a[i + 3], b[i + 3], r[3]))


@inline
def _madd2(a, b, i, r):
    """Register r (2 lanes) takes products i, i+1, each added by :func:`madd_asm`."""
    return (madd_asm(a[i], b[i], r[0]), madd_asm(a[i + 1], b[i + 1], r[1]))


@inline
def _dot_4lanes(a, b):
    """a'b as one thread of the Haswell (fused) or Sandybridge ``ddot``: four
    4-lane registers take 16 products a step, each folded to 2 lanes
    (lane k + lane k+2), added (r0 + r1) + (r2 + r3), then the two lanes; the
    last n % 16 products one at a time (see
    :func:`lbfgsb_py.reference.blas.dot_kernel` and ``_dot_registers``)."""
    n = a.shape[0]
    n16 = n - n % 16
    z4 = (0.0, 0.0, 0.0, 0.0)
    r0, r1, r2, r3 = z4, z4, z4, z4
    for i in range(0, n16, 16):
        r0 = _madd4(a, b, i, r0)
        r1 = _madd4(a, b, i + 4, r1)
        r2 = _madd4(a, b, i + 8, r2)
        r3 = _madd4(a, b, i + 12, r3)
    total = 0.0
    if n16:
        p0 = ((r0[0] + r0[2]) + (r1[0] + r1[2])) + ((r2[0] + r2[2]) + (r3[0] + r3[2]))
        p1 = ((r0[1] + r0[3]) + (r1[1] + r1[3])) + ((r2[1] + r2[3]) + (r3[1] + r3[3]))
        total = p0 + p1
    for i in range(n16, n):
        total = madd_c(b[i], a[i], total)
    return total


@inline
def _dot_2lanes(a, b):
    """a'b as one thread of the Nehalem ``ddot``: four 2-lane registers take 8
    products a step, added (r0 + r1) + (r2 + r3), then the two lanes; the last
    n % 16 products one at a time (see
    :func:`lbfgsb_py.reference.blas.dot_kernel` and ``_dot_registers``)."""
    n = a.shape[0]
    n16 = n - n % 16
    z2 = (0.0, 0.0)
    r0, r1, r2, r3 = z2, z2, z2, z2
    for i in range(0, n16, 8):
        r0 = _madd2(a, b, i, r0)
        r1 = _madd2(a, b, i + 2, r1)
        r2 = _madd2(a, b, i + 4, r2)
        r3 = _madd2(a, b, i + 6, r3)
    total = 0.0
    if n16:
        total = ((r0[0] + r1[0]) + (r2[0] + r3[0])) + ((r0[1] + r1[1]) + (r2[1] + r3[1]))
    for i in range(n16, n):
        total = madd_c(b[i], a[i], total)
    return total


#: a'b as one thread of the chosen family's ``ddot`` (the reference's
#: :func:`~lbfgsb_py.reference.blas.dot_kernel`), by its register width.
dot_kernel = {8: _dot_skylakex, 4: _dot_4lanes, 2: _dot_2lanes}[KERNELS.width]


# ---------------------------------------------------------------- daxpy
@jit
def axpy(alpha, x, y):
    """y += alpha x as SciPy's ``daxpy``: nothing when alpha = 0, else
    :func:`axpy_kernel`."""
    if alpha == 0.0:
        return
    axpy_kernel(alpha, x, y)


@inline
def axpy_kernel(alpha, x, y):
    """y += alpha x as OpenBLAS's ``daxpy.c`` (see
    :func:`lbfgsb_py.reference.blas.axpy_kernel`): the first n - n % 16 entries
    by the assembly kernel (:func:`madd_asm`), the rest by C (:func:`madd_c`)."""
    n = y.shape[0]
    n16 = n - n % 16
    for i in range(n16):
        y[i] = madd_asm(alpha, x[i], y[i])
    for i in range(n16, n):
        y[i] = madd_c(alpha, x[i], y[i])


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
    rows, the columns in groups of four (:func:`_group4`: the family's
    ``_quad_sums``), a pair left over with 2 plain lanes, a single one with 4;
    then the last j % 4 rows, contracted where the C compiler contracts
    (:func:`madd_gemv`): madd(a0, t0, y) for one row, else
    y + madd(a2, t2, madd(a0, t0, a1 t1)) with t = -R[m4:j, j] (a2's term for
    three rows only)."""
    m4 = j - j % 4
    x = o + j
    ncol = k - j - 1
    n4 = ncol - ncol % 4
    if m4:
        for q in range(x + 1, x + 1 + n4, 4):
            _group4(a, o, q, x, m4)
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
            y = madd_gemv(a[o + m4, q], -a[o + m4, x], y)
        elif rows > 1:
            s = madd_gemv(a[o + m4, q], -a[o + m4, x], a[o + m4 + 1, q] * -a[o + m4 + 1, x])
            if rows == 3:
                s = madd_gemv(a[o + m4 + 2, q], -a[o + m4 + 2, x], s)
            y = y + s
        a[x, q] = y


@inline
def _fma_row4(xp, a, p, q, acc):
    """acc + xp a[p, q:q+4], one fused multiply-add per column."""
    return (fma(xp, a[p, q], acc[0]), fma(xp, a[p, q + 1], acc[1]),
            fma(xp, a[p, q + 2], acc[2]), fma(xp, a[p, q + 3], acc[3]))


@jit
def _group4_fused(a, o, q, x, m4):
    """Row x, columns q..q+3, loses each column's rows o..o+m4 times column x, as
    ``dgemv_t_microk_haswell-4.c`` (SkylakeX, Haswell): 4 lanes of fused
    multiply-adds per column (lane l: rows o + 4i + l), then
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


@inline
def _quad(a, p, q, x0, x1, x2, x3):
    """((a[p, q] x0 + a[p+1, q] x1) + a[p+2, q] x2) + a[p+3, q] x3, each product rounded."""
    return ((a[p, q] * x0 + a[p + 1, q] * x1) + a[p + 2, q] * x2) + a[p + 3, q] * x3


@jit
def _group4_quads(a, o, q, x, m4):
    """Row x, columns q..q+3, loses each column's rows o..o+m4 times column x, as
    ``dgemv_t_4.c``'s C ``dgemv_kernel_4x4`` (Sandybridge, Nehalem): per 4 rows
    s = s + (((p0 + p1) + p2) + p3), from 0.0, nothing fused."""
    s0 = s1 = s2 = s3 = 0.0
    for p in range(o, o + m4, 4):
        x0, x1, x2, x3 = a[p, x], a[p + 1, x], a[p + 2, x], a[p + 3, x]
        s0 = s0 + _quad(a, p, q, x0, x1, x2, x3)
        s1 = s1 + _quad(a, p, q + 1, x0, x1, x2, x3)
        s2 = s2 + _quad(a, p, q + 2, x0, x1, x2, x3)
        s3 = s3 + _quad(a, p, q + 3, x0, x1, x2, x3)
    a[x, q] -= s0
    a[x, q + 1] -= s1
    a[x, q + 2] -= s2
    a[x, q + 3] -= s3


#: Four columns of ``dgemv_t`` over the first m - m % 4 rows, as the chosen
#: family's kernel sums them (the reference's ``_quad_sums``).
_group4 = _group4_fused if KERNELS.fused else _group4_quads


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


#: Whether the column blocks of ``dtrsm`` (hence OpenBLAS's thread count) change
#: any bits: only where the family's ``dgemm`` kernel sums some block shape in
#: another order (``KERNELS.gemm_sums``: Haswell, Nehalem).  Elsewhere every
#: entry sees the same operations in any column block, and all the right-hand
#: sides are solved as one block.
COLUMN_BLOCKS_MATTER = bool(KERNELS.gemm_sums)


@jit
def solve_upper_transposed_block(a, o, k, c, nc):
    """Solve R' X = B in place for the nc right-hand sides B = a[o:o+k, c:c+nc]
    (``dtrtrs('U', 'T')``: ``dtrsv`` for one, the ``dtrsm`` kernel for several;
    see :func:`lbfgsb_py.reference.blas.solve_upper_transposed`).  Returns 0 or
    j+1 for a zero pivot.

    The columns go in the blocks of the reference's ``_trsm_column_blocks``:
    one share per OpenBLAS thread (each ceil(rest / threads left)), cut into
    chunks of 3 ``GEMM_UNROLL_N`` columns while that many are left, then of at
    most ``GEMM_UNROLL_N``; a chunk into blocks of ``GEMM_UNROLL_N``, then of
    half, a quarter, ... (:func:`_trsm_chunk`)."""
    if nc == 1:
        return solve_upper_transposed(a, o, k, a[:, c], o)
    info = _zero_pivot(a, o, k)
    if info:
        return info
    acc = np.empty(nc)
    if not COLUMN_BLOCKS_MATTER:
        _trsm_columns(a, o, k, c, nc, acc)
        return 0
    start = 0
    left = THREADS
    while start < nc:
        end = start + (nc - start + left - 1) // left
        left -= 1
        while start < end:
            chunk = 3 * GEMM_UNROLL_N if end - start >= 3 * GEMM_UNROLL_N else \
                min(end - start, GEMM_UNROLL_N)
            _trsm_chunk(a, o, k, c + start, chunk, acc)
            start += chunk
    return 0


@jit
def _trsm_chunk(a, o, k, c, nc, acc):
    """The columns c..c+nc of one chunk, in blocks of ``GEMM_UNROLL_N``, then of
    half, a quarter, ... as nc's binary digits say."""
    c0 = 0
    size = GEMM_UNROLL_N
    while c0 < nc:
        while c0 + size > nc:
            size //= 2
        _trsm_columns(a, o, k, c + c0, size, acc)
        c0 += size


@jit
def _trsm_columns(a, o, k, c, nc, acc):
    """One block of right-hand sides a[o:o+k, c:c+nc], its rows in blocks of
    ``TRSM_UNROLL``, then of half, a quarter, ... (the reference's
    ``_trsm_blocks``)."""
    r0 = 0
    size = TRSM_UNROLL
    while r0 < k:
        while r0 + size > k:
            size //= 2
        _trsm_block(a, o, r0, r0 + size, c, nc, acc)
        r0 += size


@jit
def _trsm_block(a, o, r0, r1, c, nc, acc):
    """Rows r0..r1 of the right-hand sides a[o:o+k, c:c+nc] (see the reference's
    ``_trsm_upper_transposed``): each entry loses the solved rows' products
    (summed as the family's ``dgemm`` kernel sums a block of this shape:
    :data:`GEMM_ORDER`; one sum from 0.0 over the rows in order by
    :func:`madd_asm` unless it names another order, :func:`_gemm_entry`),
    subtracted once; then the rows are solved with the reciprocal pivots, each
    later row of the block losing x_i R[i, q] (:func:`madd_c`).  The inner loops
    run along a row (one entry per right-hand side: independent sums, each in
    its own order)."""
    order = GEMM_ORDER[r1 - r0, nc] if COLUMN_BLOCKS_MATTER else IN_ORDER
    if r0 and order == IN_ORDER:
        for r in range(r0, r1):
            acc[:nc] = 0.0
            for p in range(r0):
                rpr = a[o + p, o + r]
                rhs = a[o + p, c:c + nc]
                for q in range(nc):
                    acc[q] = madd_asm(rpr, rhs[q], acc[q])
            out = a[o + r, c:c + nc]
            for q in range(nc):
                out[q] -= acc[q]
    elif r0:
        for r in range(r0, r1):
            for q in range(c, c + nc):
                a[o + r, q] -= _gemm_entry(a, o, r0, o + r, q, order)
    for i in range(r0, r1):
        inv = 1.0 / a[o + i, o + i]
        xi = a[o + i, c:c + nc]
        for q in range(nc):
            xi[q] *= inv
        for s in range(i + 1, r1):
            ris = a[o + i, o + s]
            out = a[o + s, c:c + nc]
            for q in range(nc):
                out[q] = madd_c(-xi[q], ris, out[q])


@inline
def _products(a, o, lo, hi, step, cr, cx, start):
    """start + sum of a[o+p, cr] a[o+p, cx] for p = lo, lo+step, ... < hi, in order,
    each added by :func:`madd_asm` (the reference's ``_block_products``)."""
    s = start
    for p in range(lo, hi, step):
        s = madd_asm(a[o + p, cr], a[o + p, cx], s)
    return s


@jit
def _gemm_entry(a, o, kk, cr, cx, order):
    """One entry R[:kk, r]'X[:kk, q] (R's column r is a[o:o+kk, cr], X's column q
    a[o:o+kk, cx]) summed in ``order``, one of the reference's
    :data:`~lbfgsb_py.reference.blas.GEMM_SUMS` (``_quads_of_eight``,
    ``_even_odd``, ``_even_odd_pipelined``, ``_two_lanes_of_pairs``, whose
    docstrings give each order), else in order from 0.0."""
    if order == QUADS_OF_EIGHT:
        k8 = kk - kk % 8
        s0 = _products(a, o, 0, k8, 4, cr, cx, 0.0)
        s1 = _products(a, o, 1, k8, 4, cr, cx, 0.0)
        s2 = _products(a, o, 2, k8, 4, cr, cx, 0.0)
        s3 = _products(a, o, 3, k8, 4, cr, cx, 0.0)
        s0 = _products(a, o, k8, kk, 1, cr, cx, s0)
        return (s0 + s1) + (s2 + s3)
    k4 = kk - kk % 4
    if order == EVEN_ODD:
        odd = _products(a, o, 1, k4, 2, cr, cx, 0.0)
        even = _products(a, o, 0, k4, 2, cr, cx, 0.0)
        return _products(a, o, k4, kk, 1, cr, cx, even) + odd
    if order == EVEN_ODD_PIPELINED and k4:
        pair = _products(a, o, 1, k4 - 1, 2, cr, cx, 0.0) + \
            _products(a, o, 0, k4, 2, cr, cx, 0.0)
        return _products(a, o, k4 - 1, kk, 1, cr, cx, pair)
    if order == TWO_LANES_OF_PAIRS:
        s0 = _products(a, o, 0, k4, 4, cr, cx, 0.0)
        s1 = _products(a, o, 1, k4, 4, cr, cx, 0.0)
        s2 = _products(a, o, 2, k4, 4, cr, cx, 0.0)
        s3 = _products(a, o, 3, k4, 4, cr, cx, 0.0)
        lane0 = _products(a, o, k4, kk, 1, cr, cx, s0 + s2)
        return lane0 + (s1 + s3)
    return _products(a, o, 0, kk, 1, cr, cx, 0.0)


@jit
def solve_upper(a, o, k, b, bo):
    """Solve R x = b in place (``dtrtrs('U', 'N')``: ``dtrsv``), R = a[o:o+k, o:o+k]
    upper (see :func:`lbfgsb_py.reference.blas.solve_upper`): from the last row
    up, x_j = b_j / R[j, j], then b[:j] loses x_j R[:j, j] as the ``daxpy``
    kernel does (:func:`axpy_kernel`: the first j - j % 16 entries by
    :func:`madd_asm`, the rest by :func:`madd_c`).  Returns 0 or j+1 for a
    zero pivot."""
    info = _zero_pivot(a, o, k)
    if info:
        return info
    for j in range(k - 1, -1, -1):
        xj = b[bo + j] / a[o + j, o + j]
        b[bo + j] = xj
        n16 = j - j % 16
        for p in range(n16):
            b[bo + p] = madd_asm(-xj, a[o + p, o + j], b[bo + p])
        for p in range(n16, j):
            b[bo + p] = madd_c(-xj, a[o + p, o + j], b[bo + p])
    return 0

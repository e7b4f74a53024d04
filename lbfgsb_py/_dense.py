"""Small dense kernels that stand in for the LAPACK calls of SciPy's code.

SciPy calls ``dpotrf`` (Cholesky, upper) and ``dtrtrs`` (triangular solves) on
matrices of order at most 2m.  Numba would route ``np.linalg`` to SciPy's
LAPACK, which is not a run-time dependency here, so these are plain loops.
They act on the square block ``a[o:o+k, o:o+k]`` of a larger array, as the
Fortran code does with its leading dimensions.
"""
import numpy as np

from ._jit import jit


@jit
def cholesky_upper(a, o, k):
    """Factor the symmetric block A = R'R in place, R upper (like ``dpotrf('U')``).

    Reads only the upper triangle.  Returns 0, or j+1 when the j-th pivot is not
    positive (or NaN): the LAPACK ``info`` convention.  Row j of R is
    (A[j, j:] - sum_{p<j} R[p, j] R[p, j:]) / R[j, j], the terms subtracted in
    increasing p; the inner loops run along rows, so they vectorize.
    """
    for j in range(k):
        for p in range(j):
            rpj = a[o + p, o + j]
            for i in range(j, k):
                a[o + j, o + i] -= rpj * a[o + p, o + i]
        s = a[o + j, o + j]
        if not s > 0.0:
            return j + 1
        rjj = np.sqrt(s)
        a[o + j, o + j] = rjj
        for i in range(j + 1, k):
            a[o + j, o + i] /= rjj
    return 0


@jit
def solve_upper_transposed(a, o, k, b, bo):
    """Solve R' x = b in place (``dtrtrs('U', 'T')``), R = a[o:o+k, o:o+k] upper.

    ``b[bo:bo+k]`` is overwritten with x.  Returns 0 or j+1 for a zero pivot.
    x_j = (b_j - sum_{p<j} R[p, j] x_p) / R[j, j], the terms subtracted in
    increasing p (each x_p is swept into the later entries as soon as it is known).
    """
    for j in range(k):
        if a[o + j, o + j] == 0.0:
            return j + 1
    for p in range(k):
        xp = b[bo + p] / a[o + p, o + p]
        b[bo + p] = xp
        for j in range(p + 1, k):
            b[bo + j] -= a[o + p, o + j] * xp
    return 0


@jit
def solve_upper_transposed_block(a, o, k, c, nc):
    """Solve R' X = B in place for the nc right-hand sides B = a[o:o+k, c:c+nc].

    The same arithmetic as :func:`solve_upper_transposed` column by column, done
    row by row so that the inner loop runs along a row.  Returns 0 or j+1.
    """
    for j in range(k):
        if a[o + j, o + j] == 0.0:
            return j + 1
    for p in range(k):
        rpp = a[o + p, o + p]
        for q in range(c, c + nc):
            a[o + p, q] /= rpp
        for j in range(p + 1, k):
            rpj = a[o + p, o + j]
            for q in range(c, c + nc):
                a[o + j, q] -= rpj * a[o + p, q]
    return 0


@jit
def solve_upper(a, o, k, b, bo):
    """Solve R x = b in place (``dtrtrs('U', 'N')``), R = a[o:o+k, o:o+k] upper."""
    for j in range(k):
        if a[o + j, o + j] == 0.0:
            return j + 1
    for j in range(k - 1, -1, -1):
        t = b[bo + j]
        for p in range(j + 1, k):
            t -= a[o + j, o + p] * b[bo + p]
        b[bo + j] = t / a[o + j, o + j]
    return 0


@jit
def dot(a, b):
    """Inner product, summed as SciPy's BLAS ``ddot`` kernel groups it.

    OpenBLAS's x86-64 ``ddot`` keeps 16 partial sums (four 4-wide registers)
    over the first ``n - n % 16`` elements, adds them pairwise at the end and
    then the remaining elements one by one.  We follow that grouping (without
    its fused multiply-adds, which Numba cannot express); besides coming closer
    to SciPy's rounding than a single running sum, the independent partial sums
    run several times faster.
    """
    n = a.shape[0]
    n16 = n - n % 16
    acc = np.zeros(16)
    for i in range(0, n16, 16):
        # The bound is always 16; written so, LLVM cannot prove it and keeps
        # the loop, which it vectorizes, instead of unrolling it into scalar code.
        for k in range(min(16, n16 - i)):
            acc[k] += a[i + k] * b[i + k]
    quad = np.empty(4)
    for k in range(4):
        quad[k] = (acc[k] + acc[4 + k]) + (acc[8 + k] + acc[12 + k])
    s = (quad[0] + quad[2]) + (quad[1] + quad[3]) if n16 else 0.0
    for i in range(n16, n):
        s += a[i] * b[i]
    return s

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
    increasing p.
    """
    for j in range(k):
        _subtract_products(a, o, j, o + j, o + k)
        s = a[o + j, o + j]
        if not s > 0.0:
            return j + 1
        rjj = np.sqrt(s)
        a[o + j, o + j] = rjj
        for i in range(o + j + 1, o + k):
            a[o + j, i] /= rjj
    return 0


@jit
def solve_upper_transposed(a, o, k, b, bo):
    """Solve R' x = b in place (``dtrtrs('U', 'T')``), R = a[o:o+k, o:o+k] upper.

    ``b[bo:bo+k]`` is overwritten with x.  Returns 0 or j+1 for a zero pivot.
    x_j = (b_j - sum_{p<j} R[p, j] x_p) / R[j, j], the terms subtracted in
    increasing p.  Eight entries at a time first take the terms of the x_p
    already known, as eight independent running differences.
    """
    for j in range(k):
        if a[o + j, o + j] == 0.0:
            return j + 1
    for j0 in range(0, k, 8):
        last = k - 1
        q1, q2, q3 = min(j0 + 1, last), min(j0 + 2, last), min(j0 + 3, last)
        q4, q5, q6, q7 = min(j0 + 4, last), min(j0 + 5, last), min(j0 + 6, last), min(j0 + 7, last)
        t0, t1, t2, t3 = b[bo + j0], b[bo + q1], b[bo + q2], b[bo + q3]
        t4, t5, t6, t7 = b[bo + q4], b[bo + q5], b[bo + q6], b[bo + q7]
        for p in range(j0):
            xp = b[bo + p]
            t0 -= a[o + p, o + j0] * xp
            t1 -= a[o + p, o + q1] * xp
            t2 -= a[o + p, o + q2] * xp
            t3 -= a[o + p, o + q3] * xp
            t4 -= a[o + p, o + q4] * xp
            t5 -= a[o + p, o + q5] * xp
            t6 -= a[o + p, o + q6] * xp
            t7 -= a[o + p, o + q7] * xp
        b[bo + q7], b[bo + q6], b[bo + q5], b[bo + q4] = t7, t6, t5, t4
        b[bo + q3], b[bo + q2], b[bo + q1], b[bo + j0] = t3, t2, t1, t0
        for j in range(j0, min(j0 + 8, k)):
            t = b[bo + j]
            for p in range(j0, j):
                t -= a[o + p, o + j] * b[bo + p]
            b[bo + j] = t / a[o + j, o + j]
    return 0


@jit
def solve_upper_transposed_block(a, o, k, c, nc):
    """Solve R' X = B in place for the nc right-hand sides B = a[o:o+k, c:c+nc].

    Each column gets exactly the arithmetic of :func:`solve_upper_transposed`;
    eight columns are worked at once.  Returns 0 or j+1 for a zero pivot.
    """
    for j in range(k):
        if a[o + j, o + j] == 0.0:
            return j + 1
    for j in range(k):
        _subtract_products(a, o, j, c, c + nc)
        for q in range(c, c + nc):
            a[o + j, q] /= a[o + j, o + j]
    return 0


@jit
def _subtract_products(a, o, j, q, qend):
    """a[o+j, q'] -= a[o+p, o+j] a[o+p, q'] for p = 0 .. j-1 in turn, q <= q' < qend.

    Written as one row update per p (out -= a[o+p, o+j] * row p), the inner loop
    over the columns runs as vector instructions; every entry still gets its
    terms subtracted one by one in increasing p, as in a one-column loop.
    """
    out = a[o + j, q:qend]
    for p in range(j):
        rp = a[o + p, o + j]
        row = a[o + p, q:qend]
        for c in range(out.shape[0]):
            out[c] -= rp * row[c]


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
    run several times faster.  They are sixteen named variables, not an array,
    so that they stay in registers.
    """
    n = a.shape[0]
    n16 = n - n % 16
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0.0
    c8 = c9 = c10 = c11 = c12 = c13 = c14 = c15 = 0.0
    for i in range(0, n16, 16):
        c0 += a[i] * b[i]
        c1 += a[i + 1] * b[i + 1]
        c2 += a[i + 2] * b[i + 2]
        c3 += a[i + 3] * b[i + 3]
        c4 += a[i + 4] * b[i + 4]
        c5 += a[i + 5] * b[i + 5]
        c6 += a[i + 6] * b[i + 6]
        c7 += a[i + 7] * b[i + 7]
        c8 += a[i + 8] * b[i + 8]
        c9 += a[i + 9] * b[i + 9]
        c10 += a[i + 10] * b[i + 10]
        c11 += a[i + 11] * b[i + 11]
        c12 += a[i + 12] * b[i + 12]
        c13 += a[i + 13] * b[i + 13]
        c14 += a[i + 14] * b[i + 14]
        c15 += a[i + 15] * b[i + 15]
    # Lane k of register r holds c[4r + k]: add the four registers pairwise, then
    # the lanes of the result pairwise.
    q0 = (c0 + c4) + (c8 + c12)
    q1 = (c1 + c5) + (c9 + c13)
    q2 = (c2 + c6) + (c10 + c14)
    q3 = (c3 + c7) + (c11 + c15)
    s = (q0 + q2) + (q1 + q3) if n16 else 0.0
    for i in range(n16, n):
        s += a[i] * b[i]
    return s

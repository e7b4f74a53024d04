"""The one decorator every compiled kernel uses.

Kernels are compiled with ``numba.njit(cache=True, error_model="numpy")`` and
without ``fastmath`` (fastmath would reorder floating-point sums and break
parity with SciPy).  ``error_model="numpy"`` makes x/0 give inf or NaN as in
SciPy's C code instead of raising ``ZeroDivisionError``.
With the environment variable ``NUMBA_DISABLE_JIT=1`` Numba hands back the plain
Python function, so every kernel can be stepped through in a debugger.
"""
import numba

jit = numba.njit(cache=True, error_model="numpy")


@jit
def fmax(a, b):
    """C's ``fmax``: the larger of a and b, ignoring a NaN argument."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a >= b else b


@jit
def fmin(a, b):
    """C's ``fmin``: the smaller of a and b, ignoring a NaN argument."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a <= b else b

"""The one decorator every compiled kernel uses.

Kernels are compiled with ``numba.njit(cache=True, error_model="numpy")`` and
without ``fastmath`` (fastmath would reorder floating-point sums and break
parity with SciPy).  ``error_model="numpy"`` makes x/0 give inf or NaN as in
SciPy's C code instead of raising ``ZeroDivisionError``.
With the environment variable ``NUMBA_DISABLE_JIT=1`` Numba hands back the plain
Python function, so every kernel can be stepped through in a debugger.
"""
import hashlib
import types
from pathlib import Path

import numba


def _drop_stale_cache():
    """Delete our cached machine code when any module of the package changed.

    Numba checks only the timestamp of the file that defines a kernel, not of
    the kernels it calls (which it compiles in): after an edit of, say,
    ``_dense.py`` the cached ``matupd`` would keep the old ``dot``.  A digest of
    all the package's sources, stored beside the cache, catches that.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(package.glob("*.py"))))
    cache = package / "__pycache__"
    stamp = cache / "kernels.sha256"
    try:
        if stamp.exists() and stamp.read_text() == digest.hexdigest():
            return
        for path in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            path.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass  # read-only install: nothing to clean, nothing can go stale


_drop_stale_cache()
jit = numba.njit(cache=True, error_model="numpy")
_jit_parallel = numba.njit(cache=True, error_model="numpy", parallel=True)


def twins(fn):
    """Compile ``fn`` twice: serially and with ``parallel=True``.

    Its ``prange`` loops run on several threads in the second and as plain
    loops in the first (small problems, where starting threads costs more than
    it saves).  Every such loop must give the same bits for any thread count:
    each sum is computed whole by one thread, in its usual order.
    """
    # A renamed copy: Numba names cache files after the function, and the two
    # compilations must not share one.
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel",
                              fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + "_parallel"
    return jit(fn), _jit_parallel(twin)


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

"""The one decorator every kernel of the compiled backend uses.

Kernels are compiled with ``numba.njit(cache=True, error_model="numpy")`` and
without ``fastmath`` (fastmath would reorder floating-point sums and break
parity with SciPy).  ``error_model="numpy"`` makes x/0 give inf or NaN as in
SciPy's C code instead of raising ``ZeroDivisionError``.
With the environment variable ``NUMBA_DISABLE_JIT=1`` Numba hands back the plain
Python function, so every kernel can be stepped through in a debugger.
"""
import types

import numba

from . import _cache

try:        # the fingerprints Numba's dispatcher computes for each argument
    from numba._dispatcher import compute_fingerprint
except ImportError:     # pragma: no cover - a Numba without it: always dispatch
    compute_fingerprint = None


#: Whether the kernels' machine code was found on disk at import.
KERNELS_CACHED = _cache.drop_stale()
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


class Direct:
    """A kernel whose later calls skip Numba's type dispatch: ``Direct(k).call(...)``.

    Numba works out the type of every argument at each call (about 0.1 µs an
    array); the solver's kernels take 6 to 39 arguments, which at n = 10 adds up
    to a tenth of an iteration.  The first call goes through the dispatcher (and
    compiles or loads the kernel); later calls go straight to the machine code
    compiled for that first call's argument types, so they must pass the same
    types, as the solver does with its own buffers.  The machine code is found
    from the arguments' fingerprints (Numba's own, cheap) in a table shared by
    all instances.  Without JIT (``NUMBA_DISABLE_JIT=1``), or if no compiled
    version matches exactly, every call dispatches as usual.
    """

    __slots__ = ("kernel", "call")
    _entries = {}

    def __init__(self, kernel):
        self.kernel = kernel
        self.call = self._first_call

    def _first_call(self, *args):
        result = self.kernel(*args)
        self.call = self._entry_point(args)
        return result

    def _entry_point(self, args):
        kernel = self.kernel
        if not hasattr(kernel, "overloads") or compute_fingerprint is None:
            return kernel
        key = (kernel, tuple(map(compute_fingerprint, args)))
        entry = Direct._entries.get(key)
        if entry is None:
            compiled = kernel.overloads.get(tuple(map(kernel.typeof_pyval, args)))
            entry = Direct._entries[key] = kernel if compiled is None else compiled.entry_point
        return entry


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

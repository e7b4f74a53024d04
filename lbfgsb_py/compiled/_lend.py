"""The engine's arrays lent to a kernel by address, without reference counts.

Numba gives every array it receives from Python a reference count, and each
compiled function the array is passed on to raises and lowers that count with
atomic instructions.  A call of :func:`~lbfgsb_py.direction.search_direction`
passes its 28 arrays down through some forty functions: at n = 10 the counting
took about 45% of the call (measured with ``perf``).  An array rebuilt inside a
kernel from its address (``numba.carray``) has no count, so nothing it reaches
pays for one.

:class:`Lent` lists the engine's arrays once, in the order of the slot numbers
below, as a table of addresses and shapes; an entry kernel such as
:func:`~lbfgsb_py.direction.search_direction_lent` rebuilds the arrays from it
(``floats1(table, X)``) and calls the kernel proper.  The :class:`Lent` object
holds the arrays, so they live as long as the table; the engine writes into them
in place and never rebinds one (a new array would not be seen: build a new
:class:`Lent`).  With ``NUMBA_DISABLE_JIT=1`` the same code runs in Python, the
addresses read through :mod:`ctypes`.
"""
import ctypes
import operator

import numba
import numpy as np
from numba import literal_unroll, types
from numba.core.extending import intrinsic

from ._jit import jit

#: State fields lent to the kernels, in slot order.
SLOTS = ("x", "l", "u", "nbd", "g", "iwhere", "index", "indx2", "z", "d", "r", "xp",
         "t_break", "iorder", "p", "c", "wbp", "v", "wn", "wn1", "segments", "ws",
         "wy", "sy", "ss", "wt", "xold", "gold", "isave", "dsave")
(X, L, U, NBD, G, IWHERE, INDEX, INDX2, Z, D, R, XP, T_BREAK, IORDER, P, C, WBP, V, WN, WN1,
 SEGMENTS, WS, WY, SY, SS, WT, XOLD, GOLD, ISAVE, DSAVE) = range(len(SLOTS))
_take = operator.attrgetter(*SLOTS)


class Lent:
    """The arrays of ``SLOTS`` taken from ``owner``, and their table (``table``):
    one row per slot, (address, shape[0], shape[1], shape[2])."""

    def __init__(self, owner):
        self.arrays = _take(owner)
        self.table = np.zeros((len(SLOTS), 4), np.int64)
        bad = next((path for path, a in zip(SLOTS, self.arrays)
                    if a.dtype.kind not in "fiu" or a.dtype.itemsize != 8), None)
        if bad is None:
            k = _fill(self.table, self.arrays)
            bad = SLOTS[k] if k >= 0 else None
        if bad is not None:
            raise ValueError(f"{bad} must be a C-contiguous float64, int64 or uint64 array "
                             f"to be lent to the kernels")

    def __reduce__(self):
        # A copy would carry the addresses of the original's arrays.
        raise TypeError("a Lent table holds raw addresses and cannot be copied or pickled; "
                        "build a new Lent from the copied owner")


@jit
def _fill(table, arrays):
    """Rows (address, shape...) of ``table`` for each array; the index of the first
    array that is not C-contiguous, or -1.  (Compiled: in Python ``a.ctypes.data``
    costs about 2 us an array, and an engine is built for every solve.)"""
    k = 0
    for a in literal_unroll(arrays):
        if not a.flags.c_contiguous:
            return k
        table[k, 0] = a.ctypes.data
        for dim in range(a.ndim):
            table[k, 1 + dim] = a.shape[dim]
        k += 1
    return -1


def _pointer_to(numba_type, c_type):
    """``addr -> pointer`` as a Numba intrinsic, or through ctypes in plain Python."""
    if numba.config.DISABLE_JIT:
        return lambda addr: ctypes.cast(int(addr), ctypes.POINTER(c_type))

    @intrinsic
    def pointer(typingctx, addr):
        ptr_type = types.CPointer(numba_type)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr_type))
        return ptr_type(types.int64), codegen
    return pointer


_float_pointer = _pointer_to(types.float64, ctypes.c_double)
_int_pointer = _pointer_to(types.int64, ctypes.c_int64)
_uint_pointer = _pointer_to(types.uint64, ctypes.c_uint64)


@jit
def floats1(table, k):
    """Slot k as a float64 vector."""
    return numba.carray(_float_pointer(table[k, 0]), (table[k, 1],))


@jit
def floats2(table, k):
    """Slot k as a float64 matrix."""
    return numba.carray(_float_pointer(table[k, 0]), (table[k, 1], table[k, 2]))


@jit
def floats3(table, k):
    """Slot k as a three-dimensional float64 array."""
    return numba.carray(_float_pointer(table[k, 0]), (table[k, 1], table[k, 2], table[k, 3]))


@jit
def ints1(table, k):
    """Slot k as an int64 vector."""
    return numba.carray(_int_pointer(table[k, 0]), (table[k, 1],))


@jit
def uints1(table, k):
    """Slot k as a uint64 vector."""
    return numba.carray(_uint_pointer(table[k, 0]), (table[k, 1],))

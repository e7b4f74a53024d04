"""``dnrm2`` with the x87 unit, as SciPy's OpenBLAS computes it on x86-64.

OpenBLAS's ``kernel/x86_64/nrm2.S`` (unit stride) squares and adds in the
x87 registers, in 80-bit extended precision (64-bit significand, 15-bit
exponent: no square under- or overflows): the first n - n % 8 squares go to
four running sums (sum k takes entries 4i + k, in order), the last n % 8 to
sum 0; the sums are added ((s0 + s2) + s1) + s3, the square root taken with
``fsqrt`` and rounded once to double.  :func:`norm2` performs exactly these
operations: LLVM's ``x86_fp80`` type, whose ``fmul``, ``fadd`` and
``llvm.sqrt.f80`` LLVM lowers to the x87 instructions the kernel runs.  They
round to the precision in the x87 control word, which Linux sets to extended
(64-bit significand) at process start (the System V x86-64 ABI), as in the
processes SciPy's kernel runs in.

The reference model of the same kernel is
:func:`lbfgsb_py.reference.blas.norm2` (on NumPy's ``longdouble``).  Off
x86-64, or without JIT (``NUMBA_DISABLE_JIT=1``), :func:`norm2` calls it (from
compiled code in Numba's object mode); this is decided at import (:data:`X87`).
"""
import platform

import numba
from llvmlite import ir
from numba import objmode, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..reference.blas import norm2 as _reference_norm2
from ._jit import jit

#: Whether :func:`norm2` runs the x87 instructions (x86-64, compiled).
X87 = platform.machine().lower() in ("x86_64", "amd64") and not numba.config.DISABLE_JIT


class _Extended(ir.types._BaseFloatType):
    """LLVM's ``x86_fp80``, the x87 80-bit format (llvmlite has no class for it)."""

    intrinsic_name = "f80"

    def __str__(self):
        return "x86_fp80"


_Extended._create_instance()
_F80 = _Extended()


@intrinsic
def _x87_norm2(typingctx, a):
    """||a|| for a float64 vector (any layout), in the order of ``nrm2.S``."""
    if not (isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.float64):
        return None

    def codegen(context, builder, signature, args):
        vector = _Vector(context, builder, signature.args[0], args[0])
        s0, s1, s2, s3 = _sums_of_squares(builder, vector)
        total = builder.fadd(builder.fadd(builder.fadd(s0, s2), s1), s3)
        sqrt = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_F80, [_F80]),
                                              "llvm.sqrt.f80")
        return builder.fptrunc(builder.call(sqrt, [total]), ir.DoubleType())

    return types.float64(a), codegen


class _Vector:
    """A Numba float64 vector in the IR being built: its length and entries."""

    def __init__(self, context, builder, aryty, value):
        self.context, self.builder, self.aryty = context, builder, aryty
        self.ary = context.make_array(aryty)(context, builder, value)
        self.n = builder.extract_value(self.ary.shape, 0)

    def extended(self, i):
        """Entry i, widened (exactly) to ``x86_fp80``: the kernel's ``FLD``."""
        ptr = cgutils.get_item_pointer(self.context, self.builder, self.aryty, self.ary, [i])
        return self.builder.fpext(self.builder.load(ptr), _F80)


def _sums_of_squares(builder, vector):
    """The four extended sums of ``nrm2.S``: sum k += a[4i + k]^2 over the first
    n - n % 8 entries, then sum 0 += a[j]^2 over the rest, each square and sum
    rounded to the 64-bit significand."""
    sums = [cgutils.alloca_once(builder, _F80) for _ in range(4)]
    zero = builder.fpext(ir.Constant(ir.DoubleType(), 0.0), _F80)
    for s in sums:
        builder.store(zero, s)

    def add_square(s, i):
        x = vector.extended(i)
        builder.store(builder.fadd(builder.load(s), builder.fmul(x, x)), s)

    intp = vector.n.type
    n8 = builder.and_(vector.n, ir.Constant(intp, -8))
    with cgutils.for_range(builder, builder.ashr(n8, ir.Constant(intp, 2))) as loop:
        first = builder.shl(loop.index, ir.Constant(intp, 2))
        for k, s in enumerate(sums):
            add_square(s, builder.add(first, ir.Constant(intp, k)))
    with cgutils.for_range(builder, vector.n, start=n8) as loop:
        add_square(sums[0], loop.index)
    return [builder.load(s) for s in sums]


if X87:
    @jit
    def norm2(a):
        """||a|| as SciPy's ``dnrm2``: |a_0| for one entry (OpenBLAS's
        ``interface/nrm2.c`` skips the kernel then), else the kernel's x87 sums."""
        if a.shape[0] == 1:
            return abs(a[0])
        return _x87_norm2(a)
else:
    @jit
    def norm2(a):
        """||a|| as SciPy's ``dnrm2``: the reference model, in object mode."""
        with objmode(root="float64"):
            root = float(_reference_norm2(a))
        return root

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
  and, on CPUs with FMA, fuse multiplies into adds (one rounding for a*b + c).
  OpenBLAS picks its kernels by CPU; we model them operation by operation for
  four kernel families (:data:`KERNELS`: SkylakeX, Haswell, Sandybridge and
  Nehalem, the generic one), choosing as OpenBLAS chooses (:func:`openblas`),
  with an exact fused multiply-add (:func:`fma`): :func:`dot` (``ddot``, split
  among OpenBLAS's threads above 10,000 elements), :func:`axpy` (``daxpy``),
  :func:`cholesky_upper` (``dpotrf``: the unblocked ``potf2`` with the
  ``dgemv_t`` kernel, :func:`gemv_t_subtract`), :func:`solve_upper_transposed`
  and :func:`solve_upper` (``dtrtrs``: ``dtrsv`` for one right-hand side, the
  ``dtrsm`` kernel for several).  Each family is exact (tested bit for bit
  against SciPy's own BLAS and LAPACK run with that family's kernels) for
  factors of order <= 32 and solves of order <= 64, far above L-BFGS-B's usual
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
import platform
import warnings
from pathlib import Path
from typing import NamedTuple

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
    One entry never reaches the kernel: OpenBLAS's ``interface/nrm2.c`` returns
    |a_0| (so a NaN loses its sign).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.shape[0] == 1:
        return np.abs(a[0])
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


# ---------------------------------------------------------------- the kernel families
class Kernels(NamedTuple):
    """What sets the rounding of one OpenBLAS kernel family on x86-64 (the files are
    OpenBLAS's ``kernel/x86_64/KERNEL.<CORE>`` and what they name).

    ``core``: OpenBLAS's name for it.  ``width``: doubles per register of its
    ``ddot`` kernel (``ddot_microk_<core>-2.c``: 8 zmm, 4 ymm, 2 xmm lanes).
    ``fused``: its assembly kernels (``ddot``, ``daxpy``, the ``dgemv_t`` and
    ``dgemm`` microkernels) fuse multiply-adds.  ``fused_c``: its C code (the
    tails of ``ddot.c`` and ``daxpy.c``, ``trsm_kernel_LT.c``'s solve) is
    compiled for FMA, so the compiler contracts a*b + c (SkylakeX's flags
    ``-march=skylake-avx512``; Haswell's ``-mavx2`` alone does not).
    ``fused_gemv``: so is ``dgemv_t_4.c`` (``kernel/Makefile.L2`` adds ``-mfma``
    where the core has FMA3).  ``trsm_unroll``, ``gemm_unroll_n``:
    ``DGEMM_DEFAULT_UNROLL_M`` and ``_N`` (``param.h``), the rows and columns of
    the ``dtrsm`` kernel's blocks.  ``gemm_sums``: the block shapes (rows,
    columns) whose ``dgemm`` kernel sums in another order than one running sum
    per entry, and that order (a key of :data:`GEMM_SUMS`).
    """
    core: str
    width: int
    fused: bool
    fused_c: bool
    fused_gemv: bool
    trsm_unroll: int
    gemm_unroll_n: int
    gemm_sums: dict


#: The kernel families modelled, by the name ``LBFGSB_PY_BLAS`` takes.  ``nehalem``
#: is the generic one: SSE2 kernels without FMA, OpenBLAS's choice for x86-64 CPUs
#: without AVX (and our guess, not known to match, off x86-64).
KERNELS = {
    "skylakex": Kernels("SkylakeX", 8, True, True, True, 16, 2, {}),
    "haswell": Kernels("Haswell", 4, True, False, True, 4, 8, {(4, 1): "quads of eight"}),
    "sandybridge": Kernels("Sandybridge", 4, False, False, False, 8, 4, {}),
    "nehalem": Kernels("Nehalem", 2, False, False, False, 2, 8, {
        (1, 4): "even, odd", (1, 2): "even, odd", (2, 2): "even, odd, pipelined",
        (2, 1): "even, odd, pipelined", (1, 1): "two lanes of pairs"}),
}
FAMILIES = tuple(KERNELS)
GENERIC = "nehalem"
#: ``ddot`` splits vectors longer than this among OpenBLAS's threads (``ddot.c``,
#: the same file for every family modelled).
DDOT_THREAD_MIN = 10000
#: OpenBLAS's ``DTB_ENTRIES`` (``common.h``, every x86-64 core): the block of
#: ``dtrsv``; ``dpotrf`` runs the unblocked ``potf2`` up to half of it.
DTB_ENTRIES = 64
#: Rows of the ``dtrsm`` kernel's blocks (``DGEMM_UNROLL_M``) per family.
TRSM_UNROLL = {name: kernels.trsm_unroll for name, kernels in KERNELS.items()}


def _kernels(family):
    """The :class:`Kernels` of ``family``, by default the one :func:`openblas` chose."""
    return KERNELS[family or openblas()[0]]


def _madd(a, b, c, fused):
    """a*b + c, rounded once (``fused``) or twice."""
    return fma(a, b, c) if fused else c + a * b


# ---------------------------------------------------------------- which OpenBLAS
#: OpenBLAS core names (``gotoblas_corename`` in ``driver/others/dynamic.c``) whose
#: kernels are modelled, and their family.  Zen runs Haswell's kernels (``ddot.c``,
#: ``daxpy.c``, ``dgemv_t_4.c`` include the same microkernels, ``param.h`` unrolls
#: alike); Cooperlake and SapphireRapids run SkylakeX's.
CORE_FAMILIES = {"SkylakeX": "skylakex", "Cooperlake": "skylakex", "SapphireRapids": "skylakex",
                 "Haswell": "haswell", "Zen": "haswell",
                 "Sandybridge": "sandybridge", "Nehalem": "nehalem"}
#: The closest family for x86 cores whose kernels are not modelled: AVX without
#: AVX2 (AMD's Bulldozer line), else SSE only.  Other names go by the CPU's flags.
UNMODELLED_CORES = {
    "sandybridge": ("Bulldozer", "Piledriver", "Steamroller", "Excavator"),
    "nehalem": ("Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2",
                "Penryn", "Dunnington", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona",
                "Nano", "Bobcat"),
}
#: The core SciPy's OpenBLAS (0.3.30 in SciPy 1.17, built with ``DYNAMIC_LIST``
#: Prescott, Nehalem, Sandybridge, Haswell, SkylakeX) runs for each
#: ``OPENBLAS_CORETYPE`` that ``force_coretype`` accepts (case-insensitive; other
#: values, SapphireRapids among them, leave the choice to the CPU).  A core not
#: built falls back as ``dynamic.c``'s ``#define``s say; "Katmai" is the name it
#: reports for the Prescott kernels.
FORCED_CORES = {
    **dict.fromkeys(("katmai", "coppermine", "northwood", "prescott", "banias", "core2", "penryn",
                     "dunnington", "athlon", "opteron", "opteron_sse3", "nano"), "Katmai"),
    **dict.fromkeys(("atom", "nehalem", "barcelona", "bobcat"), "Nehalem"),
    **dict.fromkeys(("sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"),
                    "Sandybridge"),
    "haswell": "Haswell", "zen": "Haswell", "skylakex": "SkylakeX", "cooperlake": "SkylakeX",
}


class Choice(NamedTuple):
    """The modelled OpenBLAS: kernel family, thread count, and how they were found."""
    family: str
    threads: int
    source: str


def openblas():
    """(kernel family, thread count) of the OpenBLAS whose arithmetic we model.

    The family: ``LBFGSB_PY_BLAS`` if set (one of :data:`FAMILIES`); else the
    core of the OpenBLAS SciPy loads (:func:`_scipy_openblas`, mapped by
    :data:`CORE_FAMILIES`); else, SciPy absent, the core ``OPENBLAS_CORETYPE``
    would force (:data:`FORCED_CORES`); else the CPU's flags as OpenBLAS reads
    them (:func:`cpu_family`).  The thread count is that OpenBLAS's, else
    ``OPENBLAS_NUM_THREADS`` (or ``GOTO_NUM_THREADS``, ``OMP_NUM_THREADS``), else
    the number of CPUs.  :func:`openblas_source` says how; cached.
    """
    return _choice()[:2]


def openblas_source():
    """How :func:`openblas` chose, e.g. "SciPy's OpenBLAS: core Haswell"."""
    return _choice().source


def openblas_description():
    """The model, its thread count and how it was chosen, in words, e.g.
    "haswell, 2 threads (SciPy's OpenBLAS: core Haswell)"."""
    family, threads, source = _choice()
    return f"{family}, {threads} threads ({source})"


_CHOICE = None


def _choice():
    global _CHOICE
    if _CHOICE is None:
        _CHOICE = _detect()
    return _CHOICE


def _detect():
    lib = _scipy_openblas()
    threads = lib[1] if lib is not None else _env_threads()
    wanted = os.environ.get("LBFGSB_PY_BLAS", "").strip()
    if wanted:
        if wanted.lower() not in KERNELS:
            raise ValueError(f"LBFGSB_PY_BLAS={wanted!r}: expected one of {', '.join(FAMILIES)}")
        return Choice(wanted.lower(), threads, f"LBFGSB_PY_BLAS={wanted}")
    if lib is not None:
        return _from_core(lib[0], "SciPy's OpenBLAS", threads)
    forced = os.environ.get("OPENBLAS_CORETYPE", "").strip()
    if forced.lower() in FORCED_CORES:
        return _from_core(FORCED_CORES[forced.lower()],
                          f"OPENBLAS_CORETYPE={forced}, SciPy's OpenBLAS not found", threads)
    family, why = cpu_family(_cpu_flags(), platform.machine())
    return Choice(family, threads, f"SciPy's OpenBLAS not found; {why}")


def _from_core(core, origin, threads):
    family, source = core_family(core, origin)
    return Choice(family, threads, source)


def core_family(core, origin):
    """(family, source) for OpenBLAS's core name ``core``; unmodelled cores get the
    closest family and a warning."""
    if core in CORE_FAMILIES:
        return CORE_FAMILIES[core], f"{origin}: core {core}"
    closest = [family for family, cores in UNMODELLED_CORES.items() if core in cores]
    if closest:
        why = f"closest: {closest[0]}, by the core's instruction set"
        family = closest[0]
    else:
        family, why = cpu_family(_cpu_flags(), platform.machine())
    source = f"{origin}: core {core}, whose kernels are not modelled ({why}); results may differ in the last bits"
    warnings.warn(source, RuntimeWarning, stacklevel=4)
    return family, source


def cpu_family(flags, machine):
    """(family, reason) OpenBLAS picks by CPU features, as ``dynamic.c``'s
    ``get_coretype`` and its fallback do for SciPy's build: AVX512VL (with the
    OS saving zmm registers, which Linux's flags reflect) -> SkylakeX (Intel
    Skylake-SP on, AMD Zen 4 on); AVX2 -> Haswell (Intel Haswell on, AMD Zen 1-3;
    Knights Landing, AVX-512 without VL, too); AVX -> Sandybridge (also AMD
    Bulldozer to Excavator); else Nehalem (Core 2 and older get Prescott kernels,
    not modelled: Nehalem is the closest).  ``flags``: /proc/cpuinfo's, or None.
    Off x86-64 the generic family, not known to match.
    """
    if machine.lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return GENERIC, f"{machine} is not x86-64: OpenBLAS runs other kernels, {GENERIC} is not known to match"
    if flags is None:
        return "haswell", "CPU flags unreadable: guessed AVX2 (haswell)"
    for flag, family in (("avx512vl", "skylakex"), ("avx2", "haswell"), ("avx", "sandybridge")):
        if flag in flags:
            return family, f"CPU flag {flag}: {family}"
    return GENERIC, f"no AVX in the CPU flags: {GENERIC}"


def _cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (Linux), or None."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


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
def dot(a, b, family=None, threads=None):
    """a'b as SciPy's BLAS ``ddot`` computes it (``kernel/x86_64/ddot.c``; the
    family and thread count default to :func:`openblas`'s).

    Vectors longer than :data:`DDOT_THREAD_MIN` are cut into one contiguous
    share per OpenBLAS thread (:func:`_shares`); each share is
    summed by :func:`dot_kernel` and the shares' sums are added in order.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = a.shape[0]
    if n <= DDOT_THREAD_MIN:
        return dot_kernel(a, b, family)
    total, start = np.float64(0.0), 0
    for share in _shares(n, threads or openblas()[1]):
        total = total + dot_kernel(a[start:start + share], b[start:start + share], family)
        start += share
    return total


def dot_kernel(a, b, family=None):
    """a'b as one thread of OpenBLAS's ``ddot`` sums it (``ddot.c``'s ``dot_compute``).

    The first n - n % 16 products go to the family's assembly kernel
    (:func:`_dot_skylakex`, :func:`_dot_registers`); the last n % 16 are added
    to its sum one at a time, fused if the C code is.
    """
    kernels = _kernels(family)
    n = a.shape[0]
    n16 = n - n % 16
    total = np.float64(0.0)
    if n16:
        kernel = _dot_skylakex if kernels.width == 8 else _dot_registers
        total = kernel(a[:n16], b[:n16], kernels)
    for i in range(n16, n):
        total = _madd(b[i], a[i], total, kernels.fused_c)
    return total


def _dot_skylakex(a, b, kernels):
    """a'b for a multiple of 16 products, as ``ddot_microk_skylakex-2.c`` sums them.

    As many products as the largest multiple of 32 allows go to 32 partial sums
    (four 8-wide registers), each updated by a fused multiply-add; each register
    is folded to 4 lanes (lane k + lane k+4); 16 more products, if left, are
    fused into those; the four registers are added ((r0 + r1) + r2) + r3, then
    the lanes (l0 + l2) + (l1 + l3).
    """
    n16 = a.shape[0]
    n32 = n16 - n16 % 32
    acc = np.zeros(32)
    for i in range(0, n32, 32):
        acc = fma(a[i:i + 32], b[i:i + 32], acc)
    regs = acc.reshape(4, 8)
    regs = regs[:, :4] + regs[:, 4:]
    if n16 > n32:
        regs = fma(a[n32:].reshape(4, 4), b[n32:].reshape(4, 4), regs)
    lanes = ((regs[0] + regs[1]) + regs[2]) + regs[3]
    return (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])


def _dot_registers(a, b, kernels):
    """a'b for a multiple of 16 products, as ``ddot_microk_haswell-2.c`` (fused),
    ``ddot_microk_sandy-2.c`` and ``ddot_microk_nehalem-2.c`` sum them.

    Four registers of w = ``kernels.width`` lanes take 4w products a step, lane
    by lane (product i to register (i mod 4w) // w, lane i mod w), each added to
    its partial sum (fused, or rounded first).  A 4-lane register is folded to 2
    lanes (lane k + lane k+2); the registers are added (r0 + r1) + (r2 + r3),
    then the two lanes.
    """
    step = 4 * kernels.width
    if kernels.fused:
        acc = np.zeros(step)
        for i in range(0, a.shape[0], step):
            acc = fma(a[i:i + step], b[i:i + step], acc)
    else:
        acc = running_sum((a * b).reshape(-1, step), axis=0)
    regs = acc.reshape(4, kernels.width)
    if kernels.width == 4:
        regs = regs[:, :2] + regs[:, 2:]
    pair = (regs[0] + regs[1]) + (regs[2] + regs[3])
    return pair[0] + pair[1]


# ---------------------------------------------------------------- daxpy
def axpy(alpha, x, y, family=None):
    """y + alpha x as SciPy's BLAS ``daxpy`` computes it: y itself (untouched)
    when alpha = 0 (``interface/axpy.c``), else :func:`axpy_kernel`."""
    if alpha == 0.0:
        return np.array(y, dtype=np.float64)
    return axpy_kernel(alpha, x, y, family)


def axpy_kernel(alpha, x, y, family=None):
    """y + alpha x as OpenBLAS's ``daxpy.c`` computes it, alpha = 0 included: the
    first n - n % 16 entries in the assembly kernel (``daxpy_microk_<core>-2.c``),
    the rest in C, each one multiply-add, fused where that code fuses."""
    kernels = _kernels(family)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n16 = y.shape[0] - y.shape[0] % 16
    return np.concatenate([_madd(alpha, x[:n16], y[:n16], kernels.fused),
                           _madd(alpha, x[n16:], y[n16:], kernels.fused_c)])


# ---------------------------------------------------------------- dgemv_t
def gemv_t_subtract(A, x, y, family=None):
    """y - A'x as OpenBLAS's ``dgemv_t_4.c`` computes it (alpha = -1).

    A has m rows.  Over the first m - m % 4 rows each column's product with x is
    a sum of its own (:func:`_quad_sums` for columns in groups of four; a pair
    left over as 2 lanes of plain multiply-and-add, a single one left as 4 such
    lanes, lanes added (l0 + l2) + (l1 + l3), two lanes l0 + l1: the SSE
    kernels ``dgemv_kernel_4x2``, ``dgemv_kernel_4x1``), subtracted from y.  The
    last m % 4 rows come after, for every column: y + (a0 t0 + a1 t1 + a2 t2)
    with t = -x, summed left to right, fused as the C compiler contracts it
    (:func:`_tail_rows`).
    """
    kernels = _kernels(family)
    m, ncol = A.shape
    m4 = m - m % 4
    y = np.array(y, dtype=np.float64)
    if m4 and ncol:
        n4, pair = ncol - ncol % 4, ncol % 4 >= 2
        y[:n4] -= _quad_sums(A[:m4, :n4], x[:m4], kernels.fused)
        if pair:
            y[n4:n4 + 2] -= _lane_sums(A[:m4, n4:n4 + 2], x[:m4], 2, fused=False)
        if ncol % 2:
            y[-1:] -= _lane_sums(A[:m4, -1:], x[:m4], 4, fused=False)
    if m > m4:
        y = _tail_rows(A[m4:], -x[m4:], y, kernels.fused_gemv)
    return y


def _quad_sums(A, x, fused):
    """Each column's A'x, 4 rows at a time: with FMA ``dgemv_t_microk_haswell-4.c``
    (4 lanes of fused multiply-adds, lane k takes rows 4i + k); else
    ``dgemv_kernel_4x4`` in C: s = s + (((p0 + p1) + p2) + p3) per 4 rows."""
    if fused:
        return _lane_sums(A, x, 4, fused=True)
    quads = (A * x[:, np.newaxis]).reshape(A.shape[0] // 4, 4, A.shape[1])
    return running_sum(((quads[:, 0] + quads[:, 1]) + quads[:, 2]) + quads[:, 3], axis=0)


def _lane_sums(A, x, lanes, fused):
    """Each column's A'x summed in ``lanes`` lanes (lane k: rows k, k + lanes, ...)."""
    acc = np.zeros((lanes, A.shape[1]))
    for i in range(0, A.shape[0], lanes):
        acc = _madd(A[i:i + lanes], x[i:i + lanes, np.newaxis], acc, fused)
    if lanes == 2:
        return acc[0] + acc[1]
    return (acc[0] + acc[2]) + (acc[1] + acc[3])


def _tail_rows(A, t, y, fused):
    """y + (A't) for 1 to 3 rows, left to right; ``fused``: as the C compiler
    contracts it, fma(a2, t2, fma(a0, t0, a1 t1)) (one row: fma(a0, t0, y))."""
    if A.shape[0] == 1:
        return _madd(A[0], t[0], y, fused)
    s = _madd(A[0], t[0], A[1] * t[1], fused)
    if A.shape[0] == 3:
        s = _madd(A[2], t[2], s, fused)
    return y + s


# ---------------------------------------------------------------- dpotrf, dtrtrs
def cholesky_upper(A, family=None):
    """Factor the symmetric matrix A = R'R in place, R upper, as SciPy's LAPACK
    ``dpotrf('U')`` does it (OpenBLAS's unblocked ``lapack/potf2/potf2_U.c``,
    used up to order :data:`DTB_ENTRIES` / 2).

    Reads only the upper triangle.  For each row j: the pivot
    A[j, j] - ddot(R[:j, j], R[:j, j]); then the rest of the row,
    A[j, j+1:] - R[:j, j+1:]'R[:j, j] (:func:`gemv_t_subtract`), times 1/R[j, j]
    (a multiplication by the reciprocal).  Returns 0, or j+1 when the j-th pivot
    is <= 0 (left there; a NaN pivot is not caught, as in OpenBLAS).
    """
    for j in range(A.shape[0]):
        pivot = A[j, j] - dot(A[:j, j], A[:j, j], family)
        if pivot <= 0.0:
            A[j, j] = pivot
            return j + 1
        A[j, j] = np.sqrt(pivot)
        if j + 1 < A.shape[0]:
            row = gemv_t_subtract(A[:j, j + 1:], A[:j, j], A[j, j + 1:], family)
            A[j, j + 1:] = row * (1.0 / A[j, j])
    return 0


def _zero_pivot(R):
    """j+1 for the first zero on the diagonal of R, else 0 (``dtrtrs``'s check)."""
    zero = np.flatnonzero(np.diagonal(R) == 0.0)
    return int(zero[0]) + 1 if zero.shape[0] else 0


def solve_upper_transposed(R, b, family=None, threads=None):
    """Solve R'x = b in place (``dtrtrs('U', 'T')``), R upper, as OpenBLAS does.

    One right-hand side (``driver/level2/trsv_L.c`` transposed):
    x_j = (b_j - ddot(R[:j, j], x[:j])) / R[j, j].  Several (``b`` a matrix,
    one right-hand side per column): ``dtrsm`` (:func:`_trsm_upper_transposed`).
    Returns 0, or j+1 (and b untouched) when R[j, j] = 0.
    """
    info = _zero_pivot(R)
    if info:
        return info
    if b.ndim == 2 and b.shape[1] > 1:
        _trsm_upper_transposed(R, b, _kernels(family), threads or openblas()[1])
        return 0
    x = b.reshape(-1)
    for j in range(R.shape[0]):
        if j:
            x[j] = x[j] - dot(R[:j, j], x[:j], family)
        x[j] = x[j] / R[j, j]
    return 0


def _trsm_upper_transposed(R, B, kernels, threads):
    """R'X = B in place for several right-hand sides, as OpenBLAS's ``dtrsm`` kernel
    (``kernel/generic/trsm_kernel_LT.c``; Nehalem's ``trsm_kernel_LT_2x8_nehalem.S``
    in the same order), on the column blocks of :func:`_trsm_column_blocks`.

    Rows go in blocks of ``kernels.trsm_unroll``, then of half, a quarter, ... as
    the order's binary digits say.  A block's rows first lose their products
    with the rows already solved, summed by the ``dgemm`` kernel
    (:func:`_gemm_products`) and subtracted once; then, row i of the block in
    turn: x_i = b_i * (1/R[i, i]) and every later row of the block loses
    x_i R[i, q] (fused where the C code is).
    """
    for c0, c1 in _trsm_column_blocks(B.shape[1], threads, kernels.gemm_unroll_n):
        X = B[:, c0:c1]
        for r0, r1 in _trsm_blocks(R.shape[0], kernels.trsm_unroll):
            if r0:
                X[r0:r1] = X[r0:r1] - _gemm_products(R[:r0, r0:r1], X[:r0], kernels)
            for i in range(r0, r1):
                X[i] = X[i] * (1.0 / R[i, i])
                for q in range(i + 1, r1):
                    X[q] = _madd(-X[i], R[i, q], X[q], kernels.fused_c)


def _trsm_column_blocks(nrhs, threads, unroll):
    """The column blocks [c0, c1) one ``dgemm`` kernel call sees in ``dtrtrs``.

    ``lapack/trtrs/trtrs_parallel.c`` (more than one thread) hands each thread
    a share of the columns (``driver/level3/gemm_thread_n.c``: :func:`_shares`);
    ``driver/level3/trsm_L.c`` cuts a share into chunks of 3 ``unroll``
    (``DGEMM_UNROLL_N``) columns while at least that many are left, then of at
    most ``unroll``; ``trsm_kernel_LT.c`` cuts a chunk into blocks of
    ``unroll``, then of half, a quarter, ... (:func:`_trsm_blocks`).
    """
    blocks, start = [], 0
    for share in _shares(nrhs, threads):
        while share:
            chunk = 3 * unroll if share >= 3 * unroll else min(share, unroll)
            blocks += [(start + c0, start + c1) for c0, c1 in _trsm_blocks(chunk, unroll)]
            start, share = start + chunk, share - chunk
    return blocks


def _shares(n, threads):
    """OpenBLAS's split of n items among threads: each ceil(rest / threads left)."""
    shares = []
    while n > sum(shares):
        shares.append(-(-(n - sum(shares)) // (threads - len(shares))))
    return shares


def _gemm_products(Rp, X, kernels):
    """Rp'X as the family's ``dgemm`` kernel sums each entry over the rows p of Rp
    (K of them) for a block of Rp.shape[1] rows and X.shape[1] columns: in order
    from 0.0 (fused or not), unless ``kernels.gemm_sums`` names another order
    for that block shape (:data:`GEMM_SUMS`)."""
    order = kernels.gemm_sums.get((Rp.shape[1], X.shape[1]))
    if order is None:
        return _block_products(Rp, X, kernels.fused)
    return GEMM_SUMS[order](Rp, X, kernels.fused)


def _quads_of_eight(Rp, X, fused):
    """``dgemm_kernel_4x8_haswell.S``'s ``KERNEL4x1``: the first K - K mod 8 rows
    in four sums, row p to sum p mod 4, the rest to sum 0; (s0 + s1) + (s2 + s3)."""
    k8 = Rp.shape[0] - Rp.shape[0] % 8
    sums = [_block_products(Rp[q:k8:4], X[q:k8:4], fused) for q in range(4)]
    sums[0] = _block_products(Rp[k8:], X[k8:], fused, start=sums[0])
    return (sums[0] + sums[1]) + (sums[2] + sums[3])


def _even_odd(Rp, X, fused):
    """``trsm_kernel_LT_2x8_nehalem.S``, one row by 4 or 2 columns: of the first
    K - K mod 4 rows the even ones in one sum, the odd in another; the rest go
    on the even sum, then (even + odd)."""
    k4 = Rp.shape[0] - Rp.shape[0] % 4
    odd = _block_products(Rp[1:k4:2], X[1:k4:2], fused)
    even = _block_products(Rp[0:k4:2], X[0:k4:2], fused)
    return _block_products(Rp[k4:], X[k4:], fused, start=even) + odd


def _even_odd_pipelined(Rp, X, fused):
    """``trsm_kernel_LT_2x8_nehalem.S``, two rows by 2 or 1 columns (the adds lag
    one product behind): of the first K - K mod 4 rows the odd ones but the
    last in one sum, the even in another; (odd + even), then the last of them
    and the rest in order."""
    k4 = Rp.shape[0] - Rp.shape[0] % 4
    if not k4:
        return _block_products(Rp, X, fused)
    pair = _block_products(Rp[1:k4 - 1:2], X[1:k4 - 1:2], fused) + \
        _block_products(Rp[0:k4:2], X[0:k4:2], fused)
    return _block_products(Rp[k4 - 1:], X[k4 - 1:], fused, start=pair)


def _two_lanes_of_pairs(Rp, X, fused):
    """``trsm_kernel_LT_2x8_nehalem.S``, one row by one column: of the first
    K - K mod 4 rows, those p mod 4 = q in sum q; lane 0 = s0 + s2 goes on
    with the rest, then lane 0 + lane 1 (s1 + s3)."""
    k4 = Rp.shape[0] - Rp.shape[0] % 4
    sums = [_block_products(Rp[q:k4:4], X[q:k4:4], fused) for q in range(4)]
    lane0 = _block_products(Rp[k4:], X[k4:], fused, start=sums[0] + sums[2])
    return lane0 + (sums[1] + sums[3])


#: Summation orders of ``dgemm`` kernels that do not sum each entry in one
#: running sum, by the name ``Kernels.gemm_sums`` gives them.
GEMM_SUMS = {"quads of eight": _quads_of_eight, "even, odd": _even_odd,
             "even, odd, pipelined": _even_odd_pipelined, "two lanes of pairs": _two_lanes_of_pairs}


def _block_products(Rp, X, fused, start=None):
    """Rp'X, each entry summed over the rows p in order, from 0.0 (or ``start``)."""
    acc = np.zeros((Rp.shape[1], X.shape[1])) if start is None else start
    if not fused:
        return running_sum(Rp[:, :, np.newaxis] * X[:, np.newaxis, :], axis=0, start=acc)
    for p in range(Rp.shape[0]):
        acc = fma(Rp[p, :, np.newaxis], X[p], acc)
    return acc


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


def solve_upper(R, b, family=None):
    """Solve R x = b in place (``dtrtrs('U', 'N')``), R upper, as OpenBLAS's
    ``dtrsv`` (``driver/level2/trsv_U.c``).

    From the last row up: x_j = b_j / R[j, j], then b[:j] loses x_j R[:j, j]
    (the ``daxpy`` kernel, :func:`axpy_kernel`).  Returns 0, or j+1 (b
    untouched) when R[j, j] = 0.
    """
    info = _zero_pivot(R)
    if info:
        return info
    for j in range(R.shape[0] - 1, -1, -1):
        b[j] = b[j] / R[j, j]
        if j:
            b[:j] = axpy_kernel(-b[j], R[:j, j], b[:j], family)
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

"""Where the compiled backend's machine code is cached, whether it is complete, and
the lock that lets one process at a time write it.

Numba caches each kernel's machine code in ``lbfgsb_py/compiled/__pycache__``
(when the installation is read-only: in ``NUMBA_CACHE_DIR`` if set, else a
per-user directory Numba picks).  Three files of ours sit beside it:

* ``kernels.sha256``: a digest of the backend's sources (and of the shared
  constants, and of the OpenBLAS model the kernels are compiled for: kernel
  family, thread count, the family's kernel parameters and block sizes, from
  :mod:`lbfgsb_py.reference.blas`, see :func:`_model_key`).  Numba checks only
  the timestamp of the file that defines a kernel, not of the kernels it calls
  (which it compiles in): after an edit of, say, ``_dense.py`` the cached
  ``matupd`` would keep the old ``dot``.  When the
  digest changes, the package's cache is emptied (with ``NUMBA_CACHE_DIR`` set,
  Numba's files there are left alone: delete that directory after an edit).
* ``kernels.ready``: written (with the digest) once every kernel is compiled
  and cached, so that a half-written cache is not taken for a ready one.
* ``compile.lock``: held by the one process that compiles.  Two processes that
  compile the same kernels into one cache at once can leave it inconsistent,
  and a process that loads it then crashes (Numba issues 4807 and 10128); so
  every compilation, in the foreground or in the background, takes the lock,
  and a process that finds it taken waits for the other one to finish.

This module imports no Numba, so the package can ask whether compiled code is
ready without paying for Numba's import.
"""
import hashlib
import os
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: Where our three files live: beside Numba's cache (``NUMBA_CACHE_DIR`` when set).
CACHE = (Path(os.environ["NUMBA_CACHE_DIR"]) / "lbfgsb_py" if os.environ.get("NUMBA_CACHE_DIR")
         else PACKAGE / "__pycache__")
STAMP = CACHE / "kernels.sha256"
READY = CACHE / "kernels.ready"
LOCK = CACHE / "compile.lock"
#: A lock older than this (seconds) is taken to be left by a process that died.
STALE_LOCK = 900
#: What :func:`acquire_lock` found.
TAKEN, BUSY, UNWRITABLE = "taken", "busy", "unwritable"


def _digest():
    sources = sorted(PACKAGE.glob("*.py")) + [PACKAGE.parent / "constants.py"]
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources) + _model_key()).hexdigest()


def _model_key():
    """What ``_dense`` takes from the reference's OpenBLAS model, frozen into its kernels:
    the family and thread count, that family's row of ``KERNELS`` (register width,
    fusion, block sizes, ``dgemm`` orders by block shape), the names of those
    orders (``_dense`` numbers them) and the thresholds."""
    from ..reference import blas
    family, threads = blas.openblas()
    return repr((family, threads, blas.KERNELS[family], tuple(blas.GEMM_SUMS),
                 blas.DDOT_THREAD_MIN, blas.TRSM_UNROLL)).encode()


def is_ready():
    """True if every kernel's machine code for the current sources is cached (a
    read-only installation that was never marked: False)."""
    try:
        return READY.read_text() == _digest()
    except OSError:
        return False


def mark_ready():
    """Record that every kernel is compiled and cached (ignored where read-only)."""
    try:
        READY.write_text(_digest())
    except OSError:
        pass


def drop_stale():
    """Delete cached machine code made from other sources; return :func:`is_ready`."""
    digest = _digest()
    try:
        if STAMP.exists() and STAMP.read_text() == digest:
            return is_ready()
        for path in list(CACHE.glob("*.nbi")) + list(CACHE.glob("*.nbc")) + [READY]:
            path.unlink(missing_ok=True)
        CACHE.mkdir(exist_ok=True)
        STAMP.write_text(digest)
    except OSError:
        pass        # read-only install: nothing to clean
    return False


def acquire_lock():
    """Try to take :data:`LOCK`: :data:`TAKEN`, :data:`BUSY` (another process
    compiles) or :data:`UNWRITABLE` (no lock can be made here)."""
    try:
        CACHE.mkdir(exist_ok=True)
        if LOCK.exists() and time.time() - LOCK.stat().st_mtime > STALE_LOCK:
            LOCK.unlink(missing_ok=True)
        fd = os.open(LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return BUSY
    except OSError:
        return UNWRITABLE
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return TAKEN


def release_lock():
    """Give :data:`LOCK` back."""
    try:
        LOCK.unlink(missing_ok=True)
    except OSError:
        pass

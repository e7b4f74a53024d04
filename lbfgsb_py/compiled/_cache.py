"""Where the compiled backend's machine code is cached, and whether it is fresh.

Numba caches each kernel's machine code in ``lbfgsb_py/compiled/__pycache__``
(or, when the installation is read-only, in the directory ``NUMBA_CACHE_DIR``
names, else a per-user one Numba picks).  Numba checks only the timestamp of
the file that defines a kernel, not of the kernels it calls (which it compiles
in): after an edit of, say, ``_dense.py`` the cached ``matupd`` would keep the
old ``dot``.  A digest of the backend's sources (and of the shared constants),
stored beside the cache, catches that.  This module imports no Numba, so the
package can ask whether compiled code is ready without paying for Numba's import.
"""
import hashlib
import os
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CACHE = PACKAGE / "__pycache__"
STAMP = CACHE / "kernels.sha256"
#: Held while a background compilation runs (one at a time per installation).
LOCK = CACHE / "compile.lock"
#: A lock older than this (seconds) is taken to be left by a process that died.
STALE_LOCK = 900


def _digest():
    sources = sorted(PACKAGE.glob("*.py")) + [PACKAGE.parent / "constants.py"]
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()


def is_ready():
    """True if machine code for the current sources is on disk (read-only
    installs: True, since nothing there can go stale)."""
    try:
        return STAMP.read_text() == _digest() and any(CACHE.glob("*.nbi"))
    except FileNotFoundError:
        return False
    except OSError:
        return True


def drop_stale():
    """Delete cached machine code made from other sources; return :func:`is_ready`."""
    digest = _digest()
    try:
        if STAMP.exists() and STAMP.read_text() == digest:
            return any(CACHE.glob("*.nbi"))
        for path in list(CACHE.glob("*.nbi")) + list(CACHE.glob("*.nbc")):
            path.unlink(missing_ok=True)
        CACHE.mkdir(exist_ok=True)
        STAMP.write_text(digest)
    except OSError:
        return True  # read-only install: nothing to clean, nothing can go stale
    return False


def acquire_lock():
    """Take :data:`LOCK`; True if taken, False if another compilation holds it (or
    the cache directory cannot be written)."""
    try:
        CACHE.mkdir(exist_ok=True)
        if LOCK.exists() and time.time() - LOCK.stat().st_mtime > STALE_LOCK:
            LOCK.unlink(missing_ok=True)
        fd = os.open(LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except OSError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def release_lock():
    """Give :data:`LOCK` back."""
    try:
        LOCK.unlink(missing_ok=True)
    except OSError:
        pass

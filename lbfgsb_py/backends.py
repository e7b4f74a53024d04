"""The two backends behind one interface, and how ``backend="auto"`` chooses.

* ``"reference"`` (:mod:`lbfgsb_py.reference`): plain Python and NumPy, one
  readable path per step, written to be read beside the papers.  Starts at
  once; costs more per iteration.
* ``"compiled"`` (:mod:`lbfgsb_py.compiled`): the same steps as Numba kernels.
  Importing it imports Numba, and its first use after an install or an update
  compiles the kernels (``lbfgsb-py compile`` does that ahead of time, with a
  progress bar).

Both give the same bits at every evaluation (the differential runner,
:mod:`lbfgsb_py.differential`, checks it).  ``"auto"`` takes the compiled
backend when its machine code is on disk or the problem has at least
:data:`AUTO_COMPILED_MIN_N` variables (it then waits for the compilation,
with a notice), and the reference otherwise.  In that last case it also starts
compiling the compiled backend in a separate, detached process
(``lbfgsb-py compile --quiet``) so that later runs find it ready: at most one
such process runs at a time per installation (a lock file in the cache
directory), a failure there never touches the solve, and the environment
variable ``LBFGSB_PY_BACKGROUND_COMPILE=0`` switches it off.
``LBFGSB_PY_BACKEND=reference`` (or ``compiled``) makes "auto" mean that
backend for every run of the process.

Each backend offers, bound to a run's :class:`~lbfgsb_py.state.State`, the
five steps the driver calls: ``initial_status()``, ``projected_gradient_norm()``,
``search_direction()``, ``line_search_step(f, first)`` and ``add_step()``.
"""
import os
import subprocess
import sys

from . import reference

BACKENDS = ("auto", "reference", "compiled")

#: From this many variables on, ``"auto"`` uses the compiled backend even when
#: it must be compiled first (about two minutes, once per installation): the
#: reference, which computes OpenBLAS's fused multiply-adds exactly in NumPy,
#: takes some 3-4 ms per iteration at n = 1e3 and 16-20 ms at 1e4
#: (validation/BENCH.md), growing with n, while the compiled backend stays
#: at 0.1-0.5 ms there.
AUTO_COMPILED_MIN_N = 2_000


def check(name):
    """The backend name, or a clear error."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {name!r}")
    return name


def compiled_ready():
    """True if the compiled backend's machine code is in this process or completely
    cached on disk (asking imports no Numba)."""
    module = sys.modules.get("lbfgsb_py.compiled.backend")
    if module is not None and module.compiled_here:
        return True
    from .compiled import _cache
    return _cache.is_ready()


#: The environment variable that makes ``"auto"`` mean one backend ("reference" or
#: "compiled") for every run of the process.
CHOICE = "LBFGSB_PY_BACKEND"


def resolve(name, n):
    """``"reference"`` or ``"compiled"`` for a problem of n variables."""
    if name == "auto" and os.environ.get(CHOICE):
        name = os.environ[CHOICE]
        if name not in ("reference", "compiled"):
            raise ValueError(f"{CHOICE} must be 'reference' or 'compiled', got {name!r}")
    if name != "auto":
        return check(name)
    if n >= AUTO_COMPILED_MIN_N or compiled_ready():
        return "compiled"
    start_background_compile()
    return "reference"


#: The environment variable that switches the background compilation off ("0").
BACKGROUND_COMPILE = "LBFGSB_PY_BACKGROUND_COMPILE"


def start_background_compile():
    """Start ``lbfgsb-py compile --quiet`` in a detached process, unless switched off
    or one is running already; return whether one was started."""
    if os.environ.get(BACKGROUND_COMPILE, "1") == "0":
        return False
    from .compiled import _cache
    if _cache.acquire_lock() != _cache.TAKEN:
        return False
    try:
        subprocess.Popen([sys.executable, "-m", "lbfgsb_py", "compile", "--quiet",
                          "--holding-lock"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError:
        _cache.release_lock()
        return False
    return True


class ReferenceKernels:
    """The reference backend bound to one state (its functions take the state)."""

    def __init__(self, state):
        self.state = state
        self._ref = reference

    def initial_status(self):
        return self._ref.initial_status(self.state)

    def projected_gradient_norm(self):
        return self._ref.projected_gradient_norm(self.state)

    def search_direction(self):
        return self._ref.search_direction(self.state)

    def line_search_step(self, f, first):
        return self._ref.line_search_step(self.state, f, first)

    def add_step(self):
        return self._ref.add_step(self.state)


def bind(name, state):
    """The kernels of backend ``name`` ("reference" or "compiled") for ``state``; the
    compiled ones are compiled first if need be, with a line on stderr per step."""
    if name == "reference":
        return ReferenceKernels(state)
    from .compiled.backend import Kernels, ensure_compiled, stderr_report
    ensure_compiled(stderr_report)
    return Kernels(state)

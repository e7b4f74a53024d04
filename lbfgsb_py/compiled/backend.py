"""The compiled backend bound to one run's :class:`~lbfgsb_py.state.State`.

:class:`Kernels` offers the five steps the driver calls (the same names,
arguments and results as :mod:`lbfgsb_py.reference`) and runs each as one
compiled call on the state's arrays, lent by address (:mod:`._lend`).
"""
import sys
import time

import numba
import numpy as np

from ..state import State
from . import _cache, bounds, direction, lbfgs_matrices, line_search
from ._jit import Direct
from ._lend import Lent

#: From this many variables on, the passes over S and Y are shared among Numba's
#: threads (``numba.set_num_threads`` sets how many); the results are the same
#: bits either way.  On the 2-core benchmark machine threads paid off only once
#: S and Y no longer fit in cache: at n = 1e6 (-10 to -35% per iteration in one
#: session, -8 to +5% in a later one), not at n <= 6e5 (up to 3x slower at 1e5,
#: where OpenMP's waiting threads spin; with OMP_WAIT_POLICY=passive no slower).
PARALLEL_MIN_N = 1_000_000


class Kernels:
    """The steps of L-BFGS-B on ``state``, compiled.

    Holds the table of the state's array addresses, so the state's arrays must
    stay the ones it was built with (:class:`~lbfgsb_py.state.State` refuses
    to rebind them); a copied state gets its own :class:`Kernels`.
    """

    def __init__(self, state):
        self.state = state
        self.lent = Lent(state)
        self._direction = Direct(direction.search_direction_lent)
        self._projgr = Direct(bounds.projected_gradient_norm)
        self._line_search = Direct(line_search.slope_and_search_lent)
        self._add_step = Direct(lbfgs_matrices.add_lent_step_kernel)

    @property
    def nparts(self):
        """Threads the passes over S and Y are shared among (see PARALLEL_MIN_N)."""
        return numba.get_num_threads() if self.state.n >= PARALLEL_MIN_N else 1

    def initial_status(self):
        s = self.state
        return bounds.initial_status(s.l, s.u, s.nbd, s.iwhere)

    def projected_gradient_norm(self):
        s = self.state
        return self._projgr.call(s.x, s.g, s.l, s.u, s.nbd, self.nparts, s.cnstnd)

    def search_direction(self):
        s = self.state
        return self._direction.call(self.lent.table, s.xcp, s.nfree, s.iter, s.cnstnd, s.sbgnrm,
                                    s.theta, s.col, s.head, s.updatd, s.iupdat,
                                    s.variant_code, self.nparts)

    def line_search_step(self, f, first):
        s = self.state
        return self._line_search.call(f, self.lent.table, s.stp, s.stpmx, s.ls_task, first,
                                      s.cnstnd, self.nparts)

    def add_step(self):
        s = self.state
        return self._add_step.call(self.lent.table, s.stp, s.gd, s.gdold, s.dtd, s.itail,
                                   s.iupdat + 1, s.col, s.head, s.theta, self.nparts)


#: What :func:`compile_all` compiles, in order: (label, how to call it on Kernels).
STEPS = (("bound status", lambda k: k.initial_status()),
         ("projected gradient", lambda k: k.projected_gradient_norm()),
         ("search direction", lambda k: k.search_direction()),
         ("line search", lambda k: k.line_search_step(1.0, True)),
         ("BFGS update", lambda k: k.add_step()))

#: True once this process has every kernel compiled (or loaded from the cache).
compiled_here = False


def compile_all(report=None):
    """Compile (or load from the cache) every kernel a run calls, with the argument
    types a run passes; ``report(label)`` is called before each of :data:`STEPS`."""
    state = State(np.zeros(2), np.array([2, 0]), np.array([-1.0, 0.0]), np.array([1.0, 0.0]))
    kernels = Kernels(state)
    for label, call in STEPS:
        if report is not None:
            report(label)
        call(kernels)


def ensure_compiled(report=None, holding_lock=False):
    """Have every kernel ready in this process: loaded from a complete cache, or
    compiled by this process under the cache's lock (waiting while another process
    holds it: see :mod:`._cache`).  ``report(label)`` hears of each step compiled
    and of a wait; ``holding_lock``: the caller took the lock already."""
    global compiled_here
    if compiled_here or numba.config.DISABLE_JIT:
        compiled_here = True
        return
    status = _cache.TAKEN if holding_lock else None if _cache.is_ready() else _wait(report)
    try:
        compile_all(None if status is None else report)
        if status == _cache.TAKEN:
            _cache.mark_ready()
    finally:
        if status == _cache.TAKEN:
            _cache.release_lock()
    compiled_here = True


def _wait(report):
    """Take the lock, waiting while another process compiles; None if that process
    finished the cache meanwhile, else what :func:`._cache.acquire_lock` said."""
    told = False
    while True:
        status = _cache.acquire_lock()
        if status == _cache.TAKEN and _cache.is_ready():
            _cache.release_lock()
            return None
        if status != _cache.BUSY:
            return status
        if _cache.is_ready():
            return None
        if report is not None and not told:
            report("waiting for another process that compiles them")
            told = True
        time.sleep(0.5)


def stderr_report(label):
    """One line on stderr per step of a compilation (for runs outside the CLI)."""
    sys.stderr.write(f"lbfgsb_py: compiling the Numba kernels (once per installation; "
                     f"`python -m lbfgsb_py compile` does it ahead): {label}\n")

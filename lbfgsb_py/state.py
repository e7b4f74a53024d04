"""The state of one L-BFGS-B run: every array and scalar, in one object.

The solver is a set of functions of this object (:mod:`lbfgsb_py.driver` for
the outer iteration, a backend for the numerical steps), so a run can be
copied (``copy.deepcopy``: branch it and try another option), pickled, saved
to a checkpoint and inspected field by field, and nothing about it lives
anywhere else.  Names follow the papers where they name a quantity
([BLNZ95] Byrd, Lu, Nocedal, Zhu 1995; [MN11] Morales, Nocedal 2011) and
SciPy's ``lbfgsb.c`` otherwise, so a student can find each one in either.

Arrays are fixed for the life of the run: they are written into
(``state.x[:] = ...``), never replaced; assigning a new array to one raises
``AttributeError`` (a replaced array would silently be ignored by a backend
that holds on to the old one).  Scalars are plain attributes.
"""
import numpy as np

from .constants import SUB_NOT_RUN, VARIANTS
from .status import Msg, Task


class _Array:
    """An array field: read and written into as usual, never rebound."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, state, owner=None):
        if state is None:
            return self
        return state.__dict__[self.name]

    def __set__(self, state, value):
        if self.name in state.__dict__:
            raise AttributeError(
                f"state.{self.name} cannot be replaced (the solver keeps working on the "
                f"array it has); write into it instead: state.{self.name}[:] = new_values")
        state.__dict__[self.name] = value


#: Every array field, by group (see :class:`State` for their meaning).
ARRAY_GROUPS = {
    "problem": ("l", "u", "nbd"),
    "iterate": ("x", "g"),
    "cauchy": ("iwhere", "xcp", "z", "t_break", "iorder", "p", "c", "wbp", "v", "segments"),
    "free_set": ("index", "indx2"),
    "subspace": ("wn", "wn1", "r", "xp"),
    "memory": ("ws", "wy", "sy", "ss", "wt"),
    "line_search": ("d", "xold", "gold", "isave", "dsave"),
}
ARRAY_FIELDS = tuple(name for group in ARRAY_GROUPS.values() for name in group)


class State:
    """Everything one L-BFGS-B run knows, between two evaluations of f and g.

    **Problem** (set once): ``n`` variables, ``m`` (``maxcor``: pairs kept);
    the bounds as SciPy encodes them: ``l``, ``u`` (0.0 where absent) and
    ``nbd`` (0 none, 1 lower, 2 both, 3 upper); ``cnstnd`` (some bound),
    ``boxed`` (every variable has both); ``n_projected`` (entries of x0
    moved into the box); the tolerances ``ftol``, ``gtol``, limits ``maxls``,
    ``maxiter``, ``maxfun`` and the subspace ``variant`` ("scipy" or "1995").

    **Iterate**: ``x`` (the current iterate, or during a line search the trial
    point waiting for f and g), ``f``, ``g``; ``sbgnrm`` = ||P(x - g) - x||_inf,
    the projected-gradient norm [BLNZ95 (6.1)]; ``f_last``: the last f received.

    **Task and counters**: ``task`` (:class:`~lbfgsb_py.status.Task`: START
    until x0 is evaluated, FG while a trial waits, NEW_X while an accepted
    iterate waits for the callback and the stopping tests, then CONVERGENCE,
    STOP or ABNORMAL) and ``msg``; once ended, ``status`` and ``message``.
    ``iter`` (SciPy's iteration count, used by the algorithm), ``nit`` and
    ``nfev`` (what the result reports), ``nfgv`` (evaluations asked for by the
    algorithm), ``nseg`` / ``nintol`` (Cauchy segments this iteration / in
    all), ``nskip`` (BFGS updates skipped).

    **Generalized Cauchy point** [BLNZ95 §4]: ``iwhere`` (each variable's
    status, :class:`~lbfgsb_py.bounds.VarStatus`), ``xcp`` (the Cauchy point),
    ``z`` (xcp, then the subspace minimizer xbar), ``t_break`` and ``iorder``
    (breakpoints and their variables), ``p`` = W'd and ``c`` = W'(xcp - x)
    [BLNZ95 (4.11)], ``wbp`` (a row of W) and ``v`` (M times a vector),
    ``nbreak`` (breakpoints), ``tsum`` (t at xcp); ``segments``: one row per
    segment explored (:data:`~lbfgsb_py.constants.SEGMENT_FIELDS`; no rows
    unless the trace level is "full").

    **Free set** [BLNZ95 §5]: ``index[:nfree]`` the free variables at xcp
    (increasing), ``index[nfree:]`` the active ones; ``nact`` = n - nfree;
    ``indx2[:nenter]`` the variables that entered the free set and
    ``indx2[ileave:]`` those that left it.

    **Subspace minimization** [BLNZ95 §5, MN11]: ``wn`` (the factors of the
    2col x 2col matrix K), ``wn1`` (the inner products K is built from, four
    col x col blocks), ``r`` (the reduced gradient, then the Newton step),
    ``xp`` (a copy of z), ``wrk`` (K was refactored), ``iword``
    (:data:`~lbfgsb_py.constants.SUB_NOT_RUN`, ``SUB_CONVERGED`` or
    ``SUB_BOUNDED``), ``alpha`` (backtracking factor) and ``dd_p`` ((xbar -
    x)'g, the [MN11] descent test).

    **Limited memory** [BLNZ95 §3, BNS94]: ``ws``, ``wy`` (S and Y as ring
    buffers of m rows), ``sy`` = S'Y, ``ss`` = S'S (logical order), ``wt``
    (J' with J J' = theta S'S + L D^-1 L'), ``theta``, ``col`` (pairs held),
    ``head`` (ring row of the oldest), ``itail`` (of the newest), ``iupdat``
    (pairs stored since the last reset), ``updatd`` (one stored last iteration).

    **Line search** [BLNZ95 §6, MT94]: ``d`` = xbar - x, ``xold``/``gold``/
    ``fold`` (x, g, f where the search started), ``stp`` (the trial step),
    ``stpmx`` (largest feasible step), ``dnorm`` = ||d||, ``dtd`` = d'd,
    ``gd``/``gdold`` (g'd at the trial and at the start), ``ifun`` (trials
    asked for), ``iback`` (trials beyond the first), ``ls_task``/``ls_msg``/
    ``ls_case`` (the last ``dcsrch`` answer and the ``dcstep`` case),
    ``ls_projg`` (projected-gradient norm at the accepted point), ``isave``
    (brackt, stage) and ``dsave`` (ginit, gtest, gx, gy, finit, fx, fy, stx,
    sty, stmin, stmax, width, width1): ``dcsrch``'s own state.

    Before x0 is evaluated ``f``, ``g`` and ``sbgnrm`` are NaN.  The copies
    :meth:`lbfgsb_py.Solver.step_phase` returns also have ``phase`` (see there).
    """

    def __init__(self, x, nbd, l, u, *, maxcor=10, ftol=2.220446049250313e-09, gtol=1e-05,
                 maxls=20, maxiter=15000, maxfun=15000, variant="scipy", full_trace=False):
        n, m = x.shape[0], maxcor
        self.n, self.m = n, m
        self.l, self.u, self.nbd = l, u, nbd
        self.ftol, self.gtol, self.maxls = ftol, gtol, maxls
        self.maxiter, self.maxfun = maxiter, maxfun
        self.variant = variant
        self.variant_code = VARIANTS[variant]
        self.cnstnd = bool(np.any(nbd != 0))
        self.boxed = bool(np.all(nbd == 2))
        self.n_projected = 0
        self.x, self.g = x, np.full(n, np.nan)     # NaN: not evaluated yet
        self.f = self.sbgnrm = np.nan
        self.f_last = np.nan
        self.task, self.msg = int(Task.START), int(Msg.NONE)
        self.status, self.message = -1, ""
        self.iter = self.nit = self.nfev = self.nfgv = 0
        self.nseg = self.nintol = self.nskip = 0
        self._alloc_cauchy(n, m, full_trace)
        self._alloc_subspace(n, m)
        self._alloc_memory(n, m)
        self._alloc_line_search(n)

    def _alloc_cauchy(self, n, m, full_trace):
        self.iwhere = np.zeros(n, np.int64)
        self.xcp, self.z, self.t_break = np.zeros(n), np.zeros(n), np.zeros(n)
        self.iorder = np.zeros(n, np.int64)
        self.p, self.c, self.wbp, self.v = (np.zeros(2 * m) for _ in range(4))
        self.segments = np.zeros((n + 1 if full_trace else 0, 6))
        self.nbreak, self.tsum = 0, 0.0
        # Unsigned: the compiled kernels then skip Numba's negative-index test.
        self.index = np.arange(n, dtype=np.uint64)
        self.indx2 = np.zeros(n, np.uint64)
        self.nfree, self.nact, self.nenter, self.ileave = n, 0, 0, n

    def _alloc_subspace(self, n, m):
        self.wn = np.zeros((2 * m, 2 * m))
        self.wn1 = np.zeros((4, m, m))
        self.r, self.xp = np.zeros(n), np.zeros(n)
        self.wrk = False
        self.iword, self.alpha, self.dd_p = SUB_NOT_RUN, 1.0, 0.0

    def _alloc_memory(self, n, m):
        self.ws, self.wy = np.zeros((m, n)), np.zeros((m, n))
        self.sy, self.ss, self.wt = np.zeros((m, m)), np.zeros((m, m)), np.zeros((m, m))
        self.reset_memory()

    def _alloc_line_search(self, n):
        self.d, self.xold, self.gold = np.zeros(n), np.zeros(n), np.zeros(n)
        self.isave, self.dsave = np.zeros(2, np.int64), np.zeros(13)
        self.fold = self.stp = self.stpmx = self.dnorm = self.dtd = 0.0
        self.gd = self.gdold = self.ls_projg = 0.0
        self.ifun = self.iback = 0
        self.ls_task, self.ls_msg, self.ls_case = 0, 0, 0

    def reset_memory(self):
        """Forget every pair: B = theta I with theta = 1 (SciPy's memory refresh)."""
        self.theta = 1.0
        self.col = self.head = self.itail = self.iupdat = 0
        self.updatd = False

    # ------------------------------------------------------------------ reading
    @property
    def done(self):
        """True once the run has ended."""
        return self.task not in (Task.START, Task.FG, Task.NEW_X)

    @property
    def iterate(self):
        """(x, f, g) of the current iterate: while a line search waits for a
        trial, the point it started from (``xold``, ``fold``, ``gold``); else
        ``x``, ``f``, ``g``."""
        if self.task == Task.FG:
            return self.xold, self.fold, self.gold
        return self.x, self.f, self.g

    def slots(self):
        """Ring rows of the stored pairs, oldest first."""
        return [(self.head + j) % self.m for j in range(self.col)]

    @property
    def S(self):
        """S as an n x col matrix, columns oldest first (a copy)."""
        return self.ws[self.slots()].T.copy()

    @property
    def Y(self):
        """Y as an n x col matrix, columns oldest first (a copy)."""
        return self.wy[self.slots()].T.copy()

    @property
    def bracket(self):
        """(stx, sty, brackt, stage) of the current line search."""
        return (float(self.dsave[7]), float(self.dsave[8]), bool(self.isave[0]),
                int(self.isave[1]))

    def fields(self):
        """Every field as a dict (the arrays themselves, not copies)."""
        return dict(self.__dict__)

    def __repr__(self):
        return (f"<lbfgsb_py.State n={self.n} m={self.m} task={Task(self.task).name} "
                f"nit={self.nit} nfev={self.nfev} f={self.f!r} projg={self.sbgnrm!r}>")


for _name in ARRAY_FIELDS:
    _field = _Array()
    _field.__set_name__(State, _name)
    setattr(State, _name, _field)

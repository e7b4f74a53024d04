"""The outer iteration of L-BFGS-B [BLNZ95 §2, Algorithm L-BFGS-B].

Each iteration: (1) the generalized Cauchy point (:mod:`.cauchy`) and the free
set there (:mod:`.active_set`); (2) the subspace minimization (:mod:`.subspace`)
giving xbar; (3) a line search along d = xbar - x (:mod:`.line_search`);
(4) the stopping tests; (5) the update of the limited-memory matrix
(:mod:`.lbfgs_matrices`).  This module is the only place that decides to
restart (reset the memory) or to give up (ABNORMAL), and the decision order is
SciPy's (``mainlb`` in ``__lbfgsb.c`` and the loop of ``_lbfgsb_py.py``).

The run is written as a generator that *yields* each point where it needs f
and g and receives them back, so the same code serves :func:`minimize`, the
step-by-step :class:`~lbfgsb_py.stepping.Solver` and the ask/tell interface.
"""
import numba
import numpy as np

from . import bounds, direction, lbfgs_matrices, more_thuente, subspace
from . import trace as ev
from ._dense import dot
from ._jit import Direct
from ._lend import Lent
from .line_search import GTOL, LineSearch
from .status import MESSAGE_TEXT, TASK_NAME, Msg, Task, message, status_code

EPSMCH = lbfgs_matrices.EPSMCH
SUB_WORDS = {subspace.SUB_NOT_RUN: "---", subspace.SUB_CONVERGED: "con",
             subspace.SUB_BOUNDED: "bnd"}
#: From this many variables on, the passes over S and Y are shared among Numba's
#: threads (``numba.set_num_threads`` sets how many); the results are the same
#: bits either way.  On the 2-core benchmark machine threads paid off only once
#: S and Y no longer fit in cache: at n = 1e6 (-10 to -35% per iteration in one
#: session, -8 to +5% in a later one), not at n <= 6e5 (up to 3x slower at 1e5,
#: where OpenMP's waiting threads spin; with OMP_WAIT_POLICY=passive no slower).
PARALLEL_MIN_N = 1_000_000

NO_XCP = np.zeros(0)
STAGE_NAMES = {direction.FAILED_CAUCHY: "cauchy", direction.FAILED_FORMK: "formk",
               direction.FAILED_SUBSM: "subsm"}
RESET_REASONS = {"cauchy": "cauchy_singular", "formk": "formk_not_positive_definite",
                 "subsm": "subspace_singular", "formt": "formt_not_positive_definite",
                 "line_search": "line_search_failed"}


class Engine:
    """One L-BFGS-B run; the state between evaluations is in its attributes.

    Names follow SciPy's ``mainlb``: ``x``, ``f``, ``g``, ``z`` (xcp, then
    xbar), ``d`` (search direction), ``iwhere``, ``index`` (free list first),
    ``nfree``, ``nact``, ``iter``, ``nfgv``, ``nseg``, ``nintol``, ``nskip``,
    ``iword``, ``sbgnrm`` (projected-gradient norm), ``memory``
    (:class:`~lbfgsb_py.lbfgs_matrices.LBFGSMemory`) and ``ls``
    (:class:`~lbfgsb_py.line_search.LineSearch`).  ``nit`` and ``nfev`` are the
    driver's counters (``result.nit``, ``result.nfev``).  ``lent`` lends the
    arrays to the kernels (:class:`~lbfgsb_py._lend.Lent`): they are written in
    place, never rebound.
    """

    def __init__(self, x0, lower, upper, *, maxcor=10, ftol=2.220446049250313e-09,
                 gtol=1e-05, maxls=20, maxiter=15000, maxfun=15000, variant="scipy",
                 tracer=None, callback=None):
        n = x0.shape[0]
        self.n, self.m = n, maxcor
        self.nbd, self.l, self.u = bounds.encode(lower, upper)
        self.x = np.clip(x0, lower, upper).astype(np.float64)
        self.n_projected = int(np.count_nonzero(self.x != x0))
        self.ftol, self.gtol, self.maxls = ftol, gtol, maxls
        self.maxiter, self.maxfun = maxiter, maxfun
        self.variant = variant
        self.variant_code = subspace.VARIANTS[variant]
        self.tracer = tracer if tracer is not None else ev.Tracer(level="off", memory=False)
        self.callback = callback
        #: Set to keep a copy of each Cauchy point in ``xcp`` (for stepping).
        self.keep_cauchy_point = False
        self.xcp = self._xcp_buffer = None
        self._alloc(n, maxcor)
        self.bind_kernels()
        self.task, self.msg = Task.START, Msg.NONE
        self.nit = self.nfev = 0
        self.f_last = np.nan
        self._gen = self._run()
        self.pending = next(self._gen)

    def bind_kernels(self):
        """Give this run its own :class:`~lbfgsb_py._jit.Direct` kernel calls, and lend
        its arrays to them (:class:`~lbfgsb_py._lend.Lent`)."""
        self.lent = Lent(self)
        self._direction = Direct(direction.search_direction_lent)
        self._projgr = Direct(bounds.projected_gradient_norm)

    def _alloc(self, n, m):
        self.g = np.zeros(n)
        self.z = np.zeros(n)
        self.d = np.zeros(n)
        self.r = np.zeros(n)
        self.xp = np.zeros(n)
        self.t_break = np.zeros(n)
        self.iwhere = np.zeros(n, np.int64)
        # Unsigned: Numba then skips the negative-index check in gathered loops.
        self.index = np.arange(n, dtype=np.uint64)
        self.indx2 = np.zeros(n, np.uint64)
        self.iorder = np.zeros(n, np.int64)
        self.p, self.c, self.wbp, self.v = (np.zeros(2 * m) for _ in range(4))
        self.wn = np.zeros((2 * m, 2 * m))
        self.wn1 = np.zeros((4, m, m))
        self.memory = lbfgs_matrices.LBFGSMemory(n, m)
        self.ls = LineSearch(n)
        self.segments = np.zeros((n + 1 if self.tracer.full else 0, 6))
        self.cnstnd, self.boxed = bounds.initial_status(self.l, self.u, self.nbd, self.iwhere)
        self.f = 0.0
        self.iter = self.nfgv = self.nseg = self.nintol = self.nskip = 0
        self.nfree, self.nact, self.iword, self.sbgnrm = n, 0, -1, 0.0
        self.nenter, self.ileave = 0, n
        self.wrk = False

    @property
    def nparts(self):
        """Threads the passes over S and Y are shared among (see PARALLEL_MIN_N)."""
        return numba.get_num_threads() if self.n >= PARALLEL_MIN_N else 1

    @property
    def _xcp(self):
        """Where the kernel copies each Cauchy point: a buffer if kept, else nowhere."""
        if not self.keep_cauchy_point:
            return NO_XCP
        if self._xcp_buffer is None:
            self._xcp_buffer = np.zeros(self.n)
        return self._xcp_buffer

    # ------------------------------------------------------------------ protocol
    @property
    def done(self):
        """True once the run has ended (``pending`` is then None)."""
        return self.pending is None

    def tell(self, f, g, nfev=None):
        """Give f and g at ``pending``; return the next point to evaluate or None.

        f becomes a Python float: the kernels' :class:`~lbfgsb_py._jit.Direct` calls
        need the argument types of their first call.
        """
        f = float(f)
        self.nfev = self.nfev + 1 if nfev is None else nfev
        self.f_last = f
        try:
            self.pending = self._gen.send((f, g))
        except StopIteration:
            self.pending = None
        return self.pending

    def _emit(self, cls, **fields):
        self.tracer.record(cls, self.iter, self.nfev, fields)

    # ------------------------------------------------------------------ the run
    def _run(self, resume=False):
        """The algorithm; ``resume`` re-enters a line search restored from a checkpoint."""
        tr = self.tracer
        if not resume:
            converged = yield from self._initial_point()
            if converged:
                return self._finish(Task.CONVERGENCE, Msg.CONV_GRAD)
        while True:
            if not resume:
                if tr.on:
                    self._emit(ev.IterationStart, f=self.f, projg=self.sbgnrm,
                               col=self.memory.col, theta=self.memory.theta)
                self._search_direction()
            accepted = yield from self._line_search(resume)
            resume = False
            if not accepted:
                self.x[:] = self.ls.t
                self.g[:] = self.ls.r
                self.f = self.ls.fold
                if self.memory.col == 0:
                    self.iter += 1
                    return self._finish(Task.ABNORMAL, Msg.NONE)
                self._reset_memory("line_search", -9)
                continue
            self.iter += 1
            self.sbgnrm = self.ls.projg     # (computed by the line search's last call)
            if tr.on:
                self._emit(ev.IterationEnd, f=self.f, projg=self.sbgnrm, nseg=self.nseg,
                           nact=self.nact, sub=SUB_WORDS[self.iword], itls=self.ls.iback,
                           stepl=self.ls.stp, tstep=self.ls.stp * self.ls.dnorm)
            stop = self._driver_checks()
            if stop is not None:
                return self._finish(Task.STOP, stop)
            if self._test_projg():
                return self._finish(Task.CONVERGENCE, Msg.CONV_GRAD)
            if self._test_ftol():
                return self._finish(Task.CONVERGENCE, Msg.CONV_F)
            self._update_memory()

    def _initial_point(self):
        """Generator: evaluate x0; return True if it already satisfies the gtol test."""
        tr = self.tracer
        if tr.on:
            self._emit(ev.RunStart, n=self.n, m=self.m, n_bounded=int(np.count_nonzero(self.nbd)),
                       n_fixed=int(np.count_nonzero(self.iwhere == 3)),
                       n_projected=self.n_projected, ftol=self.ftol, gtol=self.gtol,
                       maxls=self.maxls, variant=self.variant, level=tr.level)
        self.f, g = yield self.x
        self.g[:] = g
        self.nfgv = 1
        self.sbgnrm = self._projgr.call(
            self.x, self.g, self.l, self.u, self.nbd, self.nparts, self.cnstnd)
        if tr.on:
            self._emit_initial_point()
        return self._test_projg()

    def _emit_initial_point(self):
        lo = (self.nbd == 1) | (self.nbd == 2)
        hi = (self.nbd == 2) | (self.nbd == 3)
        at_l = lo & (self.x <= self.l)
        at_u = hi & (self.x >= self.u)
        blocked = (at_l & (self.g >= 0)) | (at_u & (self.g <= 0))
        self._emit(ev.InitialPoint, f=self.f, projg=self.sbgnrm,
                   n_at_bound=int(np.count_nonzero(at_l | at_u)),
                   n_zero_gradient=int(np.count_nonzero(self.g == 0)),
                   n_blocked=int(np.count_nonzero(blocked)))

    # ------------------------------------------------------------------ steps 1-2
    def _search_direction(self):
        """Set z = xbar (Cauchy point, then subspace minimizer) and d = z - x."""
        mem = self.memory
        while True:
            cauchy_runs = self.cnstnd or mem.col == 0
            (stage, info, nbreak, nseg, tsum, nfree, nenter, ileave, wrk, self.iword, alpha,
             dd_p, dnorm, stpmx) = self._direction.call(
                self.lent.table, self._xcp, self.nfree, self.iter, self.cnstnd, self.sbgnrm,
                mem.theta, mem.col, mem.head, mem.updatd, mem.iupdat, self.variant_code,
                self.nparts)
            if stage != direction.FAILED_CAUCHY:
                self._after_cauchy(cauchy_runs, nbreak, nseg, tsum, nfree, nenter, ileave, wrk)
                if stage == direction.OK:
                    if self.tracer.on:
                        self._emit_subspace(alpha, dd_p)
                    self.ls.begin(self.f, dnorm, stpmx, self.boxed, self.iter)
                    return
            self._reset_memory(STAGE_NAMES[stage], info)

    def _after_cauchy(self, cauchy_runs, nbreak, nseg, tsum, nfree, nenter, ileave, wrk):
        self.wrk = wrk
        self.nseg = nseg
        if not cauchy_runs:
            # No bounds and memory not empty: the Cauchy search was skipped (C:819-824).
            if self.tracer.on:
                self._emit(ev.CauchyPoint, skipped="unconstrained", n_breakpoints=0,
                           n_segments=0, t=0.0, n_active=0)
            return
        if self.keep_cauchy_point:
            self.xcp = self._xcp_buffer     # (the buffer: it changes at each iteration)
        self.nintol += nseg
        self.nfree, self.nenter, self.ileave = nfree, nenter, ileave
        self.nact = self.n - nfree
        if self.tracer.on:
            self._emit_cauchy(nbreak, nseg, tsum, nenter, ileave)

    def _emit_cauchy(self, nbreak, nseg, tsum, nenter, ileave):
        full = self.tracer.full
        if full:
            self._emit_segments(nseg)
        skipped = "zero_projected_gradient" if self.sbgnrm <= 0.0 else ""
        self._emit(ev.CauchyPoint, skipped=skipped, n_breakpoints=nbreak, n_segments=nseg,
                   t=tsum, n_active=self.nact)
        moves = {}
        if full:
            moves = dict(entering=ev.frozen_array(self.indx2[:nenter], np.int64),
                         leaving=ev.frozen_array(self.indx2[ileave:], np.int64))
        self._emit(ev.FreeSetChange, n_free=self.nfree, n_entering=nenter,
                   n_leaving=self.n - ileave, **moves)

    def _emit_segments(self, nseg):
        """One CauchyBreakpoint per row of the segment record, handed over as one batch
        (there can be up to n of them)."""
        it, nfev = self.iter, self.nfev
        rows = self.segments[:min(nseg, self.segments.shape[0])].tolist()
        self.tracer.emit_batch([ev.CauchyBreakpoint(it, nfev, j, int(var), t_break, dt, f1, f2,
                                                    dtm, var < 0)
                                for j, (var, t_break, dt, f1, f2, dtm) in enumerate(rows, 1)])

    def _emit_subspace(self, alpha, dd_p):
        if self.iword == subspace.SUB_NOT_RUN:
            self._emit(ev.SubspaceStep, n_free=self.nfree, alpha=1.0, dd_p=0.0,
                       outcome="skipped_no_free" if self.nfree == 0 else "skipped_no_memory")
            return
        outcome = ("inside" if self.iword == subspace.SUB_CONVERGED and alpha == 1.0
                   else "backtracked" if (dd_p > 0.0 or alpha < 1.0) else "projected")
        self._emit(ev.SubspaceStep, n_free=self.nfree, outcome=outcome, alpha=alpha, dd_p=dd_p)

    def _reset_memory(self, stage, info):
        if self.tracer.on:
            self._emit(ev.MemoryReset, reason=RESET_REASONS[stage], info=int(info),
                       col_before=self.memory.col)
        self.memory.reset()

    # ------------------------------------------------------------------ step 3
    def _line_search(self, resume=False):
        """Generator: run one line search; return True if a step was accepted.

        :meth:`_search_direction` has begun it.  With ``resume`` the search was
        restored mid-way: first get f and g at the pending trial point, then
        carry on.
        """
        ls, tr = self.ls, self.tracer
        if resume:
            self.f, g = yield self.x
            self.g[:] = g
        while True:
            stp_tried, trial = ls.stp, ls.ifun
            more = ls.test(self.f, self.lent.table, self.cnstnd, self.nparts)
            if tr.on:
                self._emit_trial(stp_tried, trial)
            if more is None:
                return self._line_search_end("not_descent", "")
            if not more:
                return self._line_search_end(
                    "converged" if ls.task == more_thuente.CONVERGENCE else "warning",
                    MESSAGE_TEXT[ls.msg])
            self.nfgv += 1
            if ls.iback >= self.maxls:
                return self._line_search_end("maxls", "")
            self.f, g = yield self.x
            self.g[:] = g

    def _emit_trial(self, stp_tried, trial):
        ls = self.ls
        if trial == 0:
            vectors = dict(x=ev.frozen_array(ls.t), d=ev.frozen_array(self.d)) \
                if self.tracer.full else {}
            self._emit(ev.LineSearchStart, stp=ls.stp, stpmax=ls.stpmx, dnorm=ls.dnorm,
                       gd=ls.gdold, f0=ls.fold, **vectors)
            return
        ginit, gtest, finit = ls.dstate[0], ls.dstate[1], ls.dstate[4]
        ftest = finit + stp_tried * gtest
        stx, sty, brackt, stage = ls.bracket
        self._emit(ev.LineSearchTrial, trial=trial,
                   stp=stp_tried, f=self.f, gd=ls.gd, ftest=ftest,
                   sufficient_decrease=bool(self.f <= ftest),
                   curvature=bool(abs(ls.gd) <= GTOL * (-ginit)), stx=stx, sty=sty,
                   brackt=brackt, stage=stage, task=TASK_NAME[ls.task],
                   message=MESSAGE_TEXT[ls.msg], case=ls.case, next_stp=ls.stp)

    def _line_search_end(self, outcome, text):
        ls = self.ls
        if self.tracer.on:
            n_trials = ls.ifun if outcome != "maxls" else ls.ifun - 1
            self._emit(ev.LineSearchEnd, outcome=outcome, message=text, stp=ls.stp,
                       n_trials=n_trials, xstep=ls.stp * ls.dnorm)
        if outcome == "maxls":
            self.nfgv -= 1
            ls.ifun -= 1
            ls.iback -= 1
        return outcome in ("converged", "warning")

    # ------------------------------------------------------------------ step 4
    def _driver_checks(self):
        """SciPy's Python loop at NEW_X: count, callback, maxiter, maxfun."""
        self.nit += 1
        stop = None
        if self.callback is not None and self.callback(self.x, self.f):
            stop = Msg.STOP_CALLBACK
        if self.nit >= self.maxiter:
            stop = Msg.STOP_MAXITER
        elif self.nfev > self.maxfun:
            stop = Msg.STOP_MAXFUN
        return stop

    def _test_projg(self):
        passed = self.sbgnrm <= self.gtol
        if self.tracer.on:
            self._emit(ev.ConvergenceTest, test="projg", value=self.sbgnrm,
                       tolerance=self.gtol, passed=bool(passed))
        return passed

    def _test_ftol(self):
        fold = self.ls.fold
        scale = max(abs(fold), abs(self.f), 1.0)
        passed = (fold - self.f) <= self.ftol * scale
        if self.tracer.on:
            self._emit(ev.ConvergenceTest, test="ftol", value=(fold - self.f) / scale,
                       tolerance=self.ftol, passed=bool(passed))
        return passed

    # ------------------------------------------------------------------ step 5
    def _update_memory(self):
        """Form s, y; skip the pair unless s'y > eps * (-s'g_old); else store it."""
        ls, mem = self.ls, self.memory
        applied, dr, ddum, rr, info = mem.add_lent_step(self.lent.table, ls.stp, ls.gd,
                                                        ls.gdold, ls.dtd, self.nparts)
        self.nskip += not applied
        if self.tracer.on:
            self._emit(ev.BFGSUpdate, applied=applied, sy=dr, threshold=EPSMCH * ddum, yy=rr,
                       theta=self.memory.theta, col=self.memory.col, n_skipped=self.nskip)
        if info != 0:
            self._reset_memory("formt", info)

    # ------------------------------------------------------------------ the end
    def _finish(self, task, msg):
        self.task, self.msg = task, msg
        self.status = status_code(task, self.nfev, self.maxfun, self.nit, self.maxiter)
        self.message = message(task, msg)
        if self.tracer.on:
            self._emit(ev.Termination, status=self.status, message=self.message, nit=self.nit,
                       f=self.f, f_last_trial=self.f_last, projg=self.sbgnrm,
                       n_skipped=self.nskip, n_segments_total=self.nintol, n_active=self.nact)


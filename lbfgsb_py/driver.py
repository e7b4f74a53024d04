"""The outer iteration of L-BFGS-B [BLNZ95 §2, Algorithm L-BFGS-B].

Each iteration: (1) the generalized Cauchy point and the free set there;
(2) the subspace minimization giving xbar; (3) a line search along
d = xbar - x; (4) the stopping tests; (5) the update of the limited-memory
matrix.  Steps 1-2 and the arithmetic of 3 and 5 are the backend's
(:mod:`lbfgsb_py.backends`); this module decides: it is the only place that
restarts (resets the memory) or gives up (ABNORMAL), in SciPy's order
(``mainlb`` in ``lbfgsb.c`` and the loop of ``_lbfgsb_py.py``), and the only
place that emits trace events.

The run is reverse communication, as SciPy's ``setulb``: :meth:`Engine.tell`
takes f and g at the point :attr:`Engine.pending` and works until it needs
the next evaluation.  Everything it works on is in the
:class:`~lbfgsb_py.state.State`; its ``task`` says where the run is (START,
FG, NEW_X, or ended), so a state copied, pickled or restored from a
checkpoint carries on exactly.

What a failure leaves behind: the objective is called outside :meth:`tell`,
so its exceptions (and a Ctrl-C while it runs) leave the state as it was;
trace events go to the sinks only after :meth:`tell` has finished its work
(:meth:`~lbfgsb_py.trace.Tracer.flush`), so a sink that raises leaves a
consistent state; the callback runs at NEW_X before anything changes, so one
that raises leaves the accepted iterate waiting for it (:meth:`proceed`).
"""
import numpy as np

from . import backends, bounds
from . import trace as ev
from .constants import (CONVERGENCE, EPSMCH, FAILED_CAUCHY, FAILED_FORMK, FAILED_SUBSM,
                        GTOL, OK, START, SUB_BOUNDED, SUB_CONVERGED, SUB_NOT_RUN, WARNING)
from .reference.line_search import trial_point
from .reference.blas import openblas_description
from .state import State
from .status import MESSAGE_TEXT, TASK_NAME, Msg, Task, message, status_code

#: The tasks of a run that has not ended, as plain ints (compared on every evaluation).
TASK_START, TASK_FG, TASK_NEW_X = int(Task.START), int(Task.FG), int(Task.NEW_X)

SUB_WORDS = {SUB_NOT_RUN: "---", SUB_CONVERGED: "con", SUB_BOUNDED: "bnd"}
STAGE_NAMES = {FAILED_CAUCHY: "cauchy", FAILED_FORMK: "formk", FAILED_SUBSM: "subsm"}
RESET_REASONS = {"cauchy": "cauchy_singular", "formk": "formk_not_positive_definite",
                 "subsm": "subspace_singular", "formt": "formt_not_positive_definite",
                 "line_search": "line_search_failed"}


def initial_step(iteration, boxed, dnorm, stpmx):
    """The first trial step [BLNZ95 §6]: min(1/||d||, stpmax) at iteration 0
    unless every variable has both bounds, else 1 (SciPy ``lnsrlb``)."""
    if iteration == 0 and not boxed:
        # C semantics: 1/0 = inf; fmin ignores a NaN.
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = float(np.divide(1.0, np.float64(dnorm)))
        if inv != inv:
            return stpmx
        return inv if stpmx != stpmx else min(inv, stpmx)
    return 1.0


def start(x0, lower, upper, *, backend="auto", tracer=None, callback=None, **options):
    """A new run from x0 (moved into the box [lower, upper] as SciPy does) with
    ``options`` as :class:`~lbfgsb_py.state.State` takes them."""
    tracer = tracer if tracer is not None else ev.Tracer(level="off", memory=False)
    nbd, l, u = bounds.encode(lower, upper)
    x = np.clip(x0, lower, upper).astype(np.float64)
    state = State(x, nbd, l, u, full_trace=tracer.full, **options)
    state.n_projected = int(np.count_nonzero(x != x0))
    return Engine(state, backends.resolve(backend, state.n), tracer, callback)


class Engine:
    """One L-BFGS-B run: its :class:`~lbfgsb_py.state.State`, the backend's kernels
    bound to it, the tracer and the callback.

    ``callback(x, f)`` runs at each new iterate and returns True to stop.
    An engine can be copied and pickled (its kernels are bound anew to the
    copied state); its ``state`` cannot be swapped for another.
    """

    __slots__ = ("_state", "backend", "kernels", "tracer", "callback")

    def __init__(self, state, backend="reference", tracer=None, callback=None):
        self._state = state
        self.backend = backend
        self.kernels = backends.bind(backend, state)
        self.tracer = tracer if tracer is not None else ev.Tracer(level="off", memory=False)
        self.callback = callback
        if state.task == Task.START and state.nfev == 0:
            state.cnstnd, state.boxed = self.kernels.initial_status()
            self._emit_run_start()
            self.tracer.flush()

    @property
    def state(self):
        """The run's :class:`~lbfgsb_py.state.State`."""
        return self._state

    def __getstate__(self):
        return dict(state=self._state, backend=self.backend, tracer=self.tracer,
                    callback=self.callback)

    def __setstate__(self, fields):
        self._state = fields["state"]
        self.backend, self.tracer = fields["backend"], fields["tracer"]
        self.callback = fields["callback"]
        self.kernels = backends.bind(self.backend, self._state)

    # ------------------------------------------------------------------ protocol
    @property
    def done(self):
        """True once the run has ended."""
        return self._state.done

    @property
    def pending(self):
        """The point where f and g are wanted next (the state's x), or None."""
        s = self._state
        return s.x if s.task == TASK_FG or s.task == TASK_START else None

    def tell(self, f, g, nfev=None):
        """Give f and g at :attr:`pending`; work until the next point is needed
        (returned) or the run ends (None)."""
        s = self._state
        if s.task != TASK_FG and s.task != TASK_START:
            raise RuntimeError("tell: no evaluation is pending"
                               + (" (the run has ended)" if s.done else
                                  "; call proceed() to finish the waiting iteration"))
        s.nfev = s.nfev + 1 if nfev is None else nfev
        s.f_last = s.f = float(f)
        s.g[:] = g
        if s.task == TASK_START:
            self._initial_point()
        else:
            self._search()
        self.tracer.flush()
        return self.pending

    def proceed(self):
        """Finish an iteration left waiting at NEW_X (its callback raised)."""
        if self._state.task == TASK_NEW_X:
            self._new_x()
            self.tracer.flush()
        return self.pending

    def _emit(self, cls, **fields):
        s = self._state
        self.tracer.record(cls, s.iter, s.nfev, fields)

    def _vectors(self, **arrays):
        """The array fields of an event: read-only copies at level "full", else none
        (call it under ``if self.tracer.on``)."""
        if not self.tracer.full:
            return {}
        return {name: ev.frozen_array(a, np.int64 if a.dtype.kind in "iu" else np.float64)
                for name, a in arrays.items()}

    def _emit_run_start(self):
        s = self._state
        if self.tracer.on:
            box = dict(zip(("lower", "upper"), bounds.decode(s.nbd, s.l, s.u))) \
                if self.tracer.full else {}
            self._emit(ev.RunStart, n=s.n, m=s.m, n_bounded=int(np.count_nonzero(s.nbd)),
                       n_fixed=int(np.count_nonzero(s.iwhere == 3)),
                       n_projected=s.n_projected, ftol=s.ftol, gtol=s.gtol, maxls=s.maxls,
                       variant=s.variant, level=self.tracer.level, backend=self.backend,
                       blas=openblas_description(), **self._vectors(**box))

    # ------------------------------------------------------------------ x0
    def _initial_point(self):
        s = self._state
        s.nfgv = 1
        s.sbgnrm = self.kernels.projected_gradient_norm()
        if self.tracer.on:
            self._emit_initial_point()
        if self._test_projg():
            return self._finish(Task.CONVERGENCE, Msg.CONV_GRAD)
        self._begin_iteration()

    def _emit_initial_point(self):
        s = self._state
        lo = (s.nbd == 1) | (s.nbd == 2)
        hi = (s.nbd == 2) | (s.nbd == 3)
        at_l = lo & (s.x <= s.l)
        at_u = hi & (s.x >= s.u)
        blocked = (at_l & (s.g >= 0)) | (at_u & (s.g <= 0))
        self._emit(ev.InitialPoint, f=s.f, projg=s.sbgnrm,
                   n_at_bound=int(np.count_nonzero(at_l | at_u)),
                   n_zero_gradient=int(np.count_nonzero(s.g == 0)),
                   n_blocked=int(np.count_nonzero(blocked)), **self._vectors(x=s.x, g=s.g))

    # ------------------------------------------------------------------ steps 1-2
    def _begin_iteration(self):
        """Steps 1-2 (the search direction), then the line search's first test."""
        s = self._state
        if self.tracer.on:
            self._emit(ev.IterationStart, f=s.f, projg=s.sbgnrm, col=s.col, theta=s.theta)
        self._search_direction()
        self._search()

    def _search_direction(self):
        """Set z = xbar (Cauchy point, then subspace minimizer) and d = z - x;
        reset the memory and try again when a factorization fails."""
        s = self._state
        while True:
            cauchy_runs = s.cnstnd or s.col == 0
            (stage, info, nbreak, nseg, tsum, nfree, nenter, ileave, wrk, s.iword, s.alpha,
             s.dd_p, dnorm, stpmx) = self.kernels.search_direction()
            if stage != FAILED_CAUCHY:
                self._after_cauchy(cauchy_runs, nbreak, nseg, tsum, nfree, nenter, ileave, wrk)
                if stage == OK:
                    if self.tracer.on:
                        self._emit_subspace()
                    self._begin_line_search(dnorm, stpmx)
                    return
            self._reset_memory(STAGE_NAMES[stage], info)

    def _after_cauchy(self, cauchy_runs, nbreak, nseg, tsum, nfree, nenter, ileave, wrk):
        s = self._state
        s.wrk, s.nseg = wrk, nseg
        if not cauchy_runs:
            # No bounds and memory not empty: the Cauchy search was skipped (C:819-824).
            if self.tracer.on:
                self._emit(ev.CauchyPoint, skipped="unconstrained", n_breakpoints=0,
                           n_segments=0, t=0.0, n_active=0, **self._vectors(xcp=s.x))
            return
        s.nbreak, s.tsum = nbreak, tsum
        s.nintol += nseg
        s.nfree, s.nenter, s.ileave = nfree, nenter, ileave
        s.nact = s.n - nfree
        if self.tracer.on:
            self._emit_cauchy()

    def _emit_cauchy(self):
        s = self._state
        full = self.tracer.full
        if full:
            self._emit_segments()
        skipped = "zero_projected_gradient" if s.sbgnrm <= 0.0 else ""
        self._emit(ev.CauchyPoint, skipped=skipped, n_breakpoints=s.nbreak,
                   n_segments=s.nseg, t=s.tsum, n_active=s.nact, **self._vectors(xcp=s.xcp))
        moves = {}
        if full:
            moves = self._vectors(entering=s.indx2[:s.nenter], leaving=s.indx2[s.ileave:],
                                  free=s.index[:s.nfree])
        self._emit(ev.FreeSetChange, n_free=s.nfree, n_entering=s.nenter,
                   n_leaving=s.n - s.ileave, **moves)

    def _emit_segments(self):
        """One CauchyBreakpoint per row of the segment record, handed over as one batch
        (there can be up to n of them)."""
        s = self._state
        rows = s.segments[:min(s.nseg, s.segments.shape[0])].tolist()
        self.tracer.emit_batch([ev.CauchyBreakpoint(s.iter, s.nfev, j, int(var), t_break, dt,
                                                    f1, f2, dtm, var < 0)
                                for j, (var, t_break, dt, f1, f2, dtm) in enumerate(rows, 1)])

    def _emit_subspace(self):
        s = self._state
        if s.iword == SUB_NOT_RUN:
            self._emit(ev.SubspaceStep, n_free=s.nfree, alpha=1.0, dd_p=0.0,
                       outcome="skipped_no_free" if s.nfree == 0 else "skipped_no_memory",
                       **self._vectors(xbar=s.z))
            return
        outcome = ("inside" if s.iword == SUB_CONVERGED and s.alpha == 1.0
                   else "backtracked" if (s.dd_p > 0.0 or s.alpha < 1.0) else "projected")
        vectors = self._vectors(newton=self._newton_point(), xbar=s.z) if self.tracer.full \
            else {}
        self._emit(ev.SubspaceStep, n_free=s.nfree, outcome=outcome, alpha=s.alpha,
                   dd_p=s.dd_p, **vectors)

    def _newton_point(self):
        """xcp plus the Newton step r on the free variables (the subspace step
        before its projection); xcp is x when the Cauchy search was skipped."""
        s = self._state
        point = (s.xcp if s.cnstnd else s.x).copy()
        free = s.index[:s.nfree].astype(np.intp)
        point[free] = point[free] + s.r[:s.nfree]
        return point

    def _reset_memory(self, stage, info):
        s = self._state
        if self.tracer.on:
            self._emit(ev.MemoryReset, reason=RESET_REASONS[stage], info=int(info),
                       col_before=s.col)
        s.reset_memory()

    # ------------------------------------------------------------------ step 3
    def _begin_line_search(self, dnorm, stpmx):
        """A new search from (x, f, g) along d; the backend has saved xold = x,
        gold = g and found ``dnorm`` = ||d|| and ``stpmx``."""
        s = self._state
        s.dnorm, s.stpmx = dnorm, stpmx
        s.dtd = dnorm * dnorm      # as SciPy's rr
        s.stp = initial_step(s.iter, s.boxed, dnorm, stpmx)
        s.fold = s.f
        s.ifun = s.iback = 0
        s.ls_task, s.ls_msg, s.ls_case = START, 0, 0

    def _search(self):
        """Test the trial just evaluated (or start the search); ask for the next
        trial (task FG), or end the search."""
        s = self._state
        stp_tried, trial = s.stp, s.ifun
        first = trial == 0
        s.gd, s.stp, s.ls_task, s.ls_msg, s.ls_case, s.ls_projg = \
            self.kernels.line_search_step(s.f, first)
        if first:
            s.gdold = s.gd
        if self.tracer.on:
            self._emit_trial(stp_tried, trial)
        if first and s.gd >= 0.0:
            return self._end_search("not_descent", "")
        if s.ls_task in (CONVERGENCE, WARNING):
            return self._end_search("converged" if s.ls_task == CONVERGENCE else "warning",
                                    MESSAGE_TEXT[s.ls_msg])
        s.ifun += 1
        s.iback = s.ifun - 1
        s.nfgv += 1
        if s.iback >= s.maxls:
            return self._end_search("maxls", "")
        s.task = TASK_FG            # x is the next trial point: wait for f and g there

    def _emit_trial(self, stp_tried, trial):
        s = self._state
        if trial == 0:
            self._emit(ev.LineSearchStart, stp=s.stp, stpmax=s.stpmx, dnorm=s.dnorm,
                       gd=s.gdold, f0=s.fold, **self._vectors(x=s.xold, d=s.d))
            return
        ginit, gtest, finit = s.dsave[0], s.dsave[1], s.dsave[4]
        ftest = float(finit + stp_tried * gtest)
        stx, sty, brackt, stage = s.bracket
        point = self._vectors(x=self._trial_point(stp_tried)) if self.tracer.full else {}
        self._emit(ev.LineSearchTrial, trial=trial, stp=stp_tried, f=s.f, gd=s.gd,
                   ftest=ftest, sufficient_decrease=bool(s.f <= ftest),
                   curvature=bool(abs(s.gd) <= GTOL * (-ginit)), stx=stx, sty=sty,
                   brackt=brackt, stage=stage, task=TASK_NAME[s.ls_task],
                   message=MESSAGE_TEXT[s.ls_msg], case=s.ls_case, next_stp=s.stp, **point)

    def _trial_point(self, stp):
        """The point of the trial with step ``stp``, the same bits as the backend
        wrote into x then (the reference's formula; both backends agree)."""
        s = self._state
        point = np.empty(s.n)
        with np.errstate(all="ignore"):
            trial_point(point, s.xold, s.d, s.z, stp, s.l, s.u, s.nbd, s.cnstnd)
        return point

    def _end_search(self, outcome, text):
        s = self._state
        if outcome == "maxls":
            s.nfgv -= 1
            s.ifun -= 1
            s.iback -= 1
        if self.tracer.on:
            self._emit(ev.LineSearchEnd, outcome=outcome, message=text, stp=s.stp,
                       n_trials=s.ifun, xstep=s.stp * s.dnorm)
        if outcome in ("converged", "warning"):
            s.iter += 1
            s.sbgnrm = s.ls_projg     # (computed by the line search's last step)
            if self.tracer.on:
                self._emit(ev.IterationEnd, f=s.f, projg=s.sbgnrm, nseg=s.nseg, nact=s.nact,
                           sub=SUB_WORDS[s.iword], itls=s.iback, stepl=s.stp,
                           tstep=s.stp * s.dnorm, **self._vectors(x=s.x, g=s.g))
            s.task = TASK_NEW_X
            return self._new_x()
        # The search failed: back to where it started; restart, or give up.
        s.x[:] = s.xold
        s.g[:] = s.gold
        s.f = s.fold
        if s.col == 0:
            s.iter += 1
            return self._finish(Task.ABNORMAL, Msg.NONE)
        self._reset_memory("line_search", -9)
        self._begin_iteration()

    # ------------------------------------------------------------------ step 4
    def _new_x(self):
        """SciPy's Python loop at NEW_X (callback, count, maxiter, maxfun), then the
        convergence tests, the memory update and the next iteration."""
        s = self._state
        halt = self.callback is not None and self.callback(s.x, s.f)
        s.nit += 1
        stop = Msg.STOP_CALLBACK if halt else None
        if s.nit >= s.maxiter:
            stop = Msg.STOP_MAXITER
        elif s.nfev > s.maxfun:
            stop = Msg.STOP_MAXFUN
        if stop is not None:
            return self._finish(Task.STOP, stop)
        if self._test_projg():
            return self._finish(Task.CONVERGENCE, Msg.CONV_GRAD)
        if self._test_ftol():
            return self._finish(Task.CONVERGENCE, Msg.CONV_F)
        self._update_memory()
        self._begin_iteration()

    def _test_projg(self):
        s = self._state
        passed = s.sbgnrm <= s.gtol
        if self.tracer.on:
            self._emit(ev.ConvergenceTest, test="projg", value=s.sbgnrm, tolerance=s.gtol,
                       passed=bool(passed))
        return passed

    def _test_ftol(self):
        s = self._state
        scale = max(abs(s.fold), abs(s.f), 1.0)
        passed = (s.fold - s.f) <= s.ftol * scale
        if self.tracer.on:
            self._emit(ev.ConvergenceTest, test="ftol", value=(s.fold - s.f) / scale,
                       tolerance=s.ftol, passed=bool(passed))
        return passed

    # ------------------------------------------------------------------ step 5
    def _update_memory(self):
        """Form s, y; skip the pair unless s'y > eps * (-s'g_old); else store it."""
        s = self._state
        applied, dr, ddum, rr, s.itail, s.col, s.head, s.theta, info = \
            self.kernels.add_step()
        s.updatd = applied
        s.iupdat += applied
        s.nskip += not applied
        if self.tracer.on:
            pair = self._pair(applied) if self.tracer.full else {}
            self._emit(ev.BFGSUpdate, applied=applied, sy=dr, threshold=EPSMCH * ddum, yy=rr,
                       theta=s.theta, col=s.col, n_skipped=s.nskip, **pair)
        if info != 0:
            self._reset_memory("formt", info)

    def _pair(self, applied):
        """s and y of the update just made (a skipped pair's y is left in gold)."""
        s = self._state
        if applied:
            return self._vectors(s=s.ws[s.itail], y=s.wy[s.itail])
        return self._vectors(s=s.d if s.stp == 1.0 else s.stp * s.d, y=s.gold)

    # ------------------------------------------------------------------ the end
    def _finish(self, task, msg):
        s = self._state
        s.task, s.msg = int(task), int(msg)
        s.status = status_code(task, s.nfev, s.maxfun, s.nit, s.maxiter)
        s.message = message(task, msg)
        if self.tracer.on:
            self._emit(ev.Termination, status=s.status, message=s.message, nit=s.nit,
                       f=s.f, f_last_trial=s.f_last, projg=s.sbgnrm, n_skipped=s.nskip,
                       n_segments_total=s.nintol, n_active=s.nact)

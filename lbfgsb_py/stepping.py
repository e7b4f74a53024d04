"""Step through a run: one evaluation or one iteration at a time, or ask/tell.

:class:`Solver` drives the same :class:`~lbfgsb_py.driver.Engine` as
:func:`~lbfgsb_py.minimize`, so its iterates are identical.  Between steps the
whole :class:`~lbfgsb_py.state.State` can be inspected (:attr:`Solver.state`).
Without ``fun`` it works in ask/tell form: :meth:`ask` gives the point where f
and g are needed and :meth:`tell` takes them, for objectives that live in
another program.  A Solver can be copied (``copy.deepcopy``: branch the run)
and pickled; the copy keeps the in-memory trace, not file or callback sinks.
"""
import collections
import copy

import numpy as np

from . import backends, checkpoint, driver
from . import bounds as bd
from .api import checked_arguments, result_from
from .constants import SUB_NOT_RUN
from .objective import Objective, as_gradient, as_scalar
from .trace import make_tracer

#: The event that ends each phase :meth:`Solver.step_phase` stops after.
PHASE_OF_EVENT = {"initial_point": "initial", "cauchy_point": "cauchy",
                  "subspace_step": "subspace", "line_search_trial": "trial",
                  "bfgs_update": "update", "termination": "done"}


class Solver:
    """An L-BFGS-B run that advances on request.

    Parameters are those of :func:`~lbfgsb_py.minimize` (without ``callback``);
    ``fun=None`` selects ask/tell mode.  Unlike ``minimize`` (and SciPy), the
    Solver keeps variables fixed by ``lb == ub`` in the problem even with finite
    differences, so such runs can differ from ``minimize``'s.
    """

    def __init__(self, fun, x0, args=(), jac=None, bounds=None, *, maxcor=10,
                 ftol=2.220446049250313e-09, gtol=1e-05, eps=1e-08, maxfun=15000,
                 maxiter=15000, maxls=20, finite_diff_rel_step=None, trace="iteration",
                 variant="scipy", backend="auto"):
        if fun is not None and not callable(fun):
            raise TypeError(f"fun must be callable (or None for ask/tell), got "
                            f"{type(fun).__name__}")
        x0, lower, upper, args, jac, options = checked_arguments(
            x0, args, jac, bounds, maxcor=maxcor, ftol=ftol, gtol=gtol, eps=eps,
            maxfun=maxfun, maxiter=maxiter, maxls=maxls, variant=variant)
        self.objective = None if fun is None else Objective(
            fun, x0.shape[0], args, jac, eps, finite_diff_rel_step, lower, upper)
        self.tracer = make_tracer(trace)
        self.tracer.open()
        self.engine = driver.start(x0, lower, upper, tracer=self.tracer,
                                   backend=backends.check(backend), **options)
        self._stops = collections.deque()

    # -------------------------------------------------------------- ask / tell
    def ask(self):
        """The point where f and g are wanted next (a copy), or None when done."""
        return None if self.engine.done else self.engine.pending.copy()

    def tell(self, f, g):
        """Give f and g at the point from :meth:`ask` (checked as SciPy checks what
        ``fun`` and ``jac`` return: f a real number, g one per variable; NaN and
        inf are allowed, as there)."""
        if self.engine.done:
            raise RuntimeError("the run has ended; read solver.result()")
        f = as_scalar(f)
        g = as_gradient(g, self.engine.state.n, "tell's g")
        self.engine.tell(f, g)
        self._close_if_done()

    # -------------------------------------------------------------- stepping
    def step_phase(self):
        """Advance to the next phase of the algorithm; return the state there.

        Phases, in order: ``"initial"`` (x0 evaluated), then per iteration
        ``"cauchy"`` (the generalized Cauchy point xcp and the free set there),
        ``"subspace"`` (z = xbar and d = xbar - x), ``"trial"`` once per
        line-search trial (x, f, g are the trial's; ``ls_task``, ``stp`` and
        :attr:`~lbfgsb_py.state.State.bracket` are dcsrch's verdict), and
        ``"update"`` (the pair s, y stored or skipped); ``"done"`` at the end.
        The returned copy of the :class:`~lbfgsb_py.state.State` says its phase
        (``state.phase``) and shows nothing before it is computed: at
        ``"cauchy"``, z is xcp and d, r are NaN; at ``"subspace"`` the line
        search's ``stp``, ``stpmx``, ``dnorm`` are NaN.  The backend computes
        the Cauchy point and the subspace step in one call, so both stops of an
        iteration are copies taken when the driver records them (the run itself,
        :attr:`state`, is at the last evaluation).  Needs tracing on (the
        default level).
        """
        if not self._stops:
            if not self.tracer.on:
                raise RuntimeError("step_phase needs tracing on (trace='iteration' or "
                                   "'full')")
            self.tracer.hook = self._snapshot
            try:
                self.step_evaluation()
            finally:
                self.tracer.hook = None
        return self._stops.popleft()

    def _snapshot(self, cls, fields):
        phase = PHASE_OF_EVENT.get(cls.kind)
        if phase is not None:
            state = copy.deepcopy(self.engine.state)
            state.phase = phase
            _MASKS.get(phase, _as_is)(state, self.engine, fields)
            self._stops.append(state)

    def step_evaluation(self):
        """Evaluate the objective once (one line-search trial); return the point."""
        self._stops.clear()
        x = self._need_fun()
        f, g = self.objective(x)
        self.engine.tell(f, g, self.objective.nfev)
        self._close_if_done()
        return x

    def step(self):
        """Advance to the next accepted iterate (or the end); return ``state``."""
        nit = self.engine.state.nit
        while not self.engine.done and self.engine.state.nit == nit:
            self.step_evaluation()
        return self.state

    def run(self):
        """Run to the end; return the :class:`~lbfgsb_py.Result`."""
        while not self.engine.done:
            self.step_evaluation()
        return self.result()

    @property
    def done(self):
        """True once the run has ended."""
        return self.engine.done

    def result(self):
        """The result (SciPy's fields plus ``trace``) once the run has ended."""
        if not self.engine.done:
            raise RuntimeError("the run has not ended; call run() or keep stepping")
        obj = self.objective or _TellCounts(self.engine.state.nfev)
        return result_from(self.engine, obj, self.tracer.trace)

    @property
    def state(self):
        """A copy of the run's :class:`~lbfgsb_py.state.State` (every field
        documented there).  While a line search waits for a trial, ``x`` is that
        trial point and ``xold``, ``fold``, ``gold`` the iterate it started from;
        ``xcp`` is the last Cauchy point, ``index[:nfree]`` the free variables,
        ``S``/``Y`` the stored pairs, oldest first."""
        return copy.deepcopy(self.engine.state)

    def _repr_html_(self):
        """Jupyter's display: where the run is and the table rows so far."""
        from .notebook import solver_html
        return solver_html(self)

    # -------------------------------------------------------------- checkpoints
    def save_checkpoint(self, path):
        """Save the exact state (see :mod:`lbfgsb_py.checkpoint`) to ``path``."""
        checkpoint.save(path, self.engine, self.objective)

    @classmethod
    def resume(cls, path, fun=None, args=(), jac=None, *, eps=1e-08,
               finite_diff_rel_step=None, trace="iteration", backend="auto"):
        """Continue a run saved with :meth:`save_checkpoint`, bit for bit.

        Pass the same ``fun``/``jac``/``args``/``eps`` as the original run
        (``fun=None`` for ask/tell).  Trace events continue from where the
        checkpoint was taken.
        """
        _, arrays = checkpoint.load(path)
        self = cls.__new__(cls)
        self.tracer = make_tracer(trace)
        self.tracer.open()
        state = checkpoint.restore_state(arrays, self.tracer.full)
        self.engine = driver.Engine(state, backends.resolve(backends.check(backend), state.n),
                                    self.tracer)
        self._stops = collections.deque()
        lower, upper = bd.decode(state.nbd, state.l, state.u)
        self.objective = None if fun is None else Objective(
            fun, state.n, args, jac, eps, finite_diff_rel_step, lower, upper)
        if self.objective is not None:
            checkpoint.restore_objective(arrays, self.objective)
        return self

    def _need_fun(self):
        if self.objective is None:
            raise RuntimeError("no fun given: use ask() and tell(f, g)")
        if self.engine.done:
            raise RuntimeError("the run has ended; read solver.result()")
        return self.engine.pending.copy()

    def _close_if_done(self):
        if self.engine.done:
            self.tracer.close()


def _as_is(state, engine, fields):
    """A stop where the state is already what the phase computed."""


def _cauchy_view(state, engine, fields):
    """Only the Cauchy point is computed: z = xcp, no subspace step, no d."""
    state.z[:] = state.xcp if state.cnstnd or state.col == 0 else state.x
    state.d[:] = state.r[:] = np.nan
    state.iword, state.alpha, state.dd_p = SUB_NOT_RUN, 1.0, 0.0
    _no_search_yet(state, engine, fields)


def _no_search_yet(state, engine, fields):
    """The line search has not started: its step and lengths are unknown."""
    state.stp = state.stpmx = state.dnorm = state.dtd = np.nan


def _trial_view(state, engine, fields):
    """x is the trial just evaluated (the backend has already moved x on)."""
    state.x[:] = engine._trial_point(fields["stp"])


_MASKS = {"cauchy": _cauchy_view, "subspace": _no_search_yet, "trial": _trial_view}


class _TellCounts:
    """Evaluation counts for a result built in ask/tell mode."""

    def __init__(self, nfev):
        self.nfev = nfev
        self.njev = nfev

"""Step through a run: one evaluation or one iteration at a time, or ask/tell.

:class:`Solver` drives the same :class:`~lbfgsb_py.driver.Engine` as
:func:`~lbfgsb_py.minimize`, so its iterates are identical.  Between steps the
whole state can be inspected (:attr:`Solver.state`).  Without ``fun`` it works
in ask/tell form: :meth:`ask` gives the point where f and g are needed and
:meth:`tell` takes them, for objectives that live in another program.
"""
import numpy as np

from . import bounds as bd
from . import checkpoint
from .api import checked_arguments, result_from
from .driver import Engine
from .objective import Objective
from .trace import make_tracer


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
                 variant="scipy"):
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
        self.engine = Engine(x0, lower, upper, tracer=self.tracer, **options)
        self.engine.keep_cauchy_point = True

    # -------------------------------------------------------------- ask / tell
    def ask(self):
        """The point where f and g are wanted next (a copy), or None when done."""
        return None if self.engine.done else self.engine.pending.copy()

    def tell(self, f, g):
        """Give f and g at the point from :meth:`ask`."""
        if self.engine.done:
            raise RuntimeError("the run has ended; read solver.result()")
        self.engine.tell(float(f), np.asarray(g, dtype=np.float64))
        self._close_if_done()

    # -------------------------------------------------------------- stepping
    def step_evaluation(self):
        """Evaluate the objective once (one line-search trial); return the point."""
        x = self._need_fun()
        f, g = self.objective(x)
        self.engine.tell(f, g, self.objective.nfev)
        self._close_if_done()
        return x

    def step(self):
        """Advance to the next accepted iterate (or the end); return ``state``."""
        nit = self.engine.nit
        while not self.engine.done and self.engine.nit == nit:
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
        obj = self.objective or _TellCounts(self.engine.nfev)
        return result_from(self.engine, obj, self.tracer.trace)

    @property
    def state(self):
        """A snapshot of the solver state (copies), named as in the paper / SciPy.

        ``x``, ``f``, ``g``: the current iterate; ``pending``: the point whose f
        and g are wanted next (a line-search trial); ``xcp``: the last Cauchy
        point; ``free``: free variables there; ``d``: search direction;
        ``stp`` and ``bracket``: the line search; ``S``, ``Y``, ``theta``: the
        L-BFGS memory (columns oldest first).
        """
        e = self.engine
        mem = e.memory
        order = mem.slots()
        stx, sty, brackt, stage = e.ls.bracket
        # While a line search waits for a trial, the iterate is its start point.
        searching = not e.done and e.nfev >= 1
        x, f, g = (e.ls.t, e.ls.fold, e.ls.r) if searching else (e.x, e.f, e.g)
        return dict(
            iteration=e.nit, nfev=e.nfev, x=x.copy(), f=f, g=g.copy(),
            projg=e.sbgnrm, xcp=None if e.xcp is None else e.xcp.copy(),
            free=e.index[:e.nfree].copy(), d=e.d.copy(), stp=e.ls.stp,
            bracket=dict(stx=stx, sty=sty, brackt=brackt, stage=stage),
            S=mem.ws[order].T.copy(), Y=mem.wy[order].T.copy(), theta=mem.theta,
            pending=None if e.done else e.pending.copy(), done=e.done,
            message=getattr(e, "message", None))

    # -------------------------------------------------------------- checkpoints
    def save_checkpoint(self, path):
        """Save the exact state (see :mod:`lbfgsb_py.checkpoint`) to ``path``."""
        checkpoint.save(path, self.engine, self.objective)

    @classmethod
    def resume(cls, path, fun=None, args=(), jac=None, *, eps=1e-08,
               finite_diff_rel_step=None, trace="iteration"):
        """Continue a run saved with :meth:`save_checkpoint`, bit for bit.

        Pass the same ``fun``/``jac``/``args``/``eps`` as the original run
        (``fun=None`` for ask/tell).  Trace events continue from where the
        checkpoint was taken.
        """
        meta, arrays = checkpoint.load(path)
        self = cls.__new__(cls)
        self.tracer = make_tracer(trace)
        self.tracer.open()
        self.engine = checkpoint.restore_engine(meta, arrays, self.tracer)
        self.engine.keep_cauchy_point = True
        lower, upper = bd.decode(self.engine.nbd, self.engine.l, self.engine.u)
        self.objective = None if fun is None else Objective(
            fun, self.engine.n, args, jac, eps, finite_diff_rel_step, lower, upper)
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


class _TellCounts:
    """Evaluation counts for a result built in ask/tell mode."""

    def __init__(self, nfev):
        self.nfev = nfev
        self.njev = nfev

"""The differential runner: the two backends stepped side by side, compared bit by bit.

:func:`compare_backends` runs one problem with the reference and the compiled
backend in lockstep.  Each evaluation point is evaluated once and told to
both; after every evaluation every field of the two
:class:`~lbfgsb_py.state.State` objects is compared by its bits (arrays by
their bytes, so even the sign of a zero counts; a NaN matches any NaN).  It
stops at the first difference and names the field and the evaluation, or
reports how many evaluations agreed.

Fields that are pure scratch space between two evaluations (their leftover
contents carry no meaning) can be named in :data:`WORKSPACE` and are skipped.
"""
import inspect
from dataclasses import dataclass

import numpy as np

from . import driver
from .api import checked_arguments, minimize
from .objective import Objective
from .trace import Tracer

#: State fields whose contents between evaluations are scratch (not compared).
WORKSPACE = ()


@dataclass(frozen=True)
class Agreement:
    """What :func:`compare_backends` found.

    ``evaluations``: evaluations after which both states were compared;
    ``fields`` / ``evaluation``: the fields that differed at the first
    comparison that found a difference, and after which evaluation (empty and
    ``None`` when every comparison agreed); ``message``: how the run ended
    (the reference's).
    """

    evaluations: int
    fields: tuple
    evaluation: int | None
    message: str

    @property
    def identical(self):
        return not self.fields

    def __str__(self):
        if self.identical:
            return f"identical after each of {self.evaluations} evaluations ({self.message})"
        names = ", ".join(f"state.{name}" for name in self.fields)
        return (f"first difference after evaluation {self.evaluation}: {names} "
                f"(the {self.evaluations - 1} evaluations before agreed)")


def differences(a, b, skip=WORKSPACE):
    """The fields whose bits differ between states a and b, alphabetically."""
    fa, fb = a.fields(), b.fields()
    return tuple(name for name in sorted(set(fa) | set(fb))
                 if name not in skip and not _same_bits(fa.get(name), fb.get(name)))


def first_difference(a, b, skip=WORKSPACE):
    """The first field (alphabetically) whose bits differ between states a and b, or None."""
    found = differences(a, b, skip)
    return found[0] if found else None


def _same_bits(a, b):
    """Same dtype, shape and bits; NaNs match NaNs whatever their sign and payload
    (when an operation meets two NaNs, which one it passes on is the compiler's
    choice, and no decision of the algorithm looks further than "is NaN")."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        a, b = np.where(np.isnan(a), np.nan, a), np.where(np.isnan(b), np.nan, b)
    return a.tobytes() == b.tobytes()


def compare_backends(fun, x0, args=(), jac=None, bounds=None, *, eps=1e-8,
                     finite_diff_rel_step=None, trace="full", **options):
    """Run ``fun`` on both backends in lockstep; return an :class:`Agreement`.

    Arguments are :func:`~lbfgsb_py.minimize`'s (no callback).  ``trace`` is the
    trace level both runs record (at "full" the Cauchy segment records are
    part of the state, so they are compared too).
    """
    x0, lower, upper, args, jac, options = checked_arguments(
        x0, args, jac, bounds, eps=eps, **{**_DEFAULTS, **options})
    objective = Objective(fun, x0.shape[0], args, jac, eps, finite_diff_rel_step, lower, upper)
    engines = [driver.start(x0, lower, upper, backend=name, tracer=_tracer(trace), **options)
               for name in ("reference", "compiled")]
    ref, cmp = engines
    count = 0
    fields = differences(ref.state, cmp.state)
    while not fields and not ref.done:
        f, g = objective(ref.pending)
        count += 1
        for engine in engines:
            engine.tell(f, g, objective.nfev)
        fields = differences(ref.state, cmp.state)
    return Agreement(count, fields, count if fields else None, ref.state.message)


_DEFAULTS = {name: p.default for name, p in inspect.signature(minimize).parameters.items()
             if name in ("maxcor", "ftol", "gtol", "maxfun", "maxiter", "maxls", "variant")}


def _tracer(level):
    tracer = Tracer(level=level)
    tracer.open()
    return tracer

"""Run the two subspace-step variants side by side and say where they part.

``variant="scipy"`` is L-BFGS-B 3.0 as SciPy runs it: after the subspace
Newton step, project onto the box and keep the projected point if it is a
descent direction [MN11].  ``variant="1995"`` is the original rule of
[BLNZ95 §5] (L-BFGS-B 2.x, R's ``optim`` and several Python ports): backtrack
along the Newton step to the first bound.  Both are traced with the same
schema, so the first iteration whose events differ names the decision that
made them part — usually a ``subspace_step`` whose ``outcome`` is
``projected`` in one and ``backtracked`` in the other.
"""
from dataclasses import dataclass

import numpy as np

from .api import minimize

#: Event fields compared to find the first differing decision (per kind).
DECISION_FIELDS = {
    "cauchy_point": ("n_segments", "n_active", "skipped"),
    "free_set": ("n_free", "n_entering", "n_leaving"),
    "subspace_step": ("outcome", "alpha"),
    "line_search_start": ("stp", "stpmax"),
    "line_search_trial": ("stp", "case", "task"),
    "line_search_end": ("outcome", "stp", "n_trials"),
    "bfgs_update": ("applied",),
    "memory_reset": ("reason",),
    "termination": ("message",),
}


@dataclass
class VariantComparison:
    """Where the two variants' runs part.

    ``iteration`` is the first iteration (1-based) whose decisions differ (None if
    the runs are identical), ``event`` the kind of the first differing event,
    ``scipy`` / ``v1995`` the differing field values, ``results`` both results.
    """

    iteration: int | None
    event: str | None
    scipy: dict
    v1995: dict
    results: dict

    def __str__(self):
        rs, r95 = self.results["scipy"], self.results["1995"]
        head = (f"scipy: {rs.message}, nit {rs.nit}, nfev {rs.nfev}, f {rs.fun:.6g}\n"
                f"1995:  {r95.message}, nit {r95.nit}, nfev {r95.nfev}, f {r95.fun:.6g}\n")
        if self.iteration is None:
            return head + "the two variants took the same decisions at every iteration"
        return (head + f"first difference at iteration {self.iteration}: {self.event}\n"
                f"  scipy: {_fmt(self.scipy)}\n  1995:  {_fmt(self.v1995)}")


def compare_variants(fun, x0, args=(), jac=None, bounds=None, **options):
    """Run ``variant="scipy"`` and ``variant="1995"``; return a :class:`VariantComparison`."""
    results = {v: minimize(fun, x0, args, jac, bounds, variant=v, trace="iteration", **options)
               for v in ("scipy", "1995")}
    a = _decisions(results["scipy"].trace)
    b = _decisions(results["1995"].trace)
    for (it_a, kind_a, vals_a), (it_b, kind_b, vals_b) in zip(a, b):
        if kind_a != kind_b or not _same(vals_a, vals_b):
            return VariantComparison(it_a + 1, kind_a if kind_a == kind_b else
                                     f"{kind_a} vs {kind_b}", vals_a, vals_b, results)
    if len(a) != len(b):
        it = min(len(a), len(b))
        last = (a or b)[it - 1][0] + 1 if it else 1
        return VariantComparison(last, "run length", {"events": len(a)}, {"events": len(b)},
                                 results)
    return VariantComparison(None, None, {}, {}, results)


def _decisions(trace):
    return [(e.iteration, e.kind, {f: getattr(e, f) for f in DECISION_FIELDS[e.kind]})
            for e in trace if e.kind in DECISION_FIELDS]


def _same(a, b):
    return all(_close(a[k], b[k]) for k in a)


def _close(u, v):
    if isinstance(u, float) and isinstance(v, float):
        return u == v or (np.isnan(u) and np.isnan(v)) or abs(u - v) <= 1e-12 * max(
            abs(u), abs(v))
    return u == v


def _fmt(values):
    return ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items())

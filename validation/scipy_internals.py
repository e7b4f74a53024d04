"""Read SciPy's own decisions, iteration by iteration, while ``scipy.optimize.minimize`` runs.

SciPy's compiled ``setulb`` keeps its state in the ``isave``/``dsave`` arrays the
Python driver passes in (``scipy/optimize/_lbfgsb_py.py``; offsets documented in
the facts file, §2.1).  :func:`recording` temporarily wraps ``setulb`` so that
at every NEW_X (an accepted iterate) the decisions of that iteration are copied
out: Cauchy segments ``nseg``, active bounds ``nact``, subspace outcome
``iword``, extra line-search trials ``iback``, accepted step ``stp``, the
memory size ``col`` and skipped updates ``nskip``.  These are the same
quantities our ``iteration_end`` / ``bfgs_update`` events carry, so the first
iteration where they differ names the decision that made the runs part.
"""
import contextlib

from scipy.optimize import _lbfgsb_py

NEW_X = 1
SUB_WORDS = {0: "con", 1: "bnd", 5: "TNT"}


class _Recorder:
    """Stands in for SciPy's ``_lbfgsb`` module; records decisions at NEW_X."""

    def __init__(self, real):
        self.real = real
        self.rows = []

    def setulb(self, m, x, l, u, nbd, f, g, factr, pgtol, wa, iwa, task, lsave, isave,
               dsave, maxls, ln_task):
        self.real.setulb(m, x, l, u, nbd, f, g, factr, pgtol, wa, iwa, task, lsave, isave,
                         dsave, maxls, ln_task)
        if task[0] == NEW_X:
            self.rows.append(dict(
                nseg=int(isave[32]), nact=int(isave[38]),
                sub=SUB_WORDS.get(int(isave[36]), "---"), itls=int(isave[24]),
                stepl=float(dsave[13]), col=int(isave[27]), nskip=int(isave[25])))

    def __getattr__(self, name):
        return getattr(self.real, name)


@contextlib.contextmanager
def recording():
    """``with recording() as rows:`` run ``scipy.optimize.minimize``; rows fill per iteration."""
    real = _lbfgsb_py._lbfgsb
    rec = _Recorder(real)
    _lbfgsb_py._lbfgsb = rec
    try:
        yield rec.rows
    finally:
        _lbfgsb_py._lbfgsb = real


def our_rows(trace):
    """The same decision fields from our trace, one dict per iteration."""
    rows = []
    col, nskip = 0, 0
    for e in trace:
        if e.kind == "iteration_start":
            col = e.col
        elif e.kind == "iteration_end":
            rows.append(dict(nseg=e.nseg, nact=e.nact, sub=e.sub, itls=e.itls, stepl=e.stepl,
                             col=col, nskip=nskip))
        elif e.kind == "bfgs_update":
            nskip = e.n_skipped
    return rows


def first_differing_decision(scipy_rows, our_rows_, rtol=1e-6):
    """(iteration, field, scipy value, our value) of the first difference, or None."""
    for k, (a, b) in enumerate(zip(scipy_rows, our_rows_), 1):
        # nseg is not compared: SciPy 1.15-1.17 never counts past 1 segment
        # (``*nseg += 1`` moves the pointer; fixed in 1.18).
        for field in ("nact", "sub", "itls", "col", "nskip"):
            if a[field] != b[field]:
                return k, field, a[field], b[field]
        if abs(a["stepl"] - b["stepl"]) > rtol * max(abs(a["stepl"]), 1e-300):
            return k, "stepl", a["stepl"], b["stepl"]
    return None

"""``python -m validation.first_difference PROBLEM``: where lbfgsb_py first parts from SciPy.

Drives SciPy's compiled ``setulb`` (reverse communication, as
``scipy/optimize/_lbfgsb_py.py`` does) and our :class:`~lbfgsb_py.driver.Engine`
side by side on one problem of :mod:`validation.problems`, each with its own
:class:`~lbfgsb_py.objective.Objective` of the same function.  At every return
of ``setulb`` (a point to evaluate, task FG, or an accepted iterate, NEW_X) it
compares everything SciPy keeps -- x, f, g, the scalars of ``dsave``, the
counters of ``isave``, and the workspace ``wa`` / ``iwa`` (S, Y, S'Y, S'S, J',
the factors of K and the inner products it is built from, the Cauchy vectors,
z, d, xold, gold, ...) -- with the same quantities of our
:class:`~lbfgsb_py.state.State` (:func:`scipy_fields`, :func:`our_fields`), and
stops at the first event where something differs, saying by how many units in
the last place (:func:`ulps`).

Then it narrows the difference down to one operation (:func:`narrow`): it
replays the step that led to that event operation by operation on *SciPy's*
inputs -- the workspace SciPy had before the step and the values it wrote
during it -- computing each result twice: with our model of OpenBLAS
(:mod:`lbfgsb_py.reference.blas`) or the C expression as we write it, and with
the very OpenBLAS SciPy's L-BFGS-B calls (``scipy.linalg.blas`` /
``scipy.linalg.lapack``).  The first operation whose result differs from
SciPy's, with its inputs, is the first differing operation.

Options: ``--backend reference|compiled`` (default: ``auto``), ``--save FILE.npz``
(the inputs of the differing operation, to reproduce it).
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import _lbfgsb

from lbfgsb_py import bounds as bnd
from lbfgsb_py import driver
from lbfgsb_py.api import checked_arguments
from lbfgsb_py.objective import Objective

from . import problems

#: SciPy's task codes (``enum Status`` in ``__lbfgsb.c``).
START, NEW_X, FG = 0, 1, 3
EPS = np.finfo(np.float64).eps


# ============================================================ units in the last place
def _ordered(a):
    """The float64 bit patterns as integers that sort like the floats."""
    i = np.asarray(a, dtype=np.float64).view(np.int64)
    return np.where(i < 0, np.int64(-2 ** 63) - i, i)


def ulps(a, b):
    """|a - b| in units in the last place (elementwise; same NaN bits count 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = _ordered(a).astype(object) - _ordered(b).astype(object) if a.ndim == 0 else \
        np.abs(_ordered(a) - _ordered(b))
    return abs(d) if a.ndim == 0 else d


def same_bits(a, b):
    """Same shape and the same bit patterns."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


# ============================================================ SciPy's side
class ScipyRun:
    """SciPy's ``setulb`` in reverse communication, with its whole state at hand.

    Mirrors the loop of ``_minimize_lbfgsb``: evaluate at FG, count and test
    ``maxiter`` / ``maxfun`` at NEW_X.  :meth:`advance` makes one ``setulb``
    call and returns the event ("FG", "NEW_X" or "END").
    """

    def __init__(self, problem, options):
        self.n, self.m = problem.n, options["maxcor"]
        lower, upper = problem.bounds_arrays()
        nbd, l, u = bnd.encode(lower, upper)
        self.nbd, self.l, self.u = nbd.astype(np.int32), l, u
        self.x = np.clip(problem.x0, lower, upper).astype(np.float64)
        self.f = np.array(0.0)
        self.g = np.zeros(self.n)
        m, n = self.m, self.n
        self.wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m)
        self.iwa = np.zeros(3 * n, np.int32)
        self.task, self.ln_task = np.zeros(2, np.int32), np.zeros(2, np.int32)
        self.lsave, self.isave = np.zeros(4, np.int32), np.zeros(44, np.int32)
        self.dsave = np.zeros(29)
        self.factr, self.pgtol = options["ftol"] / EPS, options["gtol"]
        self.maxls, self.maxiter, self.maxfun = (options["maxls"], options["maxiter"],
                                                 options["maxfun"])
        self.objective = Objective(problem.fun, n, (), problem.jac, 1e-8, None, lower, upper)
        self.nit = 0

    def advance(self):
        """Evaluate if asked (FG) or finish NEW_X, then call ``setulb`` once."""
        if self.task[0] == FG:
            f, g = self.objective(self.x)
            self.f = np.array(f, dtype=np.float64)
            self.g = np.asarray(g, dtype=np.float64).copy()
        elif self.task[0] == NEW_X:
            self.nit += 1
            if self.nit >= self.maxiter:
                self.task[:] = (5, 504)
            elif self.objective.nfev > self.maxfun:
                self.task[:] = (5, 502)
        _lbfgsb.setulb(self.m, self.x, self.l, self.u, self.nbd, self.f, self.g, self.factr,
                       self.pgtol, self.wa, self.iwa, self.task, self.lsave, self.isave,
                       self.dsave, self.maxls, self.ln_task)
        return {FG: "FG", NEW_X: "NEW_X"}.get(int(self.task[0]), "END")

    def snapshot(self):
        """A copy of everything SciPy keeps (a :class:`Snapshot`)."""
        return Snapshot(self.n, self.m, self.x.copy(), float(self.f), self.g.copy(),
                        self.wa.copy(), self.iwa.copy(), self.isave.copy(), self.dsave.copy(),
                        self.lsave.copy(), self.task.copy(),
                        (self.l, self.u, self.nbd.astype(np.int64)))


@dataclass
class Snapshot:
    """SciPy's state at one return of ``setulb``, with the workspace cut into
    its named parts (offsets of ``setulb``: ws, wy, sy, ss, wt, wn, snd, z, r,
    d, t, xp, wa)."""

    n: int
    m: int
    x: np.ndarray
    f: float
    g: np.ndarray
    wa: np.ndarray
    iwa: np.ndarray
    isave: np.ndarray
    dsave: np.ndarray
    lsave: np.ndarray
    task: np.ndarray
    bounds: tuple = ()      # (l, u, nbd)
    parts: dict = field(init=False)

    def __post_init__(self):
        n, m = self.n, self.m
        sizes = [("ws", m * n), ("wy", m * n), ("sy", m * m), ("ss", m * m), ("wt", m * m),
                 ("wn", 4 * m * m), ("snd", 4 * m * m), ("z", n), ("r", n), ("d", n),
                 ("t", n), ("xp", n), ("wa", 8 * m)]
        self.parts, at = {}, 0
        for name, size in sizes:
            self.parts[name] = self.wa[at:at + size]
            at += size
        p = self.parts
        p["ws"], p["wy"] = p["ws"].reshape(m, n), p["wy"].reshape(m, n)
        for name in ("sy", "ss", "wt"):
            p[name] = p[name].reshape(m, m, order="F")    # [row, column] as in C's a[r + m c]
        for name in ("wn", "snd"):
            p[name] = p[name].reshape(2 * m, 2 * m, order="F")

    # mainlb's saved locals (isave[21:], dsave[:16]) and dcsrch's (isave[42:], dsave[16:])
    INTS = dict(nintol=21, iback=24, nskip=25, head=26, col=27, itail=28, iter=29,
                iupdat=30, nseg=32, nfgv=33, info=34, ifun=35, iword=36, nfree=37, nact=38,
                ileave=39, nenter=40)
    FLOATS = dict(theta=0, fold=1, dnorm=3, gd=10, stpmx=11, sbgnrm=12, stp=13, gdold=14,
                  dtd=15)

    def int_(self, name):
        return int(self.isave[self.INTS[name]])

    def float_(self, name):
        return np.float64(self.dsave[self.FLOATS[name]])

    @property
    def cnstnd(self):
        return bool(self.lsave[1])

    @property
    def updatd(self):
        return bool(self.lsave[3])

    def slots(self):
        """Ring rows of the stored pairs, oldest first."""
        return [(self.int_("head") + j) % self.m for j in range(self.int_("col"))]


# ============================================================ the quantities compared
#: The quantities compared, in the order an iteration computes them: the memory
#: update (at the first FG after NEW_X), the Cauchy point and free set, K, the
#: subspace step, d, the line search, the new point.
ORDER = ("head", "col", "itail", "iupdat", "nskip", "ws", "wy", "sy", "ss", "theta", "wt",
         "iwhere", "cauchy_p", "cauchy_c", "cauchy_wbp", "cauchy_v", "nfree", "nact", "nenter",
         "ileave", "index", "indx2_enter", "indx2_leave", "snd", "wn", "wv", "xp", "iword", "z",
         "d", "dnorm", "dtd", "stpmx", "xold", "gold", "fold", "gd", "gdold", "dcsrch_isave",
         "dcsrch_dsave", "stp", "ifun", "iback", "nfgv", "x", "iter", "sbgnrm", "f", "g")


def _lower(a, k):
    return a[:k, :k][np.tril_indices(k)]


def _upper(a, k):
    return a[:k, :k][np.triu_indices(k)]


def _snd_mask(m, col):
    """The entries of SciPy's ``snd`` (2m x 2m) that hold inner products for ``col`` pairs:
    Y'ZZ'Y and S'AA'S (lower triangles), the S'Y block (all of it)."""
    mask = np.zeros((2 * m, 2 * m), dtype=bool)
    low = np.tri(col, dtype=bool)
    mask[:col, :col] = low
    mask[m:m + col, m:m + col] = low
    mask[m:m + col, :col] = True
    return mask


def snd_from_wn1(wn1, m, col):
    """Our ``wn1`` (four col x col blocks) laid out as SciPy's ``snd``."""
    from lbfgsb_py.constants import SS_A, SY_A, SY_Z, YY_Z
    snd = np.zeros((2 * m, 2 * m))
    snd[:m, :m] = wn1[YY_Z]
    snd[m:, m:] = wn1[SS_A]
    upper = np.triu(np.ones((m, m), dtype=bool))
    snd[m:, :m] = np.where(upper, wn1[SY_Z], wn1[SY_A])
    return snd


def paired_fields(sp, s):
    """{name: (SciPy's value, ours)} for SciPy's snapshot ``sp`` and our state ``s``
    at the same event.  Which entries are compared follows SciPy's counters
    (col, nfree, ...), so that a differing counter shows as itself."""
    p, m, n = sp.parts, sp.m, sp.n
    col, slots = sp.int_("col"), sp.slots()
    out = {name: (sp.int_(name), int(getattr(s, name))) for name in
           ("head", "col", "itail", "iupdat", "nskip", "nfree", "nact", "nenter", "ileave",
            "iword", "ifun", "iback", "nfgv", "iter")}
    out.update({name: (sp.float_(name), np.float64(getattr(s, name))) for name in
                ("theta", "dnorm", "dtd", "stpmx", "fold", "gd", "gdold", "stp", "sbgnrm")})
    out.update(ws=(p["ws"][slots], s.ws[slots]), wy=(p["wy"][slots], s.wy[slots]),
               sy=(_lower(p["sy"], col), _lower(s.sy, col)),
               ss=(_upper(p["ss"], col), _upper(s.ss, col)),
               wt=(_upper(p["wt"], col), _upper(s.wt, col)),
               wn=(_upper(p["wn"], 2 * col), _upper(s.wn, 2 * col)),
               z=(p["z"], s.z), d=(p["d"], s.d), xold=(p["t"], s.xold), gold=(p["r"], s.gold),
               x=(sp.x, s.x), f=(np.float64(sp.f), np.float64(s.f)), g=(sp.g, s.g),
               dcsrch_isave=(sp.isave[42:44].astype(np.int64), s.isave.astype(np.int64)),
               dcsrch_dsave=(sp.dsave[16:29], s.dsave))
    mask = _snd_mask(m, col)
    out["snd"] = (p["snd"][mask], snd_from_wn1(s.wn1, m, col)[mask])
    wa = p["wa"]
    if sp.int_("iword") != -1:                  # subsm ran: wa[:2col] is its wv
        out["wv"] = (wa[:2 * col], s.v[:2 * col])
    if sp.cnstnd:
        out.update(xp=(p["xp"], s.xp), cauchy_c=(wa[2 * m:2 * m + 2 * col], s.c[:2 * col]),
                   cauchy_wbp=(wa[4 * m:4 * m + 2 * col], s.wbp[:2 * col]),
                   iwhere=(sp.iwa[n:2 * n].astype(np.int64), s.iwhere.astype(np.int64)),
                   index=(sp.iwa[:n].astype(np.int64), s.index.astype(np.int64)),
                   indx2_enter=(sp.iwa[2 * n:2 * n + sp.int_("nenter")].astype(np.int64),
                                s.indx2[:sp.int_("nenter")].astype(np.int64)),
                   indx2_leave=(sp.iwa[2 * n + sp.int_("ileave"):].astype(np.int64),
                                s.indx2[sp.int_("ileave"):].astype(np.int64)))
        if sp.int_("iword") == -1:              # no subsm: wa[:2m] is p, wa[6m:] is v
            out.update(cauchy_p=(wa[:2 * col], s.p[:2 * col]),
                       cauchy_v=(wa[6 * m:6 * m + 2 * col], s.v[:2 * col]))
    return out


@dataclass
class FieldDifference:
    """One quantity that differs: where, both values there, and how much."""

    name: str
    count: int              # entries that differ
    size: int
    first: tuple            # index of the first differing entry
    scipy: object
    ours: object
    ulps: int               # at that entry (floats), else None
    max_ulps: int

    def line(self):
        where = f"[{', '.join(map(str, self.first))}]" if self.first else ""
        u = "" if self.ulps is None else f", {self.ulps} ulp (max {self.max_ulps})"
        return (f"{self.name}{where}: SciPy {self.scipy!r}, ours {self.ours!r}"
                f"{u}; {self.count} of {self.size} entries differ")


def compare_fields(fields):
    """The differing quantities of ``paired_fields``, in :data:`ORDER`."""
    diffs = []
    for name in ORDER:
        if name not in fields:
            continue
        a, b = (np.asarray(v) for v in fields[name])
        if same_bits(a, b):
            continue
        if a.shape != b.shape:
            diffs.append(FieldDifference(name, -1, a.size, (), a.shape, b.shape, None, None))
            continue
        differ = np.atleast_1d(a != b) if a.dtype.kind in "iu" else \
            np.atleast_1d(a.view(np.uint64) != b.view(np.uint64))
        first = tuple(int(i) for i in np.argwhere(differ.reshape(a.shape) if a.ndim
                                                   else differ)[0]) if a.ndim else ()
        av, bv = (a[first], b[first]) if a.ndim else (a[()], b[()])
        floats = a.dtype.kind == "f"
        u = int(ulps(av, bv)) if floats else None
        mu = int(np.max(ulps(a, b))) if floats else None
        diffs.append(FieldDifference(name, int(np.count_nonzero(differ)), a.size, first,
                                     av.item(), bv.item(), u, mu))
    return diffs


# ============================================================ the two runs in lockstep
class Differs(Exception):
    """Raised at the first event where some quantity differs."""

    def __init__(self, event):
        super().__init__(event.kind)
        self.event = event


@dataclass
class Event:
    """One return of ``setulb`` (and our matching moment), numbered from 0."""

    number: int
    kind: str               # "FG", "NEW_X" or "END"
    nfev: int               # evaluations done so far
    iteration: int          # SciPy's iter
    diffs: list
    scipy_before: Snapshot = None
    scipy_after: Snapshot = None
    ours_before: object = None      # our State at the previous event (a copy)
    ours_after: object = None


class Lockstep:
    """Our engine, with SciPy's run advanced one ``setulb`` call per event of ours.

    Our events: each return of :meth:`Engine.tell` (a point to evaluate, or the
    end) and each NEW_X (our callback, called where SciPy returns NEW_X).
    """

    def __init__(self, problem, backend="auto"):
        *_, options = checked_arguments(problem.x0, (), problem.jac, problem.bounds,
                                        **_all_options(problem.options))
        self.scipy = ScipyRun(problem, options)
        self.objective = Objective(problem.fun, problem.n, (), problem.jac, 1e-8, None,
                                   *problem.bounds_arrays())
        lower, upper = problem.bounds_arrays()
        self.engine = driver.start(problem.x0, lower, upper, backend=backend,
                                   callback=self._at_new_x, **options)
        self.events = 0
        self.previous = (None, None)

    def _at_new_x(self, x, f):
        self._event("NEW_X")
        return False

    def _event(self, kind):
        """Advance SciPy to its next return and compare; raise :class:`Differs`."""
        got = self.scipy.advance()
        sp, s = self.scipy.snapshot(), self.engine.state
        fields = paired_fields(sp, s)
        if self.events == 0:                    # before x0 is evaluated: only x is set
            fields = {"x": fields["x"]}
        diffs = compare_fields(fields)
        if got != kind:
            diffs.insert(0, FieldDifference("task", 1, 1, (), got, kind, None, None))
        event = Event(self.events, kind, self.scipy.objective.nfev, sp.int_("iter"), diffs,
                      self.previous[0], sp, self.previous[1], copy.deepcopy(s))
        if diffs:
            raise Differs(event)
        self.previous = (sp, event.ours_after)
        self.events += 1
        return event

    def run(self):
        """Run to the first difference (its :class:`Event`) or the end (None)."""
        try:
            x = self.engine.pending
            self._event("FG")
            while x is not None:
                f, g = self.objective(x)
                x = self.engine.tell(f, g, self.objective.nfev)
                self._event("FG" if x is not None else "END")
        except Differs as found:
            return found.event
        return None


def _all_options(options):
    full = dict(maxcor=10, ftol=2.220446049250313e-09, gtol=1e-05, eps=1e-8, maxfun=15000,
                maxiter=15000, maxls=20, variant="scipy")
    full.update(options)
    return full


# ============================================================ narrowing to one operation
@dataclass
class Operation:
    """One BLAS/LAPACK call or C expression replayed on SciPy's inputs.

    ``scipy``: the value SciPy computed (read from its workspace, or, where SciPy
    overwrote it, recomputed by the same OpenBLAS call on SciPy's inputs);
    ``ours``: our model on the same inputs; ``openblas``: the OpenBLAS call itself
    through ``scipy.linalg`` (None for a C expression).
    """

    name: str
    inputs: dict
    scipy: np.ndarray
    ours: np.ndarray
    openblas: object = None
    note: str = ""

    @property
    def differs(self):
        return not same_bits(np.asarray(self.scipy, dtype=np.float64),
                             np.asarray(self.ours, dtype=np.float64))

    def lines(self):
        a, b = np.atleast_1d(self.scipy).ravel(), np.atleast_1d(self.ours).ravel()
        out = [f"{self.name}: {'DIFFERS' if self.differs else 'same bits'}"
               + (f" ({self.note})" if self.note else "")]
        if self.differs and a.shape == b.shape:
            bad = np.flatnonzero(a.view(np.uint64) != b.view(np.uint64))
            u = ulps(a, b)
            out.append(f"    {bad.shape[0]} of {a.shape[0]} entries differ, first at {bad[0]}: "
                       f"SciPy {float(a[bad[0]])!r}, ours {float(b[bad[0]])!r} ({u[bad[0]]} ulp; "
                       f"max {u.max()} ulp)")
            if self.openblas is not None:
                ob = np.atleast_1d(self.openblas).ravel()
                out.append(f"    OpenBLAS via scipy.linalg: {float(ob[bad[0]])!r}"
                           f" ({'= SciPy' if same_bits(ob, a) else '!= SciPy'})")
        return out


def _blas():
    from scipy.linalg import blas, lapack
    return blas, lapack


def update_operations(b, a):
    """The memory update SciPy made on the way from NEW_X ``b`` to ``a`` (``mainlb``
    after LINE777, ``matupd``, ``formt``), each operation on SciPy's inputs."""
    from lbfgsb_py.reference import blas as model
    blas, lapack = _blas()
    if a.int_("iupdat") == b.int_("iupdat") or a.int_("col") == 0:
        return []                                   # no pair stored (skipped or reset)
    m, col, it = a.m, a.int_("col"), a.int_("itail")
    ops = []
    y = b.g - b.parts["r"]                          # r held g_old since the line search
    ops.append(Operation("y = g - r (C loop)", dict(g=b.g, r=b.parts["r"]),
                         a.parts["wy"][it], y))
    y = a.parts["wy"][it]
    dr = a.parts["sy"][col - 1, col - 1]
    nrm_ob, nrm_ours = np.float64(blas.dnrm2(y)), model.norm2(y)
    theta_ours, theta_ob = (nrm_ours * nrm_ours) / dr, (nrm_ob * nrm_ob) / dr
    ops.append(Operation("dnrm2(y) (rr = dnrm2(y)^2, theta = rr / dr)", dict(y=y, dr=dr),
                         nrm_ob, nrm_ours, nrm_ob,
                         note=f"theta: SciPy {float(a.float_('theta'))!r}, from OpenBLAS's "
                              f"dnrm2 {float(theta_ob)!r}, from ours {float(theta_ours)!r}"))
    s = a.parts["ws"][it]
    for j, slot in enumerate(a.slots()[:-1]):
        w = a.parts["wy"][slot]
        ops.append(Operation(f"ddot(s, y[{j}]) -> sy[{col - 1}, {j}]", dict(s=s, y=w),
                             a.parts["sy"][col - 1, j], model.dot(s, w), blas.ddot(s, w)))
        v = a.parts["ws"][slot]
        ops.append(Operation(f"ddot(s[{j}], s) -> ss[{j}, {col - 1}]", dict(sj=v, s=s),
                             a.parts["ss"][j, col - 1], model.dot(v, s), blas.ddot(v, s)))
    theta = a.float_("theta")
    T = np.zeros((m, m))
    formt_T(T, a.parts["sy"], a.parts["ss"], col, theta)
    ours_R = T[:col, :col].copy()
    model.cholesky_upper(ours_R)
    ob_R, _ = lapack.dpotrf(T[:col, :col], lower=0, clean=0)
    ops.append(Operation("formt: T = theta S'S + L D^-1 L' (C loops), checked through "
                         "OpenBLAS dpotrf", dict(sy=a.parts["sy"], ss=a.parts["ss"],
                                                 theta=theta, col=col),
                         _upper(a.parts["wt"], col), _upper(ob_R, col)))
    ops.append(Operation("dpotrf('U', T) -> wt", dict(T=T[:col, :col]),
                         _upper(a.parts["wt"], col), _upper(ours_R, col), _upper(ob_R, col)))
    return ops


def formt_T(wt, sy, ss, col, theta):
    """T of ``formt`` before its factorization, in the upper triangle of ``wt``:
    our :func:`~lbfgsb_py.reference.compact.formt` run with its ``dpotrf`` switched off."""
    from unittest import mock

    from lbfgsb_py.reference import compact
    with mock.patch.object(compact, "cholesky_upper", lambda A: 0):
        compact.formt(wt, sy, ss, col, np.float64(theta))


def wn1_from_snd(snd, m):
    """SciPy's ``snd`` as our ``wn1`` (the inverse of :func:`snd_from_wn1`)."""
    from lbfgsb_py.constants import SS_A, SY_A, SY_Z, YY_Z
    wn1 = np.zeros((4, m, m))
    low = np.tri(m, dtype=bool)
    for block, part in ((YY_Z, snd[:m, :m]), (SS_A, snd[m:, m:])):
        wn1[block] = np.where(low, part, part.T)
    wn1[SY_Z] = np.triu(snd[m:, :m])
    wn1[SY_A] = np.tril(snd[m:, :m], -1)
    return wn1


def formk_operations(a):
    """K from SciPy's inner products (``snd``) and its factorization (``formk``):
    each LAPACK/BLAS call on the result OpenBLAS gives for the call before it."""
    from lbfgsb_py.constants import SS_A, SY_A, SY_Z, YY_Z
    from lbfgsb_py.reference import blas as model
    blas, lapack = _blas()
    m, col, theta = a.m, a.int_("col"), a.float_("theta")
    wn1, sy, wn = wn1_from_snd(a.parts["snd"], m), a.parts["sy"], a.parts["wn"]
    up = np.triu_indices(col)
    K11, K22 = np.zeros((col, col)), np.zeros((col, col))
    K11[up] = (wn1[YY_Z, :col, :col].T / theta)[up]
    K22[up] = (wn1[SS_A, :col, :col].T * theta)[up]
    below = np.tri(col, k=-1, dtype=bool)
    K12 = np.where(below, -wn1[SY_A, :col, :col], wn1[SY_Z, :col, :col]).T.copy()
    K11[np.diag_indices(col)] += np.diagonal(sy)[:col]
    ops = []
    R11_ob, _ = lapack.dpotrf(K11, lower=0, clean=0)
    R11 = K11.copy()
    model.cholesky_upper(R11)
    ops.append(Operation("formk: dpotrf('U', K11) -> wn[:col, :col]", dict(K11=K11),
                         _upper(wn, col), _upper(R11, col), _upper(R11_ob, col)))
    R11 = wn[:col, :col]
    B_ob, _ = lapack.dtrtrs(R11, K12, lower=0, trans=1)
    B = K12.copy()
    model.solve_upper_transposed(np.triu(R11), B)
    ops.append(Operation("formk: dtrtrs('U', 'T', R11, K12) -> wn[:col, col:]",
                         dict(R11=np.triu(R11), K12=K12), wn[:col, col:2 * col], B, B_ob))
    B = wn[:col, col:2 * col]
    S_ob, S = K22.copy(), K22.copy()
    for i, j in zip(*up):
        S_ob[i, j] += blas.ddot(B[:, i], B[:, j])
        S[i, j] = S[i, j] + model.dot(B[:, i], B[:, j])
    ops.append(Operation("formk: K22 + ddot(columns of wn[:col, col:]) (Schur complement)",
                         dict(K22=K22, B=B), _upper(S_ob, col), _upper(S, col),
                         _upper(S_ob, col), note="SciPy's value: OpenBLAS's ddot"))
    R22_ob, _ = lapack.dpotrf(S_ob, lower=0, clean=0)
    R22 = S_ob.copy()
    model.cholesky_upper(R22)
    ops.append(Operation("formk: dpotrf('U', Schur complement) -> wn[col:, col:]",
                         dict(S=S_ob), _upper(wn[col:2 * col, col:2 * col], col),
                         _upper(R22, col), _upper(R22_ob, col)))
    return ops


def reduced_gradient(a):
    """r of ``cmprlb`` on the free variables, as our model computes it from SciPy's
    inputs (x, g, the Cauchy point xp, c = W'(xcp - x), the memory)."""
    from types import SimpleNamespace

    from lbfgsb_py.reference import subspace
    nfree = a.int_("nfree")
    if not a.cnstnd:
        return -a.g[a.iwa[:nfree]]
    m = a.m
    s = SimpleNamespace(index=a.iwa[:a.n].astype(np.int64), z=a.parts["xp"], x=a.parts["t"],
                        g=a.g, theta=a.float_("theta"), sy=a.parts["sy"], wt=a.parts["wt"],
                        col=a.int_("col"), c=a.parts["wa"][2 * m:4 * m].copy(),
                        v=np.zeros(2 * m), ws=a.parts["ws"], wy=a.parts["wy"],
                        head=a.int_("head"), m=m, r=np.zeros(a.n))
    subspace.reduced_gradient(s, nfree)
    return s.r[:nfree]


def subspace_operations(a):
    """The Newton step of ``subsm`` on SciPy's inputs: the sums W'Z r, the two
    ``dtrtrs`` with K's factors, the step r + Z'W wv / theta, and xbar."""
    from lbfgsb_py.reference import blas as model
    from lbfgsb_py.reference.blas import running_sum
    _, lapack = _blas()
    col, theta, nfree = a.int_("col"), a.float_("theta"), a.int_("nfree")
    free = a.iwa[:nfree].astype(np.int64)
    r = reduced_gradient(a)
    slots = a.slots()
    Yz, Sz = a.parts["wy"][slots][:, free], a.parts["ws"][slots][:, free]
    wv = np.concatenate((running_sum(Yz * r), theta * running_sum(Sz * r)))
    K = np.triu(a.parts["wn"][:2 * col, :2 * col])
    ops = []
    w1_ob, _ = lapack.dtrtrs(K, wv, lower=0, trans=1)
    w1 = wv.copy()
    model.solve_upper_transposed(K, w1)
    ops.append(Operation("subsm: dtrtrs('U', 'T', wn, W'Z r)", dict(wn=K, rhs=wv), w1_ob, w1,
                         w1_ob, note="SciPy's value: OpenBLAS's; the rhs: our C loops on "
                                     "SciPy's r"))
    w1_ob = np.concatenate((-w1_ob[:col], w1_ob[col:]))
    w2_ob, _ = lapack.dtrtrs(K, w1_ob, lower=0, trans=0)
    w2 = w1_ob.copy()
    model.solve_upper(K, w2)
    ops.append(Operation("subsm: dtrtrs('U', 'N', wn, ...) -> wv = wa[:2col]",
                         dict(wn=K, rhs=w1_ob), a.parts["wa"][:2 * col], w2, w2_ob))
    wv = a.parts["wa"][:2 * col]
    d = r.copy()
    for j in range(col):
        d = (d + Yz[j] * wv[j] / theta) + Sz[j] * wv[col + j]
    d = d * (1.0 / theta)
    ops.append(Operation("subsm: r + Z'W wv / theta, times 1/theta; xcp + that, projected "
                         "or backtracked into the box (C loops)", dict(r=r, wv=wv, theta=theta),
                         a.parts["z"], subspace_point(a, free, d)))
    return ops


def subspace_point(a, free, d):
    """xbar from SciPy's Cauchy point and our Newton step ``d`` (``subsm``'s end):
    xcp + d, projected into the box, or backtracked if that is uphill [MN11]."""
    from lbfgsb_py.reference.blas import running_sum
    from lbfgsb_py.reference.subspace import backtrack_step, project_step
    xcp = a.parts["xp"] if a.cnstnd else a.parts["t"]
    z = xcp.copy()
    if not a.cnstnd:
        z[free] = z[free] + d
        return z
    l, u, nbd = a.bounds
    if project_step(z, d, l, u, nbd, free) and running_sum((z - a.parts["t"]) * a.g) > 0.0:
        z = xcp.copy()
        backtrack_step(z, d.copy(), l, u, nbd, free)
    return z


def line_search_operations(b, a, start):
    """``lnsrlb`` on SciPy's inputs: d = z - x, dnrm2(d) (at a new search), the
    slope ddot(g, d) (if ``a`` follows an evaluation) and the trial point."""
    from lbfgsb_py.reference import blas as model
    from lbfgsb_py.reference.line_search import trial_point
    blas, _ = _blas()
    p, ops = a.parts, []
    if start:
        d = p["z"] - p["t"]
        ops.append(Operation("d = z - x (C loop)", dict(z=p["z"], x=p["t"]), p["d"], d))
        ops.append(Operation("dnrm2(d) -> dnorm", dict(d=p["d"]), a.float_("dnorm"),
                             model.norm2(p["d"]), np.float64(blas.dnrm2(p["d"]))))
    if b.task[0] == FG or start:
        ops.append(Operation("ddot(g, d) -> gd", dict(g=a.g, d=p["d"]), a.float_("gd"),
                             model.dot(a.g, p["d"]), np.float64(blas.ddot(a.g, p["d"]))))
    if a.task[0] == FG:
        x = np.empty(a.n)
        l, u, nbd = a.bounds
        trial_point(x, p["t"], p["d"], p["z"], a.float_("stp"), l, u, nbd, a.cnstnd)
        ops.append(Operation("x = stp d + xold, clipped (C loop)",
                             dict(stp=a.float_("stp"), d=p["d"], xold=p["t"]), a.x, x))
    return ops


def step_operations(b, a):
    """Every operation replayed for the step from SciPy's event ``b`` to ``a``, in
    SciPy's order of execution."""
    ops = []
    start = b.task[0] == NEW_X or b.int_("iter") == 0 and b.int_("ifun") == 0
    if b.task[0] == NEW_X:
        ops += update_operations(b, a)
    if start and a.int_("iword") != -1 and a.int_("col") > 0:
        ops += formk_operations(a)
        ops += subspace_operations(a)
    ops += line_search_operations(b, a, start)
    return ops


def narrow(event):
    """The operations of the step that led to ``event``, replayed on SciPy's inputs;
    returns (all operations, the first that differs or None)."""
    ops = step_operations(event.scipy_before, event.scipy_after)
    first = next((op for op in ops if op.differs), None)
    return ops, first


# ============================================================ the command
def report(problem, event, seconds, out=sys.stdout):
    """Print the first difference and the operation it comes from."""
    print(f"{problem.name} (n = {problem.n})", file=out)
    if event is None:
        print("  no difference: every quantity has SciPy's bits at every return of setulb",
              file=out)
        return None
    x_differs = any(d.name == "x" for d in event.diffs)
    print(f"  first difference at event {event.number} ({event.kind} return of setulb), "
          f"after {event.nfev} evaluations (iteration {event.iteration}); x "
          f"{'differs' if x_differs else 'still has SciPy bits'} there", file=out)
    print("  differing quantities, in the order the iteration computes them:", file=out)
    for d in event.diffs:
        print(f"    {d.line()}", file=out)
    if event.scipy_before is None:
        return None
    ops, first = narrow(event)
    print(f"  replay of the step from event {event.number - 1} "
          f"({'NEW_X' if event.scipy_before.task[0] == NEW_X else 'FG'}) on SciPy's inputs:",
          file=out)
    for op in ops:
        for line in op.lines():
            print(f"    {line}", file=out)
        if op is first:
            break
    if first is None:
        print("  no replayed operation differs (the difference comes from one not replayed)",
              file=out)
    else:
        print(f"  first differing operation: {first.name}", file=out)
    print(f"  ({seconds:.1f} s)", file=out)
    return first


def save(path, op):
    """The inputs and both results of ``op`` in an .npz file."""
    arrays = {f"input_{k}": np.asarray(v) for k, v in op.inputs.items()}
    np.savez(path, scipy=np.asarray(op.scipy), ours=np.asarray(op.ours), **arrays)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m validation.first_difference",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("problem", help="a name from validation/problems.py")
    ap.add_argument("--backend", default="auto", choices=("auto", "reference", "compiled"))
    ap.add_argument("--save", help="write the differing operation's inputs to this .npz")
    args = ap.parse_args(argv)
    problem = problems.get(args.problem)
    t0 = time.perf_counter()
    event = Lockstep(problem, args.backend).run()
    first = report(problem, event, time.perf_counter() - t0)
    if first is not None and args.save:
        save(args.save, first)
        print(f"  inputs saved to {args.save}")


if __name__ == "__main__":
    main()

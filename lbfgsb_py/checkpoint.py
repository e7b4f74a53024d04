"""Exact checkpoints: save a run between two evaluations, resume it bit for bit.

A checkpoint holds everything the run's future depends on — x, f, g, the
L-BFGS memory (S, Y, S'Y, S'S, the factor J', theta, ring pointers), the free
set, the search direction, the line-search state (start point, dcsrch bracket
and stage, trial counters), the driver's counters and the objective's
evaluation counts and one-point cache — in a NumPy ``.npz`` file (exact bits,
no pickle).  It is taken while a line-search trial is pending, so the resumed
run starts by evaluating that trial and then continues exactly as the
uninterrupted one would.  Callables (``fun``, ``jac``, callback) are not saved:
pass them again when resuming.
"""
import json

import numpy as np

from . import trace as ev
from .driver import Engine
from .line_search import LineSearch
from .lbfgs_matrices import LBFGSMemory

FORMAT = "lbfgsb_py.checkpoint/1"
ENGINE_FIELDS = (
    "n", "m", "nbd", "l", "u", "x", "f", "g", "z", "d", "r", "xp", "t_break", "iwhere",
    "index", "indx2", "iorder", "p", "c", "wbp", "v", "wn", "wn1", "nenter", "ileave",
    "cnstnd", "boxed", "n_projected",
    "ftol", "gtol", "maxls", "maxiter", "maxfun", "variant_code", "iter", "nfgv", "nseg",
    "nintol", "nskip", "nfree", "nact", "iword", "sbgnrm", "wrk", "nit", "nfev", "f_last")
MEMORY_FIELDS = ("ws", "wy", "sy", "ss", "wt", "theta", "col", "head", "itail", "iupdat",
                 "updatd")
LS_FIELDS = ("t", "r", "istate", "dstate", "fold", "stp", "stpmx", "dnorm", "dtd", "gd",
             "gdold", "ifun", "iback", "task", "msg", "case")
OBJECTIVE_FIELDS = ("nfev", "njev", "_x", "_f", "_g")


def save(path, engine, objective=None):
    """Write the state of a run that waits for f, g at ``engine.pending``."""
    if engine.done:
        raise ValueError("the run has ended: there is nothing to resume")
    if engine.nfev < 1:
        raise ValueError("no evaluation yet: start a new run instead of resuming")
    arrays = {}
    _put(arrays, "engine", engine, ENGINE_FIELDS)
    _put(arrays, "memory", engine.memory, MEMORY_FIELDS)
    _put(arrays, "ls", engine.ls, LS_FIELDS)
    if objective is not None:
        _put(arrays, "objective", objective, OBJECTIVE_FIELDS)
    meta = dict(format=FORMAT, variant=engine.variant, schema=ev.SCHEMA_VERSION,
                objective=None if objective is None else dict(
                    eps=np.asarray(objective.eps).tolist(), rel_step=objective.rel_step,
                    jac=objective.jac if isinstance(objective.jac, (str, bool, type(None)))
                    else "callable"))
    with open(path, "wb") as fh:
        np.savez(fh, __meta__=np.array(json.dumps(meta)), **arrays)


def load(path):
    """Read a checkpoint; return (meta, arrays) with arrays keyed ``part.field``."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not an lbfgsb_py checkpoint ({meta.get('format')!r})")
        return meta, {k: data[k] for k in data.files if k != "__meta__"}


def restore_engine(meta, arrays, tracer, callback=None):
    """Rebuild an :class:`~lbfgsb_py.driver.Engine` paused at its pending trial."""
    engine = Engine.__new__(Engine)
    _get(arrays, "engine", engine, ENGINE_FIELDS)
    engine.memory = LBFGSMemory.__new__(LBFGSMemory)
    _get(arrays, "memory", engine.memory, MEMORY_FIELDS)
    engine.ls = LineSearch.__new__(LineSearch)
    _get(arrays, "ls", engine.ls, LS_FIELDS)
    engine.variant = meta["variant"]
    engine.tracer, engine.callback = tracer, callback
    engine.keep_cauchy_point, engine.xcp, engine._xcp_buffer = False, None, None
    engine.segments = np.zeros((engine.n + 1 if tracer.full else 0, 6))
    for part in (engine, engine.memory, engine.ls):
        part.bind_kernels()
    engine._gen = engine._run(resume=True)
    engine.pending = next(engine._gen)
    return engine


def restore_objective(arrays, objective):
    """Put the saved counters and one-point cache back into a fresh Objective."""
    if "objective.nfev" in arrays:
        _get(arrays, "objective", objective, OBJECTIVE_FIELDS)


def _put(arrays, part, obj, fields):
    for name in fields:
        value = getattr(obj, name)
        arrays[f"{part}.{name}"] = np.asarray(np.nan if value is None else value)


def _get(arrays, part, obj, fields):
    for name in fields:
        value = arrays[f"{part}.{name}"]
        setattr(obj, name, value.copy() if value.ndim else value.item())

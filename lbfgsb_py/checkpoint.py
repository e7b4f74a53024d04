"""Exact checkpoints: save a run between two evaluations, resume it bit for bit.

A checkpoint holds every field of the run's :class:`~lbfgsb_py.state.State`
(whatever the state holds, nothing listed by hand) and the objective's
evaluation counts and one-point cache, in a NumPy ``.npz`` file (exact bits,
no pickle).  It is taken while an evaluation is pending, so the resumed run
starts by evaluating that point and then continues exactly as the
uninterrupted one would.  Callables (``fun``, ``jac``, callback) are not
saved: pass them again when resuming.
"""
import json

import numpy as np

from . import trace as ev
from .state import State

FORMAT = "lbfgsb_py.checkpoint/2"
OBJECTIVE_FIELDS = ("nfev", "njev", "_x", "_f", "_g")


def save(path, engine, objective=None):
    """Write the state of a run that waits for f, g at ``engine.pending``."""
    if engine.done:
        raise ValueError("the run has ended: there is nothing to resume")
    if engine.pending is None:
        raise ValueError("no evaluation is pending (an iteration waits for its callback): "
                         "call proceed() first")
    if engine.state.nfev < 1:
        raise ValueError("no evaluation yet: start a new run instead of resuming")
    arrays = {f"state.{name}": np.asarray(value)
              for name, value in engine.state.fields().items()}
    if objective is not None:
        arrays.update({f"objective.{name}": np.asarray(np.nan if v is None else v)
                       for name, v in ((k, getattr(objective, k)) for k in OBJECTIVE_FIELDS)})
    meta = dict(format=FORMAT, schema=ev.SCHEMA_VERSION,
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
            raise ValueError(f"{path}: not an lbfgsb_py checkpoint of this version "
                             f"(format {meta.get('format')!r}, expected {FORMAT!r})")
        return meta, {k: data[k] for k in data.files if k != "__meta__"}


def restore_state(arrays, full_trace):
    """The saved :class:`~lbfgsb_py.state.State`; its per-segment record sized for
    the trace level of the resumed run."""
    state = State.__new__(State)
    for key, value in arrays.items():
        part, name = key.split(".", 1)
        if part == "state":
            state.__dict__[name] = value.copy() if value.ndim else value.item()
    state.__dict__["segments"] = np.zeros((state.n + 1 if full_trace else 0, 6))
    return state


def restore_objective(arrays, objective):
    """Put the saved counters and one-point cache back into a fresh Objective."""
    if "objective.nfev" in arrays:
        for name in OBJECTIVE_FIELDS:
            value = arrays[f"objective.{name}"]
            setattr(objective, name, value.copy() if value.ndim else value.item())

"""Bound kinds and how SciPy encodes the bounds (shared by both backends).

[BLNZ95 §2] writes the feasible set as {x : l <= x <= u} and the projection
P(x, l, u)_i = mid(l_i, x_i, u_i).  The Fortran code (and SciPy) encode each
variable's bounds as an integer ``nbd`` (:class:`BoundKind`) and keep 0.0 in
``l``/``u`` where a bound is absent.
"""
from enum import IntEnum

import numpy as np


class BoundKind(IntEnum):
    """SciPy's ``nbd`` codes."""

    FREE = 0
    LOWER = 1
    BOTH = 2
    UPPER = 3


class VarStatus(IntEnum):
    """SciPy's ``iwhere`` codes: where a variable sits for the Cauchy search."""

    UNBOUNDED = -1      # no bounds at all: always free
    FREE = 0            # has bounds, moves along the Cauchy path
    FIXED_LOWER = 1     # at its lower bound, gradient pushes outward
    FIXED_UPPER = 2     # at its upper bound, gradient pushes outward
    ALWAYS_FIXED = 3    # l == u
    NOT_MOVED = -3      # has bounds, zero gradient component


def encode(lower, upper):
    """Turn lower/upper arrays (with +-inf for "no bound") into (nbd, l, u).

    Mirrors ``_minimize_lbfgsb`` (P:420-437): ``l``/``u`` hold 0.0 where the
    bound is infinite, ``nbd`` the :class:`BoundKind`.
    """
    has_l = np.isfinite(lower)
    has_u = np.isfinite(upper)
    nbd = np.where(has_l, np.where(has_u, 2, 1), np.where(has_u, 3, 0)).astype(np.int64)
    l = np.where(has_l, lower, 0.0).astype(np.float64)
    u = np.where(has_u, upper, 0.0).astype(np.float64)
    return nbd, l, u


def decode(nbd, l, u):
    """Inverse of :func:`encode`: lower/upper arrays with -inf/+inf for no bound."""
    lower = np.where((nbd == 1) | (nbd == 2), l, -np.inf)
    upper = np.where((nbd == 2) | (nbd == 3), u, np.inf)
    return lower, upper

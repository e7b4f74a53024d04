"""Compiled: the bound status of each variable and the projected-gradient norm.

[BLNZ95 §2]: the projection P(x, l, u)_i = mid(l_i, x_i, u_i); the bounds are
encoded as in :mod:`lbfgsb_py.bounds`.
"""
import numpy as np

from numba import prange

from ._jit import fmax, jit, twins


@jit
def initial_status(l, u, nbd, iwhere):
    """Set ``iwhere`` before the first iteration; return (cnstnd, boxed).

    SciPy ``active`` (C:1100-1184).  ``cnstnd``: some variable has a bound;
    ``boxed``: every variable has both bounds.
    """
    cnstnd = False
    boxed = True
    for i in range(nbd.shape[0]):
        if nbd[i] != 2:
            boxed = False
        if nbd[i] == 0:
            iwhere[i] = -1
        else:
            cnstnd = True
            iwhere[i] = 3 if (nbd[i] == 2 and u[i] - l[i] <= 0.0) else 0
    return cnstnd, boxed


@jit
def projected_gradient_norm(x, g, l, u, nbd, nparts=1, cnstnd=True):
    """Infinity norm of the projected gradient, ``||P(x - g, l, u) - x||_inf``.

    SciPy ``projgr`` (C:2763-2813), including its SciPy-specific rule that a NaN
    gradient component makes the norm NaN (so the ``<= gtol`` test fails).
    ``nparts`` > 1 splits the variables among threads (a maximum: same result).
    When no variable has a bound (``cnstnd`` false) it is max |g_i|, and only g
    is read (as SciPy's loop, which looks at x, l and u only for bounded ones).
    """
    block_max = np.empty((x.shape[0] + PROJGR_BLOCK - 1) // PROJGR_BLOCK)
    if nparts == 1:
        _projected_max_blocks(x, g, l, u, nbd, cnstnd, block_max)
    else:
        _projected_max_blocks_parallel(x, g, l, u, nbd, cnstnd, block_max)
    norm = 0.0
    for b in range(block_max.shape[0]):
        if block_max[b] != block_max[b]:
            return block_max[b]
        norm = fmax(norm, block_max[b])
    return norm


#: Variables per thread task in :func:`projected_gradient_norm`.
PROJGR_BLOCK = 65536


def _projected_max_blocks_loops(x, g, l, u, nbd, cnstnd, block_max):
    """block_max[b] = :func:`_projected_max` over the b-th block of variables."""
    n = x.shape[0]
    for b in prange(block_max.shape[0]):
        lo = b * PROJGR_BLOCK
        block_max[b] = _projected_max(x, g, l, u, nbd, cnstnd, lo,
                                      min(lo + PROJGR_BLOCK, n))


_projected_max_blocks, _projected_max_blocks_parallel = twins(_projected_max_blocks_loops)


@jit
def _projected_max(x, g, l, u, nbd, cnstnd, lo, hi):
    """max |P(x - g) - x|_i over lo <= i < hi (NaN if some g_i is NaN); max |g_i|
    if no variable is bounded (``cnstnd`` false).

    Chunk by chunk: first |P(x - g) - x|_i into a small buffer, with selects
    that keep a NaN g_i (no branch, so the loop is vectorized), then the
    maximum of the buffer's bit patterns as integers: for numbers >= 0 (and
    NaN above inf) IEEE order is integer order, and an integer maximum is
    vectorized where a floating one, ordered as written, is not.  A maximum is
    exact in any order, so this is SciPy's value.
    """
    buf = np.empty(PROJGR_CHUNK)
    bits = buf.view(np.int64)
    top = np.int64(0)
    for start in range(lo, hi, PROJGR_CHUNK):
        m = min(PROJGR_CHUNK, hi - start)
        gs = g[start:start + m]
        if not cnstnd:
            for j in range(m):
                buf[j] = abs(gs[j])
        else:
            xs, ls, us = x[start:start + m], l[start:start + m], u[start:start + m]
            ks = nbd[start:start + m]
            for j in range(m):
                gi = gs[j]
                k = ks[j]
                below = xs[j] - us[j]       # for gi < 0: up to the upper bound (nbd 2, 3)
                above = xs[j] - ls[j]       # for gi >= 0: down to the lower bound (nbd 1, 2)
                negative = gi < 0.0
                to_upper = negative & (k >= 2) & (below > gi)
                to_lower = (not negative) & ((k == 1) | (k == 2)) & (above < gi)
                buf[j] = abs(below if to_upper else (above if to_lower else gi))
        for j in range(m):
            top = max(top, bits[j])
    bits[0] = top
    return buf[0]


#: Variables per buffer pass in :func:`_projected_max` (the buffer stays in L1).
PROJGR_CHUNK = 512

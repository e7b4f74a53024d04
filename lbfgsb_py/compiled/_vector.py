"""Elementwise vector operations, shared among threads for large n.

At n = 1e6 an iteration makes a few dozen passes over plain n-vectors (copies,
differences, the trial point), and one thread does not use the memory
bandwidth the machine has.  ``nparts`` > 1 runs the loop on Numba's threads;
each element is computed by one thread with the same operation, so the bits do
not depend on the thread count.
"""
from numba import prange

from ._jit import jit, twins


def _copy_loops(dst, src):
    for i in prange(dst.shape[0]):
        dst[i] = src[i]


def _difference_loops(a, b, out):
    for i in prange(out.shape[0]):
        out[i] = a[i] - b[i]


def _sum_loops(a, b, out):
    for i in prange(out.shape[0]):
        out[i] = a[i] + b[i]


def _negative_loops(a, out):
    for i in prange(out.shape[0]):
        out[i] = -a[i]


def _scaled_loops(a, s, out):
    for i in prange(out.shape[0]):
        out[i] = s * a[i]


def _axpy_loops(s, a, b, out):
    for i in prange(out.shape[0]):
        out[i] = s * a[i] + b[i]


_copy, _copy_parallel = twins(_copy_loops)
_difference, _difference_parallel = twins(_difference_loops)
_sum, _sum_parallel = twins(_sum_loops)
_negative, _negative_parallel = twins(_negative_loops)
_scaled, _scaled_parallel = twins(_scaled_loops)
_axpy, _axpy_parallel = twins(_axpy_loops)


@jit
def copy(dst, src, nparts):
    """dst := src."""
    if nparts == 1:
        _copy(dst, src)
    else:
        _copy_parallel(dst, src)


@jit
def difference(a, b, out, nparts):
    """out := a - b."""
    if nparts == 1:
        _difference(a, b, out)
    else:
        _difference_parallel(a, b, out)


@jit
def add(a, b, out, nparts):
    """out := a + b."""
    if nparts == 1:
        _sum(a, b, out)
    else:
        _sum_parallel(a, b, out)


@jit
def negative(a, out, nparts):
    """out := -a."""
    if nparts == 1:
        _negative(a, out)
    else:
        _negative_parallel(a, out)


@jit
def scaled(a, s, out, nparts):
    """out := s a."""
    if nparts == 1:
        _scaled(a, s, out)
    else:
        _scaled_parallel(a, s, out)


@jit
def axpy(s, a, b, out, nparts):
    """out := s a + b."""
    if nparts == 1:
        _axpy(s, a, b, out)
    else:
        _axpy_parallel(s, a, b, out)

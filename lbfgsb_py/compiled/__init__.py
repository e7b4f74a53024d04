"""The compiled backend: the algorithm as Numba kernels, with every speed trick.

Same steps, same arithmetic and same results (bit for bit) as
:mod:`lbfgsb_py.reference`, which is the readable specification; this
subpackage adds what only speed needs: the state's arrays lent to the kernels
by address (:mod:`._lend`), calls that skip Numba's dispatch
(:class:`._jit.Direct`), fused passes over S and Y, multi-accumulator sums in
the same order, and thread-shared loops for large n (:mod:`._vector`).
Importing it imports Numba; :mod:`lbfgsb_py` does so only when a run uses
this backend.  :class:`.backend.Kernels` is the interface the driver calls.
"""

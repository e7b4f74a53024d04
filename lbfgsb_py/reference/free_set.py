"""The free and active variables at the Cauchy point [BLNZ95 §5].

After the Cauchy search the variables at a bound at xcp (``iwhere`` > 0) form
the active set A; the others are free: the unknowns of the subspace
minimization (the columns of Z).  Comparing with the previous iteration's free
set gives the variables that *entered* it (were active, now free) and those
that *left* it; ``formk`` updates its inner products with just those.
SciPy counterpart: ``freev``.
"""
import numpy as np


def free_variables(index, indx2, iwhere, nfree_old, iteration, cnstnd):
    """Rebuild the free list; record the entering and leaving variables.

    On entry ``index[:nfree_old]`` is the previous free list.  On exit
    ``index[:nfree]`` holds the free variables in increasing order and
    ``index[nfree:]`` the active ones in decreasing order; ``indx2[:nenter]``
    the entering variables (in the old active list's order) and
    ``indx2[ileave:]`` the leaving ones (the old free list's order, reversed),
    recorded only after the first iteration of a problem with bounds.
    Returns ``(nfree, nenter, ileave)``.
    """
    n = iwhere.shape[0]
    nenter, ileave = 0, n
    if iteration > 0 and cnstnd:
        was_free, was_active = index[:nfree_old], index[nfree_old:]
        leaving = was_free[iwhere[was_free] > 0]
        entering = was_active[iwhere[was_active] <= 0]
        nenter, ileave = entering.shape[0], n - leaving.shape[0]
        indx2[:nenter] = entering
        indx2[ileave:] = leaving[::-1]
    free = np.flatnonzero(iwhere <= 0)
    active = np.flatnonzero(iwhere > 0)
    nfree = free.shape[0]
    index[:nfree] = free
    index[nfree:] = active[::-1]
    return nfree, nenter, ileave

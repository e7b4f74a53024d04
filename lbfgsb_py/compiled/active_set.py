"""Compiled: free and active sets at the Cauchy point [BLNZ95 §5].

After the Cauchy search, the variables at a bound at ``xcp`` form the active set
A(xcp); the rest are free and are the unknowns of the subspace minimization.
Comparing with the previous iteration's free set gives the variables that
*enter* (were active, now free) and *leave* (were free, now active) — the
quantities the Fortran code prints at ``iprint >= 100`` and uses to update
its factorization cheaply.

SciPy counterpart: ``freev`` (C:2322-2417).
"""
from ._jit import jit


@jit
def free_variables(index, indx2, iwhere, nfree_old, iteration, cnstnd):
    """Rebuild the free list and record entering / leaving variables.

    On entry ``index[:nfree_old]`` is the previous free list.  On exit
    ``index[:nfree]`` holds the free variables in increasing order and
    ``index[nfree:]`` the active ones (decreasing); ``indx2[:nenter]`` the
    entering variables and ``indx2[ileave:]`` the leaving ones (only counted
    when ``iteration > 0`` and the problem has bounds).
    Returns ``(nfree, nenter, ileave)``.
    """
    n = iwhere.shape[0]
    nenter = 0
    ileave = n
    if iteration > 0 and cnstnd:
        for i in range(nfree_old):
            k = index[i]
            if iwhere[k] > 0:
                ileave -= 1
                indx2[ileave] = k
        for i in range(nfree_old, n):
            k = index[i]
            if iwhere[k] <= 0:
                indx2[nenter] = k
                nenter += 1
    nfree = 0
    iact = n
    for i in range(n):
        if iwhere[i] <= 0:
            index[nfree] = i
            nfree += 1
        else:
            iact -= 1
            index[iact] = i
    return nfree, nenter, ileave

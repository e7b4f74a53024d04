"""The compiled dense kernels (``compiled/_dense.py``) against the reference model
(``reference/blas.py``) bit for bit, for every kernel family other than the one
this machine's OpenBLAS runs (that one is compared here in this process, and
with SciPy itself in ``test_blas_model.py``).

The family and OpenBLAS's thread count are compile-time constants of
``_dense``, so each family is compiled in a subprocess of its own
(``LBFGSB_PY_BLAS=<family>``, ``OPENBLAS_NUM_THREADS=2`` so that ``dtrsm``
splits its right-hand sides, and a temporary ``NUMBA_CACHE_DIR`` so that the
package's cache is left alone).  The subprocesses run this file as a script:
they compile only the ``_dense`` kernels, run them on the stored cases of
``validation.blas_patterns`` (``ddot``, ``daxpy``, ``dpotrf``, ``dtrtrs`` with
one and several right-hand sides; ``dnrm2`` is family-free) and on the solves
L-BFGS-B makes (``formk``: order col with col right-hand sides), and print
the digests; meanwhile this process computes the reference's.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lbfgsb_py.reference import blas
from validation import blas_patterns

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = blas.openblas()[0]
OTHERS = [family for family in blas.FAMILIES if family != DEFAULT]
#: The orders col of ``formk``'s solve R'X = B with col right-hand sides (its
#: column split among threads changes bits from col = 9 for Nehalem, 13 for
#: Haswell), beyond the stored cases' 2, 3 and 10 right-hand sides.
FORMK_ORDERS = range(2, 41)


def formk_cases():
    """(name, "dtrtrs1", (R, B)) for R'X = B of order col with col right-hand sides."""
    for k in FORMK_ORDERS:
        yield (f"formk/{k}", "dtrtrs1",
               (blas_patterns._upper(k, k), blas_patterns._vector(3 * k, k * k).reshape(k, k)))


def all_cases(threads):
    """The cases a family's subprocess runs, for its thread count."""
    yield from (case for case in blas_patterns.cases() if case[1] != "dnrm2")
    yield from split_cases(threads)


def split_cases(threads):
    """The cases whose bits may depend on the thread count."""
    yield from blas_patterns.threaded_cases(threads)
    yield from formk_cases()


def reference_digests(cases, family, threads):
    return {name: blas_patterns.digest(blas_patterns.model(op, inputs, family, threads))
            for name, op, inputs in cases}


# ---------------------------------------------------------------- the subprocess
def compiled(operation, inputs):
    """The operation by the compiled kernels, on blocks inside larger arrays (as
    the solver calls them)."""
    from lbfgsb_py.compiled import _dense
    if operation == "ddot":
        return _dense.dot(*inputs)
    if operation == "daxpy":
        alpha, x, y = inputs
        y = y.copy()
        _dense.axpy(alpha, x, y)
        return y
    k = inputs[0].shape[0]
    a = np.pad(inputs[0], 1, constant_values=7.0)
    if operation == "dpotrf":
        return np.triu(a[1:k + 1, 1:k + 1]) if _dense.cholesky_upper(a, 1, k) == 0 else np.nan
    b = inputs[1]
    if b.ndim == 2:                                   # R and B side by side, as in formk
        nrhs = b.shape[1]
        ab = np.zeros((k + 1, k + 1 + nrhs))
        ab[1:, 1:k + 1], ab[1:, k + 1:] = inputs[0], b
        info = _dense.solve_upper_transposed_block(ab, 1, k, k + 1, nrhs)
        return ab[1:, k + 1:] if info == 0 else np.nan
    x = np.concatenate([[5.0], b])
    solve = _dense.solve_upper_transposed if operation == "dtrtrs1" else _dense.solve_upper
    return x[1:] if solve(a, 1, k, x, 1) == 0 else np.nan


def _child():
    """Print the compiled kernels' family, thread count and digests as JSON."""
    from lbfgsb_py.compiled import _dense
    digests = {name: blas_patterns.digest(compiled(op, inputs))
               for name, op, inputs in all_cases(_dense.THREADS)}
    json.dump({"family": _dense.FAMILY, "threads": _dense.THREADS, "digests": digests},
              sys.stdout)


# ---------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def children(tmp_path_factory):
    """One subprocess per family, started together: {family: Popen}."""
    runs = {}
    for family in OTHERS:
        env = dict(os.environ, LBFGSB_PY_BLAS=family, OPENBLAS_NUM_THREADS="2",
                   NUMBA_CACHE_DIR=str(tmp_path_factory.mktemp(f"numba-{family}")),
                   PYTHONPATH=os.pathsep.join([str(ROOT)] + [os.environ.get("PYTHONPATH", "")]))
        runs[family] = subprocess.Popen([sys.executable, __file__], env=env, cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield runs
    for run in runs.values():
        if run.poll() is None:
            run.kill()
            run.wait()


@pytest.mark.parametrize("family", OTHERS)
def test_the_compiled_kernels_are_the_reference_model(family, children):
    expected = reference_digests(all_cases(2), family, 2)      # while the child compiles
    out, err = children[family].communicate(timeout=600)
    assert children[family].returncode == 0, err
    found = json.loads(out)
    assert found["family"] == family
    if found["threads"] != 2:           # SciPy's OpenBLAS capped the threads (one CPU)
        expected = reference_digests(all_cases(found["threads"]), family, found["threads"])
    assert len(found["digests"]) == len(expected) > 400
    assert blas_patterns.differences(expected, found["digests"]) == []
    if found["threads"] == 2 and blas.KERNELS[family].gemm_sums:
        # the split among threads is exercised: at one thread some solves would differ
        assert blas_patterns.differences(reference_digests(split_cases(1), family, 1),
                                         {name.replace("threads=2", "threads=1"): value
                                          for name, value in found["digests"].items()})
    # and the reference is SciPy's OpenBLAS (the stored bit patterns of its cases)
    stored = json.loads(blas_patterns.PATTERNS.read_text())["patterns"][family]
    assert blas_patterns.differences({name: stored[name] for name in found["digests"]
                                      if name in stored}, found["digests"]) == []


def test_the_default_family_too():
    """In this process: the family this machine's OpenBLAS runs, at its thread count."""
    from lbfgsb_py.compiled import _dense
    assert (_dense.FAMILY, _dense.THREADS) == blas.openblas()
    found = {name: blas_patterns.digest(compiled(op, inputs))
             for name, op, inputs in all_cases(_dense.THREADS)}
    assert blas_patterns.differences(reference_digests(all_cases(_dense.THREADS), _dense.FAMILY,
                                                       _dense.THREADS), found) == []


if __name__ == "__main__":
    _child()

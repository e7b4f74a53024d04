"""What SciPy's OpenBLAS returns, kernel family by kernel family, for fixed inputs.

SciPy's OpenBLAS (built for several x86-64 cores) runs the kernels
``OPENBLAS_CORETYPE`` names when that is set before it loads, so one machine
can run every family's kernels: for each family this runs ``ddot``, ``daxpy``,
``dnrm2``, ``dpotrf`` and ``dtrtrs`` (one and several right-hand sides) of
``scipy.linalg.blas`` / ``lapack`` in a subprocess with the core forced, on
inputs made by a generator of our own (:func:`uniform`: the same on every
machine and NumPy), and records a digest of each output's bits.
``tests/test_blas_model.py`` checks :mod:`lbfgsb_py.reference.blas` against
these records, so machines whose OpenBLAS cannot force a core check every
family too.

    python -m validation.blas_patterns           # rewrite tests/data/blas_patterns.json
    python -m validation.blas_patterns --check   # the model against the library here
    python -m validation.blas_patterns --against .venv-scipy114/bin/python
        # another SciPy's OpenBLAS against this one's, on the kernels both load
"""
import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from lbfgsb_py.reference import blas

PATTERNS = Path(__file__).resolve().parent.parent / "tests" / "data" / "blas_patterns.json"
#: The OpenBLAS core to force for each family.
CORES = {family: kernels.core for family, kernels in blas.KERNELS.items()}
#: Vector lengths for ``ddot`` and ``daxpy``, orders for the factor and the solves.
SIZES = list(range(1, 71)) + [95, 96, 97, 1000, 1023]
LONG = [10001, 10017, 30001]
FACTOR_ORDERS = range(1, blas.DTB_ENTRIES // 2 + 1)
SOLVE_ORDERS = range(1, blas.DTB_ENTRIES + 1)
BLOCK_ORDERS, BLOCK_RHS = range(1, 41), (2, 3, 10)
#: Thread counts the long ``ddot`` cases are recorded with.
THREADS = (1, 2)


def uniform(seed, count):
    """``count`` doubles in [-1, 1) from SplitMix64 started at ``seed``."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -52 - 1.0


def _vector(seed, n):
    """Entries of mixed magnitudes (2^-8 .. 2^8) and signs."""
    return uniform(seed, n) * 2.0 ** np.round(8 * uniform(seed + 1, n))


def _spd(seed, k):
    """A symmetric positive definite matrix: M'M, each entry a correctly rounded sum."""
    m = _vector(seed, (k + 2) * k).reshape(k + 2, k)
    return np.array([[math.fsum(m[:, i] * m[:, j]) for j in range(k)] for i in range(k)])


def _upper(seed, k):
    """An upper triangular matrix with diagonal in [1, 2) and off-diagonals of size ~1/k."""
    r = np.triu(uniform(seed, k * k).reshape(k, k)) / k
    r[np.diag_indices(k)] = 1.5 + uniform(seed + 1, k) / 2
    return r


def cases():
    """(name, operation, inputs) for the cases the thread count does not change."""
    for n in SIZES:
        yield f"ddot/{n}", "ddot", (_vector(n, n), _vector(n + 7, n))
        yield f"daxpy/{n}", "daxpy", (_vector(n + 11, 1)[0], _vector(n + 13, n), _vector(n + 17, n))
        yield f"dnrm2/{n}", "dnrm2", (_vector(n + 19, n),)
    for k in FACTOR_ORDERS:
        yield f"dpotrf/{k}", "dpotrf", (_spd(k, k),)
    for k in SOLVE_ORDERS:
        for trans in (0, 1):
            yield f"dtrsv{'NT'[trans]}/{k}", f"dtrtrs{trans}", (_upper(k, k), _vector(k + 3, k))


def threaded_cases(threads):
    """The cases whose result depends on the thread count: long ``ddot`` vectors are
    split among the threads, ``dtrtrs``'s right-hand sides too."""
    for n in LONG:
        yield f"ddot/{n}/threads={threads}", "ddot", (_vector(n, n), _vector(n + 7, n))
    for k in BLOCK_ORDERS:
        for nrhs in BLOCK_RHS:
            yield (f"dtrsm/{k}x{nrhs}/threads={threads}", "dtrtrs1",
                   (_upper(k, k), _vector(k + nrhs, k * nrhs).reshape(k, nrhs)))


def digest(value):
    """The bits of a result: a float's hex, or 16 hex digits of an array's SHA-256."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 0:
        return float(value).hex()
    return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]


def library(operation, inputs):
    """The operation as SciPy's BLAS and LAPACK compute it."""
    from scipy.linalg import blas as sblas, lapack
    if operation == "ddot":
        return sblas.ddot(*inputs)
    if operation == "daxpy":
        alpha, x, y = inputs
        return sblas.daxpy(x, y.copy(), a=alpha)
    if operation == "dnrm2":
        return sblas.dnrm2(inputs[0])
    if operation == "dpotrf":
        factor, info = lapack.dpotrf(inputs[0], lower=0, clean=1)
        return factor if info == 0 else np.nan
    factor, b = inputs
    x, info = lapack.dtrtrs(factor, b, lower=0, trans=int(operation[-1]))
    return x if info == 0 else np.nan


def model(operation, inputs, family, threads):
    """The operation as :mod:`lbfgsb_py.reference.blas` computes it for ``family``."""
    if operation == "ddot":
        return blas.dot(*inputs, family=family, threads=threads)
    if operation == "daxpy":
        return blas.axpy(*inputs, family=family)
    if operation == "dnrm2":
        return blas.norm2(inputs[0])
    a = inputs[0].copy()
    if operation == "dpotrf":
        return np.triu(a) if blas.cholesky_upper(a, family) == 0 else np.nan
    x = inputs[1].copy()
    if operation == "dtrtrs1":
        return x if blas.solve_upper_transposed(a, x, family, threads) == 0 else np.nan
    return x if blas.solve_upper(a, x, family) == 0 else np.nan


def model_digests(family, threads=THREADS):
    """{case: digest} of the model of ``family``, threaded cases for each thread count."""
    found = {name: digest(model(op, inputs, family, 1)) for name, op, inputs in cases()}
    for count in threads:
        for name, op, inputs in threaded_cases(count):
            found[name] = digest(model(op, inputs, family, count))
    return found


def _library_digests():
    """Child process: {case: digest} of SciPy's library, as JSON on stdout, with its
    core, thread count and versions."""
    import scipy
    core, threads = blas._scipy_openblas()
    found = {name: digest(library(op, inputs)) for name, op, inputs in cases()}
    for name, op, inputs in threaded_cases(threads):
        found[name] = digest(library(op, inputs))
    json.dump({"core": core, "threads": threads, "scipy": scipy.__version__,
               "openblas": scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]["version"],
               "digests": found}, sys.stdout)


def _child(python, env):
    """Run :func:`_library_digests` in ``python`` with ``env``; its JSON."""
    env = {**env}
    env.pop("LBFGSB_PY_BLAS", None)
    out = subprocess.run([str(python), "-m", "validation.blas_patterns", "--child"], env=env,
                         check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    return json.loads(out)


def record(core, threads=THREADS):
    """{case: digest} from SciPy's OpenBLAS with ``OPENBLAS_CORETYPE=core``, once per
    thread count; None if SciPy's OpenBLAS then runs another core or thread count."""
    found = {}
    for count in threads:
        result = _child(sys.executable, dict(os.environ, OPENBLAS_CORETYPE=core,
                                             OPENBLAS_NUM_THREADS=str(count)))
        if result["core"] != core or result["threads"] != count:
            return None
        found.update(result["digests"])
    return found


def against(python, core):
    """Another SciPy's OpenBLAS (run by the interpreter ``python``) against this one's,
    both forced to the kernels of ``core``, on 1 and 2 threads: (their SciPy and
    OpenBLAS versions, cases compared, the cases that differ), or None if either
    library does not run that core when asked."""
    diff, count = [], 0
    for threads in THREADS:
        env = dict(os.environ, OPENBLAS_CORETYPE=core, OPENBLAS_NUM_THREADS=str(threads))
        theirs, ours = _child(python, env), _child(sys.executable, env)
        if theirs["core"] != core or ours["core"] != core:
            return None
        diff += differences(ours["digests"], theirs["digests"])
        count += len(ours["digests"])
    return f"SciPy {theirs['scipy']} (OpenBLAS {theirs['openblas']})", count, diff


def differences(expected, found):
    """The cases whose digests differ (or are missing), in order."""
    return [name for name in expected if found.get(name) != expected[name]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare the model with the library")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--family", choices=blas.FAMILIES, action="append")
    parser.add_argument("--against", metavar="PYTHON",
                        help="compare the OpenBLAS of the SciPy that PYTHON imports with ours")
    args = parser.parse_args(argv)
    if args.child:
        return _library_digests()
    if args.against:
        for family in args.family or blas.FAMILIES:
            found = against(args.against, CORES[family])
            print(f"{family}: " + ("not run" if found is None else
                                   f"{found[0]} vs ours: {found[1] - len(found[2])}/{found[1]} "
                                   f"cases identical {found[2][:10]}"))
        return
    recorded = {}
    for family in args.family or blas.FAMILIES:
        found = record(CORES[family])
        if found is None:
            sys.exit(f"SciPy's OpenBLAS does not run the {CORES[family]} kernels when asked")
        recorded[family] = found
        if args.check:
            wrong = differences(found, model_digests(family))
            print(f"{family}: {len(found) - len(wrong)}/{len(found)} cases identical", wrong[:20])
    if not args.check:
        PATTERNS.parent.mkdir(exist_ok=True)
        PATTERNS.write_text(json.dumps({"openblas": "0.3.30 (SciPy 1.17.1)", "patterns": recorded},
                                       indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

"""Worker run by the SciPy 1.14.1 virtual environment (see ``validation/legacy.py``).

Usage: ``python -I legacy_worker.py OUT.npz NAME [NAME ...]``.  For each named problem
of ``validation/problems.py`` it runs ``scipy.optimize.minimize(method="L-BFGS-B")``
exactly as ``validation.compare.run_pair`` does, records every point passed to ``fun``
and writes ``OUT.npz``: ``points<i>`` (evaluations x n), ``x<i>`` and ``meta`` (a JSON
string with the names, the versions and per problem nit, nfev, status, message, fun).
Needs only NumPy and SciPy; imports nothing from lbfgsb_py.
"""
import json
import sys
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from validation import problems  # noqa: E402


def run(problem):
    """Return (points, result dict without x, final x)."""
    points = []

    def fun(x, *args):
        points.append(np.array(x, copy=True))
        return problem.fun(x, *args)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = minimize(fun, problem.x0, jac=problem.jac, bounds=problem.bounds,
                         method="L-BFGS-B", options=dict(problem.options))
    except Exception:  # recorded, so the other problems still run
        msg = "worker error: " + traceback.format_exc(limit=3).strip().splitlines()[-1]
        return points, dict(nit=None, nfev=len(points), status=None, message=msg,
                            fun=float("nan")), np.full(problem.n, np.nan)
    res = dict(nit=int(r.nit), nfev=int(r.nfev), status=int(r.status), message=str(r.message),
               fun=float(r.fun))
    return points, res, np.asarray(r.x, dtype=np.float64)


def main(out, names):
    arrays, results = {}, []
    for i, p in enumerate(problems.select(names=names)):
        points, res, x = run(p)
        arrays[f"points{i}"] = np.array(points, dtype=np.float64).reshape(len(points), p.n)
        arrays[f"x{i}"] = x
        results.append(res)
    meta = dict(names=names, results=results,
                versions=f"SciPy {scipy.__version__}, NumPy {np.__version__}")
    np.savez(out, meta=np.array(json.dumps(meta)), **arrays)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

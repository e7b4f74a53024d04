"""The differential runner over the whole problem zoo: reference vs compiled, bit by bit.

``python -m validation.differential [--quick] [--names A,B]`` runs
:func:`lbfgsb_py.differential.compare_backends` on every case below and prints
one line per case and the totals (cases x evaluations compared).  The test
suite runs the ``--quick`` subset.

The zoo: the validation problems (``validation/problems.py``, small ones), the
built-in problems (the user stories among them), random bounded quadratics like
the property tests', and variations that take other paths: maxls = 1, forward
and central differences, variables fixed by lb == ub, a NaN from the objective,
the 1995 subspace step, a memory of 3 pairs, a NaN in the gradient.
"""
import argparse
import sys
from dataclasses import dataclass, field

import numpy as np

from lbfgsb_py import builtin_problems
from lbfgsb_py.differential import compare_backends
from validation import problems as validation_problems


@dataclass(frozen=True)
class Case:
    """One run for the differential runner: minimize's arguments."""

    name: str
    fun: object
    x0: np.ndarray
    jac: object = None
    bounds: object = None
    options: dict = field(default_factory=dict)

    def run(self):
        with np.errstate(all="ignore"):
            return compare_backends(self.fun, self.x0.copy(), jac=self.jac, bounds=self.bounds,
                                    **self.options)


def _quadratic(n, seed, fixed=False):
    """0.5 x'Ax - b'x on a box, some sides open (and one variable fixed if asked)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.logspace(0, rng.uniform(1, 6), n)) @ q.T
    b = rng.standard_normal(n) * 10

    def fun(x):
        return 0.5 * x @ a @ x - b @ x, a @ x - b
    lo = np.where(rng.random(n) < 0.7, -rng.uniform(0, 1, n), -np.inf)
    hi = np.where(rng.random(n) < 0.7, rng.uniform(0, 1, n), np.inf)
    if fixed:
        lo[0] = hi[0] = 0.25
    return fun, rng.uniform(-2, 2, n), list(zip(lo, hi))


def _nan_after(k):
    """Rosenbrock that returns NaN from its k-th evaluation on, when x0 > 1."""
    calls = []

    def fun(x):
        calls.append(1)
        f = 100 * np.sum((x[1:] - x[:-1] ** 2) ** 2) + np.sum((1 - x[:-1]) ** 2)
        return (np.nan if len(calls) >= k and x[0] > 1 else f)
    return fun


def _nan_gradient(x):
    """x'x with a NaN in the gradient's last component once x[0] < 0.5."""
    g = 2 * x
    if x[0] < 0.5:
        g[-1] = np.nan
    return float(x @ x), g


def zoo():
    """Every case (validation problems, built-in problems, quadratics, variations)."""
    cases = [Case(f"validation/{p.name}", p.fun, p.x0, p.jac, p.bounds, dict(p.options))
             for p in validation_problems.all_problems()]
    cases += [Case(f"builtin/{name}", p.fun, p.x0, p.jac, p.bounds, dict(p.options))
              for name, p in builtin_problems.PROBLEMS.items()]
    for seed in range(8):
        fun, x0, bounds = _quadratic(3 + seed, seed, fixed=seed % 3 == 0)
        cases.append(Case(f"quadratic/{seed}", fun, x0, True, bounds))
    rosen = builtin_problems.get("rosenbrock")
    tight = builtin_problems.get("rosenbrock_tight_box")
    cases += [
        Case("rosenbrock/maxls=1", rosen.fun, rosen.x0, rosen.jac, rosen.bounds, dict(maxls=1)),
        Case("rosenbrock/forward-differences", rosen.fun, rosen.x0, None, rosen.bounds),
        Case("rosenbrock/3-point", rosen.fun, rosen.x0, "3-point", rosen.bounds),
        Case("rosenbrock/maxcor=3", rosen.fun, rosen.x0, rosen.jac, rosen.bounds,
             dict(maxcor=3)),
        Case("rosenbrock/unbounded", rosen.fun, rosen.x0, rosen.jac, None),
        Case("tight-box/1995", tight.fun, tight.x0, tight.jac, tight.bounds,
             dict(variant="1995")),
        Case("rosenbrock/nan", _nan_after(8), np.full(4, 1.5), None, None),
        Case("sphere/nan-gradient", _nan_gradient, np.ones(3), True, [(-2, 2)] * 3),
    ]
    return cases


#: The subset the test suite runs (each path above at least once, a few seconds).
QUICK = ("builtin/rosenbrock", "builtin/rosenbrock_tight_box", "builtin/bounded_quadratic",
         "builtin/wrong_gradient_sign", "builtin/overflow", "builtin/image784",
         "quadratic/0", "quadratic/4", "rosenbrock/maxls=1", "rosenbrock/forward-differences",
         "rosenbrock/3-point", "rosenbrock/maxcor=3", "rosenbrock/unbounded",
         "tight-box/1995", "rosenbrock/nan", "sphere/nan-gradient",
         "validation/mgh04_brown_badly_scaled")


def select(names=None):
    """The cases called ``names`` (all when None), in zoo order; unknown names raise."""
    cases = zoo()
    if names is None:
        return cases
    by_name = {c.name: c for c in cases}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise KeyError(f"unknown cases {missing}; see --list")
    return [by_name[n] for n in names]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m validation.differential",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the CI subset")
    parser.add_argument("--names", help="comma-separated case names")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(c.name for c in zoo()))
        return 0
    names = QUICK if args.quick else args.names.split(",") if args.names else None
    total, bad = 0, []
    for case in select(names):
        agreement = case.run()
        total += agreement.evaluations
        print(f"{case.name:<45} {agreement}")
        if not agreement.identical:
            bad.append(case.name)
    print(f"\n{len(select(names)) - len(bad)} of {len(select(names))} cases bit-identical "
          f"after every evaluation; {total} evaluations compared")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

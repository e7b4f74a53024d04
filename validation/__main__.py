"""``python -m validation``: compare lbfgsb_py with SciPy on the problem collection.

Options: ``--names a,b`` or ``--tags mgh,bounded`` to pick problems, ``--large`` to
include n = 1e4..1e6, ``--report PATH`` (default ``validation/REPORT.md``), ``--fortran``
to also run SciPy 1.14.1 (Fortran L-BFGS-B; installed on first use into ``.venv-scipy114``,
see :mod:`validation.legacy`) and report the three-way agreement.
"""
import argparse
import sys
from pathlib import Path

from . import problems
from .compare import compare
from .report import write_report


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m validation", description=__doc__)
    ap.add_argument("--names", help="comma-separated problem names")
    ap.add_argument("--tags", help="comma-separated tags; a problem must carry all of them")
    ap.add_argument("--large", action="store_true", help="include the n >= 1e4 problems")
    ap.add_argument("--report", default=str(Path(__file__).with_name("REPORT.md")))
    ap.add_argument("--fortran", action="store_true",
                    help="also run SciPy 1.14.1 (Fortran) in a separate venv: three-way report")
    args = ap.parse_args(argv)
    chosen = problems.select(names=args.names.split(",") if args.names else None,
                             tags=args.tags.split(",") if args.tags else None,
                             include_large=args.large)
    fortran, kernels = _fortran_runs(chosen) if args.fortran else ({}, None)
    results = []
    for i, p in enumerate(chosen, 1):
        c = compare(p, fortran.get(p.name))
        results.append(c)
        three = f" | Fortran prefix ours {c.pairs['ours/Fortran'].prefix}, C " \
                f"{c.pairs['C/Fortran'].prefix}/{c.fortran['evals']}" if c.pairs else ""
        print(f"[{i:3d}/{len(chosen)}] {p.name:40s} {c.verdict:10s} prefix {c.prefix}/"
              f"{c.evals_scipy} evals, {c.message[1]}{three}", file=sys.stderr)
    write_report(results, args.report, kernels)
    print(f"wrote {args.report}", file=sys.stderr)


def _fortran_runs(chosen):
    """SciPy 1.14.1's runs, and its OpenBLAS against ours per kernel family
    ({family: :func:`validation.blas_patterns.against`})."""
    from .blas_patterns import CORES, against
    from .legacy import LegacyError, ensure_env, run_fortran
    print(f"running SciPy 1.14.1 (Fortran) on {len(chosen)} problems ...", file=sys.stderr)
    try:
        runs = run_fortran([p.name for p in chosen])
    except LegacyError as exc:
        sys.exit(f"--fortran: {exc}")
    python = ensure_env()
    return runs, {family: against(python, core) for family, core in CORES.items()}


if __name__ == "__main__":
    main()

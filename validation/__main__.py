"""``python -m validation``: compare lbfgsb_py with SciPy on the problem collection.

Options: ``--names a,b`` or ``--tags mgh,bounded`` to pick problems, ``--large`` to
include n = 1e4..1e6, ``--report PATH`` (default ``validation/REPORT.md``), ``--fortran``
to also run SciPy 1.14.1 (Fortran L-BFGS-B; installed on first use into ``.venv-scipy114``,
see :mod:`validation.legacy`) and report the three-way agreement, ``--backend`` to pick
lbfgsb_py's backend, ``--family F`` to run SciPy's OpenBLAS on kernel family F's
kernels (it reruns the command with ``OPENBLAS_CORETYPE`` set, which SciPy's bundled
OpenBLAS honours; our model follows the core it then reports).
"""
import argparse
import os
import subprocess
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
    ap.add_argument("--backend", choices=("auto", "reference", "compiled"), default="auto")
    ap.add_argument("--family", help="run SciPy's OpenBLAS on this kernel family's kernels "
                    "(skylakex, haswell, sandybridge, nehalem)")
    args = ap.parse_args(argv)
    if args.family:
        _rerun_on_family(args.family, argv if argv is not None else sys.argv[1:])
    if args.backend != "auto":
        os.environ["LBFGSB_PY_BACKEND"] = args.backend
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


def _rerun_on_family(family, argv):
    """Run this command again with SciPy's OpenBLAS forced to ``family``'s kernels (the
    variable must be set before the library loads), then exit with its status.  The
    compiled kernels of another family are cached apart (``NUMBA_CACHE_DIR``), so the
    package's own cache is not emptied and recompiled."""
    from lbfgsb_py.reference.blas import KERNELS
    from .blas_patterns import CORES
    if family not in KERNELS:
        sys.exit(f"--family {family!r}: expected one of {', '.join(KERNELS)}")
    env = dict(os.environ, OPENBLAS_CORETYPE=CORES[family])
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "lbfgsb_py" / f"numba-{family}"))
    rest = list(argv)
    at = next(i for i, a in enumerate(rest) if a == "--family" or a.startswith("--family="))
    del rest[at:at + (1 if "=" in rest[at] else 2)]
    sys.exit(subprocess.run([sys.executable, "-m", "validation", *rest], env=env).returncode)


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

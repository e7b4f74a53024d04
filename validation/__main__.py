"""``python -m validation``: compare lbfgsb_py with SciPy on the problem collection.

Options: ``--names a,b`` or ``--tags mgh,bounded`` to pick problems, ``--large`` to
include n = 1e4..1e6, ``--report PATH`` (default ``validation/REPORT.md``).
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
    args = ap.parse_args(argv)
    chosen = problems.select(names=args.names.split(",") if args.names else None,
                             tags=args.tags.split(",") if args.tags else None,
                             include_large=args.large)
    results = []
    for i, p in enumerate(chosen, 1):
        c = compare(p)
        results.append(c)
        print(f"[{i:3d}/{len(chosen)}] {p.name:40s} {c.verdict:10s} prefix {c.prefix}/"
              f"{c.evals_scipy} evals, {c.message[1]}", file=sys.stderr)
    write_report(results, args.report)
    print(f"wrote {args.report}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Golden logs of the Fortran L-BFGS-B (SciPy 1.14.1) for the classic renderers.

``python -m validation.golden`` builds (once) the SciPy 1.14.1 virtual
environment of :mod:`validation.legacy`, runs ``fmin_l_bfgs_b(..., iprint=k)``
there for every problem of :data:`PROBLEMS` and every k of :data:`IPRINTS`,
and writes what the Fortran printed to ``tests/golden/<problem>.iprint<k>.txt``
plus ``tests/golden/MANIFEST.json`` (versions, settings).  ``--check`` instead
compares the committed files with :func:`lbfgsb_py.render.classic_text` of our
runs and prints a per-file summary (what ``tests/test_golden.py`` asserts).

Capture: each run is a subprocess of the venv's python; the Fortran writes to
its file descriptors 1 (unit 6) and 2 (unit 0, where SciPy 1.14 sends the
notices and ``info`` messages).  Both are sent into one pipe with
``GFORTRAN_UNBUFFERED_ALL=y``, so the file holds the lines in the order they
were written, as L-BFGS-B 3.0 printed them all on unit 6.

Problems (NumPy only, shared with the tests): ``driver1`` (``driver1.f`` of
L-BFGS-B 3.0: n = 25, m = 5, the chained "Rosenbrock-like" function with
alternating bounds), ``rosenbrock5_box`` (n = 5 in [-2, 2]), ``rosenbrock2_free``
(unconstrained, from (-1.2, 1)), ``quadratic_infeasible`` (n = 10 in [-1, 1]
from outside the box; six bounds end up active), ``wrong_sign`` (gradient of
the wrong sign: ABNORMAL after 20 trials).

With ``--worker NAME IPRINT`` this file runs one problem (used inside the venv).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
GOLDEN_DIR = REPO / "tests" / "golden"
IPRINTS = (0, 1, 99, 100, 101)
EPS = float(np.finfo(float).eps)


# ----------------------------------------------------------------- problems
def driver1(x):
    """f and g of ``driver1.f`` (L-BFGS-B 3.0): 4 * (0.25 (x1 - 1)^2 + sum (x_i - x_{i-1}^2)^2)."""
    t = x[1:] - x[:-1] ** 2
    f = 4.0 * (0.25 * (x[0] - 1.0) ** 2 + np.sum(t ** 2))
    g = np.zeros_like(x)
    g[0] = 2.0 * (x[0] - 1.0) - 16.0 * x[0] * t[0]
    g[1:-1] = 8.0 * t[:-1] - 16.0 * x[1:-1] * t[1:]
    g[-1] = 8.0 * t[-1]
    return float(f), g


def rosenbrock(x):
    """Extended Rosenbrock function and gradient."""
    inner = x[1:] - x[:-1] ** 2
    f = np.sum(100.0 * inner ** 2 + (1.0 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * inner
    return float(f), g


_QA, _QC = np.arange(1.0, 11.0), np.linspace(-2.0, 2.0, 10)


def quadratic(x):
    """Separable quadratic 0.5 sum a_i (x_i - c_i)^2, minimizers partly outside [-1, 1]."""
    return float(0.5 * np.sum(_QA * (x - _QC) ** 2)), _QA * (x - _QC)


def wrong_sign(x):
    """x'x with the gradient's sign flipped: every direction goes uphill."""
    return float(x @ x), -2.0 * x


def _driver1_bounds(n=25):
    return [(1.0, 100.0) if i % 2 == 0 else (-100.0, 100.0) for i in range(n)]


#: name -> fun (returns f, g), x0, bounds, fmin_l_bfgs_b options (m, factr, pgtol).
PROBLEMS = {
    "driver1": (driver1, [3.0] * 25, _driver1_bounds(), dict(m=5, factr=1e7, pgtol=1e-5)),
    "rosenbrock5_box": (rosenbrock, [1.3, 0.7, 0.8, 1.9, 1.2], [(-2.0, 2.0)] * 5,
                        dict(m=10, factr=1e7, pgtol=1e-5)),
    "rosenbrock2_free": (rosenbrock, [-1.2, 1.0], None, dict(m=10, factr=1e7, pgtol=1e-5)),
    "quadratic_infeasible": (quadratic, [1.5] * 10, [(-1.0, 1.0)] * 10,
                             dict(m=10, factr=1e7, pgtol=1e-5)),
    "wrong_sign": (wrong_sign, [1.0, 1.0], None, dict(m=10, factr=1e7, pgtol=1e-5)),
}


def minimize_options(name):
    """:func:`lbfgsb_py.minimize` keyword arguments equal to the problem's fmin_l_bfgs_b ones."""
    fun, x0, bounds, opts = PROBLEMS[name]
    return dict(fun=fun, x0=np.array(x0, dtype=float), jac=True, bounds=bounds,
                maxcor=opts["m"], ftol=opts["factr"] * EPS, gtol=opts["pgtol"])


def fixture_path(name, iprint, directory=GOLDEN_DIR):
    return Path(directory) / f"{name}.iprint{iprint}.txt"


# ------------------------------------------------------------------ capture
def _worker(name, iprint):
    """Run inside the SciPy 1.14.1 venv: the Fortran prints on fds 1 and 2."""
    import warnings

    from scipy.optimize import fmin_l_bfgs_b
    fun, x0, bounds, opts = PROBLEMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmin_l_bfgs_b(fun, np.array(x0, dtype=float), bounds=bounds, iprint=iprint, **opts)


def capture(python, name, iprint):
    """What the Fortran printed for one run: stdout and stderr in one ordered stream."""
    env = dict(os.environ, GFORTRAN_UNBUFFERED_ALL="y", PYTHONHASHSEED="0")
    proc = subprocess.run([str(python), "-I", str(Path(__file__).resolve()), "--worker", name,
                           str(iprint)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} iprint={iprint}: worker failed:\n{proc.stdout.decode()}")
    return proc.stdout.decode()


def _versions(python):
    code = "import numpy, scipy; print(f'SciPy {scipy.__version__}, NumPy {numpy.__version__}')"
    return subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def generate(directory=GOLDEN_DIR, env=None):
    """Write every golden file and the manifest; return the list of paths."""
    from validation.legacy import DEFAULT_ENV, ensure_env
    python = ensure_env(env or DEFAULT_ENV)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in PROBLEMS:
        for iprint in IPRINTS:
            path = fixture_path(name, iprint, directory)
            path.write_text(capture(python, name, iprint))
            paths.append(path)
    manifest = dict(versions=_versions(python), iprints=list(IPRINTS),
                    command="fmin_l_bfgs_b(fun, x0, bounds=bounds, iprint=k, m=..., factr=..., "
                            "pgtol=...) with stdout and stderr merged, GFORTRAN_UNBUFFERED_ALL=y",
                    problems={n: dict(x0=p[1], bounds=p[2], **p[3]) for n, p in PROBLEMS.items()})
    (directory / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return paths


# ---------------------------------------------------------------- comparing
#: A number as Fortran or C print it: 12, -3.4, 1.0D+02, 2.5E-009, 1.000+100.
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[DdEe][-+]?\d+|[-+]\d{3})?")
#: Lines the renderer does not reproduce: the Fortran's timings.
TIMING = re.compile(r"^ (Total User time|Cauchy +time|Subspace minimization time"
                    r"|Line search +time)")
#: The continuation lines of a vector (FORMAT 1004 / 1010): 4x, then 1x,d11.4 items.
VECTOR_LINE = re.compile(r"^    ( [ -]\d\.\d{4}(?:D[-+]\d\d|[-+]\d{3}))+$")
RTOL = 1e-6
#: Below this magnitude reals are compared absolutely: f ~ 1e-16 at a minimum
#: is cancellation noise of O(1) terms and differs relatively at round-off.
ATOL = 1e-12


def _value(token):
    text = token.replace("D", "E").replace("d", "e")
    if re.search(r"\d[-+]\d{3}$", text):          # 1.000+100: exponent without letter
        text = text[:-4] + "E" + text[-4:]
    return float(text)


def _unit(token):
    """One unit in the last printed digit of a real token (1.2345D+02 -> 1e-2)."""
    parts = re.match(r"[-+]?(\d*)\.?(\d*)(?:[DdEe]([-+]?\d+)|([-+]\d{3}))?$", token)
    exponent = int(parts.group(3) or parts.group(4) or 0)
    return 10.0 ** (exponent - len(parts.group(2)))


def numbers_match(a, b, rtol=RTOL, atol=ATOL):
    """Integers: equal.  Reals: within ``rtol`` relatively or ``atol``
    absolutely, or at most one unit of the last printed digit apart (a value
    on a rounding boundary prints either way)."""
    if "." not in a and "." not in b:
        return a == b
    x, y = _value(a), _value(b)
    unit = 1.001 * max(_unit(a), _unit(b))
    return abs(x - y) <= max(rtol * max(abs(x), abs(y)), atol, unit)


def compare_line(ours, golden, rtol=RTOL):
    """None if the lines agree, else a short reason.

    Lines without numbers must be identical.  Otherwise the text between
    numbers must be identical up to the blanks next to a number (a fixed-width
    field shifts when a sign or digit count changes) and the numbers must
    agree as :func:`numbers_match` says.
    """
    if ours == golden:
        return None
    a, b = NUMBER.findall(ours), NUMBER.findall(golden)
    if not a and not b:
        return "text differs"
    if [s.strip() for s in NUMBER.split(ours)] != [s.strip() for s in NUMBER.split(golden)]:
        return "text differs"
    bad = [f"{x} vs {y}" for x, y in zip(a, b) if not numbers_match(x, y, rtol)]
    return f"numbers differ: {', '.join(bad)}" if bad else None


def compare_text(ours, golden, not_recorded="not recorded in the trace", rtol=RTOL):
    """Compare rendered text with a golden log line by line.

    Returns a dict: ``differences`` (list of (our line no., golden line no.,
    reason)), ``identical`` / ``close`` / ``skipped`` counts.  Timing lines of
    the golden log are dropped; where our line says ``not_recorded``, the
    golden vector block at that place (its first line, whose label must be
    the same, and its continuation lines) is skipped.
    """
    o = ours.splitlines()
    g = [line for line in golden.splitlines() if not TIMING.match(line)]
    out = dict(differences=[], identical=0, close=0, skipped=0)
    i = j = 0
    while i < len(o) and j < len(g):
        if not_recorded in o[i]:
            j = _skip_block(o[i], g, j, out)
        else:
            reason = compare_line(o[i], g[j], rtol)
            if reason:
                out["differences"].append((i + 1, j + 1, f"{reason}\n  ours:   {o[i]!r}\n"
                                                         f"  golden: {g[j]!r}"))
            else:
                out["identical" if o[i] == g[j] else "close"] += 1
            j += 1
        i += 1
    if i < len(o) or j < len(g):
        out["differences"].append((i + 1, j + 1, f"{len(o) - i} of our lines and {len(g) - j} "
                                                 f"golden lines left over"))
    return out


def _skip_block(note, g, j, out):
    label = note.split("(")[0].strip()
    if not g[j].strip().startswith(label):
        out["differences"].append((None, j + 1, f"expected a {label!r} block, "
                                                f"golden has {g[j]!r}"))
        return j + 1
    j += 1
    while j < len(g) and VECTOR_LINE.match(g[j]):
        j += 1
    out["skipped"] += 1
    return j


def check(directory=GOLDEN_DIR):
    """Render our runs and compare them with the committed golden files; print a summary."""
    import lbfgsb_py
    from lbfgsb_py.render import classic_text
    failures = 0
    for name in PROBLEMS:
        res = lbfgsb_py.minimize(**minimize_options(name), trace="full")
        for iprint in IPRINTS:
            golden = fixture_path(name, iprint, directory).read_text()
            r = compare_text(classic_text(res, iprint), golden)
            failures += bool(r["differences"])
            print(f"{name:22} iprint={iprint:<3} identical {r['identical']:4d}  close "
                  f"{r['close']:3d}  skipped blocks {r['skipped']:3d}  differences "
                  f"{len(r['differences'])}")
            for line_o, line_g, reason in r["differences"][:5]:
                print(f"    ours {line_o} / golden {line_g}: {reason}")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m validation.golden", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(GOLDEN_DIR), help="directory of the golden files")
    parser.add_argument("--env", default=None, help="SciPy 1.14.1 venv (default .venv-scipy114)")
    parser.add_argument("--check", action="store_true", help="compare instead of generating")
    parser.add_argument("--worker", nargs=2, metavar=("NAME", "IPRINT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker[0], int(args.worker[1]))
    if args.check:
        return 1 if check(args.out) else 0
    for path in generate(args.out, args.env):
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

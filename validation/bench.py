"""``python -m validation.bench``: first-solve time and cost per iteration, lbfgsb_py vs SciPy.

Sections (``--sections``; all by default):

* ``first``: the wall time of a whole fresh process (Python's start, the imports
  and one solve of a 10-variable bounded problem whose objective uses NumPy
  only) for SciPy and for lbfgsb_py on a fresh install (a copy of the package,
  byte-compiled as pip does, with an empty compiled cache, ``backend="auto"``),
  with the compiled backend's cache warm, and the wall time of
  ``python -m lbfgsb_py compile`` from an empty cache.  The copy keeps the
  shared cache of the working tree untouched, and it starts as a fresh install
  does: without byte code or machine code of its own.
* ``reference``: ``backend="reference"`` vs SciPy per iteration, maxcor 10.
* ``compiled``: ``backend="compiled"`` vs SciPy per iteration (the main table),
  next to the ratios of the BENCH.md it overwrites, and growth slopes.
* ``tracing``: the cost of tracing (compiled backend).

For the per-iteration tables both solvers run in this process, interleaved
(A B A B ...), on the same problem with ``gtol = ftol = 0`` and a fixed
``maxiter`` so that both iterate the same number of times.  The objective's own
time is measured inside it and subtracted: what remains is the solver's cost.
For each size n, bound setting and maxcor it prints the median per-iteration
time of each, the median of the pairwise ratios ours/SciPy, and the peak memory
(tracemalloc) of one solve.  It also measures the cost of tracing (and of
tracing off: how often the solver asks the tracer whether it is on, times what
one such test costs), a memory-bandwidth bound (one NumPy pass over
2*maxcor*n doubles, the least any iteration must read), and fits log-log slopes
of time vs n and maxcor.  Results go to ``validation/BENCH.md`` when
every section runs (else to standard output, or to ``--out``).
"""
import argparse
import datetime
import importlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import timeit
import tracemalloc
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy
from scipy.optimize import minimize as scipy_minimize

import lbfgsb_py
from lbfgsb_py.trace import Tracer

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("first", "reference", "compiled", "tracing")


class Problem:
    """Ill-conditioned coupled quadratic+quartic; half the variables end on a bound."""

    def __init__(self, n, bounded):
        self.n = n
        self.a = np.logspace(0, 3, n)
        self.c = np.where(np.arange(n) % 2 == 0, 2.0, 0.3)
        self.bounds = (np.full(n, -1.0), np.full(n, 1.0)) if bounded else None
        self.seconds = 0.0

    def __call__(self, x):
        t0 = time.perf_counter()
        r = x - self.c
        dx = np.diff(x)
        f = 0.5 * np.dot(self.a * r, r) + 0.05 * np.dot(dx, dx) + 0.01 * np.sum(r ** 4)
        g = self.a * r + 0.04 * r ** 3
        g[1:] += 0.1 * dx
        g[:-1] -= 0.1 * dx
        self.seconds += time.perf_counter() - t0
        return f, g


def solve(which, prob, maxcor, maxiter, trace="off", backend="compiled"):
    """One solve (``which``: "scipy", or lbfgsb_py with ``backend``: "ours", or an
    earlier lbfgsb_py module from :func:`load_revision`); return (solver seconds
    per iteration, iterations).

    ``backend`` is passed explicitly to an earlier module too: its "auto" would
    take the reference backend at small n while its copy's cache is cold (and
    start a background compilation of the wrong package, ``lbfgsb_py``)."""
    prob.seconds = 0.0
    x0 = np.zeros(prob.n)
    bounds = None if prob.bounds is None else scipy.optimize.Bounds(*prob.bounds)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if which == "scipy":
            res = scipy_minimize(prob, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                 options=dict(maxcor=maxcor, maxiter=maxiter, gtol=0, ftol=0))
        elif which != "ours":
            res = which.minimize(prob, x0, jac=True, bounds=bounds, maxcor=maxcor,
                                 maxiter=maxiter, gtol=0, ftol=0, trace=trace,
                                 backend=backend)
        else:
            res = lbfgsb_py.minimize(prob, x0, jac=True, bounds=bounds, maxcor=maxcor,
                                     maxiter=maxiter, gtol=0, ftol=0, trace=trace,
                                     backend=backend)
    total = time.perf_counter() - t0
    return (total - prob.seconds) / max(res.nit, 1), res.nit


def peak_memory(which, prob, maxcor, maxiter, backend="compiled"):
    tracemalloc.start()
    solve(which, prob, maxcor, maxiter, backend=backend)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def bandwidth_bound(n, maxcor, repeats=5):
    """Seconds for one pass over 2*maxcor*n doubles (np.sum over an array that size)."""
    big = np.ones(2 * maxcor * n)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        big.sum()
        times.append(time.perf_counter() - t0)
    return min(times)


def compare(n, bounded, maxcor, pairs, maxiter, backend="compiled"):
    """Interleaved pairs; return a result row."""
    prob = Problem(n, bounded)
    solve("ours", prob, maxcor, 2, backend=backend)          # compile / warm up both
    solve("scipy", prob, maxcor, 2)
    ours, ref, nits = [], [], set()
    for _ in range(pairs):
        t_s, it_s = solve("scipy", prob, maxcor, maxiter)
        t_o, it_o = solve("ours", prob, maxcor, maxiter, backend=backend)
        ref.append(t_s)
        ours.append(t_o)
        nits.add((it_s, it_o))
    ratio = statistics.median(o / s for o, s in zip(ours, ref))
    return dict(n=n, bounded=bounded, maxcor=maxcor, nit=sorted(nits), backend=backend,
                scipy=statistics.median(ref), ours=statistics.median(ours), ratio=ratio,
                mem_scipy=peak_memory("scipy", prob, maxcor, maxiter),
                mem_ours=peak_memory("ours", prob, maxcor, maxiter, backend),
                bandwidth=bandwidth_bound(n, maxcor))


def load_revision(rev):
    """lbfgsb_py as it was at git revision ``rev``, imported from a temporary copy
    as the package ``lbfgsb_py_<rev>`` (its modules import each other relatively;
    its Numba cache is the copy's own); returns (module, the copy's directory)."""
    root = Path(tempfile.mkdtemp(prefix="lbfgsb-rev-"))
    archive = subprocess.run(["git", "archive", rev, "lbfgsb_py"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root)
    name = "lbfgsb_py_" + re.sub(r"\W", "_", rev)
    (root / "lbfgsb_py").rename(root / name)
    sys.path.insert(0, str(root))
    return importlib.import_module(name), root


def against(before, n, bounded, maxcor, rounds, maxiter):
    """Interleaved triples SciPy, ``before`` (an earlier lbfgsb_py), the compiled
    backend now; return a row with the medians of the pairwise ratios."""
    prob = Problem(n, bounded)
    for which in ("scipy", before, "ours"):
        solve(which, prob, maxcor, 2)
    t = {"scipy": [], "before": [], "now": []}
    for _ in range(rounds):
        t["scipy"].append(solve("scipy", prob, maxcor, maxiter)[0])
        t["before"].append(solve(before, prob, maxcor, maxiter)[0])
        t["now"].append(solve("ours", prob, maxcor, maxiter)[0])

    def ratio(a, b):
        return statistics.median(x / y for x, y in zip(t[a], t[b]))
    return dict(n=n, bounded=bounded, maxcor=maxcor,
                **{k: statistics.median(v) for k, v in t.items()},
                before_scipy=ratio("before", "scipy"), now_scipy=ratio("now", "scipy"),
                now_before=ratio("now", "before"))


def tracing_cost(n, maxcor, rounds, maxiter):
    """Median ms/it at each trace level (compiled backend), the levels interleaved
    round by round."""
    prob = Problem(n, True)
    levels = ("off", "iteration", "full")
    for level in levels:
        solve("ours", prob, maxcor, 2, trace=level)
    times = {level: [] for level in levels}
    for _ in range(rounds):
        for level in levels:
            times[level].append(solve("ours", prob, maxcor, maxiter, trace=level)[0])
    return {level: statistics.median(t) for level, t in times.items()}


class _CountingTracer(Tracer):
    """A tracer at level "off" that counts how often the solver reads ``on`` or ``full``."""

    reads = 0

    @property
    def on(self):
        _CountingTracer.reads += 1
        return False

    @on.setter
    def on(self, value):
        pass

    full = on


def tracing_off_cost(maxcor, maxiter, n=10, backend="compiled"):
    """What tracing off costs per iteration on the smallest problem, where it weighs most.

    With tracing off, all the solver does for tracing is test ``self.tracer.on``
    (or ``.full``) before each event; this counts the tests per iteration and
    times one.  Returns a dict: ``tests`` per iteration, seconds ``per_test``,
    solver seconds ``per_it`` with tracing off, and the problem's ``n``, ``maxcor``.
    """
    prob = Problem(n, True)
    _CountingTracer.reads = 0
    res = lbfgsb_py.minimize(prob, np.zeros(n), jac=True, bounds=list(zip(*prob.bounds)),
                             maxcor=maxcor, maxiter=maxiter, gtol=0, ftol=0, backend=backend,
                             trace=_CountingTracer(level="off", memory=False))
    engine = SimpleNamespace(tracer=Tracer(level="off", memory=False))
    per_test = min(timeit.repeat("if e.tracer.on: pass", globals={"e": engine}, number=100000,
                                 repeat=7)) / 100000
    per_it = statistics.median(solve("ours", prob, maxcor, maxiter, backend=backend)[0]
                               for _ in range(31))
    return dict(tests=_CountingTracer.reads / res.nit, per_test=per_test, per_it=per_it, n=n,
                maxcor=maxcor)


# ---------------------------------------------------------------- first solve
#: The first-solve problem: bounded Rosenbrock in 10 variables, NumPy only.
#: ``{solve}`` becomes the solver call; the process prints what it imported.
FIRST_SOLVE_CODE = """\
import sys
import numpy as np
{imports}

def fun(x):
    r = x[1:] - x[:-1] ** 2
    s = 1.0 - x[:-1]
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * r - 2.0 * s
    g[1:] += 200.0 * r
    return 100.0 * (r @ r) + s @ s, g

res = {solve}(fun, np.full(10, -1.2), jac=True, bounds=[(-2.0, 0.8)] * 10{options})
"""
#: Appended to each process's code: what it imported (and solved), as JSON.
REPORT_CODE = """
import json, sys
res = globals().get("res")
print(json.dumps(dict(nit=None if res is None else int(res.nit),
                      status=None if res is None else int(res.status),
                      numba="numba" in sys.modules, scipy="scipy" in sys.modules,
                      ours="lbfgsb_py" in sys.modules,
                      compiled="lbfgsb_py.compiled.backend" in sys.modules,
                      file=getattr(sys.modules.get("lbfgsb_py"), "__file__", None))))
"""
SCIPY_FIRST = FIRST_SOLVE_CODE.format(imports="from scipy.optimize import minimize",
                                      solve="minimize", options=', method="L-BFGS-B"')


def ours_first(backend):
    return FIRST_SOLVE_CODE.format(imports="import lbfgsb_py", solve="lbfgsb_py.minimize",
                                   options=f", backend={backend!r}")


def _code(text):
    """``python -c`` arguments running ``text`` and reporting what it imported."""
    return ["-c", text + REPORT_CODE]


class FreshInstall:
    """A copy of the package in a temporary directory, byte-compiled (as pip
    installs it) but with an empty compiled cache: processes started here import
    the copy, whose cache is its own, and the working tree's cache is untouched."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="lbfgsb-fresh-"))
        shutil.copytree(ROOT / "lbfgsb_py", self.root / "lbfgsb_py",
                        ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(self.root / "lbfgsb_py")],
                       check=True)
        self.cache = self.root / "lbfgsb_py" / "compiled" / "__pycache__"
        self.lock = self.cache / "compile.lock"
        self.empty_cache()

    def env(self, **extra):
        env = dict(os.environ, PYTHONPATH=str(self.root), **extra)
        env.pop("NUMBA_CACHE_DIR", None)        # Numba caches in the copy's __pycache__
        env.pop("LBFGSB_PY_BACKEND", None)      # "auto" means auto
        return env

    def cached_files(self):
        return list(self.cache.glob("*.nb[ic]"))

    def empty_cache(self):
        """Delete the machine code and our marks beside it (digest, ready marker)."""
        for path in self.cached_files() + list(self.cache.glob("kernels.*")):
            path.unlink(missing_ok=True)

    def compiled_ready(self):
        """What the copy's own ``backends.compiled_ready()`` says."""
        line = self.run(["-c", "from lbfgsb_py import backends; "
                               "print(backends.compiled_ready())"])[1]
        return line == "True"

    def run(self, args, **extra):
        """Wall seconds of ``python args`` run here, and its last output line."""
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable] + args, cwd=self.root, env=self.env(**extra),
                             capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if out.returncode:
            raise RuntimeError(f"{args[:2]} failed in {self.root}:\n{out.stderr}")
        return seconds, (out.stdout.strip().splitlines() or [""])[-1]

    def wait_for_background_compile(self, timeout=900):
        """Seconds until the background compilation's lock is given back."""
        t0 = time.perf_counter()
        while self.lock.exists() and time.perf_counter() - t0 < timeout:
            time.sleep(0.2)
        return time.perf_counter() - t0

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


def _timed_runs(install, args, runs, check=None, before=None, **env):
    """Run ``python args`` ``runs`` times; return (median seconds, all seconds, the
    decoded outputs)."""
    times, outputs = [], []
    for _ in range(runs):
        if before is not None:
            before()
        seconds, line = install.run(args, **env)
        times.append(seconds)
        outputs.append(json.loads(line) if line.startswith("{") else line)
        if check is not None:
            check(outputs[-1])
    return dict(median=statistics.median(times), times=times, outputs=outputs)


def first_solve(runs, compile_runs, background=True):
    """The first-solve figures, each process started afresh (see the module docstring)."""
    install = FreshInstall()
    quiet = dict(LBFGSB_PY_BACKGROUND_COMPILE="0")
    out = {}
    try:
        expected = install.root / "lbfgsb_py" / "__init__.py"

        def ours_ok(o):
            if o["file"] != str(expected):
                raise RuntimeError(f"the fresh-install process imported {o['file']}")
        out["python_numpy"] = _timed_runs(install, ["-c", "import numpy"], runs)
        out["python_scipy_import"] = _timed_runs(
            install, _code("import numpy, scipy.optimize"), runs)
        out["python_numba_import"] = _timed_runs(install, _code("import numpy, numba"), runs)
        out["scipy"] = _timed_runs(install, _code(SCIPY_FIRST), runs)
        out["ours_import"] = _timed_runs(install, _code("import numpy, lbfgsb_py"), runs,
                                         check=ours_ok, **quiet)

        def still_empty(o):
            ours_ok(o)
            o["cache_files_after"] = len(install.cached_files())
        out["auto_cold"] = _timed_runs(install, _code(ours_first("auto")), runs,
                                       check=still_empty, before=install.empty_cache, **quiet)
        out["reference_cold"] = _timed_runs(install, _code(ours_first("reference")), runs,
                                            check=still_empty, before=install.empty_cache,
                                            **quiet)
        if background:
            # The default: the same first solve starts a detached compilation.
            install.empty_cache()
            out["auto_background"] = _timed_runs(install, _code(ours_first("auto")), 1,
                                                 check=ours_ok)
            out["background_compile_done_after"] = install.wait_for_background_compile()
            out["background_ready"] = install.compiled_ready()
        compiles = []
        for _ in range(compile_runs):
            install.empty_cache()
            compiles.append(install.run(["-m", "lbfgsb_py", "compile", "--quiet"])[0])
        out["compile"] = dict(median=statistics.median(compiles), times=compiles,
                              files=len(install.cached_files()),
                              ready=install.compiled_ready())
        out["compiled_warm"] = _timed_runs(install, _code(ours_first("compiled")), runs,
                                           check=ours_ok, **quiet)
        out["auto_warm"] = _timed_runs(install, _code(ours_first("auto")), runs,
                                       check=ours_ok, **quiet)
    finally:
        install.wait_for_background_compile()
        install.remove()
    return out


def slope(xs, ys):
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


#: Pairs at n <= 1e3, where one solve takes about a millisecond and a median of
#: five would be at the mercy of a noisy machine.
SMALL_PAIRS = 31

#: Sizes of the reference backend's table (maxcor 10, bounded and not).
REFERENCE_SIZES = (10, 1000, 10000)


def previous_ratios(path):
    """{(n, "box"|"none", maxcor): ours/SciPy} from the compiled-backend table of a
    BENCH.md written before (its first table with a maxcor column), and a line
    describing it; ({}, None) if there is none."""
    try:
        text = Path(path).read_text()
    except OSError:
        return {}, None
    compiled = text.find("## Compiled backend")
    table = re.search(r"\| n \| bounds \| maxcor \|.*?\n((?:\|.*\n)+)",
                      text[max(compiled, 0):])
    if table is None:
        return {}, None
    ratios = {}
    for line in table.group(1).splitlines()[1:]:
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        try:
            ratios[(int(cells[0]), cells[1], int(cells[2]))] = float(cells[5])
        except (ValueError, IndexError):
            continue
    header = re.search(r"^`python -m validation\.bench[^`]*` on ([0-9-]+)", text, re.M)
    return ratios, header.group(1) if header else None


def _int_list(text):
    """The value of ``--sizes`` or ``--maxcors``: "10,100" gives (10, 100)."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def parse_args(argv=None):
    """The command line's options (``argv``: default ``sys.argv[1:]``)."""
    ap = argparse.ArgumentParser(prog="python -m validation.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="n <= 1e4, 3 pairs above n = 1e3, 3 runs of each process, one "
                         "compilation (for a smoke run)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated, of {', '.join(SECTIONS)} (default: all)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--maxiter", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per first-solve case")
    ap.add_argument("--compile-runs", type=int, default=3,
                    help="compilations from an empty cache")
    ap.add_argument("--previous", help="the BENCH.md whose compiled-backend ratios the new "
                                       "ones are compared with (default: validation/BENCH.md)")
    ap.add_argument("--against", metavar="REV",
                    help="also time the lbfgsb_py of git revision REV (e.g. the one the "
                         "previous BENCH.md ran at) against the compiled backend now, "
                         "interleaved in this process, n <= 1e5")
    ap.add_argument("--sizes", type=_int_list, metavar="N,N,...",
                    help="the sizes n of the per-iteration tables (default: 10 to 1e6, "
                         "or to 1e4 with --quick)")
    ap.add_argument("--maxcors", type=_int_list, metavar="M,M,...",
                    help="the maxcor values of the compiled and --against tables "
                         "(default: 5,10,20); with --sizes or --maxcors the report goes "
                         "to standard output unless --out says otherwise")
    ap.add_argument("--note", default="", help="appended to the report's header line")
    ap.add_argument("--append", metavar="FILE",
                    help="append the sections run (e.g. --sections '' --against REV) to "
                         "FILE, under their own header line")
    ap.add_argument("--out", help="default: validation/BENCH.md when every section runs, "
                                  "else standard output")
    args = ap.parse_args(argv)
    args.section_list = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(args.section_list) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def main(argv=None):
    args = parse_args(argv)
    sections = args.section_list
    default_out = Path(__file__).with_name("BENCH.md")
    whole = set(sections) == set(SECTIONS) and not args.sizes and not args.maxcors
    out = args.out or (str(default_out) if whole else None)
    previous = previous_ratios(args.previous or default_out)
    sizes = args.sizes or ([10, 100, 1000, 10000] if args.quick
                           else [10, 100, 1000, 10000, 100000, 1000000])
    maxcors = args.maxcors or (5, 10, 20)
    pairs = 3 if args.quick else args.pairs
    runs = 3 if args.quick else args.runs
    compile_runs = 1 if args.quick else args.compile_runs
    load = [os.getloadavg()[0]]
    results = dict(args=args, pairs=pairs, runs=runs, sections=sections, previous=previous,
                   commit=_git("rev-parse", "--short", "HEAD"),
                   dirty=bool(_git("status", "--porcelain", "--untracked-files=no",
                                   "--", "lbfgsb_py")))
    if "first" in sections:
        results["first"] = first_solve(runs, compile_runs)
        print(_first_text(results["first"]), file=sys.stderr, flush=True)
    if "reference" in sections:
        rows = []
        for n in REFERENCE_SIZES:
            for bounded in (True, False):
                row = compare(n, bounded, 10, max(pairs, SMALL_PAIRS) if n <= 1000 else pairs,
                              args.maxiter, backend="reference")
                rows.append(row)
                print(_row_text(row), file=sys.stderr, flush=True)
        results["reference"] = rows
    if "compiled" in sections:
        rows = []
        for n in sizes:
            for bounded in (True, False):
                for maxcor in maxcors:
                    p = max(pairs, SMALL_PAIRS) if n <= 1000 else pairs
                    row = compare(n, bounded, maxcor, p, args.maxiter)
                    rows.append(row)
                    print(_row_text(row), file=sys.stderr, flush=True)
        results["compiled"] = rows
    if args.against:
        before, copy = load_revision(args.against)
        rows = []
        try:
            for n in [n for n in sizes if n <= 100000]:
                for bounded in (True, False):
                    for maxcor in maxcors:
                        p = max(pairs, SMALL_PAIRS) if n <= 1000 else pairs
                        row = against(before, n, bounded, maxcor, p, args.maxiter)
                        rows.append(row)
                        print(f"against n={n} {bounded} m={maxcor}: now/before "
                              f"{row['now_before']:.2f}", file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        results["against"] = dict(rev=args.against, rows=rows,
                                  commit=_git("rev-parse", "--short", args.against))
    if "tracing" in sections:
        results["tracing"] = {n: tracing_cost(n, 10, 11 if n < 1000000 else 5, args.maxiter)
                              for n in sizes if n >= 1000}
        results["tracing_off"] = tracing_off_cost(10, args.maxiter)
    load.append(os.getloadavg()[0])
    results["load"] = load
    text = _report(results)
    if args.append:
        # the sections under a header line of their own, after the file's sections
        body = text.split("\n", 2)[2]
        text = (Path(args.append).read_text().rstrip("\n") + "\n\n## Added by a second run\n\n"
                + body)
        out = args.append
    if out is None:
        print(text)
    else:
        Path(out).write_text(text)
        print(f"wrote {out}", file=sys.stderr)


def _row_text(r):
    return (f"{r['backend']:9} n={r['n']:>8} {'bounded' if r['bounded'] else 'free':7} "
            f"m={r['maxcor']:>2} scipy {r['scipy'] * 1e3:9.3f} ms/it  ours "
            f"{r['ours'] * 1e3:9.3f} ms/it  ratio {r['ratio']:.2f}  bound "
            f"x{r['ours'] / r['bandwidth']:.1f}  mem {r['mem_ours'] / 2**20:.1f}/"
            f"{r['mem_scipy'] / 2**20:.1f} MiB  nit {r['nit']}")


def _first_text(first):
    return "\n".join(f"{key}: {value['median']:.2f} s" for key, value in first.items()
                     if isinstance(value, dict) and "median" in value)


def _times(case):
    return ", ".join(f"{t:.2f}" for t in case["times"])


def _imported(case):
    """What the processes of a first-solve case imported, e.g. "NumPy, SciPy"."""
    outs = [o for o in case["outputs"] if isinstance(o, dict)]
    names = [name for key, name in (("ours", "lbfgsb_py"), ("scipy", "SciPy"),
                                    ("numba", "Numba")) if any(o[key] for o in outs)]
    backend = {"compiled" if o["compiled"] else "reference" for o in outs
               if o["ours"] and o["nit"] is not None}
    return ", ".join(["NumPy"] + names), "/".join(sorted(backend))


def _header(results):
    args = results["args"]
    flags = (" --quick" if args.quick else "") + (
        f" --sections {args.sections or repr('')}"
        if set(results["sections"]) != set(SECTIONS) else "") + (
        f" --against {args.against}" if getattr(args, "against", None) else "") + "".join(
        f" --{name} {','.join(map(str, getattr(args, name)))}"
        for name in ("sizes", "maxcors") if getattr(args, name, None))
    pairs = results["pairs"]
    commit = results["commit"] + (" with local changes in lbfgsb_py/" if results["dirty"]
                                  else "")
    load = results["load"]
    return (f"`python -m validation.bench{flags}` on {datetime.date.today().isoformat()} at "
            f"{commit or 'an unknown commit'}: {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores (load average {load[0]:.1f} at the start, "
            f"{load[1]:.1f} at the end), Python {platform.python_version()}, NumPy "
            f"{np.__version__}, SciPy {scipy.__version__}, lbfgsb_py {lbfgsb_py.__version__}. "
            f"Per-iteration tables: maxiter {args.maxiter}, gtol = ftol = 0, objective time "
            f"excluded, medians of interleaved pairs ({max(pairs, SMALL_PAIRS)} at n <= 1e3, "
            f"{pairs} above), tracing off." + (f" {args.note}" if args.note else ""))


def _report(results):
    lines = ["# Benchmark: first solve and cost per iteration, lbfgsb_py vs SciPy", "",
             _header(results)]
    if "first" in results:
        lines += [""] + _first_report(results["first"], results["runs"])
    if "reference" in results:
        lines += ["", "## Reference backend (`backend=\"reference\"`, plain NumPy) per "
                  "iteration, maxcor 10", "",
                  "Target: within 10x of SciPy at n <= 1e3.", ""]
        lines += _table(results["reference"], previous=None)
    if "compiled" in results:
        ratios, date = results["previous"]
        lines += ["", "## Compiled backend (`backend=\"compiled\"`, Numba) per iteration", "",
                  "Target: at most 5% worse than before the two backends (previous: the "
                  f"ratios of the BENCH.md this run replaced{f', run on {date}' if date else ''};"
                  " the same machine, but the two runs' SciPy timings differ by the load of "
                  "each session).", ""]
        lines += _table(results["compiled"], previous=ratios)
        lines += ["", "## Growth (log-log slopes of ours ms/it, compiled backend)", ""]
        lines += _slopes(results["compiled"])
    if "against" in results:
        lines += [""] + _against_report(results["against"])
    if "tracing" in results:
        lines += ["", "## Cost of tracing (compiled backend, bounded, maxcor 10, ms/it)", "",
                  "| n | off | iteration | full | iteration/off | full/off |",
                  "|---|---|---|---|---|---|"]
        for n, t in results["tracing"].items():
            lines.append(f"| {n} | {t['off'] * 1e3:.3f} | {t['iteration'] * 1e3:.3f} | "
                         f"{t['full'] * 1e3:.3f} | {t['iteration'] / t['off']:.2f} | "
                         f"{t['full'] / t['off']:.2f} |")
        off = results["tracing_off"]
        cost = off["tests"] * off["per_test"]
        lines += ["", f"Tracing off: the solver tests `tracer.on` (or `.full`) "
                  f"{off['tests']:.1f} times per iteration, {off['per_test'] * 1e9:.0f} ns "
                  f"each: {cost * 1e6:.2f} us per iteration, {100 * cost / off['per_it']:.1f}% "
                  f"of the smallest problem's {off['per_it'] * 1e3:.3f} ms/it (n = {off['n']}, "
                  f"bounded, maxcor {off['maxcor']})."]
    return "\n".join(lines) + "\n"


def _against_report(against):
    rows = against["rows"]
    ratios = [r["now_before"] for r in rows]
    lines = [f"## The same session: the compiled backend now vs lbfgsb_py at "
             f"{against['commit'] or against['rev']}",
             "",
             "Interleaved triples (SciPy, lbfgsb_py then, lbfgsb_py now with "
             "`backend=\"compiled\"`) in this process, the earlier package imported from a "
             "copy of that revision; medians of the pairwise ratios.  now/before over all "
             f"rows: median {statistics.median(ratios):.2f}, range {min(ratios):.2f}-"
             f"{max(ratios):.2f}.", "",
             "| n | bounds | maxcor | SciPy ms/it | then ms/it | now ms/it | then/SciPy | "
             "now/SciPy | now/then |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n']} | {'box' if r['bounded'] else 'none'} | {r['maxcor']} | "
                     f"{r['scipy'] * 1e3:.3f} | {r['before'] * 1e3:.3f} | "
                     f"{r['now'] * 1e3:.3f} | {r['before_scipy']:.2f} | "
                     f"{r['now_scipy']:.2f} | **{r['now_before']:.2f}** |")
    return lines


def _first_report(first, runs):
    def row(label, case, target=""):
        imported, backend = _imported(case) if case.get("outputs") and isinstance(
            case["outputs"][0], dict) else ("", "")
        return (f"| {label} | **{case['median']:.2f}** | {_times(case)} | {backend} | "
                f"{imported} | {target} |")
    lines = ["## First solve (fresh processes, wall time of the whole process)", "",
             "A 10-variable bounded Rosenbrock whose objective uses NumPy only (`jac=True`, "
             "x0 = -1.2, bounds [-2, 0.8]), default options, in a fresh Python process: "
             "Python's start, the imports and the solve.  lbfgsb_py runs from a copy of the "
             "package in a temporary directory, byte-compiled as pip installs it; its "
             "compiled backend's cache is emptied where the case says *empty*.  "
             f"Median of {runs} processes (all of them listed); "
             "`LBFGSB_PY_BACKGROUND_COMPILE=0` except where it says otherwise.", "",
             "| case | median s | each run, s | backend used | imported | target |",
             "|---|---|---|---|---|---|",
             row("`python -c 'import numpy'` (the floor)", first["python_numpy"]),
             row("`import numpy, scipy.optimize`", first["python_scipy_import"]),
             row("`import numpy, numba`", first["python_numba_import"]),
             row("`import numpy, lbfgsb_py`", first["ours_import"]),
             row("SciPy: import `scipy.optimize` and solve", first["scipy"], "the aim"),
             row("lbfgsb_py, fresh install (empty cache), `backend=\"auto\"`",
                 first["auto_cold"], "<= 2.0 s"),
             row("lbfgsb_py, empty cache, `backend=\"reference\"`", first["reference_cold"])]
    if "auto_background" in first:
        lines.append(row("lbfgsb_py, fresh install, `backend=\"auto\"`, background "
                         "compilation on (the default)", first["auto_background"]))
    lines += [row("lbfgsb_py, warm cache, `backend=\"compiled\"`", first["compiled_warm"],
                  "<= 1.0 s"),
              row("lbfgsb_py, warm cache, `backend=\"auto\"`", first["auto_warm"])]
    compile_ = first["compile"]
    lines += ["", f"Compiling the whole compiled backend from an empty cache "
              f"(`python -m lbfgsb_py compile --quiet`, whole process): **"
              f"{compile_['median']:.1f} s** (median of {len(compile_['times'])}: "
              f"{_times(compile_)} s; {compile_['files']} cache files, "
              f"{'' if compile_['ready'] else 'not '}ready after it); target <= 30 s."]
    cold = first["auto_cold"]["outputs"]
    if all(isinstance(o, dict) for o in cold):
        left = max(o["cache_files_after"] for o in cold)
        lines.append(f"The fresh-install runs left {left} files in the compiled cache "
                     "(nothing was compiled).")
    if "auto_background" in first:
        lines.append(f"With the background compilation on, the detached "
                     f"`lbfgsb-py compile --quiet` that first solve started finished "
                     f"{first['background_compile_done_after']:.1f} s after the solve's "
                     f"process had ended (nothing else of the benchmark ran meanwhile); the "
                     f"cache was then {'ready' if first['background_ready'] else 'still empty'}.")
    return lines


def _table(rows, previous):
    cols = ("| n | bounds | maxcor | SciPy ms/it | ours ms/it | ours/SciPy | "
            "ours / bandwidth bound | peak MiB ours / SciPy | nit (SciPy, ours) |")
    rule = "|---|---|---|---|---|---|---|---|---|"
    if previous is not None:
        cols += " previous ours/SciPy | now/previous |"
        rule += "---|---|"
    lines = [cols, rule]
    for r in rows:
        bounds = "box" if r["bounded"] else "none"
        line = (f"| {r['n']} | {bounds} | {r['maxcor']} | "
                f"{r['scipy'] * 1e3:.3f} | {r['ours'] * 1e3:.3f} | **{r['ratio']:.2f}** | "
                f"{r['ours'] / r['bandwidth']:.1f} | {r['mem_ours'] / 2**20:.1f} / "
                f"{r['mem_scipy'] / 2**20:.1f} | {r['nit']} |")
        if previous is not None:
            before = previous.get((r["n"], bounds, r["maxcor"]))
            line += (f" {before:.2f} | {r['ratio'] / before:.2f} |" if before else " | |")
        lines.append(line)
    return lines


def _slopes(rows):
    out = []
    big = [r for r in rows if r["n"] >= 10000]
    for bounded in (True, False):
        for m in (5, 10, 20):
            sel = [r for r in big if r["bounded"] == bounded and r["maxcor"] == m]
            if len(sel) >= 2:
                fit = slope([r["n"] for r in sel], [r["ours"] for r in sel])
                out.append(f"- time vs n ({'box' if bounded else 'none'}, maxcor {m}, "
                           f"n >= 1e4): slope {fit:.2f}")
    for n in sorted({r["n"] for r in big}):
        for bounded in (True, False):
            sel = [r for r in rows if r["n"] == n and r["bounded"] == bounded]
            out.append(f"- time vs maxcor (n = {n}, {'box' if bounded else 'none'}): slope "
                       f"{slope([r['maxcor'] for r in sel], [r['ours'] for r in sel]):.2f}")
    return out


if __name__ == "__main__":
    main()

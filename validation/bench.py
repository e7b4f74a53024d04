"""``python -m validation.bench``: solver cost per iteration, lbfgsb_py vs SciPy.

Both solvers run in this process, interleaved (A B A B ...), on the same problem
with ``gtol = ftol = 0`` and a fixed ``maxiter`` so that both iterate the same
number of times.  The objective's own time is measured inside it and subtracted:
what remains is the solver's cost.  For each size n, bound setting and maxcor it
prints the median per-iteration time of each, the median of the pairwise ratios
ours/SciPy, and the peak memory (tracemalloc) of one solve.  It also measures the
cost of tracing (and of tracing off: how often the solver asks the tracer whether it
is on, times what one such test costs), a memory-bandwidth bound (one NumPy pass
over 2*maxcor*n doubles, the least any iteration must read), first-call latency in a fresh process with a
warm and a cold Numba cache, and fits log-log slopes of time vs n and maxcor.
Results go to ``validation/BENCH.md``.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
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


def solve(which, prob, maxcor, maxiter, trace="off"):
    """One solve; return (solver seconds per iteration, iterations)."""
    prob.seconds = 0.0
    x0 = np.zeros(prob.n)
    bounds = None if prob.bounds is None else scipy.optimize.Bounds(*prob.bounds)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if which == "scipy":
            res = scipy_minimize(prob, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                 options=dict(maxcor=maxcor, maxiter=maxiter, gtol=0, ftol=0))
        else:
            res = lbfgsb_py.minimize(prob, x0, jac=True, bounds=bounds, maxcor=maxcor,
                                     maxiter=maxiter, gtol=0, ftol=0, trace=trace)
    total = time.perf_counter() - t0
    return (total - prob.seconds) / max(res.nit, 1), res.nit


def peak_memory(which, prob, maxcor, maxiter):
    tracemalloc.start()
    solve(which, prob, maxcor, maxiter)
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


def compare(n, bounded, maxcor, pairs, maxiter):
    """Interleaved pairs; return a result row."""
    prob = Problem(n, bounded)
    solve("ours", prob, maxcor, 2)          # compile / warm up both
    solve("scipy", prob, maxcor, 2)
    ours, ref, nits = [], [], set()
    for _ in range(pairs):
        t_s, it_s = solve("scipy", prob, maxcor, maxiter)
        t_o, it_o = solve("ours", prob, maxcor, maxiter)
        ref.append(t_s)
        ours.append(t_o)
        nits.add((it_s, it_o))
    ratio = statistics.median(o / s for o, s in zip(ours, ref))
    return dict(n=n, bounded=bounded, maxcor=maxcor, nit=sorted(nits),
                scipy=statistics.median(ref), ours=statistics.median(ours), ratio=ratio,
                mem_scipy=peak_memory("scipy", prob, maxcor, maxiter),
                mem_ours=peak_memory("ours", prob, maxcor, maxiter),
                bandwidth=bandwidth_bound(n, maxcor))


def tracing_cost(n, maxcor, rounds, maxiter):
    """Median ms/it at each trace level, the levels interleaved round by round."""
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


def tracing_off_cost(maxcor, maxiter, n=10):
    """What tracing off costs per iteration on the smallest problem, where it weighs most.

    With tracing off, all the solver does for tracing is test ``self.tracer.on``
    (or ``.full``) before each event; this counts the tests per iteration and
    times one.  Returns a dict: ``tests`` per iteration, seconds ``per_test``,
    solver seconds ``per_it`` with tracing off, and the problem's ``n``, ``maxcor``.
    """
    prob = Problem(n, True)
    _CountingTracer.reads = 0
    res = lbfgsb_py.minimize(prob, np.zeros(n), jac=True, bounds=list(zip(*prob.bounds)),
                             maxcor=maxcor, maxiter=maxiter, gtol=0, ftol=0,
                             trace=_CountingTracer(level="off", memory=False))
    engine = SimpleNamespace(tracer=Tracer(level="off", memory=False))
    per_test = min(timeit.repeat("if e.tracer.on: pass", globals={"e": engine}, number=100000,
                                 repeat=7)) / 100000
    per_it = statistics.median(solve("ours", prob, maxcor, maxiter)[0] for _ in range(31))
    return dict(tests=_CountingTracer.reads / res.nit, per_test=per_test, per_it=per_it, n=n,
                maxcor=maxcor)


LATENCY_CODE = ("import time; t=time.perf_counter(); import numpy as np, lbfgsb_py; "
                "lbfgsb_py.minimize(lambda x: (x @ x, 2 * x), np.ones(3), jac=True, "
                "bounds=[(-1, 2)] * 3); print(time.perf_counter() - t)")


def first_call_latency(cold):
    env = dict(os.environ)
    if cold:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="lbfgsb-cold-")
    return float(subprocess.run([sys.executable, "-c", LATENCY_CODE], env=env,
                                capture_output=True, text=True, check=True).stdout)


def slope(xs, ys):
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


#: Pairs at n <= 1e3, where one solve takes about a millisecond and a median of
#: five would be at the mercy of a noisy machine.
SMALL_PAIRS = 31


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m validation.bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="n <= 1e4, 3 pairs (for a smoke run)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--maxiter", type=int, default=30)
    ap.add_argument("--out", default=str(Path(__file__).with_name("BENCH.md")))
    args = ap.parse_args(argv)
    sizes = [10, 100, 1000, 10000] if args.quick else [10, 100, 1000, 10000, 100000, 1000000]
    pairs = 3 if args.quick else args.pairs
    rows = []
    for n in sizes:
        for bounded in (True, False):
            for maxcor in (5, 10, 20):
                p = max(pairs, SMALL_PAIRS) if n <= 1000 else pairs
                row = compare(n, bounded, maxcor, p, args.maxiter)
                rows.append(row)
                print(_row_text(row), file=sys.stderr, flush=True)
    tracing = {n: tracing_cost(n, 10, 11 if n < 1000000 else 5, args.maxiter)
               for n in sizes if n >= 1000}
    off = tracing_off_cost(10, args.maxiter)
    latency = {"warm": first_call_latency(False), "cold": first_call_latency(True)}
    Path(args.out).write_text(_report(rows, tracing, off, latency, args, pairs))
    print(f"wrote {args.out}", file=sys.stderr)


def _row_text(r):
    return (f"n={r['n']:>8} {'bounded' if r['bounded'] else 'free':7} m={r['maxcor']:>2} "
            f"scipy {r['scipy'] * 1e3:9.3f} ms/it  ours {r['ours'] * 1e3:9.3f} ms/it  "
            f"ratio {r['ratio']:.2f}  bound x{r['ours'] / r['bandwidth']:.1f}  "
            f"mem {r['mem_ours'] / 2**20:.1f}/{r['mem_scipy'] / 2**20:.1f} MiB  nit {r['nit']}")


def _report(rows, tracing, off, latency, args, pairs):
    lines = [
        "# Benchmark: solver cost per iteration, lbfgsb_py vs SciPy", "",
        f"`python -m validation.bench{' --quick' if args.quick else ''}` on "
        f"{datetime.date.today().isoformat()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}, "
        f"SciPy {scipy.__version__}, lbfgsb_py {lbfgsb_py.__version__}, maxiter "
        f"{args.maxiter}, gtol = ftol = 0, objective time excluded, medians of interleaved "
        f"pairs ({max(pairs, SMALL_PAIRS)} at n <= 1e3, {pairs} above), tracing off.", "",
        "| n | bounds | maxcor | SciPy ms/it | ours ms/it | ours/SciPy | ours / bandwidth bound "
        "| peak MiB ours / SciPy | nit (SciPy, ours) |",
        "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['n']} | {'box' if r['bounded'] else 'none'} | {r['maxcor']} | "
            f"{r['scipy'] * 1e3:.3f} | {r['ours'] * 1e3:.3f} | **{r['ratio']:.2f}** | "
            f"{r['ours'] / r['bandwidth']:.1f} | {r['mem_ours'] / 2**20:.1f} / "
            f"{r['mem_scipy'] / 2**20:.1f} | {r['nit']} |")
    lines += ["", "## Growth (log-log slopes of ours ms/it)", ""] + _slopes(rows)
    lines += ["", "## Cost of tracing (bounded, maxcor 10, ms/it)", "",
              "| n | off | iteration | full | iteration/off | full/off |", "|---|---|---|---|---|---|"]
    for n, t in tracing.items():
        lines.append(f"| {n} | {t['off'] * 1e3:.3f} | {t['iteration'] * 1e3:.3f} | "
                     f"{t['full'] * 1e3:.3f} | {t['iteration'] / t['off']:.2f} | "
                     f"{t['full'] / t['off']:.2f} |")
    cost = off["tests"] * off["per_test"]
    lines += ["", f"Tracing off: the solver tests `tracer.on` (or `.full`) {off['tests']:.1f} "
              f"times per iteration, {off['per_test'] * 1e9:.0f} ns each: {cost * 1e6:.2f} us "
              f"per iteration, {100 * cost / off['per_it']:.1f}% of the smallest problem's "
              f"{off['per_it'] * 1e3:.3f} ms/it (n = {off['n']}, bounded, maxcor "
              f"{off['maxcor']})."]
    lines += ["", "## First-call latency (fresh process: import + first small solve)", "",
              f"- warm Numba cache: {latency['warm']:.2f} s",
              f"- cold Numba cache (empty NUMBA_CACHE_DIR): {latency['cold']:.2f} s", ""]
    return "\n".join(lines)


def _slopes(rows):
    out = []
    big = [r for r in rows if r["n"] >= 10000]
    for bounded in (True, False):
        for m in (5, 10, 20):
            sel = [r for r in big if r["bounded"] == bounded and r["maxcor"] == m]
            if len(sel) >= 2:
                out.append(f"- time vs n ({'box' if bounded else 'none'}, maxcor {m}, "
                           f"n >= 1e4): slope {slope([r['n'] for r in sel], [r['ours'] for r in sel]):.2f}")
    for n in sorted({r["n"] for r in big}):
        for bounded in (True, False):
            sel = [r for r in rows if r["n"] == n and r["bounded"] == bounded]
            out.append(f"- time vs maxcor (n = {n}, {'box' if bounded else 'none'}): slope "
                       f"{slope([r['maxcor'] for r in sel], [r['ours'] for r in sel]):.2f}")
    return out


if __name__ == "__main__":
    main()

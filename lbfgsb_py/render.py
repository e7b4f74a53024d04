"""Text renderings of a trace: the classic Fortran output and a readable event log.

The module has three layers, so that more renderings (the Fortran ``iprint``
levels 0/1/99/100/101, R ``optim`` trace levels) can be added beside the ones
here and share the same pieces:

1. *Fortran formatted output*: :func:`fortran_real` (``1p,dW.D`` / ``eW.D``),
   :func:`fortran_int` (``iW``), :func:`fortran_format` (a small interpreter of
   FORMAT statements, so the statements below are quoted verbatim from the
   L-BFGS-B 3.0 sources ``prn1lb``/``prn2lb``/``prn3lb``/``mainlb``) and
   :func:`list_directed` (gfortran's ``write(6,*)``).
2. *Trace helpers*: :func:`as_trace`, :func:`iteration_events` (the events of
   one iteration), :func:`fortran_task` (SciPy's message as the 3.0 task word).
3. *Renderers*: :func:`iteration_table` (``iterate.dat``), :func:`summary_table`
   (the end-of-run block), :func:`events_text` (one line per event),
   :func:`classic_text` (what the Fortran printed with ``iprint`` = 0, k, 99,
   100, 101), :func:`r_trace_text` (R ``optim`` ``trace`` 1-6) and
   :func:`trials_text` (one line per line-search trial, which no Fortran level
   printed), collected in :data:`RENDERERS`.  The classic texts come from one
   walker over the events (:class:`_Classic`) and two message tables
   (:data:`FORTRAN_DIALECT`, :data:`R_DIALECT`); ``minimize(iprint=...)``
   prints through :func:`print_iprint`.

The ``nf``/``Tnf`` columns count what the Fortran counts (``nfgv``): calls for
f *and* g, i.e. the initial point plus one per line-search trial.  With
finite differences SciPy's ``nfev`` also counts the difference quotients
(n + 1 per point); pass ``nf="nfev"`` to print that instead.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import re
import sys

import numpy as np

from .trace import EVENT_TYPES, LEVELS, Trace

EPSMCH = float(np.finfo(np.float64).eps)

# ----------------------------------------------------- Fortran formatted output


def fortran_int(value, width):
    """Format an integer as Fortran ``iW``: right-justified, ``*`` on overflow."""
    text = str(int(value))
    return text.rjust(width) if len(text) <= width else "*" * width


def fortran_real(value, width, digits, *, scale=1, letter="D"):
    """Format a real as Fortran ``kP,DW.D`` (or ``EW.D`` with ``letter="E"``).

    Parameters
    ----------
    value : float
    width, digits : int
        ``W`` and ``D`` of the edit descriptor.
    scale : int
        The scale factor ``k`` of ``kP`` (0 <= k < digits + 2); with ``1p``
        one digit stands before the decimal point (``1.030D+02``).
    letter : str
        Exponent letter.  As gfortran does, it is dropped when the exponent
        needs three digits (``1.000+100``); beyond three digits, and whenever
        the text does not fit, the field is filled with ``*``.

    Returns
    -------
    str
        Exactly ``width`` characters.
    """
    if not 0 <= scale < digits + 2:
        raise ValueError(f"scale factor {scale}P is not supported with d{width}.{digits}")
    value = float(value)
    if not math.isfinite(value):
        return _fortran_nonfinite(value, width)
    sig = digits + (1 if scale > 0 else 0)
    mantissa, exp = f"{abs(value):.{sig - 1}e}".split("e")
    figures = mantissa.replace(".", "")
    exponent = 0 if value == 0 else int(exp) - scale + 1
    text = f"{figures[:scale]}.{figures[scale:]}{_fortran_exponent(exponent, letter)}"
    if math.copysign(1.0, value) < 0:
        text = "-" + text
    if scale == 0 and len(text) < width:
        text = text.replace(".", "0.", 1)
    return text.rjust(width) if len(text) <= width and "*" not in text else "*" * width


def _fortran_exponent(exponent, letter):
    """``D+02`` for |e| <= 99, ``+100`` for |e| <= 999 (letter dropped), else ``*``."""
    sign = "-" if exponent < 0 else "+"
    if abs(exponent) <= 99:
        return f"{letter}{sign}{abs(exponent):02d}"
    if abs(exponent) <= 999:
        return f"{sign}{abs(exponent):03d}"
    return "*"


def _fortran_nonfinite(value, width):
    """gfortran's ``NaN``, ``Infinity`` (``Inf`` in narrow fields), ``-Infinity``."""
    if math.isnan(value):
        text = "NaN"
    else:
        sign = "-" if value < 0 else ""
        text = sign + ("Infinity" if width >= len(sign) + 8 else "Inf")
    return text.rjust(width) if len(text) <= width else "*" * width


_TOKEN = re.compile(r"""\s*(?:
    '((?:[^']|'')*)'                          # literal, '' is a quote
  | (\d*)([ixdeap])(\d*)(?:\.(\d+))?         # [repeat] code [width[.digits]]
  | (\d*)\(                                  # [repeat] group
  | (\)) | (/) | (,))""", re.IGNORECASE | re.VERBOSE)


@functools.lru_cache(maxsize=None)
def _parse(fmt):
    """Parse a FORMAT statement into a flat tuple of edit descriptors.

    Items: ``("lit", text)``, ``("x", n)``, ``("p", k)``, ``("/",)``,
    ``("i", w)``, ``("d"|"e", w, d)``, ``("a", w or None)``; repeat counts
    and parenthesised groups are expanded.  Returns ``(items, revert)``:
    ``revert`` is the index where the last top-level group starts (format
    reversion resumes there), None if the statement has no such group.
    """
    stack, pos, revert = [[]], 0, None
    fmt = fmt.strip()
    while pos < len(fmt):
        m = _TOKEN.match(fmt, pos)
        if m is None:
            raise ValueError(f"cannot parse FORMAT {fmt!r} at position {pos}")
        pos = m.end()
        lit, rep, code, w, d, group, close, slash, _ = m.groups()
        if lit is not None:
            stack[-1].append(("lit", lit.replace("''", "'")))
        elif code is not None:
            stack[-1].extend(_descriptor(code.lower(), rep, w, d))
        elif group is not None:
            if len(stack) == 2:
                revert = len(stack[-1]) - 1
            stack.append([int(group or 1)])
        elif close is not None:
            if len(stack) == 1:
                raise ValueError(f"unbalanced parentheses in FORMAT {fmt!r}")
            body = stack.pop()
            stack[-1].extend(body[1:] * body[0])
        elif slash is not None:
            stack[-1].append(("/",))
    if len(stack) != 1:
        raise ValueError(f"unbalanced parentheses in FORMAT {fmt!r}")
    return tuple(stack[0]), revert


def _descriptor(code, rep, w, d):
    """Edit descriptors for one token such as ``2x``, ``1p``, ``i4``, ``d10.3``."""
    if code in "xp":
        return [(code, int(rep or 1))]
    if code == "a":
        item = ("a", int(w) if w else None)
    elif code == "i":
        item = ("i", int(w))
    else:
        item = (code, int(w), int(d or 0))
    return [item] * int(rep or 1)


def fortran_format(fmt, *values):
    """Apply a Fortran FORMAT statement to values, as one formatted WRITE does.

    Supports literals, ``nX``, ``kP``, ``/``, ``Iw``, ``Dw.d``, ``Ew.d``,
    ``Aw``/``A`` and repeated groups ``n(...)``.  Output stops at the first
    data descriptor left without a value (as in Fortran).  Values left when
    the statement ends start a new record at the last top-level group
    (format reversion, e.g. the vector FORMAT 1004 prints six numbers a
    line); a statement without such a group raises instead.  ``nX`` only
    moves the position: blanks are written when something follows in the
    record, so records never end with ``X`` blanks.

    Returns
    -------
    str
        The records, joined by newlines (``/`` starts a new record).
    """
    items, revert = _parse(fmt)
    queue, out, state, k = list(values), [], {"scale": 0, "pad": 0}, 0
    while True:
        if k == len(items):
            if not queue:
                break
            if revert is None or not any(item[0] in _DATA for item in items[revert:]):
                raise ValueError(f"{len(queue)} value(s) left over by FORMAT {fmt!r}")
            out.append("\n")
            state["pad"], k = 0, revert
            continue
        item, k = items[k], k + 1
        if item[0] in _DATA and not queue:
            break
        _apply(item, queue, out, state)
    return "".join(out)


def _apply(item, queue, out, state):
    """One edit descriptor: position (``x``, ``/``), scale (``p``) or output."""
    kind = item[0]
    if kind == "x":
        state["pad"] += item[1]
    elif kind == "p":
        state["scale"] = item[1]
    elif kind == "/":
        out.append("\n")
        state["pad"] = 0
    else:
        text = item[1] if kind == "lit" else _edit(item, queue.pop(0), state["scale"])
        out.append(" " * state["pad"] + text)
        state["pad"] = 0


_DATA = ("i", "d", "e", "a")


def _edit(item, value, scale):
    """One data edit descriptor applied to one value."""
    kind, width = item[0], item[1]
    if kind == "i":
        return fortran_int(value, width)
    if kind == "a":
        text = str(value)
        return text if width is None else text[:width].rjust(width)
    return fortran_real(value, width, item[2], scale=scale, letter=kind.upper())


def list_directed(*items):
    """One record of gfortran list-directed output (``write(6,*) a, b, ...``).

    A blank starts the record and separates items, except between two
    character items; integers take 11 columns, reals (double precision) 25
    with 17 significant digits (``   4.1773206113501731     ``,
    ``  1.0834900834862953E-009``).
    """
    out, prev_char = [], False
    for k, item in enumerate(items):
        is_char = isinstance(item, str)
        if k == 0 or not (is_char and prev_char):
            out.append(" ")
        out.append(item if is_char else _list_number(item))
        prev_char = is_char
    return "".join(out)


def _list_number(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):11d}"
    value = float(value)
    if not math.isfinite(value):
        return _fortran_nonfinite(value, 25)
    mantissa, exp = f"{abs(value):.16e}".split("e")
    figures, e10 = mantissa.replace(".", ""), int(exp)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0 or -1 <= e10 <= 16:
        body = ("0." + figures) if e10 == -1 else f"{figures[:e10 + 1]}.{figures[e10 + 1:]}"
        return (sign + body).rjust(20) + " " * 5
    body = f"{figures[0]}.{figures[1:]}E{'-' if e10 < 0 else '+'}{abs(e10):03d}"
    return (sign + body).rjust(25)


# ----------------------------------------------- Fortran 3.0 FORMAT statements
#: prn1lb 2001: the iterate.dat legend.
FMT_LEGEND = ("('RUNNING THE L-BFGS-B CODE',/,/,"
              "'it    = iteration number',/,"
              "'nf    = number of function evaluations',/,"
              "'nseg  = number of segments explored during the Cauchy search',/,"
              "'nact  = number of active bounds at the generalized Cauchy point',/,"
              "'sub   = manner in which the subspace minimization terminated:',/,"
              "'        con = converged, bnd = a bound was reached',/,"
              "'itls  = number of iterations performed in the line search',/,"
              "'stepl = step length used',/,"
              "'tstep = norm of the displacement (total step)',/,"
              "'projg = norm of the projected gradient',/,"
              "'f     = function value',/,/,"
              "'           * * *',/,/,"
              "'Machine precision =',1p,d10.3)")
#: prn1lb 9001: the column header.
FMT_HEADER = ("(/,3x,'it',3x,'nf',2x,'nseg',2x,'nact',2x,'sub',2x,'itls',"
              "2x,'stepl',4x,'tstep',5x,'projg',8x,'f')")
#: mainlb 1003: row 0.
FMT_ROW0 = "(2(1x,i4),5x,'-',5x,'-',3x,'-',5x,'-',5x,'-',8x,'-',3x,1p,2(1x,d10.3))"
#: prn2lb 3001: one row per iteration.
FMT_ROW = "(2(1x,i4),2(1x,i5),2x,a3,1x,i4,1p,2(2x,d7.1),1p,2(1x,d10.3))"
#: prn3lb 3002: the row of the iteration whose line search failed.
FMT_FAIL_ROW = "(2(1x,i4),2(1x,i5),2x,a3,1x,i4,1p,2(2x,d7.1),6x,'-',10x,'-')"
#: prn3lb 3003 / 3004 / 3005: the end-of-run summary.
FMT_SUMMARY_LEGEND = ("(/,'           * * *',/,/,"
                      "'Tit   = total number of iterations',/,"
                      "'Tnf   = total number of function evaluations',/,"
                      "'Tnint = total number of segments explored during',' Cauchy searches',/,"
                      "'Skip  = number of BFGS updates skipped',/,"
                      "'Nact  = number of active bounds at final generalized',' Cauchy point',/,"
                      "'Projg = norm of the final projected gradient',/,"
                      "'F     = final function value',/,/,"
                      "'           * * *')")
FMT_SUMMARY_HEADER = "(/,3x,'N',4x,'Tit',5x,'Tnf',2x,'Tnint',2x,'Skip',2x,'Nact',5x,'Projg',8x,'F')"
FMT_SUMMARY_ROW = "(i5,2(1x,i6),(1x,i6),(2x,i4),(1x,i5),1p,2(2x,d10.3))"
#: prn3lb 3009: the task word, padded to 60 characters.
FMT_TASK = "(/,a60)"
#: prn3lb 9014 / 9019: why the line search failed (info -4 / -9); 3.0 prints
#: "after 20", here the run's ``maxls`` is used.
FMT_INFO = {
    "not_descent": ("(/,' Derivative >= 0, backtracking line search impossible.',/,"
                    "'   Previous x, f and g restored.',/,"
                    "' Possible causes: 1 error in function or gradient evaluation;',/,"
                    "'                  2 rounding errors dominate computation.')"),
    "maxls": ("(/,' Line search cannot locate an adequate point after ',a,' function',/,"
              "'  and gradient evaluations.  Previous x, f and g restored.',/,"
              "' Possible causes: 1 error in function or gradient evaluation;',/,"
              "'                  2 rounding errors dominate computation.')"),
}

#: SciPy's ``result.message`` -> the Fortran 3.0 task word.
FORTRAN_TASKS = {
    "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL":
        "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL",
    "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH":
        "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH",
    "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT":
        "STOP: TOTAL NO. of f AND g EVALUATIONS EXCEEDS LIMIT",
    "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT": "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT",
}
#: The ``sub`` column for a :class:`~lbfgsb_py.trace.SubspaceStep` outcome.
SUB_WORDS = {"inside": "con", "projected": "bnd", "backtracked": "bnd"}

# --------------------------------------------------------------- trace helpers


def as_trace(obj):
    """A :class:`Trace` from a Trace, a ``Result`` (its ``.trace``) or a list of events."""
    if isinstance(obj, Trace):
        return obj
    if isinstance(obj, dict) and "trace" in obj:
        return as_trace(obj["trace"])
    if isinstance(obj, (list, tuple)):
        return Trace(obj)
    raise TypeError(f"expected a Trace, a Result or a list of events, not {type(obj).__name__}")


def iteration_events(trace, k):
    """The events of iteration ``k`` (the table's row k).

    Iteration k >= 1 runs from its first ``iteration_start`` (``iteration ==
    k - 1``; a memory reset restarts it with another one) up to the next
    iteration's, so it includes its ``iteration_end``, convergence tests, BFGS
    update and a final ``termination``.  k = 0: the start-up events.
    """
    return as_trace(trace).at_iteration(k)


def fortran_task(message):
    """SciPy's ``result.message`` as the Fortran 3.0 task word (unknown: unchanged)."""
    if message.startswith("ABNORMAL"):
        return "ABNORMAL_TERMINATION_IN_LNSRCH"
    return FORTRAN_TASKS.get(message, message)


def _first(trace, kind):
    found = trace.of_kind(kind)
    return found[0] if found else None


def _last(events, kind):
    found = [e for e in events if e.kind == kind]
    return found[-1] if found else None


def _check_nf(nf):
    if nf not in ("fg", "nfev"):
        raise ValueError(f"nf must be 'fg' (f-and-g evaluations, as Fortran) or 'nfev', got {nf!r}")


# ------------------------------------------------------------------- renderers


def iteration_table(trace, *, nf="fg", legend=True):
    """The classic ``iterate.dat`` of L-BFGS-B 3.0 (``iprint >= 1``), from a trace.

    Parameters
    ----------
    trace : Trace, Result or list of events
    nf : {"fg", "nfev"}
        ``"fg"`` counts f-and-g evaluations as the Fortran does (1 + line-search
        trials); ``"nfev"`` prints the events' ``nfev`` (SciPy's count).
    legend : bool
        Start with the legend, machine precision and ``N = ... M = ...`` lines.

    Returns
    -------
    str
        Legend, header, row 0 (``initial_point``), one row per
        ``iteration_end``, the failure row of a final failed line search,
        then the task line (padded to 60 columns) and the failure notice.
        The Fortran's closing ``Total User time`` line is not reproduced.
    """
    _check_nf(nf)
    trace = as_trace(trace)
    records = _legend_records(trace) if legend else []
    records.append(fortran_format(FMT_HEADER))
    records.extend(_table_rows(trace, nf))
    records.extend(_ending_records(trace, nf))
    return "\n".join(records) + "\n"


def _legend_records(trace):
    records = [fortran_format(FMT_LEGEND, EPSMCH)]
    start = _first(trace, "run_start")
    if start is not None:
        records.append(list_directed("N = ", start.n, "    M = ", start.m))
    return records


def _table_rows(trace, nf):
    """Row 0 and one row per iteration, walking the events in order."""
    rows, trials = [], 0
    for e in trace:
        if e.kind == "line_search_trial":
            trials += 1
        elif e.kind == "initial_point":
            rows.append(fortran_format(FMT_ROW0, e.iteration, 1 if nf == "fg" else e.nfev,
                                       e.projg, e.f))
        elif e.kind == "iteration_end":
            count = 1 + trials if nf == "fg" else e.nfev
            rows.append(fortran_format(FMT_ROW, e.iteration, count, e.nseg, e.nact, e.sub,
                                       e.itls, e.stepl, e.tstep, e.projg, e.f))
    return rows


def _ending_records(trace, nf):
    """Failure row, task line and failure notice (prn3lb), if the run ended."""
    end = _first(trace, "termination")
    if end is None:
        return []
    records, failure = [], _failed_search(trace, end)
    if failure is not None:
        records.append(_failure_row(trace, end, failure, nf))
    records.append(fortran_format(FMT_TASK, fortran_task(end.message).ljust(60)))
    if failure is not None:
        records.append(_failure_notice(trace, failure))
    return records


def _failed_search(trace, end):
    """The ``line_search_end`` that ended the run with ABNORMAL, else None."""
    if not end.message.startswith("ABNORMAL"):
        return None
    last = _last(trace.events, "line_search_end")
    return last if last is not None and last.outcome in FMT_INFO else None


def _failure_row(trace, end, failure, nf):
    """prn3lb 3002: it, nf, nseg, nact, sub, itls, stepl, tstep of the failed try."""
    block = iteration_events(trace, end.iteration)
    cauchy, sub = _last(block, "cauchy_point"), _last(block, "subspace_step")
    count = _total_fg(trace) if nf == "fg" else end.nfev
    word = SUB_WORDS.get(sub.outcome, "---") if sub is not None else "---"
    return fortran_format(FMT_FAIL_ROW, end.iteration, count,
                          cauchy.n_segments if cauchy else 0, cauchy.n_active if cauchy else 0,
                          word, max(failure.n_trials - 1, 0), failure.stp, failure.xstep)


def _failure_notice(trace, failure):
    start = _first(trace, "run_start")
    if failure.outcome == "maxls":
        return fortran_format(FMT_INFO["maxls"], str(start.maxls if start else 20))
    return fortran_format(FMT_INFO[failure.outcome])


def _total_fg(trace):
    return 1 + len(trace.of_kind("line_search_trial"))


def summary_table(trace, *, nf="fg"):
    """The end-of-run block of L-BFGS-B 3.0 (``iprint >= 0``, prn3lb), from a trace.

    Legend lines, the ``N Tit Tnf Tnint Skip Nact Projg F`` header and row,
    then the task line.  ``nf`` as in :func:`iteration_table`.

    Raises
    ------
    ValueError
        If the trace has no ``run_start`` or no ``termination`` event.
    """
    _check_nf(nf)
    trace = as_trace(trace)
    start, end = _first(trace, "run_start"), _first(trace, "termination")
    if start is None or end is None:
        missing = "run_start" if start is None else "termination"
        raise ValueError(f"the trace has no {missing} event (interrupted or level 'off')")
    records = _summary_records(trace, start, end, nf)
    records.append(fortran_format(FMT_TASK, fortran_task(end.message).ljust(60)))
    return "\n".join(records) + "\n"


def _summary_records(trace, start, end, nf="fg"):
    """prn3lb 3003 / 3004 / 3005: legend, header and the row of totals."""
    count = _total_fg(trace) if nf == "fg" else end.nfev
    return [fortran_format(FMT_SUMMARY_LEGEND), fortran_format(FMT_SUMMARY_HEADER),
            fortran_format(FMT_SUMMARY_ROW, start.n, end.iteration, count,
                           end.n_segments_total, end.n_skipped, end.n_active, end.projg,
                           end.f)]


def events_text(trace, kinds=None, iteration=None):
    """One readable line per event.

    Parameters
    ----------
    trace : Trace, Result or list of events
    kinds : iterable of str, optional
        Keep only these event kinds (e.g. ``["line_search_trial"]``).
    iteration : int, optional
        Keep only the events of this iteration (see :func:`iteration_events`).

    Returns
    -------
    str
        Lines such as ``it   0 nfev     3  line_search_trial   trial=2
        stp=0.5 f=1.25 gd=-0.5 ... bracket=[0, 1] ... case=3 task=FG``.
    """
    events = list(as_trace(trace)) if iteration is None else iteration_events(trace, iteration)
    if kinds:
        unknown = sorted(set(kinds) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event kind(s) {', '.join(unknown)}; "
                             f"known: {', '.join(EVENT_TYPES)}")
        events = [e for e in events if e.kind in set(kinds)]
    return "".join(event_line(e) + "\n" for e in events)


def event_line(event):
    """One event as ``it K nfev N  kind  name=value ...``."""
    fields = {name: value for name, value in event.to_dict().items()
              if name not in ("kind", "iteration", "nfev")}
    fields = _FIELD_HOOKS.get(event.kind, dict)(fields)
    body = " ".join(f"{name}={compact(value)}" for name, value in fields.items()
                    if not (isinstance(value, (str, list)) and len(value) == 0))
    return f"it {event.it:>3} nfev {event.nfev:>5}  {event.kind:<18} {body}"


def _trial_fields(fields):
    """Line-search trials: ``stx``, ``sty`` (and ``brackt``) shown as one bracket."""
    stx, sty, brackt = fields.pop("stx"), fields.pop("sty"), fields.pop("brackt")
    out = {}
    for name, value in fields.items():
        out[name] = value
        if name == "curvature":
            out["bracket"] = f"[{compact(stx)}, {compact(sty)}]{'' if brackt else ' (open)'}"
    return out


_FIELD_HOOKS = {"line_search_trial": _trial_fields}


def compact(value):
    """Compact text for a value: floats to 6 significant digits, lists/arrays cut
    after 6 entries (``[0, 1, 2, 3, 4, 5, ...] (10 values)``)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    if isinstance(value, str) and value.lower() in ("nan", "inf", "-inf"):
        return value
    if isinstance(value, str) and " " in value and not value.startswith("["):
        return repr(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        head = ", ".join(compact(v) for v in value[:6])
        return f"[{head}]" if len(value) <= 6 else f"[{head}, ...] ({len(value)} values)"
    return str(value)


# ------------------------------------------------- classic printed output
#: Marks a line printed in place of numbers the trace does not hold.
NOT_RECORDED = "not recorded in the trace"
#: prn1lb 7001 (what SciPy 1.14 and L-BFGS-B 3.0 print on unit 6).
FMT_RUNNING = ("('RUNNING THE L-BFGS-B CODE',/,/,'           * * *',/,/,"
               "'Machine precision =',1p,d10.3)")
#: prn1lb / prn2lb / prn3lb 1004: a vector, six numbers a line.
FMT_VECTOR = "(/,a4,1p,6(1x,d11.4),/,(4x,1p,6(1x,d11.4)))"
FMT_CAUCHY_X = "('Cauchy X =  ',/,(4x,1p,6(1x,d11.4)))"                      # cauchy 1010
FMT_AT_X0 = "(/,'At X0 ',i9,' variables are exactly at the bounds')"          # active 1001
FMT_AT_ITERATE = "(/,'At iterate',i5,4x,'f= ',1p,d12.5,4x,'|proj g|= ',1p,d12.5)"  # 1002/2001
FMT_ITERATION = "(//,'ITERATION ',i5)"                                           # mainlb 1001
FMT_CAUCHY_ENTER = "(/,'---------------- CAUCHY entered-------------------')"   # cauchy 3010
FMT_CAUCHY_EXIT = "(/,'---------------- exit CAUCHY----------------------',/)"  # cauchy 2010
FMT_PIECE = "('Piece    ',i3,' --f1, f2 at start point ',1p,2(1x,d11.4))"      # cauchy 4010
FMT_NEXT_BREAK = "('Distance to the next break point =  ',1p,d11.4)"           # cauchy 5010
FMT_STATIONARY = "('Distance to the stationary point =  ',1p,d11.4)"           # cauchy 6010
FMT_SUBSM_ENTER = "(/,'----------------SUBSM entered-----------------',/)"     # subsm 1001
FMT_SUBSM_EXIT = "(/,'----------------exit SUBSM --------------------',/)"     # subsm 1004
FMT_SKIPPED = "('  ys=',1p,e10.3,'  -gs=',1p,e10.3,' BFGS update SKIPPED')"    # mainlb 1004
_REFRESH = "'   refresh the lbfgs memory and restart the iteration.')"
#: mainlb 1005-1008: why the memory was discarded (MemoryReset.reason).
FMT_RESET = {
    "cauchy_singular": "(/,' Singular triangular system detected;',/," + _REFRESH,
    "subspace_singular": "(/,' Singular triangular system detected;',/," + _REFRESH,
    "formk_not_positive_definite": ("(/,' Nonpositive definiteness in Cholesky factorization"
                                    " in formk;',/," + _REFRESH),
    "formt_not_positive_definite": ("(/,' Nonpositive definiteness in Cholesky factorization"
                                    " in formt;',/," + _REFRESH),
    "line_search_failed": "(/,' Bad direction in the line search;',/," + _REFRESH,
}
#: prn3lb 9014 / 9019 / 9015 as SciPy 1.14.1 prints them (9019 names MAXLS).
FMT_INFO_SCIPY = {
    "not_descent": FMT_INFO["not_descent"],
    "maxls": ("(/,' Line search cannot locate an adequate point after MAXLS',/,"
              "'  function and gradient evaluations.',/,'  Previous x, f and g restored.',/,"
              "' Possible causes: 1 error in function or gradient evaluation;',/,"
              "'                  2 rounding error dominate computation.')"),
    "many_trials": ("(/,' Warning:  more than 10 function and gradient',/,"
                    "'   evaluations in the last line search.  Termination',/,"
                    "'   may possibly be caused by a bad search direction.')"),
}
#: Memory resets after which mainlb goes back to label 222 (prints ITERATION
#: again) without a new ``iteration_start`` event.
_RESTART_INSIDE = ("cauchy_singular", "formk_not_positive_definite", "subspace_singular")
#: R ``optim(control = list(trace = k))`` -> the iprint R passes to setulb.
R_IPRINT = {1: -1, 2: 0, 3: None, 4: 99, 5: 100, 6: 101}


def _at_least(level):
    return lambda p: p.iprint >= level


def _below(low, high):
    return lambda p: low <= p.iprint < high


def _converged_and(level):
    return lambda p: p.converged and p.iprint >= level


def _fortran(fmt, *values):
    return fortran_format(fmt, *values) + "\n"


def _listed(*items):
    return list_directed(*items) + "\n"


def _note(what):
    return f" ({NOT_RECORDED}: {what})\n"


def _fortran_vector(label, values, why):
    if values is None:
        return f"\n{label.rjust(4)} ({NOT_RECORDED}: {why})\n"
    return _fortran(FMT_VECTOR, label, *values)


def _r_vector(label, values, why):
    if values is None:
        return f"{label} ({NOT_RECORDED}: {why})\n"
    return f"{label} " + "".join("%g " % v for v in values) + "\n"


def _fortran_gcp(segment, f1, f2, dtm):
    return (_listed() + _listed("GCP found in this segment") + _fortran(FMT_PIECE, segment, f1, f2)
            + _fortran(FMT_STATIONARY, dtm))


def _fortran_summary(trace, start, end):
    return "\n".join(_summary_records(trace, start, end)) + "\n"


def _r_summary(trace, start, end):
    return ("\niterations %d\nfunction evaluations %d\nsegments explored during Cauchy searches %d"
            "\nBFGS updates skipped %d\nactive bounds at final generalized Cauchy point %d\n"
            "norm of the final projected gradient %g\nfinal function value %g\n\n"
            % (end.iteration, _total_fg(trace), end.n_segments_total, end.n_skipped,
               end.n_active, end.projg, end.f))


def _r_final(end):
    tail = "converged\n" if end.status == 0 else "stopped after %i iterations\n" % end.nit
    return "final  value %f \n" % end.f + tail


#: Each message: (when(printer) -> bool, text(*values) -> str).  The walker
#: (:class:`_Classic`) decides which messages an event produces and with which
#: values; a dialect decides the words and the iprint level of each one.
FORTRAN_DIALECT = {
    "header": (_at_least(0), lambda n, m: _fortran(FMT_RUNNING, EPSMCH)
               + _listed("N = ", n, "    M = ", m)),
    "start_vector": (_at_least(101), _fortran_vector),
    "unconstrained": (_at_least(0), lambda: _listed("This problem is unconstrained.")),
    "at_x0": (_at_least(1), lambda k: _fortran(FMT_AT_X0, k)),
    "at_iterate0": (_at_least(1), lambda k, f, g: _fortran(FMT_AT_ITERATE, k, f, g)),
    "iteration": (_at_least(99), lambda k: _fortran(FMT_ITERATION, k + 1)),
    "subgnorm0": (_at_least(0), lambda: _listed("Subgnorm = 0.  GCP = X.")),
    "cauchy_enter": (_at_least(99), lambda: _fortran(FMT_CAUCHY_ENTER)),
    "breakpoints": (_at_least(99), lambda k: _listed("There are ", k, "  breakpoints ")),
    "piece": (_at_least(100), lambda j, f1, f2, dt, dtm: "\n" + _fortran(FMT_PIECE, j, f1, f2)
              + _fortran(FMT_NEXT_BREAK, dt) + _fortran(FMT_STATIONARY, dtm)),
    "fixed": (_at_least(100), lambda i: _listed("Variable  ", i, "  is fixed.")),
    "gcp_found": (_at_least(99), _fortran_gcp),
    "segments_missing": (_at_least(99), _note),
    "cauchy_x": (_at_least(101), lambda values, why: (
        f"Cauchy X =   ({NOT_RECORDED}: {why})\n" if values is None
        else _fortran(FMT_CAUCHY_X, *values))),
    "cauchy_exit": (_at_least(99), lambda: _fortran(FMT_CAUCHY_EXIT)),
    "leaves": (_at_least(100), lambda i: _listed("Variable ", i,
                                                 " leaves the set of free variables")),
    "enters": (_at_least(100), lambda i: _listed("Variable ", i,
                                                 " enters the set of free variables")),
    "moves_missing": (_at_least(100), _note),
    "leave_enter": (_at_least(99), lambda a, b: _listed(a, " variables leave; ", b,
                                                        " variables enter")),
    "free_at_gcp": (_at_least(99), lambda k, it: _listed(k, " variables are free at GCP ", it)),
    "subsm_enter": (_at_least(99), lambda: _fortran(FMT_SUBSM_ENTER)),
    "positive_dd": (_at_least(0), lambda: _listed(" Positive dir derivative in projection ")
                    + _listed(" Using the backtracking step ")),
    "subsm_exit": (_at_least(99), lambda: _fortran(FMT_SUBSM_EXIT)),
    "ascent": (_at_least(0), lambda: f"  ascent direction in projection gd = ({NOT_RECORDED}: "
               "g'd of a search stopped before its first trial)\n"),
    "line_search": (_at_least(99), lambda k, step: _listed("LINE SEARCH", k,
                                                           " times; norm of step = ", step)),
    "at_iterate_each": (_at_least(99), lambda k, f, g: _fortran(FMT_AT_ITERATE, k, f, g)),
    "at_iterate_every": (_below(1, 99), lambda k, f, g: _fortran(FMT_AT_ITERATE, k, f, g)),
    "x_vector": (_at_least(101), _fortran_vector),
    "g_vector": (_at_least(101), _fortran_vector),
    "skipped": (_at_least(1), lambda ys, gs: _fortran(FMT_SKIPPED, ys, gs)),
    **{"reset_" + reason: (_at_least(1), lambda fmt=fmt: _fortran(fmt))
       for reason, fmt in FMT_RESET.items()},
    "summary": (_at_least(0), _fortran_summary),
    "final_x": (_at_least(100), _fortran_vector),
    "final_f": (_at_least(1), lambda f: _listed(" F =", f)),
    "task": (_at_least(0), lambda message: _fortran(FMT_TASK, fortran_task(message).ljust(60))),
    **{"info_" + key: (_at_least(0), lambda fmt=fmt: _fortran(fmt))
       for key, fmt in FMT_INFO_SCIPY.items()},
}

#: R's ``src/appl/lbfgsb.c`` (L-BFGS-B 2.3 translated to C, reworded) and the
#: driver ``lbfgsb()`` in ``src/appl/optim.c``.
R_DIALECT = {
    "header": (_at_least(0), lambda n, m: "N = %d, M = %d machine precision = %g\n"
               % (n, m, EPSMCH)),
    "start_vector": (_at_least(100), _r_vector),
    "infeasible": (_at_least(0), lambda: "The initial X is infeasible.  Restart with its "
                   "projection.\n"),
    "unconstrained": (_at_least(0), lambda: "This problem is unconstrained.\n"),
    "at_x0": (_at_least(1), lambda k: "At X0, %d variables are exactly at the bounds\n" % k),
    "at_iterate0": (_at_least(1), lambda k, f, g: "At iterate %5d  f= %12.5g  |proj g|= %12.5g\n"
                    % (k, f, g)),
    "iteration": (_at_least(99), lambda k: "Iteration %5d\n" % k),
    "subgnorm0": (_at_least(0), lambda: "Subgnorm = 0.  GCP = X.\n"),
    "cauchy_enter": (_at_least(99), lambda: "\n---------------- CAUCHY entered-------------------"
                     "\n\n"),
    "breakpoints": (_at_least(99), lambda k: "There are %d  breakpoints\n" % k),
    "piece": (_at_least(100), lambda j, f1, f2, dt, dtm: (
        "\nPiece    %3i f1, f2 at start point %11.4e %11.4e\n" % (j, f1, f2)
        + "Distance to the next break point =  %11.4e\n" % dt
        + "Distance to the stationary point =  %11.4e\n" % dtm)),
    "fixed": (_at_least(100), lambda i: "Variable  %d  is fixed.\n" % i),
    "gcp_found": (_at_least(99), lambda j, f1, f2, dtm: (
        "\nGCP found in this segment\n"
        + "Piece    %3i f1, f2 at start point %11.4e %11.4e\n" % (j, f1, f2)
        + "Distance to the stationary point =  %11.4e\n" % dtm)),
    "segments_missing": (_at_least(99), _note),
    "cauchy_x": (_at_least(100), lambda values, why: _r_vector("Cauchy X = ", values, why)),
    "cauchy_exit": (_at_least(99), lambda: "\n---------------- exit CAUCHY----------------------"
                    "\n\n"),
    "leaves": (_at_least(100), lambda i: "Variable %d leaves the set of free variables\n" % i),
    "enters": (_at_least(100), lambda i: "Variable %d enters the set of free variables\n" % i),
    "moves_missing": (_at_least(100), _note),
    "leave_enter": (_at_least(100), lambda a, b: "%d variables leave; %d variables enter\n"
                    % (a, b)),
    "free_at_gcp": (_at_least(99), lambda k, it: "%d  variables are free at GCP on iteration %d\n"
                    % (k, it)),
    "line_search": (_at_least(99), lambda k, step: "LINE SEARCH %d times; norm of step = %g\n"
                    % (k, step)),
    "at_iterate_every": (_below(1, 99), lambda k, f, g: (
        "At iterate %5d  f = %12.5g  |proj g|=  %12.5g\n" % (k, f, g))),
    "x_vector": (_at_least(101), _r_vector),
    "g_vector": (_at_least(101), _r_vector),
    "skipped": (_at_least(1), lambda ys, gs: "ys=%10.3e  -gs=%10.3e, BFGS update SKIPPED\n"
                % (ys, gs)),
    "reset_cauchy_singular": (_at_least(1), lambda: "Singular triangular system detected;\n"
                              "   refresh the lbfgs memory and restart the iteration.\n"),
    "reset_subspace_singular": (_at_least(1), lambda: "Singular triangular system detected;\n"
                                "   refresh the lbfgs memory and restart the iteration.\n"),
    "reset_formk_not_positive_definite": (_at_least(0), lambda: (
        "Nonpositive definiteness in Cholesky factorization in formk;\n"
        "   refresh the lbfgs memory and restart the iteration.\n")),
    "reset_formt_not_positive_definite": (_at_least(0), lambda: (
        "Nonpositive definiteness in Cholesky factorization in formt();\n"
        "   refresh the lbfgs memory and restart the iteration.\n")),
    "reset_line_search_failed": (_at_least(1), lambda: "Bad direction in the line search;\n"
                                 "   refresh the lbfgs memory and restart the iteration.\n"),
    "summary": (_converged_and(0), _r_summary),
    "final_x": (_converged_and(100), _r_vector),
    "final_f": (_converged_and(1), lambda f: "F = %g\n" % f),
    "info_not_descent": (_at_least(0), lambda: "Derivative >= 0, backtracking line search "
                         "impossible."),
    "info_maxls": (_at_least(0), lambda: "Line search cannot locate an adequate point after 20 "
                   "function\nand gradient evaluations\n"),
    "info_many_trials": (_at_least(0), lambda: "Warning:  more than 10 function and gradient "
                         "evaluations\n   in the last line search\n"),
    "driver_iter": (lambda p: p.rtrace == 1, lambda k, f: "iter %4d value %f\n" % (k, f)),
    "driver_final": (lambda p: p.rtrace >= 1, _r_final),
}


class _Classic:
    """Walk a trace in order and print what the solver would have printed.

    One handler per event kind decides which messages the event produces
    (mirroring where mainlb / active / cauchy / freev / subsm / lnsrlb /
    prn1lb-prn3lb write); the dialect gives words and levels.  Numbers the
    trace lacks are never made up: a line saying :data:`NOT_RECORDED` is
    printed in their place.
    """

    def __init__(self, trace, dialect, iprint, rtrace=0, report=10):
        self.trace = as_trace(trace)
        self.start = _first(self.trace, "run_start")
        if self.start is None:
            raise ValueError("the trace has no run_start event (level 'off' or empty)")
        self.dialect, self.iprint, self.rtrace, self.report = dialect, iprint, rtrace, report
        self.out, self.segments, self.search, self.stp = [], [], None, 1.0
        self.col, self.pos, self.converged = 0, 0, False
        self.x = None           # the current iterate, when the trace has it

    def text(self):
        for pos, event in enumerate(self.trace.events):
            self.pos = pos
            handler = getattr(self, "_" + event.kind, None)
            if handler is not None:
                handler(event)
        return "".join(self.out)

    def on(self, key):
        entry = self.dialect.get(key)
        return entry is not None and entry[0](self)

    def say(self, key, *values):
        if self.on(key):
            self.out.append(self.dialect[key][1](*values))

    def _next(self, kind):
        """The next event of this kind after the current one, or None."""
        return next((e for e in self.trace.events[self.pos + 1:] if e.kind == kind), None)

    # ---------------------------------------------------- start and iterate 0
    def _run_start(self, e):
        self.say("header", e.n, e.m)
        bounds = _x_reason(self.start, "the bounds l and u")
        first = self._next("initial_point")
        # SciPy clipped x0 before the Fortran saw it; R passes it unclipped, so its
        # X0 line (printed before the projection) is the raw x0, not in the trace.
        raw = e.n_projected and self.on("infeasible")
        x0 = _listed_or_none(first.x) if first is not None and not raw else None
        self.say("start_vector", "L =", _encoded_bound(e.lower), bounds)
        self.say("start_vector", "X0 =", x0, "x0 before its projection" if raw
                 else _x_reason(self.start, "x0"))
        self.say("start_vector", "U =", _encoded_bound(e.upper), bounds)
        if e.n_projected:
            self.say("infeasible")
        if not e.n_bounded:
            self.say("unconstrained")

    def _initial_point(self, e):
        self.x = _listed_or_none(e.x)
        self.say("at_x0", e.n_at_bound)
        self.say("at_iterate0", 0, e.f, e.projg)

    def _iteration_start(self, e):
        self.col = e.col
        self.say("iteration", e.iteration)

    # ------------------------------------------------------------ Cauchy search
    def _cauchy_breakpoint(self, e):
        self.segments.append(e)

    def _cauchy_point(self, e):
        segments, self.segments = self.segments, []
        if e.skipped == "unconstrained":
            return
        if e.skipped == "zero_projected_gradient":
            return self.say("subgnorm0")
        self.say("cauchy_enter")
        xcp = _listed_or_none(e.xcp), _x_reason(self.start, "the Cauchy point xcp")
        if e.n_segments == 0:           # d = 0: cauchy returns before 'There are'
            if self.iprint > 100:
                self.say("cauchy_x", *xcp)
            return
        self.say("breakpoints", e.n_breakpoints)
        if segments and e.n_breakpoints:    # without breakpoints the loop never ran
            self._segments(e, segments)
        else:
            self._unrecorded_segments(e)
        self.say("cauchy_x", *xcp)
        self.say("cauchy_exit")

    def _segments(self, e, segments):
        """Pieces, fixed variables and the GCP line, as the cauchy loop prints them."""
        for s in segments:
            if math.isinf(s.dt):        # every breakpoint passed: f1 = f2 = 0 if bounded
                zero = s.dtm == 0.0
                return self.say("gcp_found", s.segment, 0.0 if zero else s.f1,
                                0.0 if zero else s.f2, s.dtm)
            if s.dt != 0.0:
                self.say("piece", s.segment, s.f1, s.f2, s.dt, s.dtm)
            if s.gcp_in_segment:
                return self.say("gcp_found", s.segment, s.f1, s.f2, s.dtm)
            self.say("fixed", s.variable + 1)
            if s.segment == e.n_breakpoints == self.start.n:
                return                  # all n variables fixed: no GCP lines

    def _unrecorded_segments(self, e):
        """No breakpoint events.  Without breakpoints and with B = I the GCP is
        x - g: f1 = -||d||^2, f2 = ||d||^2, dt* = 1, d from the line search."""
        search = self._next("line_search_start")
        if e.n_breakpoints == 0 and self.col == 0 and search is not None:
            return self.say("gcp_found", 1, -search.dnorm ** 2, search.dnorm ** 2, 1.0)
        why = ("the segment's f1, f2" if e.n_breakpoints == 0 else
               f"the {e.n_segments} Cauchy segment(s); record with trace='full'")
        self.say("segments_missing", why)

    def _free_set(self, e):
        if e.iteration > 0 and self.start.n_bounded:
            self._moves(e)
            self.say("leave_enter", e.n_leaving, e.n_entering)
        self.say("free_at_gcp", e.n_free, e.iteration + 1)

    def _moves(self, e):
        """freev prints leaving variables in its scan order, then entering ones."""
        if len(e.leaving) != e.n_leaving or len(e.entering) != e.n_entering:
            return self.say("moves_missing", "which variables leave and enter the free set; "
                            "record with trace='full'")
        for i in reversed(e.leaving.tolist()):
            self.say("leaves", i + 1)
        for i in e.entering.tolist():
            self.say("enters", i + 1)

    # --------------------------------------------------- subspace, line search
    def _subspace_step(self, e):
        if e.outcome.startswith("skipped"):
            return
        self.say("subsm_enter")
        if e.dd_p > 0.0:
            self.say("positive_dd")
        self.say("subsm_exit")

    def _line_search_start(self, e):
        self.search = e

    def _line_search_end(self, e):
        self.stp = e.stp
        if e.outcome == "not_descent":      # no line_search_start: g'd not in the trace
            self.say("ascent")

    def _iteration_end(self, e):
        self.say("line_search", e.itls, e.tstep)
        self.say("at_iterate_each", e.iteration, e.f, e.projg)
        if self.iprint > 0 and e.iteration % self.iprint == 0:
            self.say("at_iterate_every", e.iteration, e.f, e.projg)
        self.x = _listed_or_none(e.x) or self._x_now()
        if self.on("x_vector"):
            self.say("x_vector", "X =", self.x, _x_reason(self.start, "iterates"))
            self.say("g_vector", "G =", _listed_or_none(e.g),
                     _x_reason(self.start, "gradient vectors"))
        if e.iteration % self.report == 0:
            self.say("driver_iter", e.iteration, e.f)

    def _x_now(self):
        """x after the last line search: the next search's start point, else
        the accepted trial t + stp d (lnsrlb: z itself when stp = 1)."""
        following = self._next("line_search_start")
        if following is not None and len(following.x):
            return following.x.tolist()
        if self.search is None or not len(self.search.x):
            return None
        x, d = np.asarray(self.search.x), np.asarray(self.search.d)
        return list(x + d if self.stp == 1.0 else self.stp * d + x)

    def _bfgs_update(self, e):
        if not e.applied:
            self.say("skipped", e.sy, e.threshold / EPSMCH)

    def _memory_reset(self, e):
        if e.reason == "subspace_singular" and e.info != -8:
            self.say("subsm_enter")             # subsm failed (cmprlb fails with -8)
        if e.reason == "cauchy_singular":
            self.say("cauchy_enter")
        self.say("reset_" + e.reason)
        self.col = 0
        if e.reason in _RESTART_INSIDE:
            self.say("iteration", e.iteration)

    # ------------------------------------------------------------------ the end
    def _termination(self, e):
        self.converged = e.message.startswith("CONVERGENCE")
        self.say("summary", self.trace, self.start, e)
        if self.on("final_x"):
            failed = e.message.startswith("ABNORMAL")
            x = self.x or ((self.search.x.tolist() or None) if failed and self.search
                           else self._x_now())
            self.say("final_x", "X =", x, _x_reason(self.start, "iterates"))
        self.say("final_f", e.f)
        self.say("task", e.message)
        info = _info_key(self.trace, e)
        if info:
            self.say("info_" + info)
        self.say("driver_final", e)


def _listed_or_none(values):
    """An array field as a list, or None when the trace did not record it."""
    return values.tolist() if len(values) else None


def _encoded_bound(values):
    """Bounds as the Fortran holds them (0 where a variable has none), or None."""
    if not len(values):
        return None
    return np.where(np.isfinite(values), values, 0.0).tolist()


def _x_reason(start, what):
    level = "" if start.level == "full" else "; record with trace='full'"
    return f"{what}{level}"


def _info_key(trace, end):
    """prn3lb's ``info`` for this ending: maxls (-9), not_descent (-4),
    many_trials (-5: f-test convergence after >= 10 backtracks), or None."""
    failure = _failed_search(trace, end)
    if failure is not None:
        return failure.outcome
    last = _last(trace.events, "iteration_end")
    if "RELATIVE REDUCTION" in end.message and last is not None and last.itls >= 10:
        return "many_trials"
    return None


def classic_text(trace, iprint=0):
    """What L-BFGS-B printed with ``iprint`` (SciPy 1.14.1 / Fortran 3.0), from a trace.

    Levels: ``< 0`` nothing; ``0`` header, one-off notices, the end-of-run
    table and task; ``0 < k < 99`` also ``At iterate`` every k iterations,
    skipped updates and memory refreshes; ``99`` every iteration in detail
    (Cauchy search, free set, subspace minimization, line search); ``100``
    also every Cauchy segment, fixed / leaving / entering variables and the
    final ``X``; ``101`` also the vectors after each iteration.

    The text is one stream in the order the Fortran wrote it (SciPy 1.14 sent
    the notices and ``info`` messages to stderr, 3.0 to stdout).  Wording is
    SciPy 1.14.1's (``... adequate point after MAXLS``); as there, x0 was
    clipped into the box before the Fortran saw it, so 3.0's ``The initial X
    is infeasible`` notice never appears.  Not reproduced: the timing lines
    (``Total User time``, ``Cauchy time``...).
    Needs ``trace="full"`` for Cauchy segments, leaving / entering indices
    and the vectors ``L``, ``U``, ``X0``, ``Cauchy X``, ``X`` and ``G``; a
    trace without them (a lower level, or schema 1.1 and older) gets one
    line saying so in their place.
    """
    if iprint < 0:
        return ""
    return _Classic(trace, FORTRAN_DIALECT, int(iprint)).text()


def r_trace_text(trace, level=1, report=10):
    """What R's ``optim(method = "L-BFGS-B", control = list(trace = level))`` printed.

    ``level`` 1 prints ``iter k value f`` every ``report`` iterations (R's
    ``REPORT``, default 10); 2-6 run setulb with iprint 0, ``report``, 99,
    100, 101 and R's reworded C messages; every level ends with ``final
    value`` and ``converged`` / ``stopped after k iterations``.  R prints
    ``a variables leave; b variables enter`` once per variable that was
    active (a loop-placement slip in R); it is printed once here.
    """
    if level not in R_IPRINT:
        raise ValueError(f"R trace level must be 1-6, got {level!r}")
    iprint = report if R_IPRINT[level] is None else R_IPRINT[level]
    return _Classic(trace, R_DIALECT, iprint, rtrace=level, report=report).text()


_GD = "g'd(stp)"
TRIALS_HEADER = (f"{'it':>4} {'trial':>5} {'stp':>14} {'f(stp)':>16} {_GD:>16} {'f - f0':>10}"
                 f"{'SD':>3}{'CV':>3}  {'bracket [stx, sty]':<33} {'stage':>5} {'case':>4} task")


def trials_text(trace):
    """One line per line-search trial: what no Fortran level printed.

    Each search starts with a line giving f(0), g'd(0), ||d||, stpmax and the
    first step; each evaluated trial gives stp, f, g'd, the sufficient
    decrease (SD) and curvature (CV) tests (``y``/``-``), the bracket
    [stx, sty] (``open`` while no minimizer is bracketed), the dcsrch stage,
    the dcstep case that chose the next step, dcsrch's task and message; the
    search ends with its outcome and the accepted step.
    """
    lines, f0 = [TRIALS_HEADER], np.nan
    for e in as_trace(trace):
        f0 = e.f0 if e.kind == "line_search_start" else f0
        if e.kind in _TRIAL_LINES:
            lines.append(_TRIAL_LINES[e.kind](e, f0))
    return "\n".join(lines) + "\n"


def _search_start_line(e, f0):
    return (f"{e.it:4d} search  f(0)= {e.f0:.8e}  g'd(0)= {e.gd:.8e}  "
            f"||d||= {e.dnorm:.6e}  stpmax= {e.stpmax:.6e}  first stp= {e.stp:.6e}")


def _trial_line(e, f0):
    bracket = f"[{e.stx:.6e}, {e.sty:.6e}]" + ("     " if e.brackt else " open")
    flags = f"{'y' if e.sufficient_decrease else '-':>3}{'y' if e.curvature else '-':>3}"
    task = e.task + (f" {e.message}" if e.message else "")
    return (f"{e.it:4d} {e.trial:5d} {e.stp:14.6e} {e.f:16.8e} {e.gd:16.8e} {e.f - f0:10.2e}{flags}"
            f"  {bracket} {e.stage:5d} {e.case:4d} {task}")


def _search_end_line(e, f0):
    text = f" ({e.message})" if e.message else ""
    return (f"{e.it:4d} end     {e.outcome}{text}: stp= {e.stp:.6e}  "
            f"{e.n_trials} trial(s)  step norm= {e.xstep:.6e}")


_TRIAL_LINES = {"line_search_start": _search_start_line, "line_search_trial": _trial_line,
                "line_search_end": _search_end_line}


# --------------------------------------------- iprint / disp for minimize()
def iprint_from(iprint=-1, disp=None):
    """The effective ``iprint``, as SciPy 1.14's ``_minimize_lbfgsb``: ``disp``,
    when not None, overrides it (``disp`` 0 / False -> -1, else ``int(disp)``,
    so ``disp=True`` means ``iprint=1``)."""
    if disp is not None:
        iprint = -1 if disp == 0 else int(disp)
    if isinstance(iprint, bool) or not isinstance(iprint, (int, np.integer)):
        raise TypeError(f"iprint must be an integer, got {iprint!r}")
    return int(iprint)


def tracer_for_iprint(tracer, iprint):
    """The tracer to run with so that ``iprint`` can be printed from its trace:
    events kept in memory, level ``"iteration"`` (``"full"`` from 99 on)."""
    if iprint < 0:
        return tracer
    level = "full" if iprint >= 99 else "iteration"
    if LEVELS[tracer.level] >= LEVELS[level] and tracer.memory:
        return tracer
    level = max(level, tracer.level, key=LEVELS.get)
    return dataclasses.replace(tracer, level=level, memory=True)


def print_iprint(result, iprint, file=None):
    """Print :func:`classic_text` of a finished run (``minimize(iprint=...)``)."""
    if iprint >= 0 and result.get("trace") is not None and len(result["trace"]):
        stream = sys.stdout if file is None else file
        stream.write(classic_text(result["trace"], iprint))
        stream.flush()


#: Text renderings by name (used by ``lbfgsb-py show --format``).
RENDERERS = {"table": iteration_table, "iterate.dat": iteration_table, "summary": summary_table,
             "events": events_text, "trials": trials_text,
             **{f"iprint{k}": functools.partial(classic_text, iprint=k)
                for k in (0, 1, 99, 100, 101)},
             **{f"r-trace{k}": functools.partial(r_trace_text, level=k) for k in range(1, 7)}}

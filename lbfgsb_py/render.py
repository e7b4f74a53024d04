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
   (the end-of-run block), :func:`events_text` (one line per event), collected
   in :data:`RENDERERS`.

The ``nf``/``Tnf`` columns count what the Fortran counts (``nfgv``): calls for
f *and* g, i.e. the initial point plus one per line-search trial.  With
finite differences SciPy's ``nfev`` also counts the difference quotients
(n + 1 per point); pass ``nf="nfev"`` to print that instead.
"""
from __future__ import annotations

import functools
import math
import re

import numpy as np

from .trace import EVENT_TYPES, Trace

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
    and parenthesised groups are expanded.
    """
    stack, pos = [[]], 0
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
    return tuple(stack[0])


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
    data descriptor left without a value (as in Fortran).

    Returns
    -------
    str
        The records, joined by newlines (``/`` starts a new record).
    """
    out, scale, queue = [], 0, list(values)
    for item in _parse(fmt):
        kind = item[0]
        if kind in _DATA and not queue:
            break
        if kind == "lit":
            out.append(item[1])
        elif kind == "x":
            out.append(" " * item[1])
        elif kind == "p":
            scale = item[1]
        elif kind == "/":
            out.append("\n")
        else:
            out.append(_edit(item, queue.pop(0), scale))
    if queue:
        raise ValueError(f"{len(queue)} value(s) left over by FORMAT {fmt!r}")
    return "".join(out)


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
    out, current = [], 0
    for e in as_trace(trace):
        if e.kind == "iteration_start":
            current = e.iteration + 1
        if current == k:
            out.append(e)
    return out


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
    count = _total_fg(trace) if nf == "fg" else end.nfev
    records = [fortran_format(FMT_SUMMARY_LEGEND), fortran_format(FMT_SUMMARY_HEADER),
               fortran_format(FMT_SUMMARY_ROW, start.n, end.iteration, count,
                              end.n_segments_total, end.n_skipped, end.n_active, end.projg,
                              end.f),
               fortran_format(FMT_TASK, fortran_task(end.message).ljust(60))]
    return "\n".join(records) + "\n"


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
    return f"it {event.iteration:>3} nfev {event.nfev:>5}  {event.kind:<18} {body}"


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


#: Text renderings by name (used by ``lbfgsb-py show --format``).
RENDERERS = {"table": iteration_table, "summary": summary_table, "events": events_text}

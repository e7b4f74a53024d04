"""Task codes and the exact message texts SciPy's L-BFGS-B reports.

SciPy's driver (``scipy/optimize/_lbfgsb_py.py``, ``status_messages`` and
``task_messages``) composes ``result.message`` as ``"<TASK>: <MESSAGE>"``;
the codes below are the ones of SciPy's C translation (``__lbfgsb.c``,
``enum Status`` / ``enum StatusMsg``).  ``result.status`` is 0 for convergence,
1 when ``maxiter`` or ``maxfun`` was exhausted, 2 otherwise (ABNORMAL, WARNING,
callback halt).
"""
from enum import IntEnum


class Task(IntEnum):
    """The solver's state word (SciPy ``task[0]``)."""

    START = 0
    NEW_X = 1
    RESTART = 2
    FG = 3
    CONVERGENCE = 4
    STOP = 5
    WARNING = 6
    ERROR = 7
    ABNORMAL = 8


class Msg(IntEnum):
    """The detail code (SciPy ``task[1]``); values are SciPy's."""

    NONE = 0
    CONV_GRAD = 401
    CONV_F = 402
    STOP_MAXFUN = 502
    STOP_MAXITER = 504
    STOP_CALLBACK = 505
    WARN_ROUND = 601
    WARN_STPMAX = 602
    WARN_STPMIN = 603
    WARN_XTOL = 604
    ERROR_STP_LT_STPMIN = 706
    ERROR_STP_GT_STPMAX = 707
    ERROR_INITIAL_G = 710


MESSAGE_TEXT = {
    Msg.NONE: "",
    Msg.CONV_GRAD: "NORM OF PROJECTED GRADIENT <= PGTOL",
    Msg.CONV_F: "RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    Msg.STOP_MAXFUN: "TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    Msg.STOP_MAXITER: "TOTAL NO. OF ITERATIONS REACHED LIMIT",
    Msg.STOP_CALLBACK: "CALLBACK REQUESTED HALT",
    Msg.WARN_ROUND: "ROUNDING ERRORS PREVENT PROGRESS",
    Msg.WARN_STPMAX: "STP = STPMAX",
    Msg.WARN_STPMIN: "STP = STPMIN",
    Msg.WARN_XTOL: "XTOL TEST SATISFIED",
    Msg.ERROR_STP_LT_STPMIN: "STP < STPMIN",
    Msg.ERROR_STP_GT_STPMAX: "STP > STPMAX",
    Msg.ERROR_INITIAL_G: "INITIAL G >= 0",
}

#: Task names by value (a dict lookup: cheaper than ``Task(task).name`` per trace event).
TASK_NAME = {task: task.name for task in Task}

#: ``minimize`` reports this (status 99) when the callback raised StopIteration,
#: exactly as ``scipy.optimize.minimize`` does (``_minimize.py``).
CALLBACK_STOP_MESSAGE = "`callback` raised `StopIteration`."
CALLBACK_STOP_STATUS = 99

#: ``scipy.optimize.minimize`` returns this without calling the solver when
#: every variable is fixed by its bounds (``_optimize_result_for_equal_bounds``).
ALL_FIXED_MESSAGE = "All independent variables were fixed by bounds."


def message(task, msg):
    """Return SciPy's ``result.message`` for a (task, msg) pair."""
    return f"{TASK_NAME[task]}: {MESSAGE_TEXT[msg]}"


def status_code(task, nfev, maxfun, nit, maxiter):
    """Return SciPy's ``result.status`` (P:487-493 of ``_lbfgsb_py.py``)."""
    if task == Task.CONVERGENCE:
        return 0
    if nfev > maxfun or nit >= maxiter:
        return 1
    return 2

"""lbfgsb_py: L-BFGS-B as SciPy runs it, in readable NumPy + Numba, every decision traced.

Public names: :func:`minimize`, :data:`scipy_method`, :func:`fmin_l_bfgs_b` (SciPy's
entry points), :class:`Result`, :class:`InverseHessianProduct`, :class:`Tracer`, :class:`Trace`, :class:`BreakOn`,
:data:`SCHEMA_VERSION`, :func:`explain`, :class:`Diagnosis`, :class:`Solver`
(stepping, ask/tell, checkpoints), :class:`Replay` and :func:`capture` (SciPy's
L-BFGS-B calls in a ``with`` block solved and traced here), :func:`view` (a
self-contained HTML page to explore a run).
"""
from .api import minimize
from .capture import capture
from .explain import Diagnosis, explain
from .replay import Replay
from .scipy_compat import InverseHessianProduct, Result, fmin_l_bfgs_b, scipy_method
from .stepping import Solver
from .trace import SCHEMA_VERSION, BreakOn, Trace, Tracer
from .view import view

__all__ = ["minimize", "scipy_method", "fmin_l_bfgs_b", "Result", "InverseHessianProduct",
           "Tracer", "Trace", "BreakOn", "SCHEMA_VERSION", "explain", "Diagnosis", "Solver", "Replay",
           "capture", "view"]
__version__ = "0.1.0"

"""lbfgsb_py: L-BFGS-B as SciPy runs it, in readable NumPy + Numba, every decision traced.

Public names: :func:`minimize`, :data:`scipy_method`, :class:`Result`,
:class:`Tracer`, :class:`Trace`, :data:`SCHEMA_VERSION`, :func:`explain`,
:class:`Diagnosis`.
"""
from .api import InverseHessianProduct, Result, minimize, scipy_method
from .explain import Diagnosis, explain
from .trace import SCHEMA_VERSION, Trace, Tracer

__all__ = ["minimize", "scipy_method", "Result", "InverseHessianProduct", "Tracer", "Trace", "SCHEMA_VERSION",
           "explain", "Diagnosis"]
__version__ = "0.1.0"

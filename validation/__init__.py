"""Validation utilities for lbfgsb_py (test problems, comparisons against SciPy)."""

"""exp(10*x0) - 20*x0 + x1^2: a line-search trial far to the right overflows to inf."""
import numpy as np


def fun(x):
    with np.errstate(over="ignore"):
        e = np.exp(10.0 * x[0])
        return e - 20.0 * x[0] + x[1] ** 2, np.array([10.0 * e - 20.0, 2.0 * x[1]])

"""A Rosenbrock valley in a box: the problem of docs/tutorial.ipynb and docs/exploring-a-run.md.

f(x) = (1 - x0)^2 + 10 (x1 - x0^2)^2 has its minimizer (1, 1) outside the box
-1.5 <= x0 <= 0.6, -0.5 <= x1 <= 1.5, so the solution lies on the bound x0 = 0.6.
"""
import numpy as np

x0 = np.array([-1.2, 1.0])
bounds = [(-1.5, 0.6), (-0.5, 1.5)]


def fun(x):
    return (1 - x[0]) ** 2 + 10 * (x[1] - x[0] ** 2) ** 2


def jac(x):
    return np.array([-2 * (1 - x[0]) - 40 * x[0] * (x[1] - x[0] ** 2),
                     20 * (x[1] - x[0] ** 2)])

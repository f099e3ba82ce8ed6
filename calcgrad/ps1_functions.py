"""Problem set 1's per-student functions (issue 14): a pool of families per exercise.

Where ps1 asks for something worked out by hand (the flat point of Exercise 5, the
derivative of Exercise 6, the gradient of Exercise 7, the chain rule of Exercise 9, the
derivative of the inverse of Exercise 10), each student gets a function from a pool whose
members differ in *structure* (other rules, another composition), not only in constants.
Family 0 of every pool is the function the problem set was written with (variants off).

Each family is sound where the checks use it (tests/test_variants_ps1.py): no singularity at
the points the checks use (only the pole at 0 that Exercise 6's plot must avoid), the same
number of chain-rule paths in Exercise 9 (three per partial), one flat point in Exercise 5's
interval, an increasing function in Exercise 10 whose inverse the bisection brackets,
comparable sizes of the numbers.

Nothing here computes an answer: a family gives its function (as the notebook states it);
the derivatives and the flat points are the students' work, and the model answers per
variant live with the instructor (tools/ps1_models.py), never in this package.

Introduced by: source/ps1_calculus (Exercises 5, 6, 7, 9 and 10).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _torch():
    import torch

    return torch


@dataclass(frozen=True)
class Given:
    """One function of a pool: how the notebook shows it, and the function itself."""

    formula: str  # LaTeX
    python: str  # the function as the student would write it
    function: Callable  # tensors in, a tensor out
    nodes_tex: str = ""  # LaTeX of the inner functions (Exercise 9), or a note
    interval: tuple = ()  # Exercise 5: where the flat point lies

    def f(self, *args):
        """The function; numpy arrays in give numpy arrays out (for plot checks)."""
        import numpy as np

        torch = _torch()
        if args and isinstance(args[0], np.ndarray):
            out = self.function(*(torch.as_tensor(a, dtype=torch.float64) for a in args))
            return out.numpy()
        return self.function(*args)


def _t(name: str) -> Callable:
    return lambda *a: getattr(_torch(), name)(*a)


exp, log, sin, cos, atan = _t("exp"), _t("log"), _t("sin"), _t("cos"), _t("atan")

def _flat(formula: str, python: str, function: Callable, low: float, high: float) -> Given:
    where = rf"\text{{its slope is 0 at exactly one point of the interval }} ({low:g}, {high:g})"
    return Given(formula, python, function, nodes_tex=where, interval=(low, high))


EX5 = (
    _flat(r"f_5(x) = x\,e^{-2x}", "x * torch.exp(-2 * x)", lambda x: x * exp(-2 * x), 0, 2),
    _flat(r"f_5(x) = \frac{\log x}{x}", "torch.log(x) / x", lambda x: log(x) / x, 1, 6),
    _flat(r"f_5(x) = e^{x} \sin x", "torch.exp(x) * torch.sin(x)",
          lambda x: exp(x) * sin(x), 1, 3),
    _flat(r"f_5(x) = \frac{x}{2 + x^2}", "x / (2 + x**2)", lambda x: x / (2 + x**2), 0, 3),
)

EX6 = (
    Given(r"f_6(x) = x^3 - \frac{1}{x}", "x**3 - 1 / x", lambda x: x**3 - 1 / x),
    Given(r"f_6(x) = x^2 + \frac{1}{x^2}", "x**2 + 1 / x**2", lambda x: x**2 + 1 / x**2),
    Given(r"f_6(x) = e^{x} - \frac{2}{x}", "torch.exp(x) - 2 / x", lambda x: exp(x) - 2 / x),
    Given(r"f_6(x) = x \sin x - \frac{1}{x}", "x * torch.sin(x) - 1 / x",
          lambda x: x * sin(x) - 1 / x),
)

EX7 = (
    Given(r"f_7(\mathbf{x}) = 3x_1^2 + 5e^{x_2}", "3 * x[0]**2 + 5 * torch.exp(x[1])",
          lambda x: 3 * x[0] ** 2 + 5 * exp(x[1])),
    Given(r"f_7(\mathbf{x}) = 2x_1 x_2^2 + \cos x_1", "2 * x[0] * x[1]**2 + torch.cos(x[0])",
          lambda x: 2 * x[0] * x[1] ** 2 + cos(x[0])),
    Given(r"f_7(\mathbf{x}) = x_1 e^{x_2} + x_2^3", "x[0] * torch.exp(x[1]) + x[1]**3",
          lambda x: x[0] * exp(x[1]) + x[1] ** 3),
    Given(r"f_7(\mathbf{x}) = \log(1 + x_1^2) + 4 x_1 x_2",
          "torch.log(1 + x[0]**2) + 4 * x[0] * x[1]",
          lambda x: log(1 + x[0] ** 2) + 4 * x[0] * x[1]),
)


def _u(outer: Callable, inner: Callable) -> Callable:
    return lambda a, b: outer(*inner(a, b))


# Exercise 9: u(x, y, z) with x, y, z functions of (a, b), each depending on both: three
# chain-rule paths per partial. The special function of u (sin, log, atan) appears in no
# variant's partial derivatives, so the check may forbid it (`EX9_FORBID`).
EX9 = (
    Given(r"u = x^2 y + \sin z", "u = x**2 * y + sin(z); x = a * b, y = a + b**2, z = a**2 - b",
          _u(lambda x, y, z: x**2 * y + sin(z), lambda a, b: (a * b, a + b**2, a**2 - b)),
          nodes_tex=r"x = ab,\quad y = a + b^2,\quad z = a^2 - b"),
    Given(r"u = x y^2 + \log z",
          "u = x * y**2 + log(z); x = a + b, y = a * b, z = 1 + a**2 + b**2",
          _u(lambda x, y, z: x * y**2 + log(z), lambda a, b: (a + b, a * b, 1 + a**2 + b**2)),
          nodes_tex=r"x = a + b,\quad y = ab,\quad z = 1 + a^2 + b^2"),
    Given(r"u = x^2 - x y + \arctan z",
          "u = x**2 - x * y + atan(z); x = a - b**2, y = 2 * a * b, z = a**2 + b",
          _u(lambda x, y, z: x**2 - x * y + atan(z), lambda a, b: (a - b**2, 2 * a * b, a**2 + b)),
          nodes_tex=r"x = a - b^2,\quad y = 2ab,\quad z = a^2 + b"),
    Given(r"u = x y^2 - \sin z", "u = x * y**2 - sin(z); x = a**2 + b, y = a - b, z = a * b",
          _u(lambda x, y, z: x * y**2 - sin(z), lambda a, b: (a**2 + b, a - b, a * b)),
          nodes_tex=r"x = a^2 + b,\quad y = a - b,\quad z = ab"),
)
EX9_FORBID = ("sin", "log", "atan", "sin")

EX10 = (
    Given(r"f_{10}(x) = x^3 + x", "x**3 + x", lambda x: x**3 + x),
    Given(r"f_{10}(x) = x + e^{x}", "x + torch.exp(x)", lambda x: x + exp(x)),
    Given(r"f_{10}(x) = 2x + \sin x", "2 * x + torch.sin(x)", lambda x: 2 * x + sin(x)),
    Given(r"f_{10}(x) = x + e^{x} - e^{-x}", "x + torch.exp(x) - torch.exp(-x)",
          lambda x: x + exp(x) - exp(-x)),
)


def inverse(f: Callable, y, steps: int = 64):
    """The x with f(x) = y, by bisection, for an increasing f whose root lies in
    [-(|y| + 1), |y| + 1]: what the notebook's given `f10_inverse` does (the trusted side's
    copy, for the hidden checks)."""
    torch = _torch()
    y = torch.as_tensor(y, dtype=torch.float64)
    low, high = -(y.abs() + 1), y.abs() + 1
    for _ in range(steps):
        mid = (low + high) / 2
        below = f(mid) < y
        low, high = torch.where(below, mid, low), torch.where(below, high, mid)
    return (low + high) / 2


POOLS = {("ps1_calculus", "ex5"): EX5, ("ps1_calculus", "ex6"): EX6,
         ("ps1_calculus", "ex7"): EX7, ("ps1_calculus", "ex9"): EX9,
         ("ps1_calculus", "ex10"): EX10}

"""The properties that problem set 1's `checks.holds` cells judge (trusted side only).

A test cell's visible part must not define functions (nothing there may compute an
answer, and a `def` in a locked cell reads like reference code), so the predicates
of ps1's property checks live here. Each factory takes the cell's data (expected
values as literal numbers, the given function as a lambda) and returns a predicate
over the student's decoded plain data. None of them computes an exercise's answer:
they judge a value the student's code produced.

Introduced by: source/ps1_calculus (Exercises 5, 6c, 8b and 11).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def _slope(f: Callable, x: Any) -> Any:
    import torch

    x = torch.as_tensor(x, dtype=torch.float64).detach().clone().requires_grad_(True)
    f(x).sum().backward()
    return x.grad


def flat_point_of(f: Callable, interval: Sequence[float], rtol: float = 1e-12) -> Callable:
    """Exercise 5: `got` is flat_point, a number in `interval` where the given function `f`
    (the student's own f5) has slope 0: |f'(flat_point)| at most `rtol` times the largest
    |f'| on the interval. f' is taken by autograd here, on the given f: this judges a point,
    it does not find one. A root of a difference quotient is off by about 1e-10 and fails."""
    low, high = float(interval[0]), float(interval[1])

    def predicate(got: Any) -> bool | str:
        import torch

        x0 = float(got)
        if not math.isfinite(x0) or not low < x0 < high:
            return (f"flat_point = {x0!r} is not in the interval ({low:g}, {high:g}) where your "
                    "f5 has its flat point")
        grid = torch.linspace(low, high, 201, dtype=torch.float64)[1:-1]
        largest = float(_slope(f, grid).abs().max())
        slope = float(_slope(f, torch.tensor([x0], dtype=torch.float64))[0])
        if abs(slope) <= rtol * largest:
            return True
        return (f"the slope of your f5 at flat_point = {x0!r} is about {slope:.3g}, not 0 "
                f"(to {-math.log10(rtol):.0f} digits of its largest slope on the interval, "
                f"{largest:.3g}): solve f5'(x) = 0 exactly, with the formula you worked out "
                "by hand (a numerical root gets only about 10 digits)")

    return predicate


def plot_shows(curve: Callable[[np.ndarray], np.ndarray], line: Sequence[float],
               through: float, avoid: float, min_points: int) -> Callable[[dict], Any]:
    """Exercise 6c: the figure has a curve of `curve` (at least `min_points` points) on a
    range that contains `through` and not `avoid`, the line y = line[0] x + line[1], and a
    legend that names at least two lines."""
    slope, intercept = float(line[0]), float(line[1])

    def follows(xy: tuple, target: Callable, n: int) -> bool:
        x, y = xy
        ok = np.isfinite(x) & (np.abs(x - avoid) > 1e-9)
        return len(x) >= n and bool(ok.all()) and \
            bool(np.allclose(y[ok], target(x[ok]), rtol=1e-3, atol=1e-3))

    def predicate(fig: dict) -> bool | str:
        lines = [(item["x"].data, item["y"].data) for item in fig["lines"]]
        on_curve = [xy for xy in lines if follows(xy, curve, 2)]
        if not on_curve:
            return "no line of the plot follows the function f"
        smooth = [xy for xy in on_curve if len(xy[0]) >= min_points]
        if not smooth:
            return (f"draw f with at least {min_points} points so that the curve looks smooth "
                    f"(yours has {max(len(xy[0]) for xy in on_curve)})")
        x = smooth[0][0]
        if (x.min() < avoid < x.max()) or np.abs(x - avoid).min() < 0.05:
            return (f"your x range crosses x = {avoid:g}, where f blows up: "
                    "choose a range that stays away from it")
        if not x.min() <= through <= x.max():
            return f"the tangent point x = {through:g} is outside your x range"
        if not any(follows(xy, lambda t: slope * t + intercept, 2) for xy in lines):
            return ("no line of the plot is the tangent at the tangent point: check its slope "
                    "and intercept (Exercise 6b)")
        if len([t for t in fig["legend"] if t.strip()]) < 2:
            return ("add a legend that names the curve and the tangent "
                    "(legend=[..., ...] in plotting.plot)")
        return True

    return predicate


def zero_vector(length: int) -> Callable[[Any], Any]:
    """Exercise 8b: a vector of `length` zeros (within 1e-12), without NaN."""

    def predicate(got: Any) -> bool | str:
        g = np.asarray(got.data, dtype=float)
        if np.isnan(g).any():
            return ("grad_norm(0) contains NaN: at x = 0 you divide 0 by ||x|| = 0. "
                    "Treat x = 0 separately")
        if g.shape != (length,):
            return f"grad_norm(0) has shape {g.shape}, expected ({length},), like x"
        if not np.allclose(g, 0.0, atol=1e-12):
            return f"grad_norm(0) is {g.tolist()}; that is not the course's convention at 0"
        return True

    return predicate


def difference_accuracy(slope: Sequence[float], second: Sequence[float],
                        third: Sequence[float], rtol: float = 1e-6) -> Callable[[Any], Any]:
    """Exercise 11: within `rtol` (relative, at least absolute for slopes below 1) of the exact
    derivative `slope`; else say whether the errors look like truncation (they follow f'' or
    f''', the data `second` and `third`: h too large) or round-off (h too small)."""
    slope, f2, f3 = (np.asarray(v, dtype=float) for v in (slope, second, third))

    def predicate(got: Any) -> bool | str:
        data = np.asarray(got.data, dtype=float)
        if data.shape != slope.shape:
            return f"good_difference returned shape {data.shape}, expected {slope.shape}"
        if not np.all(np.isfinite(data)):
            return "good_difference returned NaN or inf: is h 0, or so small that x + h == x?"
        err = data - slope
        if np.all(np.abs(err) <= rtol * np.maximum(1.0, np.abs(slope))):
            return True
        like = []
        for deriv, kind in ((f2, "a forward difference (error about h/2 times f''(x))"),
                            (f3, "a central difference (error about h**2/6 times f'''(x))")):
            use = np.abs(deriv) > 0.2
            ratio = err[use] / deriv[use]
            if use.sum() >= 2 and np.all(ratio * ratio[0] > 0) and \
                    np.abs(ratio).max() <= 1.5 * np.abs(ratio).min():
                like.append(kind)
        if like:
            return ("your errors follow the derivatives of f, like the truncation error of "
                    + " or ".join(like) + ": h is too large")
        return ("your errors are irregular: they do not follow the derivatives of f, which is "
                "what round-off looks like when h is too small (f(x + h) - f(x) cancels most "
                "digits)")

    return predicate

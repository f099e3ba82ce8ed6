"""Numerical calculus: what the lectures compute by hand and then reuse.

Difference quotients, their limit as h shrinks, and a numerical gradient to
compare autograd against. (No tangent-line helper: problem set 1 asks for one.)

The quotients are computed in the type you pass: a Python float or a
float64 array keeps about 16 digits, a float32 tensor about 7, which is
exactly what the lecture shows when h gets tiny. Use float64 where
precision is the point.

Introduced by: notebooks/01_calculus.ipynb (all helpers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

Function = Callable[[Any], Any]


def _is_tensor(value: Any) -> bool:
    """True for a torch tensor (checked by duck typing, so torch is not imported here)."""
    return hasattr(value, "detach") and hasattr(value, "requires_grad")


def _scalar(value: Any) -> float:
    """A one-element float, tensor (even one that requires grad) or array as a Python float."""
    if _is_tensor(value):
        value = value.detach().cpu().double().numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise ValueError(f"expected a single number, got an array of shape {array.shape}")
    return array.item()


def difference_quotient(f: Function, x: Any, h: float) -> Any:
    """Forward difference (f(x + h) - f(x)) / h: the slope of the secant from x to x + h.

    Its error shrinks like h (until round-off takes over at tiny h).
    Computed in the type of x and f's values.

    Introduced by: notebooks/01_calculus.ipynb.
    """
    return (f(x + h) - f(x)) / h


def central_difference(f: Function, x: Any, h: float) -> Any:
    """Central difference (f(x + h) - f(x - h)) / (2h).

    Its error shrinks like h**2, so it is far more accurate than the
    forward difference for the same h. Computed in the type of x.

    Introduced by: notebooks/01_calculus.ipynb.
    """
    return (f(x + h) - f(x - h)) / (2 * h)


def shrinking_steps(h0: float = 0.1, factor: float = 10, steps: int = 5) -> list[float]:
    """The step sizes h0, h0/factor, h0/factor**2, ... (`steps` of them).

    >>> shrinking_steps(0.1, 10, 3)
    [0.1, 0.01, 0.001]

    Introduced by: notebooks/01_calculus.ipynb.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return [h0 / factor**k for k in range(steps)]


def quotient_table(
    f: Function, x: Any, hs: Iterable[float] | None = None, method: str = "forward"
) -> list[tuple[float, float]]:
    """Rows (h, quotient) for each h in hs: watch the quotient approach the derivative.

    hs defaults to 0.1, 0.01, ..., 1e-5. method is "forward" (the difference
    quotient of the definition) or "central". For f(x) = 3x**2 - 4x at x = 1
    the forward quotients are 2.3, 2.03, 2.003, ... closing in on f'(1) = 2.

    Introduced by: notebooks/01_calculus.ipynb.
    """
    quotients = {"forward": difference_quotient, "central": central_difference}
    if method not in quotients:
        raise ValueError(f"method must be 'forward' or 'central', got {method!r}")
    quotient = quotients[method]
    hs = shrinking_steps() if hs is None else hs
    return [(h, _scalar(quotient(f, x, h))) for h in hs]


def numerical_limit(
    f: Function, x: Any, h0: float = 0.1, factor: float = 10, steps: int = 5
) -> float:
    """Estimate f'(x) as the forward difference quotient at the smallest step h0/factor**(steps-1).

    With the defaults the last h is 1e-5, small enough for about 5 correct
    digits in float64 and large enough to stay clear of round-off.
    See `quotient_table` for the whole sequence.

    Introduced by: notebooks/01_calculus.ipynb.
    """
    return quotient_table(f, x, shrinking_steps(h0, factor, steps))[-1][1]


def numerical_gradient(f: Function, x: Any, h: float = 1e-6) -> Any:
    """The gradient of a scalar function f at x by central differences, one coordinate at a time.

    x may be a Python number, a list, a NumPy array or a torch tensor; the
    work is done in float64. The result has x's shape and kind: a float for
    a number, a float64 array for a list or array, a float64 tensor for a
    tensor (f is then called with float64 tensors). f must return one number.
    Use it to check what autograd puts in x.grad.

    Introduced by: notebooks/01_calculus.ipynb.
    """
    if _is_tensor(x):
        point = x.detach().double().clone().contiguous()
    elif isinstance(x, (int, float)):
        return _scalar(central_difference(f, float(x), h))
    else:
        point = np.array(x, dtype=np.float64)
    flat = point.reshape(-1)  # a view: changing flat[i] changes point
    grad = np.zeros(flat.shape[0], dtype=np.float64)
    for i in range(flat.shape[0]):
        original = flat[i].item()
        flat[i] = original + h
        f_plus = _scalar(f(point))
        flat[i] = original - h
        f_minus = _scalar(f(point))
        flat[i] = original
        grad[i] = (f_plus - f_minus) / (2 * h)
    grad = grad.reshape(tuple(point.shape))
    return point.new_tensor(grad) if _is_tensor(point) else grad

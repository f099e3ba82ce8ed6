"""Verdicts: compare a student's value with the expected one and say what is wrong.

Everything here works on decoded plain data (`calcgrad.plain.decode`), never
on a student's live objects, so it can run in the trusted grading process.
Messages are written for the student: what is wrong, in words, and the
likely mistake when a known pattern matches.

Introduced by: every notebook's test cells (through `calcgrad.checks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import numpy as np

from calcgrad.plain import Array, Opaque, StudentError


@dataclass
class Verdict:
    passed: bool
    message: str


# Known error messages from PyTorch and Python, and what they usually mean.
ERROR_HINTS = [
    ("NotImplementedError", "", "This exercise is not done yet: replace `raise NotImplementedError()` "
     "with your solution."),
    ("RuntimeError", "grad can be implicitly created only for scalar outputs",
     "backward() on a non-scalar tensor needs a `gradient=` argument (the v in v^T J), "
     "or reduce it to a scalar first, e.g. `y.sum().backward()`."),
    ("RuntimeError", "backward through the graph a second time",
     "The graph was freed by the first backward(); pass `retain_graph=True` to the first call "
     "if you need to run backward twice (or, if a tensor should act as a constant, "
     "`.detach()` it so that backward does not run through it)."),
    ("RuntimeError", "does not require grad and does not have a grad_fn",
     "The tensor you differentiate was not built from a tensor with requires_grad=True "
     "(call `x.requires_grad_()` first, and do not `.detach()` it or take `.data` on the way). "
     "For a second derivative, the first pass needs `create_graph=True`."),
    ("RuntimeError", "a leaf Variable that requires grad is being used in an in-place operation",
     "You changed a tensor that requires grad in place; wrap the update in `torch.no_grad()`, "
     "or build a new tensor."),
    ("RuntimeError", "Can't call numpy() on Tensor that requires grad",
     "Call `.detach()` before `.numpy()`."),
    ("TypeError", "unsupported operand", "Check the types you combine (a tensor with a list, say)."),
    ("NameError", "", "A name is not defined: did you run the cells above, in order?"),
]


def _error_hint(err: StudentError) -> str:
    for name, fragment, hint in ERROR_HINTS:
        if err.error == name and fragment in err.message:
            return hint
    return ""


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, Array):
        kind = "tensor" if value.origin == "torch" else "array"
        return f"a {kind} of shape {tuple(value.data.shape)} and dtype {value.dtype}"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value:.6g}"
    if isinstance(value, str):
        return f"the string {value[:60]!r}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)[:5]}"
    if isinstance(value, Opaque):
        return f"a {value.type_name} ({value.reason})"
    return f"a {type(value).__name__}"


def precheck(name: str, got: Any) -> Verdict | None:
    """Failures that do not depend on the expected value: errors, opaque values."""
    if isinstance(got, StudentError):
        hint = _error_hint(got)
        msg = f"{name}: your code raised {got}"
        return Verdict(False, msg + (f"\n  Hint: {hint}" if hint else ""))
    if isinstance(got, Opaque):
        return Verdict(False, f"{name}: expected a number, tensor or plain value, "
                              f"got {_describe(got)}.")
    return None


def as_numeric(value: Any) -> np.ndarray | None:
    """A number, a list of numbers, an array or a tensor as a float64 array; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Array):
        return value.data.astype(np.float64)
    if isinstance(value, (int, float)):
        return np.asarray(float(value))
    if isinstance(value, (list, tuple)):
        parts = [as_numeric(v) for v in value]
        if not parts or any(p is None for p in parts):
            return None
        try:
            return np.stack(parts).astype(np.float64)
        except ValueError:
            return None
    return None


def _all_close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=rtol, atol=atol,
                                                        equal_nan=False))


def _first_mismatch(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str:
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
    n_bad = int(bad.sum())
    idx = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
    g, w = got[idx] if got.ndim else got, want[idx] if want.ndim else want
    where = f" at index {idx if len(idx) != 1 else idx[0]}" if got.ndim else ""
    count = f" ({n_bad} of {got.size} values differ)" if got.size > 1 else ""
    return (f"got {float(g):.6g}{where}, expected {float(w):.6g}{count}; "
            f"tolerance: rtol={rtol:g}, atol={atol:g}.")


# Known mistakes are recognised to this relative precision even where a check demands more
# (a rule checked to 13 digits, a mistake computed by a difference quotient to 10).
MISTAKE_RTOL = 1e-6


def _pattern_hint(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str:
    if rtol < MISTAKE_RTOL and _all_close(got, want, MISTAKE_RTOL, 0.0):
        digits = int(-np.log10(max(np.max(np.abs(got - want) / np.abs(want).clip(1e-300)),
                                   1e-17)))
        return (f"Your values agree with the expected ones to about {digits} digits, but this "
                f"check asks for rtol={rtol:g}: a difference quotient (or float32 arithmetic) "
                "gets this close, the exact formula in float64 gets closer.")
    if not np.any(np.abs(want) > atol):
        return ""
    if _all_close(got, -want, rtol, atol):
        return "Your values have the opposite sign: look for a sign error."
    if _all_close(got, 2 * want, rtol, atol):
        return ("Your values are exactly twice the expected ones. If this is a gradient, "
                "did you forget `x.grad.zero_()` between two backward passes?")
    if _all_close(got, 0.5 * want, rtol, atol):
        return "Your values are exactly half the expected ones: a factor of 2 is missing."
    if not np.any(got):
        return "Your values are all zero."
    return ""


def compare_close(name: str, got: Any, want: Any, *, rtol: float = 1e-5, atol: float = 1e-8,
                  wrong: dict[str, Any] | None = None, dtype: bool = False,
                  tensor: bool = False) -> Verdict:
    """Numbers, arrays or tensors that must agree within a tolerance."""
    early = precheck(name, got)
    if early:
        return early
    want_arr = as_numeric(want)
    if want_arr is None:
        raise TypeError(f"{name}: the expected value is not numeric: {_describe(want)}")
    if got is None:
        return Verdict(False, f"{name} is None, expected {_describe(want)}.\n  Hint: if this is "
                              "a gradient, did you call `.backward()`, and was the tensor created "
                              "with `requires_grad=True`? Does your function end with `return`?")
    if tensor and not (isinstance(got, Array) and got.origin == "torch"):
        return Verdict(False, f"{name}: expected a torch tensor, got {_describe(got)}.")
    got_arr = as_numeric(got)
    if got_arr is None:
        return Verdict(False, f"{name}: expected {_describe(want)}, got {_describe(got)}.")
    if got_arr.shape != want_arr.shape:
        if got_arr.size == want_arr.size == 1:
            got_arr = got_arr.reshape(want_arr.shape)
        else:
            for message, wrong_value in (wrong or {}).items():  # a known mistake of another shape
                wrong_arr = as_numeric(wrong_value)
                if wrong_arr is not None and wrong_arr.size == got_arr.size and \
                        _all_close(got_arr.reshape(wrong_arr.shape), wrong_arr, rtol, atol):
                    return Verdict(False, f"{name}: {message}\n  shape {tuple(got_arr.shape)}, "
                                          f"expected {tuple(want_arr.shape)}.")
            hint = ""
            if got_arr.ndim == 2 and got_arr.shape[::-1] == want_arr.shape:
                hint = "\n  Hint: the shape is transposed."
            return Verdict(False, f"{name}: shape {tuple(got_arr.shape)}, expected "
                                  f"{tuple(want_arr.shape)}.{hint}")
    if dtype and isinstance(want, Array) and isinstance(got, Array) and got.dtype != want.dtype:
        return Verdict(False, f"{name}: dtype {got.dtype}, expected {want.dtype}.")
    if np.isnan(got_arr).any() and not np.isnan(want_arr).any():
        idx = tuple(int(i) for i in np.argwhere(np.isnan(got_arr))[0]) if got_arr.ndim else ()
        at = f" at index {idx}" if idx else ""
        return Verdict(False, f"{name}: contains NaN{at}, expected finite values. "
                              "Hint: look for 0/0, log of a negative number or inf - inf.")
    if _all_close(got_arr, want_arr, rtol, atol):
        return Verdict(True, f"{name}: correct.")
    for message, wrong_value in (wrong or {}).items():
        wrong_arr = as_numeric(wrong_value)
        if wrong_arr is not None and wrong_arr.shape == got_arr.shape and \
                _all_close(got_arr, wrong_arr, max(rtol, MISTAKE_RTOL), atol):
            return Verdict(False, f"{name}: {message}\n  "
                                  + _first_mismatch(got_arr, want_arr, rtol, atol))
    hint = _pattern_hint(got_arr, want_arr, rtol, atol)
    return Verdict(False, f"{name}: {_first_mismatch(got_arr, want_arr, rtol, atol)}"
                          + (f"\n  Hint: {hint}" if hint else ""))


def _plain_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                       and not isinstance(a, bool) and not isinstance(b, bool)):
        return False
    if isinstance(a, Array):
        return a.data.shape == b.data.shape and bool(np.array_equal(a.data, b.data))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_plain_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return sorted(a) == sorted(b) and all(_plain_equal(a[k], b[k]) for k in a)
    return a == b


def compare_equal(name: str, got: Any, want: Any, *,
                  wrong: dict[str, Any] | None = None) -> Verdict:
    """Plain values (strings, booleans, integers, lists of them) that must be equal."""
    early = precheck(name, got)
    if early:
        return early
    if _plain_equal(got, want):
        return Verdict(True, f"{name}: correct.")
    for message, wrong_value in (wrong or {}).items():
        if _plain_equal(got, wrong_value):
            return Verdict(False, f"{name}: {message}")
    return Verdict(False, f"{name}: got {_describe(got)}, expected {_describe(want)}.")


def compare_holds(name: str, got: Any, predicate: Callable[[Any], Any], message: str) -> Verdict:
    """A property of the student's value, judged by a trusted predicate.

    The predicate returns True (passed), False (fails with `message`) or a
    string (fails with that string as the explanation).
    """
    early = precheck(name, got)
    if early:
        return early
    try:
        outcome = predicate(got)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, ZeroDivisionError) as exc:
        return Verdict(False, f"{name}: {message} (your value, {_describe(got)}, could not be "
                              f"checked: {type(exc).__name__}: {exc})")
    if outcome is True or (isinstance(outcome, (bool, np.bool_)) and bool(outcome)):
        return Verdict(True, f"{name}: correct.")
    detail = outcome if isinstance(outcome, str) else message
    return Verdict(False, f"{name}: {detail}")

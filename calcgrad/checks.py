"""Checks: the API every graded test cell uses.

A check names what it checks, the student's half (a zero-argument function
that calls the student's code) and the expected half (a zero-argument
function that never touches the student's code), plus a tolerance::

    from calcgrad import checks
    x = checks.points(seed=3, n=5, low=0.5, high=3.0)
    checks.close("d/dx x**3 at 5 random points",
                 student=lambda: d_power(x, 3),
                 expected=lambda: 3 * x**2,
                 rtol=1e-6,
                 wrong={"you returned x**3 itself, not its derivative": lambda: x**3})

In the student's kernel both halves run here and a mismatch raises
`CheckFailed` (an `AssertionError`) whose message says what is wrong.

The halves are separable, which is what the grading engine relies on:
in the sandbox only `student` runs (its value leaves as plain data,
`calcgrad.plain`); in the trusted process only `expected`, `wrong` and
`predicate` run, and `judge` decides. A runner object decides which
happens (`use_runner`). Rules for test cells, so both processes can run
the same source: student names appear only inside `student=` lambdas;
everything else in the cell (imports, inputs) is the cell's own code.

Introduced by: notebooks/01_calculus.ipynb and source/*/ (every test cell).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol
from collections.abc import Callable

from calcgrad.plain import capture, decode, encode
from calcgrad.verdicts import (Verdict, compare_close, compare_equal, compare_holds,
                               precheck)
from calcgrad.verdicts import _describe as describe
from calcgrad import methods
from calcgrad.methods import BY_HAND  # noqa: F401 - part of the checks API


class CheckFailed(AssertionError):
    """A check did not pass; the message says what is wrong, in words."""

    def _render_traceback_(self) -> list[str]:
        """What Jupyter shows for a failed check: the message, not a traceback through calcgrad
        (IPython calls this hook; the error output keeps its ename and evalue for nbgrader)."""
        return [f"\x1b[0;31mCheckFailed\x1b[0m: {self}"]


@dataclass
class Check:
    kind: str  # "close", "equal", "holds" or "method"
    name: str
    student: Callable[[], Any] | None
    expected: Callable[[], Any] | None = None
    wrong: dict[str, Any] | None = None
    predicate: Callable[[Any], Any] | None = None
    message: str = ""
    options: dict = field(default_factory=dict)


class Runner(Protocol):
    def run(self, check: Check) -> None: ...


@dataclass(frozen=True)
class Digest:
    """An exact expected value known only by its SHA-256 (see `digest`)."""

    hexdigest: str


def digest(hexdigest: str) -> Digest:
    """The expected value of an `equal` check, given as the SHA-256 of its plain form, for a
    visible check whose expected value would give the answer away. Make it with `sha256_of`."""
    return Digest(hexdigest.strip().lower())


def _canonical(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)  # arrays, errors, opaque values: never equal to an exact answer


def _digest_of_plain(value: Any) -> str:
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def sha256_of(value: Any) -> str:
    """The digest `digest()` expects for `value` (str, int, bool, None, lists and dicts of
    them), taken on the same plain form a student's value is compared in."""
    return _digest_of_plain(decode(encode(value)))


def _trusted_value(value: Any) -> Any:
    """The expected side goes through the same encoding as the student's."""
    if isinstance(value, Digest):
        return value
    return decode(encode(value() if callable(value) else value))


def trusted_values(check: Check) -> tuple[Any, dict[str, Any]]:
    """The expected value and the known-mistake values of a close or equal check, decoded."""
    return (_trusted_value(check.expected),
            {msg: _trusted_value(w) for msg, w in (check.wrong or {}).items()})


def judge(check: Check, got: Any, trusted: tuple | None = None) -> Verdict:
    """Decide a check from the student's decoded value. Never runs student code.
    `trusted`: `trusted_values(check)` when the caller already has them."""
    if check.kind == "holds":
        return compare_holds(check.name, got, check.predicate, check.message)
    want, wrong = trusted if trusted is not None else trusted_values(check)
    if check.kind == "equal" and isinstance(want, Digest):
        return _compare_digest(check.name, got, want, wrong)
    if check.kind == "equal":
        return compare_equal(check.name, got, want, wrong=wrong)
    return compare_close(check.name, got, want, wrong=wrong, **check.options)


def _compare_digest(name: str, got: Any, want: Digest, wrong: dict[str, Any]) -> Verdict:
    early = precheck(name, got)
    if early:
        return early
    if _digest_of_plain(got) == want.hexdigest:
        return Verdict(True, f"{name}: correct.")
    for message, wrong_value in wrong.items():
        if compare_equal(name, got, wrong_value).passed:
            return Verdict(False, f"{name}: {message}")
    return Verdict(False, f"{name}: not right yet (your value was {describe(got)}; the "
                          "expected one is not shown, since it is the answer).")


def judge_method(check: Check, sources: list[str]) -> Verdict:
    """Decide a `method` check from the notebook's code cells (their text, never run)."""
    outcome = methods.judge(check.name, check.options["function"], sources,
                            forbid=check.options["forbid"], require=check.options["require"])
    return Verdict(outcome.passed, outcome.message)


def _kernel_sources() -> list[str]:
    """The cells the student's kernel has run, oldest first: IPython's input history (`_ih`)
    in the namespace the check was called from."""
    frame = sys._getframe(1)
    while frame is not None:
        history = frame.f_globals.get("_ih")
        if isinstance(history, list):
            cells = [str(s) for s in history]
            return cells if any(s.strip() for s in cells) else _compiled_cells()
        frame = frame.f_back
    return []


def _compiled_cells() -> list[str]:
    """The cells IPython compiled, oldest first, from its code cache: a kernel that runs cells
    with store_history=False (nbval does, `make nbval` on source/) leaves `_ih` empty."""
    import linecache

    try:
        from IPython import get_ipython
    except ImportError:
        return []
    names = getattr(getattr(get_ipython(), "compile", None), "_filename_map", {})
    return ["".join(linecache.cache[name][2]) for name in names if name in linecache.cache]


class LocalRunner:
    """The student's kernel (and plain nbgrader): run both halves, raise on a mismatch."""

    def run(self, check: Check) -> None:
        __tracebackhide__ = True
        if check.kind == "method":
            verdict = judge_method(check, _kernel_sources())
        else:
            verdict = judge(check, decode(capture(check.student)))
        if not verdict.passed:
            raise CheckFailed(verdict.message)
        print(f"\u2714 {check.name}")


_runner: Runner = LocalRunner()


def use_runner(runner: Runner) -> Runner:
    """Install a runner (the grading engine does this); returns the previous one."""
    global _runner
    previous, _runner = _runner, runner
    return previous


def _run(check: Check) -> None:
    __tracebackhide__ = True
    _runner.run(check)


def close(name: str, student: Callable[[], Any], expected: Callable[[], Any] | Any, *,
          rtol: float = 1e-5, atol: float = 1e-8, wrong: dict[str, Any] | None = None,
          dtype: bool = False, tensor: bool = False) -> None:
    """Numbers, lists of numbers, arrays or tensors that must agree within rtol/atol.

    `wrong` maps a message naming a known mistake to the value that mistake
    produces; a student value matching one gets that message. `dtype=True`
    also requires the same dtype; `tensor=True` requires a torch tensor.
    """
    __tracebackhide__ = True
    _run(Check("close", name, student, expected, wrong,
               options={"rtol": rtol, "atol": atol, "dtype": dtype, "tensor": tensor}))


def equal(name: str, student: Callable[[], Any], expected: Callable[[], Any] | Any, *,
          wrong: dict[str, Any] | None = None) -> None:
    """Plain values (strings, booleans, integers, lists of them) that must be equal."""
    __tracebackhide__ = True
    _run(Check("equal", name, student, expected, wrong))


def holds(name: str, student: Callable[[], Any], predicate: Callable[[Any], Any],
          message: str) -> None:
    """A property of the student's value, judged by `predicate` on its plain data.

    The predicate gets decoded plain data (numbers, lists, `calcgrad.plain.Array`)
    and returns True, False (fails with `message`) or a string explaining the failure.
    """
    __tracebackhide__ = True
    _run(Check("holds", name, student, predicate=predicate, message=message))


def method(name: str, function: str, *, forbid: tuple | list = (),
           require: tuple | list = ()) -> None:
    """How the student's `function` is written: it must use every technique in `require` and
    none in `forbid` ("autograd", "reverse_mode", "forward_mode", "jacobian", "symbolic",
    "numeric", "calcgrad", `BY_HAND` for all that "by hand" rules out, or the name of another
    notebook function it must call). Judged from the notebook's text, never by running it:
    see `calcgrad.methods`."""
    __tracebackhide__ = True
    _run(Check("method", name, None, options={
        "function": str(function), "forbid": tuple(forbid), "require": tuple(require)}))


def points(seed: int, n: int, low: float = -2.0, high: float = 2.0, *,
           dtype: Any = None) -> Any:
    """`n` seeded random points, uniform in [low, high), as a float64 tensor.

    Test cells use it for fresh inputs that are the same in every process.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    dtype = dtype or torch.float64
    return low + (high - low) * torch.rand(n, generator=gen, dtype=dtype)



def figure_data(ax: Any) -> dict:
    """What a matplotlib Axes shows, as plain data: the student half of a plot check.

    Returns {"lines": [{"x": [...], "y": [...], "label": str}], "legend": [str],
    "xlabel": str, "ylabel": str, "title": str, "xlim": [lo, hi]}. Lines whose
    label starts with "_" (matplotlib's unlabeled lines) keep their data but
    an empty label.
    """
    import numpy as np

    lines = []
    for line in ax.get_lines():
        label = str(line.get_label())
        lines.append({"x": np.asarray(line.get_xdata(), dtype=float),
                      "y": np.asarray(line.get_ydata(), dtype=float),
                      "label": "" if label.startswith("_") else label})
    legend = ax.get_legend()
    return {"lines": lines,
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(), "title": ax.get_title(),
            "xlim": [float(v) for v in ax.get_xlim()]}

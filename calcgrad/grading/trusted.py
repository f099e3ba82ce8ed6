"""Decide check-based test cells in the trusted process, which never runs student code.

The test cell's original source (from the gradebook, never the student's
copy) runs here, in a namespace holding only what test cells may rely on
(`math`, `np`, `torch`, `checks`, `plotting`). Its checks meet a replay
runner: instead of calling `student`, each check takes the value the
sandbox recorded for it (the n-th check of the cell takes the n-th record,
and the names must agree), and `checks.judge` decides. The cell's outputs
are then what the student's kernel would have shown: "✔ name" on stdout per
passing check, a `CheckFailed` error at the first failure.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import math
import sys
import warnings
from dataclasses import dataclass, field

from nbformat.notebooknode import NotebookNode

from calcgrad import checks
from calcgrad.grading import outputs as out
from calcgrad.plain import decode
from calcgrad.verdicts import Verdict


@dataclass
class Outcome:
    name: str
    passed: bool
    message: str
    line: int = 0  # the test cell's line that made the check (0: not known)


@dataclass
class TrustedCell:
    outputs: list[NotebookNode] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # signs of tampering
    fallback: str = ""  # non-empty: the cell could not be decided here (why)


class ReplayRunner:
    """A checks runner that judges recorded student values instead of running student code."""

    def __init__(self, records: list, reached: bool, result: TrustedCell,
                 memo: dict | None = None, key: object = None, sources: tuple = ()):
        self.records = records
        # The submitted notebook's code cells above the test cell: what `method` checks read.
        self.sources = sources
        self.reached = reached
        self.result = result
        self.used = 0
        # Expected values are the same for every student: worked out for the first one.
        self.memo, self.key = memo, key
        self.filename = f"<{key[0]}>" if isinstance(key, tuple) else ""

    def _line(self) -> int:
        """The line of the test cell that made the check being run (its caller's frame)."""
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                return frame.f_lineno
            frame = frame.f_back
        return 0

    def _value(self, check: checks.Check):
        if self.used >= len(self.records):
            self.used += 1
            why = ("the notebook stopped before this check ran" if not self.reached
                   else "no value was recorded for this check")
            return None, Verdict(False, f"{check.name}: {why}.")
        record = self.records[self.used]
        self.used += 1
        if not isinstance(record, dict) or record.get("name") != check.name:
            self.result.problems.append(f"recorded value for {check.name!r} does not match "
                                        "the test cell")
            return None, Verdict(False, f"{check.name}: the value recorded in the sandbox does "
                                        "not belong to this check.")
        try:
            return decode(record.get("value")), None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            self.result.problems.append(f"malformed value for {check.name!r}: {exc}")
            return None, Verdict(False, f"{check.name}: the recorded value could not be read.")

    def _trusted(self, check: checks.Check, position: int) -> tuple | None:
        if check.kind in ("holds", "method") or self.memo is None:
            return None
        key = (self.key, position, check.kind, check.name)
        if key not in self.memo:
            self.memo[key] = checks.trusted_values(check)
        return self.memo[key]

    def run(self, check: checks.Check) -> None:
        position = self.used
        got, verdict = self._value(check)  # a method check's record says it was reached
        if verdict is None and check.kind == "method":
            verdict = checks.judge_method(check, list(self.sources))
        elif verdict is None:
            verdict = checks.judge(check, got, self._trusted(check, position))
        self.result.outcomes.append(Outcome(check.name, verdict.passed, verdict.message,
                                            self._line()))
        if not verdict.passed:
            raise checks.CheckFailed(verdict.message)
        print(f"\u2714 {check.name}")


TRUSTED_NAMES = ("math", "np", "torch", "checks", "plotting")


def namespace() -> dict:
    """What a test cell may rely on from earlier cells (team rule 3), fresh per notebook."""
    import numpy as np
    import torch

    ns = {"__name__": "__main__", "math": math, "np": np, "torch": torch, "checks": checks}
    try:
        from calcgrad import plotting
    except ImportError:  # the plotting helpers are optional for grading
        pass
    else:
        ns["plotting"] = plotting
    return ns


def _split_last_expression(tree: ast.Module) -> tuple[ast.Module, ast.Expression | None]:
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body[-1].value)
        return ast.Module(tree.body[:-1], type_ignores=[]), last
    return tree, None


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, label: str) -> tuple:
    """A trusted cell's code, compiled once per batch rather than once per student."""
    body, last = _split_last_expression(ast.parse(source))
    return (compile(body, f"<{label}>", "exec"),
            compile(last, f"<{label}>", "eval") if last is not None else None)


def judge_cell(source: str, records: list, reached: bool, ns: dict,
               label: str = "test cell", memo: dict | None = None,
               sources: tuple = ()) -> TrustedCell:
    """Run a test cell's trusted source against recorded student values. `memo` keeps the
    expected values of its checks for the next student: a test cell's checks come in the
    same order with the same expected values for every student (its inputs are its own,
    seeded; student values only reach `student=`), so only the first student pays."""
    result = TrustedCell()
    try:
        body, last = _compiled(source, label)
    except SyntaxError as exc:
        result.outputs.append(out.error("SyntaxError", str(exc)))
        return result
    stdout, stderr = io.StringIO(), io.StringIO()
    runner = ReplayRunner(records, reached, result, memo, (label, source), sources)
    previous = checks.use_runner(runner)
    value = None
    error = None
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                exec(body, ns)
                if last is not None:
                    value = eval(last, ns)
            except checks.CheckFailed as exc:
                error = out.error("CheckFailed", str(exc))
            except NameError as exc:
                if exc.name and exc.name not in ns:
                    result.fallback = (f"uses {exc.name!r} outside student=, so it cannot be "
                                       "decided without student code")
                    return result
                error = out.error("NameError", str(exc))
            except Exception as exc:  # noqa: BLE001 - an error in instructor code scores 0 too
                error = out.error(type(exc).__name__, str(exc))
    finally:
        checks.use_runner(previous)
    if stdout.getvalue():
        result.outputs.append(out.new_output("stream", name="stdout", text=stdout.getvalue()))
    warned = stderr.getvalue() + "".join(
        warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)
    if warned:
        result.outputs.append(out.new_output("stream", name="stderr", text=warned))
    if value is not None and error is None:
        result.outputs.append(out.new_output("execute_result", data={"text/plain": repr(value)},
                                         execution_count=None))
    if error is not None:
        result.outputs.append(error)
    if error is None and runner.used < len(records):
        result.problems.append(f"{len(records) - runner.used} more value(s) recorded than the "
                               "test cell has checks")
    return result


class NotebookReplay:
    """The trusted side of one student's notebook: its test cells judged in order in one
    fresh namespace. `memo` (one per notebook of the assignment, shared by its students)
    keeps the expected values of checks, but only while every earlier test cell ran to its
    end: then the namespace is the same for every student. After a test cell stops on an
    error, what it had not yet defined is missing, as in the student's kernel, and the
    expected values are worked out again from that namespace."""

    def __init__(self, memo: dict | None = None):
        self.ns = namespace()
        self.memo = memo
        self.clean = True

    def judge(self, source: str, records: list, reached: bool, label: str,
              sources: tuple = ()) -> TrustedCell:
        """`sources`: the submitted notebook's code cells above this test cell, which its
        `method` checks read (their text only)."""
        cell = judge_cell(source, records, reached, self.ns, label,
                          memo=self.memo if self.clean else None, sources=sources)
        if cell.fallback or any(o.output_type == "error" for o in cell.outputs):
            self.clean = False
        return cell

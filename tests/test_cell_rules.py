"""Every test cell of every assignment follows the rules that make grading tamper-proof.

The grading engine runs the student half of each check in a sandbox and the
expected half in a trusted process, from the same test-cell source. That works
only if student names appear only inside `student=` lambdas and the rest of the
cell uses its own names plus math/np/torch/checks. The cells also start with a
comment saying what they check, use seeded inputs, show a visible check before
the hidden ones, and end in a check (nbgrader gives a bare `False` full marks).
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from calcgrad.grading.split import outside_names
from calcgrad.grading.trusted import TRUSTED_NAMES

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(REPO.glob("source/*/*.ipynb"))

# Random generators that need an explicit seeded generator (rule 4).
UNSEEDED = {("torch", "rand"), ("torch", "randn"), ("torch", "randint"), ("torch", "randperm"),
            ("torch", "normal"), ("np.random", "*"), ("random", "*")}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _is_check_call(stmt: ast.stmt) -> bool:
    """A call checks.something(...), or a loop whose last line is one."""
    if isinstance(stmt, ast.For):
        return _is_check_call(stmt.body[-1])
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
        _dotted(stmt.value.func).startswith("checks.")


def rule_violations(path: Path) -> list[str]:
    """Problems with the graded test cells of a source notebook, per the rules for test cells.

    Rules 1-3: outside `student=` lambdas a test cell uses only names it binds
    itself, the names the trusted grader provides (math, np, torch, checks,
    plotting) and builtins. Rule 4: no unseeded random
    generators. Rules 5-6: a one-line comment first, a check call last, and a
    visible check before `### BEGIN HIDDEN TESTS`. Reusable for any assignment.
    """
    problems = []
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        gid, src = meta["grade_id"], cell.source
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func).startswith("checks."):
                student = [kw.value for kw in node.keywords if kw.arg == "student"]
                if student and not isinstance(student[0], ast.Lambda):
                    problems.append(f"{gid}: student= must be a lambda (line {node.lineno})")
        # The same analysis the grader uses to decide whether a cell can be split.
        for name in outside_names(src, set(TRUSTED_NAMES)):
            problems.append(f"{gid}: uses {name!r} outside a student= lambda")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                module, _, func = name.rpartition(".")
                seeded = any(kw.arg == "generator" for kw in node.keywords)
                if not seeded and ((module, func) in UNSEEDED or (module, "*") in UNSEEDED):
                    problems.append(f"{gid}: {name}() without a seeded generator (line {node.lineno})")
        if not src.startswith("# "):
            problems.append(f"{gid}: does not start with a one-line comment saying what it checks")
        if not tree.body or not _is_check_call(tree.body[-1]):
            problems.append(f"{gid}: the last statement is not a check call")
        visible = src.split("### BEGIN HIDDEN TESTS")[0]
        if not any(_is_check_call(s) for s in ast.parse(visible).body):
            problems.append(f"{gid}: no visible check before the hidden tests")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_test_cell_follows_the_rules(path):
    assert rule_violations(path) == []


def _notebook_with(tmp_path: Path, source: str) -> Path:
    cell = nbformat.v4.new_code_cell(source, metadata={
        "nbgrader": {"grade": True, "grade_id": "bad_tests", "points": 1}})
    path = tmp_path / "bad.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(path))
    return path


def test_rule_checker_catches_violations(tmp_path):
    """The rule checker can fail: a cell that breaks every rule is reported for each."""
    problems = "\n".join(rule_violations(_notebook_with(tmp_path,
        "x = torch.rand(3)\nchecks.close('x', student=lambda: f(x), expected=lambda: f(x))\n"
        "checks.close('y', student=g, expected=1.0)\nd_power(x, 2)")))
    assert "uses 'f' outside" in problems
    assert "uses 'd_power' outside" in problems
    assert "student= must be a lambda" in problems
    assert "torch.rand() without a seeded generator" in problems
    assert "one-line comment" in problems
    assert "last statement is not a check call" in problems


def test_a_well_formed_cell_passes(tmp_path):
    assert rule_violations(_notebook_with(tmp_path,
        "# checks d_power\nx = checks.points(seed=1, n=3)\nfor n in (2, 3):\n"
        "    checks.close(f'd_power {n}', student=lambda: d_power(x, n),\n"
        "                 expected=lambda: n * x ** (n - 1), wrong={'m': lambda: x})\n")) == []

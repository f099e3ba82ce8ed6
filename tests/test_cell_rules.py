"""Every test cell of every assignment follows the rules that make grading tamper-proof.

The grading engine runs the student half of each check in a sandbox and the
expected half in a trusted process, from the same test-cell source. That works
only if (1) student names appear only inside `student=` lambdas, (2) the rest of
the cell uses only its own names plus math/np/torch/checks, and (3) the cell
ends in checks, never a bare comparison (nbgrader gives a bare `False` full marks).
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
ALLOWED = {"math", "np", "torch", "checks"} | set(dir(builtins))
NOTEBOOKS = sorted(REPO.glob("source/*/*.ipynb"))


def test_cells(path: Path) -> list[tuple[str, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(c.metadata.nbgrader["grade_id"], c.source) for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


test_cells.__test__ = False  # a helper, not a test


def _defined(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _check_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
            and n.func.value.id == "checks" and n.func.attr in {"close", "equal", "holds"}]


def rule_violations(source: str) -> list[str]:
    """What breaks the rules in one test cell's source, in words (empty: none)."""
    tree = ast.parse(source)
    problems = []
    calls = _check_calls(tree)
    if not calls:
        problems.append("no checks.close/equal/holds call")
    student_parts = set()
    for call in calls:
        student = [k.value for k in call.keywords if k.arg == "student"]
        if not student or not isinstance(student[0], ast.Lambda):
            problems.append(f"line {call.lineno}: `student=` must be a lambda")
            continue
        student_parts.update(id(n) for n in ast.walk(student[0].body))
    defined = _defined(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                and id(node) not in student_parts and node.id not in defined | ALLOWED:
            problems.append(f"line {node.lineno}: `{node.id}` used outside a student= lambda")
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call):
        problems.append("the cell ends in a bare expression (nbgrader would grade its value)")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_test_cell_follows_the_rules(path):
    cells = test_cells(path)
    assert cells, f"{path} has no test cells"
    broken = {gid: rule_violations(src) for gid, src in cells if rule_violations(src)}
    assert not broken, f"{path.name}: {broken}"


@pytest.mark.parametrize("source, phrase", [
    ("checks.close('a', student=lambda: f(1), expected=lambda: f(1))", "`f` used outside"),
    ("y = f(2)\nchecks.close('a', student=lambda: y, expected=1.0)", "`f` used outside"),
    ("checks.close('a', student=f, expected=1.0)", "must be a lambda"),
    ("x = 1\nx == 1", "no checks"),
    ("checks.close('a', student=lambda: 1, expected=1)\nFalse", "bare expression"),
])
def test_the_rules_catch_what_they_should(source, phrase):
    assert any(phrase in p for p in rule_violations(source)), rule_violations(source)


def test_a_well_formed_cell_passes():
    source = ("x = checks.points(seed=1, n=3)\n"
              "for n in (2, 3):\n"
              "    checks.close(f'd_power {n}', student=lambda: d_power(x, n),\n"
              "                 expected=lambda: n * x ** (n - 1), wrong={'m': lambda: x})\n")
    assert rule_violations(source) == []

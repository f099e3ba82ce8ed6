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


# ---------------------------------------------------------------- answer-safe visible cells

RELEASES = sorted(REPO.glob("release/*/*.ipynb"))
# What a message that gives the answer away says (a hint names the mistake, not the formula).
ANSWER_PHRASES = ("the answer is", "the answer:", "correct answer", "should be", "1 / f'(f^{-1}",
                  "+1/x**2", "+ 1/x**2", "x**x (log x + 1)", "[6 x1, 5 exp(x2)]")


def _strings(tree: ast.AST) -> list[str]:
    """The text of every string literal (f-strings included) of a cell."""
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _squeezed(text: str) -> str:
    return text.replace(" ", "").replace("torch.", "").replace("math.", "").lower()


def _returned_answers(assignment: str) -> set[str]:
    """The formulas the reference solutions return (expressions with an operator), squeezed,
    when long enough to be one exercise's answer rather than a common term (`1/x` or
    `exp(x)` may appear in a hint; a call such as `d_product(f, g, df, dg, x)` names a check)."""
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    found = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Return) and node.value is not None and \
                    any(isinstance(n, ast.BinOp) for n in ast.walk(node.value)):
                text = _squeezed(ast.unparse(node.value))
                if len(text) >= 8:
                    found.add(text)
    return found


def answer_leaks(path: Path) -> list[str]:
    """Why the visible test cells of a released notebook may give answers away: a function
    defined at the top level (reference code a student can read or call), or a message that
    states an answer (a phrase of ANSWER_PHRASES, or a reference solution's returned
    expression)."""
    answers = _returned_answers(path.parent.name)
    problems = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        gid = meta["grade_id"]
        tree = ast.parse(cell.source.split("### BEGIN HIDDEN TESTS")[0])
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                problems.append(f"{gid}: defines {stmt.name!r} at the top level")
        for text in _strings(tree):
            lowered = text.lower()
            problems += [f"{gid}: a message says {p!r}" for p in ANSWER_PHRASES if p.lower() in lowered]
            problems += [f"{gid}: a message quotes the answer {a!r}" for a in answers
                         if a in _squeezed(text)]
    return problems


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.parent.name)
def test_visible_test_cells_do_not_give_answers_away(path):
    assert answer_leaks(path) == []


def test_answer_leak_checker_can_fail(tmp_path):
    cell = nbformat.v4.new_code_cell(
        "# checks d_power\ndef central(F, x, h=1e-5):\n    return (F(x + h) - F(x - h)) / (2 * h)\n\n\n"
        "checks.close('d', student=lambda: d_power(x, 3), expected=[3.0],\n"
        "             wrong={'the answer is x**x (log x + 1)': [1.0],\n"
        "                    'off: it is n * x ** (n - 1)': [2.0]})",
        metadata={"nbgrader": {"grade": True, "grade_id": "bad_tests", "points": 1}})
    folder = tmp_path / "ps1_calculus"
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(folder / "ps1_calculus.ipynb"))
    problems = "\n".join(answer_leaks(folder / "ps1_calculus.ipynb"))
    assert "defines 'central'" in problems
    assert "'the answer is'" in problems
    assert "quotes the answer 'n*x**(n-1)'" in problems

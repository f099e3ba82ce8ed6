"""No lecture cell computes a graded exercise's answer (DESIGN.md: "Answer-safe").

The lectures teach each idea of the problem sets on another function or question.
These tests read the lecture sources for the graded functions and moves of
ps1_calculus and ps2_autograd; each pattern is matched on code with the spaces
taken out, so `x ** 3 - 1 / x` and `x**3-1/x` are the same.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from nbexec import REPO

LECTURES = sorted((REPO / "notebooks").glob("*.ipynb"))


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def _squeezed(source: str) -> str:
    return re.sub(r"\s+", "", source)


def _code_cells():
    return [(path.name, _squeezed(c.source)) for path in LECTURES for c in _cells(path)
            if c.cell_type == "code"]


# ps1's graded functions (exercise: pattern in code with spaces removed)
GRADED_FUNCTIONS = {
    "ps1 Ex6, x^3 - 1/x": r"\*\*3-1(\.0?)?/",
    "ps1 Ex7, 3 x1^2 + 5 e^x2": r"5(\.0?)?\*(torch|math|np)\.exp",
    "ps1 Ex4, x^x": r"\b(\w+)\*\*\1\b|pow\((\w+),\2\)",
    "ps1 Ex9, x = ab, y = a + b^2, z = a^2 - b": r"a\+b\*\*2|a\*\*2-b",
    "ps1 Ex10, the inverse of x^3 + x": r"\*\*3\+(\w+)\b(?!\*)",
    "ps2 Ex8-10, log(x^2) sin x + 1/x": r"log\(\w+\*\*2\)",
}


@pytest.mark.parametrize("exercise", GRADED_FUNCTIONS)
def test_no_lecture_cell_computes_a_graded_function(exercise):
    pattern = re.compile(GRADED_FUNCTIONS[exercise])
    hits = [(name, src[:80]) for name, src in _code_cells() if pattern.search(src)]
    assert not hits, f"{exercise}: a lecture cell computes it: {hits}"


def test_no_curve_of_sin_derivatives_by_autograd():
    """ps2 Ex7: sin and its derivative on a grid from one backward pass."""
    for name, src in _code_cells():
        on_a_grid = "linspace" in src or "arange" in src
        differentiated = "backward(" in src or "autograd.grad(" in src
        assert not (on_a_grid and differentiated and "sin(" in src), f"{name}: {src[:80]}"


def test_no_two_backward_passes_through_the_exercise_functions():
    """ps2 Ex5: backward twice on 2 x^T x (and why x.sum() needs no retain_graph)."""
    for name, src in _code_cells():
        if src.count(".backward(") >= 2:
            assert "torch.dot(x,x)" not in src and "x.sum()" not in src, f"{name}: {src[:80]}"


def test_no_elementwise_second_derivative():
    """ps2 Ex4: d^2 f/dx^2 of an elementwise f, from grad(f(x).sum(), create_graph=True)."""
    for name, src in _code_cells():
        if "create_graph=True" in src:
            assert ".sum()" not in src, f"{name}: {src[:80]}"


def test_no_control_flow_gradient_for_a_vector():
    """ps2 Ex6: the while/if function's gradient for a vector or matrix a."""
    for name, src in _code_cells():
        if "f(a)" in src:
            assert not re.search(r"randn\((size=\()?\d", src), f"{name}: {src[:80]}"


def test_prose_does_not_answer_the_written_questions():
    """ps2 Ex4 and Ex11, written: why a second derivative costs more; when each mode is cheaper."""
    prose = " ".join(c.source for path in LECTURES for c in _cells(path) if c.cell_type == "markdown")
    for answer in ("backward mode wins", "forward mode wins", "which is why deep learning runs backward",
                   "costs more than the first derivative", "saves nothing"):
        assert answer not in prose, answer


def test_the_patterns_catch_the_answers():
    """The searches above can fail: each finds the graded answer written the plain way."""
    answers = {
        "ps1 Ex6, x^3 - 1/x": "return x ** 3 - 1 / x",
        "ps1 Ex7, 3 x1^2 + 5 e^x2": "3 * x[0]**2 + 5 * torch.exp(x[1])",
        "ps1 Ex4, x^x": "y = x**x",
        "ps1 Ex9, x = ab, y = a + b^2, z = a^2 - b": "x, y, z = a * b, a + b**2, a**2 - b",
        "ps1 Ex10, the inverse of x^3 + x": "y = t**3 + t",
        "ps2 Ex8-10, log(x^2) sin x + 1/x": "torch.log(x**2) * torch.sin(x) + 1 / x",
    }
    for exercise, src in answers.items():
        assert re.search(GRADED_FUNCTIONS[exercise], _squeezed(src)), exercise
    assert not re.search(GRADED_FUNCTIONS["ps1 Ex10, the inverse of x^3 + x"], _squeezed("x**3 + x**2"))

"""Problem set 1: the reference passes every check, and typical mistakes get messages that name them.

Each case replaces part of one solution cell of source/ps1_calculus with a
common wrong answer, runs the notebook in-process up to a test cell and
asserts that the check fails with a message naming the mistake. The test
cells themselves are checked against the rules for test cells (what names
they may use outside `student=` lambdas, seeded inputs, a check at the end).
"""

from __future__ import annotations

import contextlib
import io

import matplotlib
import nbformat
import pytest

from nbexec import code_cells, failure, grade_id, source_notebook

matplotlib.use("Agg")

PS1 = source_notebook("ps1_calculus")

def _graded_test_ids() -> list[str]:
    return [grade_id(c) for c in code_cells(PS1)
            if c.metadata.get("nbgrader", {}).get("grade")]


def _quiet_failure(test_id: str, replace: dict[str, str] | None = None) -> str | None:
    with contextlib.redirect_stdout(io.StringIO()):
        return failure(PS1, test_id, replace)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    from matplotlib import pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("test_id", _graded_test_ids())
def test_reference_passes(test_id):
    assert _quiet_failure(test_id) is None


def _solution_source(solution_id: str) -> str:
    for cell in code_cells(PS1):
        if grade_id(cell) == solution_id:
            return cell.source
    raise KeyError(solution_id)


def _edit(solution_id: str, *swaps: tuple[str, str]) -> dict[str, str]:
    """The reference solution cell with some text swapped for a wrong answer."""
    src = _solution_source(solution_id)
    for old, new in swaps:
        assert old in src, f"{solution_id} no longer contains {old!r}"
        src = src.replace(old, new)
    return {solution_id: src}


FLAT = "flat_point = {x0}\n"  # Exercise 5's answer (variant 0: f5(x) = x e^(-2x), flat at 1/2)


@pytest.fixture(autouse=True)
def _variant_zero(monkeypatch):
    """The answers here are for variant 0, the problem set as written (calcgrad.variants)."""
    monkeypatch.setenv("CALCGRAD_VARIANTS", "0")

# (test cell, solution cell, swaps, a phrase the message must contain)
MISTAKES = [
    # Exercise 1
    ("ex1a_constant_tests", "ex1a_constant_solution", [("torch.zeros_like(x)", "c + 0 * x")],
     "constant c itself"),
    ("ex1a_constant_tests", "ex1a_constant_solution", [("torch.zeros_like(x)", "torch.ones_like(x)")],
     "how fast does a constant"),
    ("ex1_power_tests", "ex1_power_solution", [("n * x ** (n - 1)", "x ** n")], "x**n itself"),
    ("ex1_power_tests", "ex1_power_solution", [("n * x ** (n - 1)", "n * x ** n")], "exponent is off"),
    ("ex1_power_tests", "ex1_power_solution", [("n * x ** (n - 1)", "x ** (n - 1)")],
     "a factor is missing"),
    ("ex1c_exp_tests", "ex1c_exp_solution", [("torch.exp(x)", "x * torch.exp(x - 1)")], "power rule"),
    ("ex1c_exp_tests", "ex1c_exp_solution", [("torch.exp(x)", "torch.exp(x) * torch.log(x)")],
     "ln(e)"),
    ("ex1d_log_tests", "ex1d_log_solution", [("1 / x", "torch.log(x)")], "log(x) itself"),
    ("ex1d_log_tests", "ex1d_log_solution", [("1 / x", "-1 / x")], "sign error"),
    ("ex1d_log_tests", "ex1d_log_solution", [("1 / x", "1 / (x * math.log(10))")], "log10"),
    # Exercise 2
    ("ex2_sum_tests", "ex2_rules_solution", [("df(x) + dg(x)", "f(x) + g(x)")], "the sum itself"),
    ("ex2_sum_tests", "ex2_rules_solution", [("df(x) + dg(x)", "df(x) * dg(x)")],
     "multiplied the derivatives"),
    ("ex2_product_tests", "ex2_rules_solution", [("df(x) * g(x) + f(x) * dg(x)", "df(x) * dg(x)")],
     "not the product of the derivatives"),
    ("ex2_product_tests", "ex2_rules_solution", [("df(x) * g(x) + f(x) * dg(x)", "df(x) * g(x)")],
     "only half of the product rule"),
    ("ex2_quotient_tests", "ex2_rules_solution",
     [("(df(x) * g(x) - f(x) * dg(x)) / g(x) ** 2", "(f(x) * dg(x) - df(x) * g(x)) / g(x) ** 2")],
     "opposite sign"),
    ("ex2_quotient_tests", "ex2_rules_solution",
     [("(df(x) * g(x) - f(x) * dg(x)) / g(x) ** 2", "(df(x) * g(x) + f(x) * dg(x)) / g(x) ** 2")],
     "a minus where you have a plus"),
    ("ex2_quotient_tests", "ex2_rules_solution",
     [("(df(x) * g(x) - f(x) * dg(x)) / g(x) ** 2", "(df(x) * g(x) - f(x) * dg(x)) / g(x)")],
     "denominator"),
    # Exercise 3
    ("ex3_constant_multiple_tests", "ex3_constant_multiple_solution",
     [("return 0 * t", "return 1 + 0 * t")], "how fast does a constant change"),
    ("ex3_constant_multiple_tests", "ex3_constant_multiple_solution",
     [("return d_product(f, g, df, dg, x)", "return df(x)")], "where did c go"),
    # Exercise 4
    ("ex4_x_to_the_x_tests", "ex4_x_to_the_x_solution",
     [("x**x * (torch.log(x) + 1)", "x * x ** (x - 1)")], "power rule"),
    ("ex4_x_to_the_x_tests", "ex4_x_to_the_x_solution",
     [("x**x * (torch.log(x) + 1)", "x**x * torch.log(x)")], "rule for a**x"),
    # Exercise 6
    ("ex6_derivative_tests", "ex6_tangent_solution", [("3 * x**2 + 1 / x**2", "3 * x**2 - 1 / x**2")],
     "sign error in the derivative of the second term"),
    ("ex6_derivative_tests", "ex6_tangent_solution", [("3 * x**2 + 1 / x**2", "3 * x**2")],
     "only the first term"),
    ("ex6_tangent_tests", "ex6_tangent_solution", [("f(x0) - slope * x0", "f(x0) + slope * x0")],
     "sign error in the intercept"),
    ("ex6_tangent_tests", "ex6_tangent_solution", [("f(x0) - slope * x0", "f(x0)")], "not f(x0)"),
    ("ex6_tangent_tests", "ex6_tangent_solution",
     [("return slope, f(x0) - slope * x0", "return f(x0) - slope * x0, slope")], "swapped"),
    ("ex6_plot_tests", "ex6_plot_solution",
     [("torch.linspace(0.25, 2.0, 100", "torch.linspace(-2.0, 2.0, 100")], "crosses x = 0"),
    ("ex6_plot_tests", "ex6_plot_solution",
     [(',\n                         legend=["your f6", "tangent at x = 1"]', "")], "add a legend"),
    ("ex6_plot_tests", "ex6_plot_solution", [("slope * x + intercept", "slope * x - intercept")],
     "is the tangent at the tangent point"),
    # Exercise 7
    ("ex7_gradient_tests", "ex7_gradient_solution", [("5 * torch.exp(x[1])", "torch.exp(x[1])")],
     "a factor is missing in the second entry"),
    ("ex7_gradient_tests", "ex7_gradient_solution", [("6 * x[0]", "3 * x[0] ** 2")],
     "not their derivatives"),
    ("ex7_gradient_tests", "ex7_gradient_solution",
     [("[6 * x[0], 5 * torch.exp(x[1])]", "[5 * torch.exp(x[1]), 6 * x[0]]")], "swapped"),
    # Exercise 8
    ("ex8_norm_tests", "ex8_norm_solution", [("return x / norm", "return 2 * x")],
     "gradient of ||x||**2"),
    ("ex8_norm_tests", "ex8_norm_solution", [("return x / norm", "return x / norm**2")],
     "check the power of"),
    ("ex8_norm_tests", "ex8_norm_solution", [("return x / norm", "return x / (2 * norm)")],
     "do the 2s"),
    ("ex8_zero_tests", "ex8_norm_solution",
     [("    if norm == 0:\n        return torch.zeros_like(x)\n", "")], "divide 0 by ||x|| = 0"),
    ("ex8_zero_tests", "ex8_norm_solution", [("torch.zeros_like(x)", "torch.ones_like(x)")],
     "course's convention"),
    # Exercise 9
    ("ex9_chain_tests", "ex9_chain_solution",
     [(" + du_dz * 2 * a", ""), (" + du_dz * (-1)", "")], "path through z is missing"),
    ("ex9_chain_tests", "ex9_chain_solution", [("du_dy * 1", "0"), ("du_dy * 2 * b", "0")],
     "path through y is missing"),
    ("ex9_chain_tests", "ex9_chain_solution", [("return du_da, du_db", "return du_db, du_da")],
     "(du/da, du/db)"),
    # Exercise 10
    ("ex10_inverse_tests", "ex10_inverse_solution", [("x = f10_inverse(y)", "x = y")],
     "evaluated f' at y"),
    ("ex10_inverse_tests", "ex10_inverse_solution", [("return 1 / (3 * x**2 + 1)", "return 3 * x**2 + 1")],
     "reciprocal is missing"),
    # Exercise 11
    ("ex11_step_tests", "ex11_step_solution",
     [("h = 1e-5\n", "h = 1e-3\n"), ("(f(x + h) - f(x - h)) / (2 * h)", "(f(x + h) - f(x)) / h")],
     "forward difference"),
    ("ex11_step_tests", "ex11_step_solution",
     [("h = 1e-5\n", "h = 1e-13\n"), ("(f(x + h) - f(x - h)) / (2 * h)", "(f(x + h) - f(x)) / h")],
     "round-off"),
    ("ex11_step_tests", "ex11_step_solution", [("h = 1e-5\n", "h = 0.1\n")], "h is too large"),
]

# Exercise 5, variant 0 (f5(x) = x e^(-2x)): (flat_point, a phrase the message must contain)
FLAT_MISTAKES = [
    ("1.0", "not 0"),  # the flat point of x e^(-x): the inner derivative of e^(-2x) is missing
    ("-0.5", "not in the interval"),  # a sign error in f5'
    ("0.0", "not in the interval"),  # f5(0) = 0: a zero of f5, not of f5'
]


@pytest.mark.parametrize("x0, phrase", FLAT_MISTAKES)
def test_flat_point_mistake_is_named(x0, phrase):
    message = _quiet_failure("ex5_flat_tests", {"ex5_flat_solution": FLAT.format(x0=x0)})
    assert message is not None and phrase in message, message


def test_flat_point_accepts_other_exact_expressions():
    """The flat point written another way keeps the points."""
    for x0 in ("1 / 2", "math.log(math.e) / 2", "0.5 + 0 * math.pi"):
        src = FLAT.format(x0=x0)
        assert _quiet_failure("ex5_flat_tests", {"ex5_flat_solution": src}) is None, x0


def test_every_exercise_has_at_least_two_named_mistakes():
    per_cell: dict[str, int] = {}
    for test_id, *_ in MISTAKES:
        per_cell[test_id] = per_cell.get(test_id, 0) + 1
    per_cell["ex5_flat_tests"] = len(FLAT_MISTAKES)
    exercises: dict[str, int] = {}
    for test_id, n in per_cell.items():
        ex = test_id.split("_")[0].rstrip("abcd")
        exercises[ex] = exercises.get(ex, 0) + n
    assert sorted(exercises, key=lambda e: int(e[2:])) == [f"ex{i}" for i in range(1, 12)]
    assert all(n >= 2 for n in exercises.values()), exercises
    for test_id in _graded_test_ids():
        assert per_cell.get(test_id, 0) >= 2, f"{test_id} has fewer than two named mistakes"


def test_points_and_total_are_stated():
    nb = nbformat.read(PS1, as_version=4)
    points = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("grade"))
    assert points == 40
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**40**" in text and "31 checked automatically" in text
    for i in range(1, 12):
        assert f"## Exercise {i} (" in text

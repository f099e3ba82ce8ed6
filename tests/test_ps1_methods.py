"""Problem set 1 measures the skill: shortcuts lose points, honest rewrites keep them, and a
visible check never passes what its hidden part then fails.

Each case replaces one solution cell of source/ps1_calculus with other code and runs the
notebook in-process (tests/nbexec.py) up to a test cell; that cell's visible part and its
hidden part are then run separately, every check recorded rather than raised:
- a SHORTCUT (a difference quotient where a rule is asked, autograd where "by hand" is asked,
  a rule that ignores the df, dg it is given, ...) must fail the visible part;
- an HONEST variant (the right answer written another way) must pass both parts;
- for every shortcut and every mistake of test_ps1_mistakes.MISTAKES, the visible part fails
  wherever the hidden part does (no surprises at grading).
"""

from __future__ import annotations

import contextlib
import io

import matplotlib
import pytest

from calcgrad import checks
from calcgrad.plain import capture, decode
import nbexec
from test_ps1_mistakes import FLAT, MISTAKES, _edit, _graded_test_ids, _variant_zero  # noqa: F401

matplotlib.use("Agg")

PS1 = nbexec.source_notebook("ps1_calculus")
HIDDEN = "### BEGIN HIDDEN TESTS"


class Recorder:
    """A checks runner that records every verdict instead of raising at the first failure."""

    def __init__(self, sources: list[str]):
        self.sources = sources
        self.failed: list[str] = []

    def run(self, check: checks.Check) -> None:
        if check.kind == "method":
            verdict = checks.judge_method(check, self.sources)
        else:
            verdict = checks.judge(check, decode(capture(check.student)))
        if not verdict.passed:
            self.failed.append(verdict.message)


def outcome(test_id: str, replace: dict[str, str] | None = None) -> tuple[list, list]:
    """The failure messages of a test cell's visible part and of its hidden part."""
    with contextlib.redirect_stdout(io.StringIO()):
        ns = nbexec.run_until(PS1, test_id, replace)
        source = nbexec.test_cell_source(PS1, test_id)
        visible, _, hidden = source.partition(HIDDEN)
        ns["_ih"].append(source)
        results = []
        for part in (visible, hidden):
            recorder = Recorder(ns["_ih"])
            previous = checks.use_runner(recorder)
            try:
                exec(nbexec._compile(part, f"<cell {test_id}>"), ns)
            finally:
                checks.use_runner(previous)
            results.append(recorder.failed)
    return results[0], results[1]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    from matplotlib import pyplot as plt

    plt.close("all")


def _def(name: str, args: str, body: str) -> str:
    return f"def {name}({args}):\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


AUTOGRAD_1D = """
t = x.detach().clone().requires_grad_(True)
{f}.sum().backward()
return t.grad
"""

# (test cell, solution cell, new source of the solution cell, a phrase of the visible failure)
SHORTCUTS = [
    ("ex1a_constant_tests", "ex1a_constant_solution",
     _def("d_constant", "x, c", AUTOGRAD_1D.format(f="(c + 0 * t)")), "autograd"),
    ("ex1_power_tests", "ex1_power_solution",
     _def("d_power", "x, n", "h = 1e-5\nreturn ((x + h) ** n - (x - h) ** n) / (2 * h)"), "rtol"),
    ("ex1_power_tests", "ex1_power_solution",
     _def("d_power", "x, n", "h = 1e-3\nF = lambda t: t ** n\n"
          "return (-F(x + 2 * h) + 8 * F(x + h) - 8 * F(x - h) + F(x - 2 * h)) / (12 * h)"),
     "rtol"),
    ("ex1_power_tests", "ex1_power_solution",
     _def("d_power", "x, n", AUTOGRAD_1D.format(f="(t ** n)")), "autograd"),
    ("ex1c_exp_tests", "ex1c_exp_solution",
     _def("d_exp", "x", "h = 1e-5\nreturn (torch.exp(x + h) - torch.exp(x - h)) / (2 * h)"), "rtol"),
    ("ex1c_exp_tests", "ex1c_exp_solution",
     _def("d_exp", "x", AUTOGRAD_1D.format(f="torch.exp(t)")), "autograd"),
    ("ex1c_exp_tests", "ex1c_exp_solution",
     _def("d_exp", "x", "h = 7e-3\nF = torch.exp\n"
          "return (F(x + 3 * h) - 9 * F(x + 2 * h) + 45 * F(x + h) - 45 * F(x - h)\n"
          "        + 9 * F(x - 2 * h) - F(x - 3 * h)) / (60 * h)"), "rtol"),
    ("ex1d_log_tests", "ex1d_log_solution",
     _def("d_log", "x", "h = 1e-6\nreturn (torch.log(x + h) - torch.log(x - h)) / (2 * h)"), "rtol"),
    ("ex1d_log_tests", "ex1d_log_solution",
     _def("d_log", "x", AUTOGRAD_1D.format(f="torch.log(t)")), "autograd"),
    ("ex1d_log_tests", "ex1d_log_solution",
     "from calcgrad import calculus\n\n\n"
     + _def("d_log", "x", "return calculus.central_difference(torch.log, x, 1e-5)"), "helpers"),
    ("ex2_sum_tests", "ex2_rules_solution",
     _def("d_sum", "f, g, df, dg, x", "h = 1e-5\n"
          "return (f(x + h) + g(x + h) - f(x - h) - g(x - h)) / (2 * h)")
     + "\n\n" + _def("d_product", "f, g, df, dg, x", "return df(x) * g(x) + f(x) * dg(x)"),
     "use the df and dg you are given"),
    ("ex2_product_tests", "ex2_rules_solution",
     _def("d_product", "f, g, df, dg, x", "h = 1e-5\n"
          "return (f(x + h) * g(x + h) - f(x - h) * g(x - h)) / (2 * h)"),
     "use the df and dg you are given"),
    ("ex2_product_tests", "ex2_rules_solution",
     _def("d_product", "f, g, df, dg, x", AUTOGRAD_1D.format(f="(f(t) * g(t))")),
     "use the df and dg you are given"),
    ("ex2_quotient_tests", "ex2_rules_solution",
     _def("d_product", "f, g, df, dg, x", "return df(x) * g(x) + f(x) * dg(x)") + "\n\n"
     + _def("d_quotient", "f, g, df, dg, x", AUTOGRAD_1D.format(f="(f(t) / g(t))")),
     "use the df and dg you are given"),
    ("ex3_constant_multiple_tests", "ex3_constant_multiple_solution",
     _def("d_constant_multiple", "c, f, df, x", "return c * df(x)"), "does not use `d_product`"),
    ("ex3_constant_multiple_tests", "ex3_constant_multiple_solution",
     _def("d_constant_multiple", "c, f, df, x",
          "h = 1e-5\nreturn c * (f(x + h) - f(x - h)) / (2 * h)"), "used the true derivative"),
    ("ex4_x_to_the_x_tests", "ex4_x_to_the_x_solution",
     _def("d_x_to_the_x", "x", "h = 1e-6\nreturn ((x + h) ** (x + h) - (x - h) ** (x - h)) / (2 * h)"),
     "rtol"),
    ("ex4_x_to_the_x_tests", "ex4_x_to_the_x_solution",
     _def("d_x_to_the_x", "x", AUTOGRAD_1D.format(f="(t ** t)")), "autograd"),
    ("ex5_flat_tests", "ex5_flat_solution",  # Newton's method on f5', by autograd
     "t = torch.tensor(0.3, dtype=torch.float64)\nfor _ in range(50):\n"
     "    s = t.clone().requires_grad_(True)\n"
     "    (d,) = torch.autograd.grad(f5(s), s, create_graph=True)\n"
     "    (dd,) = torch.autograd.grad(d, s)\n"
     "    t = (s - d / dd).detach()\nflat_point = float(t)\n", "autograd"),
    ("ex5_flat_tests", "ex5_flat_solution",  # bisection on a central difference of its own f5
     "g = lambda x: x * math.exp(-2 * x)\nlow, high = 0.1, 1.9\nfor _ in range(200):\n"
     "    mid, h = (low + high) / 2, 1e-5\n"
     "    if (g(mid + h) - g(mid - h)) / (2 * h) > 0:\n        low = mid\n"
     "    else:\n        high = mid\nflat_point = low\n", "not 0"),
    ("ex5_flat_tests", "ex5_flat_solution",  # a grid search on f5 itself
     "xs = torch.linspace(0.0, 2.0, 200001, dtype=torch.float64)\n"
     "flat_point = float(xs[f5(xs).argmax()])\n", "`f5`"),
    ("ex6_derivative_tests", "ex6_tangent_solution",
     _def("df6", "x", "h = 1e-5\nreturn (f6(x + h) - f6(x - h)) / (2 * h)") + "\n\n"
     + _def("tangent_line", "f, df, x0", "slope = df(x0)\nreturn slope, f(x0) - slope * x0"),
     "rtol"),
    ("ex6_derivative_tests", "ex6_tangent_solution",
     _def("df6", "x", AUTOGRAD_1D.format(f="f6(t)")) + "\n\n"
     + _def("tangent_line", "f, df, x0", "slope = df(x0)\nreturn slope, f(x0) - slope * x0"),
     "autograd"),
    ("ex6_tangent_tests", "ex6_tangent_solution",
     _def("df6", "x", "return 3 * x**2 + 1 / x**2") + "\n\n"
     + _def("tangent_line", "f, df, x0",
            "h = 1e-5\nslope = (f(x0 + h) - f(x0 - h)) / (2 * h)\nreturn slope, f(x0) - slope * x0"),
     "rtol"),
    ("ex6_plot_tests", "ex6_plot_solution",
     _def("plot_ex6", "", "x = torch.linspace(0.25, 2.0, 8)\n"
          "slope, intercept = tangent_line(f6, df6, 1.0)\n"
          "return plotting.plot(x, [f6(x), slope * x + intercept], 'x', 'y', "
          "legend=['f', 'tangent'])"), "at least 20 points"),
    ("ex7_gradient_tests", "ex7_gradient_solution",
     _def("grad_f7", "x", "t = x.detach().clone().requires_grad_(True)\n"
          "f7(t).backward()\nreturn t.grad"), "autograd"),
    ("ex7_gradient_tests", "ex7_gradient_solution",
     _def("grad_f7", "x", "h = 1e-5\ne = torch.eye(2, dtype=x.dtype)\n"
          "return torch.stack([(f7(x + h * e[i]) - f7(x - h * e[i])) / (2 * h) for i in range(2)])"),
     "rtol"),
    ("ex7_gradient_tests", "ex7_gradient_solution",
     _def("grad_f7", "x", "h = 1.5e-2\ne = torch.eye(2, dtype=x.dtype)\nout = []\n"
          "for i in range(2):\n"
          "    F = lambda s: f7(x + s * e[i])\n"
          "    out.append((F(3 * h) - 9 * F(2 * h) + 45 * F(h) - 45 * F(-h) + 9 * F(-2 * h)\n"
          "                - F(-3 * h)) / (60 * h))\n"
          "return torch.stack(out)"), "uses `f7`"),
    ("ex8_norm_tests", "ex8_norm_solution",
     _def("grad_norm", "x", "t = x.detach().clone().requires_grad_(True)\n"
          "torch.linalg.norm(t).backward()\nreturn t.grad"), "autograd"),
    ("ex8_norm_tests", "ex8_norm_solution",
     _def("grad_norm", "x", "return x / (torch.linalg.norm(x) + 1e-12)"), "rtol"),
    ("ex9_chain_tests", "ex9_chain_solution",
     _def("chain_rule_ex9", "a, b", "a = a.detach().clone().requires_grad_(True)\n"
          "b = b.detach().clone().requires_grad_(True)\n"
          "x, y, z = a * b, a + b**2, a**2 - b\n"
          "(x**2 * y + torch.sin(z)).sum().backward()\nreturn a.grad, b.grad"), "autograd"),
    ("ex9_chain_tests", "ex9_chain_solution",
     _def("chain_rule_ex9", "a, b", "h = 3e-3\n"
          "u = lambda a, b: (a * b) ** 2 * (a + b**2) + torch.sin(a**2 - b)\n"
          "d = lambda F: (F(3 * h) - 9 * F(2 * h) + 45 * F(h) - 45 * F(-h) + 9 * F(-2 * h)\n"
          "               - F(-3 * h)) / (60 * h)\n"
          "return d(lambda s: u(a + s, b)), d(lambda s: u(a, b + s))"), "uses `sin`"),
    ("ex9_chain_tests", "ex9_chain_solution",
     _def("chain_rule_ex9", "a, b", "h = 1e-5\n"
          "u = lambda a, b: (a * b) ** 2 * (a + b**2) + torch.sin(a**2 - b)\n"
          "return ((u(a + h, b) - u(a - h, b)) / (2 * h), (u(a, b + h) - u(a, b - h)) / (2 * h))"),
     "rtol"),
    ("ex10_inverse_tests", "ex10_inverse_solution",
     _def("d_f10_inverse", "y", "h = 1e-5\nreturn (f10_inverse(y + h) - f10_inverse(y - h)) / (2 * h)"),
     "rtol"),
    ("ex10_inverse_tests", "ex10_inverse_solution",
     _def("d_f10_inverse", "y", "x = torch.zeros_like(y)\nfor _ in range(60):\n"
          "    x = x - (x**3 + x - y) / (3 * x**2 + 1)\nreturn 1 / (3 * x**2 + 1)"),
     "does not use `f10_inverse`"),
    ("ex11_step_tests", "ex11_step_solution",
     _def("good_difference", "f, x", AUTOGRAD_1D.format(f="f(t)")), "autograd"),
]

HONEST = [
    ("ex1a_constant_tests", "ex1a_constant_solution", _def("d_constant", "x, c", "return 0 * x")),
    ("ex1a_constant_tests", "ex1a_constant_solution",
     _def("d_constant", "x, c", "return torch.zeros(x.shape, dtype=x.dtype)")),
    ("ex1_power_tests", "ex1_power_solution",
     _def("d_power", "x, n", "return n * torch.pow(x, n - 1)")),
    ("ex1_power_tests", "ex1_power_solution", _def("d_power", "x, n", "return n * x**n / x")),
    ("ex1_power_tests", "ex1_power_solution",
     _def("d_power", "x, n", "grad = n * torch.exp((n - 1) * torch.log(x))\nreturn grad")),
    ("ex1c_exp_tests", "ex1c_exp_solution", _def("d_exp", "x", "return math.e ** x")),
    ("ex1c_exp_tests", "ex1c_exp_solution", _def("d_exp", "x", "return x.exp()")),
    ("ex1c_exp_tests", "ex1c_exp_solution",
     _def("d_exp", "x", "return torch.full_like(x, math.e) ** x")),
    ("ex1d_log_tests", "ex1d_log_solution", _def("d_log", "x", "return x ** -1")),
    ("ex1d_log_tests", "ex1d_log_solution", _def("d_log", "x", "return torch.reciprocal(x)")),
    ("ex2_sum_tests", "ex2_rules_solution",
     _def("d_sum", "f, g, df, dg, x", "return dg(x) + df(x)")),
    ("ex2_sum_tests", "ex2_rules_solution",
     _def("d_sum", "f, g, df, dg, x", "grad = df(x)\ngrad = grad + dg(x)\nreturn grad")),
    ("ex2_product_tests", "ex2_rules_solution",
     _def("d_product", "f, g, df, dg, x", "return g(x) * df(x) + dg(x) * f(x)")),
    ("ex2_product_tests", "ex2_rules_solution",
     _def("d_product", "f, g, df, dg, x", "fx, gx = f(x), g(x)\nreturn torch.add(df(x) * gx, fx * dg(x))")),
    ("ex2_quotient_tests", "ex2_rules_solution",
     _def("d_quotient", "f, g, df, dg, x", "return df(x) / g(x) - f(x) * dg(x) / g(x) ** 2")),
    ("ex2_quotient_tests", "ex2_rules_solution",
     _def("d_quotient", "f, g, df, dg, x",
          "return (g(x) * df(x) - dg(x) * f(x)) / (g(x) * g(x))")),
    ("ex3_constant_multiple_tests", "ex3_constant_multiple_solution",
     _def("d_constant_multiple", "c, f, df, x",
          "return d_product(lambda t: c * torch.ones_like(t), f, torch.zeros_like, df, x)")),
    ("ex3_constant_multiple_tests", "ex3_constant_multiple_solution",
     _def("d_constant_multiple", "c, f, df, x",
          "grad = d_product(f, lambda t: c + 0 * t, df, lambda t: 0 * t, x)\nreturn grad")),
    ("ex4_x_to_the_x_tests", "ex4_x_to_the_x_solution",
     _def("d_x_to_the_x", "x", "return torch.exp(x * torch.log(x)) * (torch.log(x) + 1)")),
    ("ex4_x_to_the_x_tests", "ex4_x_to_the_x_solution",
     _def("d_x_to_the_x", "x", "return x**x * torch.log(x) + x**x")),
    ("ex4_x_to_the_x_tests", "ex4_x_to_the_x_solution",
     _def("d_x_to_the_x", "x", "return torch.pow(x, x) * (1 + x.log())")),
    ("ex5_flat_tests", "ex5_flat_solution", FLAT.format(x0="1 / 2")),
    ("ex5_flat_tests", "ex5_flat_solution", FLAT.format(x0="math.log(math.e) / 2")),
    ("ex5_flat_tests", "ex5_flat_solution",
     "a, b = 1.0, 2.0  # f5' = (a - b x) e^(-bx)\nflat_point = a / b\n"),
    ("ex6_derivative_tests", "ex6_tangent_solution",
     _def("df6", "x", "return 3 * x * x + x ** -2") + "\n\n"
     + _def("tangent_line", "f, df, x0", "slope = df(x0)\nreturn slope, f(x0) - slope * x0")),
    ("ex6_derivative_tests", "ex6_tangent_solution",
     _def("df6", "x", "return 3 * torch.pow(x, 2) + 1 / (x * x)") + "\n\n"
     + _def("tangent_line", "f, df, x0", "slope = df(x0)\nreturn slope, f(x0) - slope * x0")),
    ("ex6_tangent_tests", "ex6_tangent_solution",
     _def("df6", "x", "return 3 * x**2 + 1 / x**2") + "\n\n"
     + _def("tangent_line", "f, df, x0", "return [df(x0), f(x0) - df(x0) * x0]")),
    ("ex6_tangent_tests", "ex6_tangent_solution",
     _def("df6", "x", "return 3 * x**2 + 1 / x**2") + "\n\n"
     + _def("tangent_line", "f, df, x0", "m = df(x0)\nb = -m * x0 + f(x0)\nreturn (m, b)")),
    ("ex6_plot_tests", "ex6_plot_solution",
     _def("plot_ex6", "", "x = torch.linspace(0.5, 1.5, 25)\n"
          "m, b = tangent_line(f6, df6, 1.0)\n"
          "return plotting.plot(x, [f6(x), m * x + b], legend=['x^3 - 1/x', 'tangent'])")),
    ("ex6_plot_tests", "ex6_plot_solution",
     _def("plot_ex6", "", "x = torch.linspace(0.3, 3.0, 200, dtype=torch.float64)\n"
          "m, b = tangent_line(f6, df6, 1.0)\n"
          "return plotting.plot(x, [f6(x), m * x + b], 'x', 'f(x)', legend=['f', 'y = 4x - 4'])")),
    ("ex7_gradient_tests", "ex7_gradient_solution",
     _def("grad_f7", "x", "grad = torch.empty_like(x)\ngrad[0] = 6 * x[0]\n"
          "grad[1] = 5 * x[1].exp()\nreturn grad")),
    ("ex7_gradient_tests", "ex7_gradient_solution",
     _def("grad_f7", "x", "x1, x2 = x\nreturn torch.stack((2 * 3 * x1, 5 * torch.exp(x2)))")),
    ("ex8_norm_tests", "ex8_norm_solution",
     _def("grad_norm", "x", "if not x.any():\n    return torch.zeros_like(x)\n"
          "return x / torch.sqrt((x**2).sum())")),
    ("ex8_norm_tests", "ex8_norm_solution",
     _def("grad_norm", "x", "n = x.norm()\ngrad = x / n if n > 0 else 0 * x\nreturn grad")),
    ("ex8_zero_tests", "ex8_norm_solution",
     _def("grad_norm", "x", "return torch.nan_to_num(x / torch.linalg.norm(x))")),
    ("ex8_zero_tests", "ex8_norm_solution",
     _def("grad_norm", "x", "n = x.norm()\nreturn x / n if n > 0 else torch.zeros_like(x)")),
    ("ex9_chain_tests", "ex9_chain_solution",
     _def("chain_rule_ex9", "a, b", "x, y, z = a * b, a + b**2, a**2 - b\n"
          "du = (2 * x * y, x**2, torch.cos(z))\n"
          "return [du[0] * b + du[1] + du[2] * 2 * a, du[0] * a + du[1] * 2 * b - du[2]]")),
    ("ex9_chain_tests", "ex9_chain_solution",
     _def("chain_rule_ex9", "a, b",
          "da = 2 * a * b * (a + b**2) * b + (a * b) ** 2 + 2 * a * torch.cos(a**2 - b)\n"
          "db = 2 * a * b * (a + b**2) * a + 2 * b * (a * b) ** 2 - torch.cos(a**2 - b)\n"
          "return da, db")),
    ("ex10_inverse_tests", "ex10_inverse_solution",
     _def("d_f10_inverse", "y", "x = f10_inverse(y)\nreturn (3 * x * x + 1) ** -1")),
    ("ex10_inverse_tests", "ex10_inverse_solution",
     _def("d_f10_inverse", "y", "return 1.0 / (3 * f10_inverse(y) ** 2 + 1)")),
    ("ex11_step_tests", "ex11_step_solution",
     _def("good_difference", "f, x", "h = 1e-6\nreturn (f(x + h) - f(x - h)) / (2 * h)")),
    ("ex11_step_tests", "ex11_step_solution",
     _def("good_difference", "f, x", "h = 1e-3\n"
          "return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)")),
]


def _ids(cases) -> list[str]:
    return [f"{c[0]}-{i}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("test_id, solution_id, src, phrase", SHORTCUTS, ids=_ids(SHORTCUTS))
def test_shortcut_loses_points_in_the_visible_check(test_id, solution_id, src, phrase):
    visible, hidden = outcome(test_id, {solution_id: src})
    assert visible, f"{test_id}: the visible check passed a shortcut:\n{src}"
    assert any(phrase in m for m in visible), visible


@pytest.mark.parametrize("test_id, solution_id, src", HONEST, ids=_ids(HONEST))
def test_honest_variant_keeps_full_marks(test_id, solution_id, src):
    assert outcome(test_id, {solution_id: src}) == ([], []), src


@pytest.mark.parametrize("test_id, solution_id, swaps, phrase", MISTAKES,
                         ids=[f"{m[0]}-{m[3]}" for m in MISTAKES])
def test_visible_check_fails_where_grading_would(test_id, solution_id, swaps, phrase):
    visible, hidden = outcome(test_id, _edit(solution_id, *swaps))
    assert visible or not hidden, f"{test_id}: visible ✔ but hidden fails: {hidden}"


def test_reference_passes_visible_and_hidden():
    for test_id in _graded_test_ids():
        assert outcome(test_id) == ([], []), test_id


def _exercise(test_id: str) -> str:
    return test_id.split("_")[0].rstrip("abcd")


def test_every_exercise_has_a_shortcut_and_every_cell_two_honest_variants():
    graded = _graded_test_ids()
    assert {_exercise(t) for t in graded} <= {_exercise(c[0]) for c in SHORTCUTS}
    for test_id in graded:
        assert sum(c[0] == test_id for c in HONEST) >= 2, f"{test_id}: fewer than two variants"


def test_source_is_what_the_build_script_writes():
    """source/ps1_calculus is generated by tools/build_ps1.py (its visible expected values are
    the reference's numbers): the committed notebook must be the script's output."""
    import sys

    import nbformat

    sys.path.insert(0, str(PS1.parent.parent.parent))
    from tools import build_ps1

    built = [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in build_ps1.build()]
    committed = [(c.cell_type, c.source, c.metadata.get("nbgrader"))
                 for c in nbformat.read(PS1, as_version=4).cells]
    assert built == committed, "run `python tools/build_ps1.py` and `make release`"


def test_a_difference_quotient_is_told_why_it_is_not_enough():
    """A central difference agrees with the rule to about 10 digits: the message says so, and
    a known mistake computed by a difference quotient is still recognised (to 6 digits)."""
    visible, _ = outcome("ex1c_exp_tests", {"ex1c_exp_solution": _def(
        "d_exp", "x", "h = 1e-5\nreturn (torch.exp(x + h) - torch.exp(x - h)) / (2 * h)")})
    assert any("a difference quotient (or float32 arithmetic) gets this close" in m
               for m in visible), visible
    visible, _ = outcome("ex1c_exp_tests", {"ex1c_exp_solution": _def(
        "d_exp", "x", "h = 1e-6\nF = lambda t: t * torch.exp(t)\n"
        "return (F(x + h) - F(x - h)) / (2 * h) - torch.exp(x)")})
    assert any("extra factor x" in m for m in visible), visible


def test_no_hidden_line_shows_elsewhere_in_the_notebook():
    """calcgrad's feedback is checked for hidden-test lines (tests/test_grading_batch.py): a
    hidden line that also stands in a visible cell would look like a leak."""
    import nbformat

    hidden, visible = [], []
    for cell in nbformat.read(PS1, as_version=4).cells:
        shown, _, rest = cell.source.partition(HIDDEN)
        visible.append(shown + rest.partition("### END HIDDEN TESTS")[2])
        hidden += [line.strip() for line in rest.partition("### END HIDDEN TESTS")[0].splitlines()
                   if len(line.strip()) > 12]
    text = "\n".join(visible)
    assert [line for line in hidden if line in text] == []

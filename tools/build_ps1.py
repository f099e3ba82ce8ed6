# ruff: noqa: E501 - the exercise text is markdown, one sentence per line
"""Write source/ps1_calculus/ps1_calculus.ipynb: the text, the reference solutions and the
test cells of problem set 1 (maintainers only; then `make release`).

Why a script: the visible part of a test cell carries its expected values as literal data
(full float64 reprs), never the code that computes them, so a student cannot call or read
a reference. Those numbers are computed here, by the reference solutions below, at the
inputs the cell shows. Hidden parts (### BEGIN/END HIDDEN TESTS) compute with code.

Per-student variants (issue 14): Exercises 5, 6, 7, 9 and 10 take the student's own function
from calcgrad.ps1_functions (the given cell; each exercise shows it with `exN.show()`). Their
visible checks hold every variant's literal data, picked by the variant of the id being graded;
their hidden checks compute with autograd through that variant's function; the reference
solution holds every variant's model answer (tools/ps1_models.py), picked by `exN.number`.

    python tools/build_ps1.py        # writes the notebook; review the diff, commit it
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calcgrad import checks, methods, ps1_functions, variants  # noqa: E402
from tools import ps1_models as models  # noqa: E402
from tools.nbauthor import answer, code, md, notebook, readonly, save, solution, tests  # noqa: E402

TARGET = ROOT / "source" / "ps1_calculus" / "ps1_calculus.ipynb"
# checks.method (issue 11) is on main once the lead's commit lands; until then the notebook
# is built without the method checks.
METHOD = hasattr(checks, "method")
BY_HAND = methods.BY_HAND  # autograd, symbolic or numeric differentiation, calcgrad
RULE_RTOL = 1e-13  # central differences reach ~1e-11 at best here; honest rewrites ~1e-15
RULE_ATOL = 1e-15  # checks.close's default atol (1e-8) would let a difference quotient through


# ---------------------------------------------------------------- literal data

def f64(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def lit(value, col: int = 4) -> str:
    """A tensor, number or nested list as Python literal text, every float in full repr;
    `col` is the column of its opening bracket (continuation lines align after it)."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (int, float)):
        return repr(float(value))
    pad = " " * (col + 1)
    if all(isinstance(v, (int, float)) for v in value):
        text = textwrap.fill(", ".join(repr(float(v)) for v in value), width=99,
                             initial_indent=" " * (col + 1), subsequent_indent=pad,
                             break_long_words=False, break_on_hyphens=False)
        return "[" + text[col + 1:] + "]"
    return "[" + (",\n" + pad).join(lit(v, col + 1) for v in value) + "]"


def data(name: str, value) -> str:
    """`name = <literal>` for a test cell."""
    return f"{name} = {lit(value)}"


def method(label: str, function: str, forbid=BY_HAND, require=()) -> str:
    """A `checks.method` call for a test cell (empty while checks.method is missing)."""
    if not METHOD:
        return ""

    def words(values) -> str:
        return "(" + ", ".join(f'"{v}"' for v in values) + ("," if len(values) == 1 else "") + ")"

    args = [f'"{label}", function="{function}"']
    if forbid:
        args.append(f"forbid={words(forbid)}")
    if require:
        args.append(f"require={words(require)}")
    return "checks.method(" + ",\n              ".join(args) + ")\n"


def hidden(src: str) -> str:
    return "### BEGIN HIDDEN TESTS\n" + src.strip("\n") + "\n### END HIDDEN TESTS"


# ---------------------------------------------------------------- given functions and solutions

GIVEN = '''
# Your own functions for Exercises 5, 6, 7, 9 and 10: they depend on your id (see the setup
# cell). Run this cell; do not change it.
from calcgrad import variants

ex5, ex6, ex7, ex9, ex10 = (variants.exercise("ps1_calculus", name)
                            for name in ("ex5", "ex6", "ex7", "ex9", "ex10"))
f5, f6, f7, f10 = ex5.f, ex6.f, ex7.f, ex10.f


def f10_inverse(y, steps=64):
    """Exercise 10: the x with f10(x) = y, by bisection (elementwise, float64)."""
    y = torch.as_tensor(y, dtype=torch.float64)
    low, high = -(y.abs() + 1), y.abs() + 1
    for _ in range(steps):
        mid = (low + high) / 2
        below = f10(mid) < y
        low, high = torch.where(below, mid, low), torch.where(below, high, mid)
    return (low + high) / 2
'''


def dispatch(exercise: str, head: str = "") -> str:
    """A solution region holding every variant's model answer, chosen by the student's
    variant (the release drops it: a student writes only their own)."""
    lines = [f"{head}### BEGIN SOLUTION"] if head else ["### BEGIN SOLUTION"]
    pad = " " * len(head)
    for k in range(len(ps1_functions.POOLS[("ps1_calculus", exercise)])):
        lines.append(f"{pad}if {exercise}.number == {k}:")
        lines.append(models.indented(exercise, k, len(pad) + 4))
    lines.append(f"{pad}### END SOLUTION")
    return "\n".join(lines)


SOL = {
    "ex1a_constant_solution": '''
def d_constant(x, c):
    """The derivative at x of the constant function f(x) = c (a tensor shaped like x)."""
    ### BEGIN SOLUTION
    return torch.zeros_like(x)
    ### END SOLUTION
''',
    "ex1_power_solution": '''
def d_power(x, n):
    """The derivative of x**n at x (elementwise for a tensor x)."""
    ### BEGIN SOLUTION
    return n * x ** (n - 1)
    ### END SOLUTION
''',
    "ex1c_exp_solution": '''
def d_exp(x):
    """The derivative of e**x at x (elementwise)."""
    ### BEGIN SOLUTION
    return torch.exp(x)
    ### END SOLUTION
''',
    "ex1d_log_solution": '''
def d_log(x):
    """The derivative of log(x), the natural logarithm, at x > 0 (elementwise)."""
    ### BEGIN SOLUTION
    return 1 / x
    ### END SOLUTION
''',
    "ex2_rules_solution": '''
def d_sum(f, g, df, dg, x):
    """The derivative of f(x) + g(x) at x, given df and dg."""
    ### BEGIN SOLUTION
    return df(x) + dg(x)
    ### END SOLUTION


def d_product(f, g, df, dg, x):
    """The derivative of f(x) * g(x) at x, given df and dg."""
    ### BEGIN SOLUTION
    return df(x) * g(x) + f(x) * dg(x)
    ### END SOLUTION


def d_quotient(f, g, df, dg, x):
    """The derivative of f(x) / g(x) at x (where g(x) is not 0), given df and dg."""
    ### BEGIN SOLUTION
    return (df(x) * g(x) - f(x) * dg(x)) / g(x) ** 2
    ### END SOLUTION
''',
    "ex3_constant_multiple_solution": '''
def d_constant_multiple(c, f, df, x):
    """The derivative of c * f(x) at x, from the product rule with g(x) = c."""
    ### BEGIN SOLUTION
    def g(t):
        return c + 0 * t

    def dg(t):
        return 0 * t

    return d_product(f, g, df, dg, x)
    ### END SOLUTION
''',
    "ex4_x_to_the_x_solution": '''
def d_x_to_the_x(x):
    """The derivative of x**x at x > 0 (elementwise)."""
    ### BEGIN SOLUTION
    return x**x * (torch.log(x) + 1)
    ### END SOLUTION
''',
    "ex5_flat_solution": """
### BEGIN SOLUTION
""" + "\n".join(f"if ex5.number == {k}:\n    " + models.EX5[k] for k in range(4)) + """
### END SOLUTION
""",
    "ex6_tangent_solution": """
def df6(x):
    \"\"\"The derivative of your f6, worked out by hand.\"\"\"
    """ + dispatch("ex6", "    ").lstrip() + """


def tangent_line(f, df, x0):
    \"\"\"The tangent to f at x0 as (slope, intercept): y = slope * x + intercept.\"\"\"
    ### BEGIN SOLUTION
    slope = df(x0)
    return slope, f(x0) - slope * x0
    ### END SOLUTION
""",
    "ex6_plot_solution": '''
def plot_ex6():
    """Plot f6 and its tangent line at x = 1 on a range without x = 0; return the axes."""
    ### BEGIN SOLUTION
    x = torch.linspace(0.25, 2.0, 100, dtype=torch.float64)
    slope, intercept = tangent_line(f6, df6, torch.tensor(1.0, dtype=torch.float64))
    return plotting.plot(x, [f6(x), slope * x + intercept], "x", "y",
                         legend=["your f6", "tangent at x = 1"])
    ### END SOLUTION
''',
    "ex7_gradient_solution": """
def grad_f7(x):
    \"\"\"The gradient of your f7 at x = [x1, x2], worked out by hand.\"\"\"
    """ + dispatch("ex7", "    ").lstrip() + """
""",
    "ex8_norm_solution": '''
def grad_norm(x):
    """The gradient of ||x||_2 at x, worked out by hand; the zero vector at x = 0."""
    ### BEGIN SOLUTION
    norm = torch.linalg.norm(x)
    if norm == 0:
        return torch.zeros_like(x)
    return x / norm
    ### END SOLUTION
''',
    "ex9_chain_solution": """
def chain_rule_ex9(a, b):
    \"\"\"(du/da, du/db) for your u(x, y, z) and x, y, z (shown above), by the chain rule.\"\"\"
    """ + dispatch("ex9", "    ").lstrip() + """
""",
    "ex10_inverse_solution": """
def d_f10_inverse(y):
    \"\"\"The derivative of the inverse of your f10 at y, from the formula of 10b.\"\"\"
    """ + dispatch("ex10", "    ").lstrip() + """
""",
    "ex11_step_solution": '''
def good_difference(f, x):
    """An estimate of f'(x) by a difference quotient whose error is small in float64."""
    ### BEGIN SOLUTION
    h = 1e-5
    return (f(x + h) - f(x - h)) / (2 * h)
    ### END SOLUTION
''',
}

VARIANTS = range(4)  # every pool of ps1 has four families (calcgrad.ps1_functions)


def reference(k: int) -> dict:
    """The given cell and every solution, run here as a student whose variants are all k."""
    import math

    ns: dict = {"torch": torch, "math": math}
    exec(GIVEN, ns)  # our own source
    for name in ("ex5", "ex6", "ex7", "ex9", "ex10"):
        family = ps1_functions.POOLS[("ps1_calculus", name)][k]
        ns[name] = variants.Assigned("ps1_calculus", name, variants.Identity("model", ""), k,
                                     family)
    ns.update(f5=ns["ex5"].f, f6=ns["ex6"].f, f7=ns["ex7"].f, f10=ns["ex10"].f)
    for src in SOL.values():
        exec(src, ns)
    return ns


REFS = [reference(k) for k in VARIANTS]
R = REFS[0]  # the exercises without variants (any k would do)


def by_variant(values: list, col: int = 4) -> str:
    """{k: <literal>} for every variant, as literal text (a visible check's data)."""
    pad = " " * (col + 1)
    items = [f"{k}: {lit(v, col + 1 + len(str(k)) + 2)}" for k, v in enumerate(values)]
    return "{" + (",\n" + pad).join(items) + "}"


def wrong_by_variant(wrongs: list) -> str:
    """{k: {hint: <literal>}} for every variant: the values of known mistakes (a check's
    `wrong=`), as literal text; a value is a tensor or literal text already."""
    def value(v) -> str:
        return v if isinstance(v, str) else lit(v, 24)

    return "{" + ",\n                 ".join(
        f"{k}: {{" + ",\n                     ".join(f"{json.dumps(t)}:\n                        {value(v)}"
                                                    for t, v in w.items()) + "}"
        for k, w in enumerate(wrongs)) + "}"


def variant_import(name: str) -> str:
    return (f"from calcgrad import variants\n\n"
            f'{name} = variants.exercise("ps1_calculus", "{name}")  # the variant of the id graded\n')


# ---------------------------------------------------------------- cells

INTRO = r'''
# Problem set 1: Calculus

This problem set follows the lecture `notebooks/01_calculus.ipynb` (§2.4 of *Dive into Deep Learning*).
Fill in every cell that says `YOUR CODE HERE` or `YOUR ANSWER HERE`.
After each exercise, run its check cell: it prints ✔ when your answer is right and says what is wrong when it is not.
Hidden checks test the same properties at other inputs when your work is graded.

**How the exercises are checked.**
Where an exercise asks for a derivative *worked out by hand* (by the rules), your code must compute the exact formula:
the checks compare it in float64 to about 13 significant digits (`rtol=1e-13`), a precision that no difference quotient reaches,
and they read your code: a function that uses autograd (`backward`, `torch.autograd`, `requires_grad`, ...) or the course's helpers (`calcgrad`) loses the points.
Your functions get float64 tensors: compute with them, and they stay float64 (`torch.tensor(...)` of Python numbers would make float32).

**Your own functions.** Exercises 5, 6, 7, 9 and 10 are about functions of your own: each student gets one of several, chosen by their id (the id your submission is filed under).
The setup cell prints your id and your functions, and each of those exercises shows yours as a formula.
Work with those: a neighbour's answers are for another function, and are graded as wrong for yours.

Before you submit, restart the kernel and run all cells (*Kernel → Restart Kernel and Run All Cells*).

| exercise | topic | points |
|---|---|---|
| 1 | derivatives of $c$, $x^n$, $e^x$, $\log x$ (1a–1d) and their proofs (1e, written) | 5 + 2 |
| 2 | sum, product and quotient rules (2a–2c) and their proofs (2d, written) | 4 + 3 |
| 3 | the constant-multiple rule from the product rule (3a) and why (3b, written) | 1 + 1 |
| 4 | the derivative of $x^x$ | 2 |
| 5 | the point where the slope of your $f_5$ is $0$ (5a), and what $f'(x) = 0$ means (5b, written) | 2 + 1 |
| 6 | the derivative of your $f_6$, a tangent at $x = 1$, and its plot | 4 |
| 7 | the gradient of your $f_7$ | 2 |
| 8 | the gradient of $\|\mathbf{x}\|_2$ (8a, 8b) and what happens at $\mathbf{0}$ (8c, written) | 3 + 1 |
| 9 | the multivariate chain rule, for your $u$ | 3 |
| 10 | the derivative of the inverse of your $f_{10}$ (10a) and its derivation (10b, written) | 2 + 1 |
| 11 | choosing the step $h$ of a difference quotient | 3 |
| | **total** | **40** (31 checked automatically, 9 for written answers, graded by hand) |
'''

SETUP = '''
import math

import numpy as np
import torch

from calcgrad import checks, plotting, variants

variants.introduce("ps1_calculus")  # your id, and your own functions for Exercises 5-10
'''

GIVEN_TEXT = '''
## The given functions

Your own functions for Exercises 5, 6, 7, 9 and 10 (`ex5`, ..., `ex10`; `f5`, `f6`, `f7`, `f10`) and the inverse of `f10` are defined once, here, from your id. Run this cell; do not change it.
'''


def ex1_cells() -> list:
    cells = [md(r'''
## Exercise 1 (7 points): derivatives of the basic functions

From the definition $f'(x) = \lim_{h \to 0} \frac{f(x+h) - f(x)}{h}$ come the rules for constants, powers, $e^x$ and $\log x$ (the natural logarithm).
In 1a–1d write each derivative as a function of a float64 tensor `x`, elementwise, **worked out by hand** from the rule:
code that uses autograd, the course's helpers or a difference quotient loses the points (the checks compare your values with the exact derivative to 13 digits, and read your code).
1a, 1c and 1d are worth 1 point each, 1b 2 points, the written proofs 1e 2 points.

### 1a (1 point): a constant
Write `d_constant(x, c)`, the derivative of the constant function $f(x) = c$ at each entry of `x`: a tensor shaped like `x`.
'''), solution(SOL["ex1a_constant_solution"], "ex1a_constant_solution"),
        code("d_constant(torch.tensor([1.0, 2.0, 3.0]), 7.0)  # a tensor of three numbers")]
    x = f64([-2.5, -0.3, 0.0, 1.2, 2.9])
    cells.append(tests(f'''
# checks d_constant(x, 7.0) at five points (shaped like x, exact), and that it is worked out by hand
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
checks.close("d_constant(x, 7.0)", student=lambda: d_constant(x, 7.0),
             expected={lit(R["d_constant"](x, 7.0), 22)}, rtol=0.0, atol=0.0,
             wrong={{"you returned the constant c itself, not its derivative":
                        {lit(7.0 + 0 * x)},
                    "you returned 1 at every point: how fast does a constant function change?":
                        {lit(1.0 + 0 * x)}}})
{method("d_constant is worked out by hand", "d_constant")}{hidden("""
x = checks.points(seed=111, n=8, low=-5.0, high=5.0)
checks.close("d_constant(x, -2.5) at hidden points", student=lambda: d_constant(x, -2.5),
             expected=lambda: torch.zeros_like(x), rtol=0.0, atol=0.0)
""")}''', "ex1a_constant_tests", 1))

    cells += [md(r'''
### 1b (2 points): the power rule

The power rule says that $\frac{d}{dx} x^n = n x^{n-1}$, for every real number $n$ (at $x > 0$ when $n$ is not an integer).
Write `d_power(x, n)`, the derivative of $x^n$ at `x`, for a tensor `x` and a number `n`: integer, negative or fractional.
'''), solution(SOL["ex1_power_solution"], "ex1_power_solution"),
        code("d_power(torch.tensor([1.0, 2.0, 3.0]), 2)  # should be 2, 4, 6")]
    x = f64([0.25, 0.7, 1.3, 2.2, 3.1])
    powers = (3, -1, 0.5)
    want = {n: R["d_power"](x, n) for n in powers}
    itself = {n: x**n for n in powers}
    off = {n: n * x**n for n in powers}
    no_n = {n: x ** (n - 1) for n in powers}

    def table(values: dict) -> str:
        return "{\n" + "".join(f"    {n!r}: {lit(v, 4 + len(repr(n)) + 2)},\n"
                                for n, v in values.items()) + "}"

    cells.append(tests(f'''
# checks d_power(x, n) for n = 3, -1 and 0.5 at five points (float64, 13 digits), and that it is worked out by hand
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
want = {table(want)}
itself = {table(itself)}
exponent_off = {table(off)}
factor_missing = {table(no_n)}
for n in (3, -1, 0.5):
    checks.close(f"d_power(x, {{n}})", student=lambda: d_power(x, n), expected=want[n],
                 rtol={RULE_RTOL!r}, atol={RULE_ATOL!r},
                 wrong={{"you returned x**n itself, not its derivative": itself[n],
                        "the exponent is off by one: check the exponent in the power rule":
                            exponent_off[n],
                        "a factor is missing: check the coefficient in the power rule":
                            factor_missing[n]}})
{method("d_power is worked out by hand", "d_power")}{hidden("""
x = checks.points(seed=101, n=7, low=0.2, high=4.0)
for n in (2, 5, 0.5, -1, -2.5, 1.5):
    checks.close(f"d_power(x, {n}) at hidden points", student=lambda: d_power(x, n),
                 expected=lambda: n * x ** (n - 1), rtol=1e-13, atol=1e-15)
""")}''', "ex1_power_tests", 2))

    cells += [md(r'''
### 1c (1 point): the exponential
Write `d_exp(x)`, the derivative of $e^x$ at `x`.
$e^x$ is so smooth that a high-order difference quotient comes within about $10^{-14}$ of it, so this check asks for 15 digits (`rtol=2e-15`): the rule itself, in float64, is that exact.
'''), solution(SOL["ex1c_exp_solution"], "ex1c_exp_solution"),
        code("d_exp(torch.tensor([0.0, 1.0]))  # should be 1 and e = 2.718...")]
    x = f64([0.2, 0.9, 1.6, 2.4, 3.3])
    cells.append(tests(f'''
# checks d_exp at five points (float64, 15 digits), and that it is worked out by hand
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
checks.close("d_exp(x)", student=lambda: d_exp(x),
             expected={lit(R["d_exp"](x), 22)},
             rtol=2e-15, atol={RULE_ATOL!r},
             wrong={{"you applied the power rule to e**x, but here the variable is in the exponent":
                        {lit(x * torch.exp(x - 1), 24)},
                    "you used the rule for a**x with a = x; the base here is the constant e "
                    "(what is ln(e)?)":
                        {lit(torch.exp(x) * torch.log(x), 24)},
                    "there is an extra factor x":
                        {lit(x * torch.exp(x), 24)}}})
{method("d_exp is worked out by hand", "d_exp")}{hidden("""
x = checks.points(seed=113, n=9, low=-4.0, high=4.0)
checks.close("d_exp(x) at hidden points", student=lambda: d_exp(x),
             expected=lambda: torch.exp(x), rtol=2e-15, atol=1e-15)
""")}''', "ex1c_exp_tests", 1))

    cells += [md(r'''
### 1d (1 point): the logarithm
Write `d_log(x)`, the derivative of the natural logarithm $\log x$ at `x` (for $x > 0$).
'''), solution(SOL["ex1d_log_solution"], "ex1d_log_solution"),
        code("d_log(torch.tensor([1.0, 2.0, 4.0]))  # should be 1, 0.5, 0.25")]
    x = f64([0.15, 0.6, 1.4, 3.7, 9.5])
    cells.append(tests(f'''
# checks d_log at five points x > 0 (float64, 13 digits), and that it is worked out by hand
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
checks.close("d_log(x)", student=lambda: d_log(x),
             expected={lit(R["d_log"](x), 22)},
             rtol={RULE_RTOL!r}, atol={RULE_ATOL!r},
             wrong={{"you returned log(x) itself, not its derivative":
                        {lit(torch.log(x), 24)},
                    "a sign error: log is increasing for x > 0, so its slope is positive":
                        {lit(-1 / x, 24)},
                    "that is the derivative of log10(x); log here is the natural logarithm":
                        {lit(1 / (x * torch.log(torch.tensor(10.0, dtype=torch.float64))), 24)},
                    "that is the derivative of another function (of -1/x): recheck the rule "
                    "for log":
                        {lit(1 / x**2, 24)}}})
{method("d_log is worked out by hand", "d_log")}{hidden("""
x = checks.points(seed=114, n=9, low=0.05, high=20.0)
checks.close("d_log(x) at hidden points", student=lambda: d_log(x),
             expected=lambda: 1 / x, rtol=1e-13, atol=1e-15)
""")}''', "ex1d_log_tests", 1))

    cells += [md(r'''
### 1e (2 points, written): proofs from the definition
Prove from the definition of the derivative:
1. $\frac{d}{dx} x^n = n x^{n-1}$ for a positive integer $n$ (expand $(x+h)^n$ with the binomial theorem);
2. $\frac{d}{dx} e^x = e^x$ (you may use $\lim_{h \to 0} \frac{e^h - 1}{h} = 1$);
3. $\frac{d}{dx} \log x = \frac{1}{x}$ for $x > 0$ (you may use $\lim_{t \to 0} \frac{\log(1 + t)}{t} = 1$).
'''), answer(r'''
**Model answer.**
1. $(x+h)^n = x^n + n x^{n-1} h + \binom{n}{2} x^{n-2} h^2 + \dots + h^n$, so
$\frac{(x+h)^n - x^n}{h} = n x^{n-1} + h \left(\binom{n}{2} x^{n-2} + \dots + h^{n-2}\right)$:
the bracket is a polynomial in $h$, bounded near $h = 0$, so the second term goes to 0 and the limit is $n x^{n-1}$.
2. $\frac{e^{x+h} - e^x}{h} = e^x \frac{e^h - 1}{h}$; the factor $e^x$ does not depend on $h$, so the limit is $e^x \cdot 1 = e^x$.
3. $\frac{\log(x+h) - \log x}{h} = \frac{\log(1 + h/x)}{h} = \frac{1}{x} \cdot \frac{\log(1 + t)}{t}$ with $t = h/x \to 0$ as $h \to 0$ (for fixed $x > 0$), so the limit is $\frac{1}{x}$.

**Rubric (2 points).**
0.5 for the power rule: the binomial expansion, and why the terms with $h^2$ and higher vanish (dividing by $h$ leaves a factor $h$).
0.5 for $e^x$: factoring out $e^x$ *and* saying it may leave the limit because it does not depend on $h$.
1 for $\log x$: the quotient rewritten as $\log(1 + h/x)/h$ (0.5), the substitution $t = h/x$ and the limit $1/x$ (0.5).
No points for a part that uses the rule it is meant to prove (for example $\frac{d}{dx} e^x$ from the chain rule on $e^{x}$).
''', "ex1e_proof_answer", 2)]
    return cells


def ex2_cells() -> list:
    cells = [md(r'''
## Exercise 2 (7 points): sum, product and quotient rules

Each function below gets two functions `f`, `g`, two more functions `df`, `dg` and a tensor `x`.
Return the derivative at `x` of $f + g$, of $f g$ and of $f / g$ **by the sum, product and quotient rules**, using `df` and `dg` as the derivatives of `f` and `g`.
The checks give you `df`, `dg` that need not be the true derivatives of `f`, `g` (they are, in the demo below): apply the rule to what you are given.
A difference quotient or autograd of `f * g` differentiates the true functions, so it gets other values and loses the points.
2a (the sum) is worth 1 point, 2b (the product) 1 point, 2c (the quotient) 2 points, the written proofs 2d 3 points.
'''), solution(SOL["ex2_rules_solution"], "ex2_rules_solution"),
        code("x = torch.tensor([0.0, 1.0])\n"
             "d_product(torch.sin, torch.exp, torch.cos, torch.exp, x)  # should be 1 and 3.756...")]
    x = f64([-1.7, -0.9, -0.2, 0.5, 1.1, 1.9])
    F, G = torch.sin, (lambda t: t**2 + 1)
    dF, dG = (lambda t: 2 * t - 1), torch.exp       # the rule's inputs, not F', G'
    tF, tG = torch.cos, (lambda t: 2 * t)           # the true derivatives
    given = '''F, G = torch.sin, (lambda t: t**2 + 1)
dF, dG = (lambda t: 2 * t - 1), torch.exp  # given to the rule: not the derivatives of F, G'''
    true_msg = ("you differentiated f and g yourself (numerically, with autograd or by their "
                "formulas); use the df and dg you are given")
    cells.append(tests(f'''
# checks d_sum on f = sin, g = x**2 + 1 with given df, dg (not f', g') at six points
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
{given}
checks.close("d_sum(f, g, df, dg, x)", student=lambda: d_sum(F, G, dF, dG, x),
             expected={lit(R["d_sum"](F, G, dF, dG, x), 22)},
             rtol=1e-12, atol=1e-12,
             wrong={{"you returned f(x) + g(x), the sum itself, not its derivative":
                        {lit(F(x) + G(x), 24)},
                    "you multiplied the derivatives; the sum rule does not":
                        {lit(dF(x) * dG(x), 24)},
                    "a sign error between the two terms":
                        {lit(dF(x) - dG(x), 24)},
                    {true_msg!r}:
                        {lit(tF(x) + tG(x), 24)}}})
{hidden("""
x = checks.points(seed=121, n=8, low=-3.0, high=3.0)
P, dP = torch.exp, (lambda t: torch.cos(t) - t)
Q, dQ = torch.cos, (lambda t: t**2)
checks.close("d_sum(f, g, df, dg, x) at hidden points", student=lambda: d_sum(P, Q, dP, dQ, x),
             expected=lambda: dP(x) + dQ(x), rtol=1e-12, atol=1e-12)
""")}''', "ex2_sum_tests", 1))
    cells.append(tests(f'''
# checks d_product on f = sin, g = x**2 + 1 with given df, dg (not f', g') at six points
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
{given}
checks.close("d_product(f, g, df, dg, x)", student=lambda: d_product(F, G, dF, dG, x),
             expected={lit(R["d_product"](F, G, dF, dG, x), 22)},
             rtol=1e-12, atol=1e-12,
             wrong={{"the derivative of a product is not the product of the derivatives":
                        {lit(dF(x) * dG(x), 24)},
                    "only half of the product rule: it has two terms":
                        {lit(dF(x) * G(x), 24)},
                    "only half of the product rule: it has two terms, you kept the other one":
                        {lit(F(x) * dG(x), 24)},
                    "you returned f(x) * g(x), the product itself, not its derivative":
                        {lit(F(x) * G(x), 24)},
                    {true_msg!r}:
                        {lit(tF(x) * G(x) + F(x) * tG(x), 24)}}})
{hidden("""
x = checks.points(seed=122, n=8, low=-2.0, high=2.0)
P, dP = torch.exp, (lambda t: 1 + 0 * t)
Q, dQ = (lambda t: t**3 - t), torch.sin
checks.close("d_product(f, g, df, dg, x) at hidden points",
             student=lambda: d_product(P, Q, dP, dQ, x),
             expected=lambda: dP(x) * Q(x) + P(x) * dQ(x), rtol=1e-12, atol=1e-12)
""")}''', "ex2_product_tests", 1))
    cells.append(tests(f'''
# checks d_quotient on f = sin, g = x**2 + 1 with given df, dg (not f', g') at six points
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
{given}
checks.close("d_quotient(f, g, df, dg, x)", student=lambda: d_quotient(F, G, dF, dG, x),
             expected={lit(R["d_quotient"](F, G, dF, dG, x), 22)},
             rtol=1e-12, atol=1e-12,
             wrong={{"the numerator has the opposite sign: which term comes first?":
                        {lit((F(x) * dG(x) - dF(x) * G(x)) / G(x) ** 2, 24)},
                    "the numerator of the quotient rule has a minus where you have a plus":
                        {lit((dF(x) * G(x) + F(x) * dG(x)) / G(x) ** 2, 24)},
                    "the denominator is off: check its power":
                        {lit((dF(x) * G(x) - F(x) * dG(x)) / G(x), 24)},
                    "the derivative of a quotient is not the quotient of the derivatives":
                        {lit(dF(x) / dG(x), 24)},
                    {true_msg!r}:
                        {lit((tF(x) * G(x) - F(x) * tG(x)) / G(x) ** 2, 24)}}})
{hidden("""
x = checks.points(seed=123, n=8, low=-2.0, high=2.0)
P, dP = torch.exp, (lambda t: t - 1)
Q, dQ = (lambda t: torch.cos(t) + 2), (lambda t: torch.cos(t))
checks.close("d_quotient(f, g, df, dg, x) at hidden points",
             student=lambda: d_quotient(P, Q, dP, dQ, x),
             expected=lambda: (dP(x) * Q(x) - P(x) * dQ(x)) / Q(x) ** 2, rtol=1e-12, atol=1e-12)
""")}''', "ex2_quotient_tests", 2))
    cells += [md(r'''
### 2d (3 points, written): the rules from the definition
Prove the sum rule, the product rule and the quotient rule from the definition of the derivative.
You may use that a function differentiable at $x$ is continuous at $x$.
'''), answer(r'''
**Model answer.**
*Sum.* $\frac{(f+g)(x+h) - (f+g)(x)}{h} = \frac{f(x+h) - f(x)}{h} + \frac{g(x+h) - g(x)}{h} \to f'(x) + g'(x)$, since the limit of a sum is the sum of the limits when both exist.

*Product.* Add and subtract $f(x) g(x+h)$:
$\frac{f(x+h) g(x+h) - f(x) g(x)}{h} = \frac{f(x+h) - f(x)}{h}\, g(x+h) + f(x)\, \frac{g(x+h) - g(x)}{h}$.
As $h \to 0$ the first quotient goes to $f'(x)$, $g(x+h) \to g(x)$ because $g$ is differentiable and so continuous at $x$, and the last quotient goes to $g'(x)$: the limit is $f'(x) g(x) + f(x) g'(x)$.

*Quotient* (where $g(x) \neq 0$, so $g(x+h) \neq 0$ for small $h$ by continuity).
$\frac{f(x+h)}{g(x+h)} - \frac{f(x)}{g(x)} = \frac{f(x+h) g(x) - f(x) g(x+h)}{g(x+h) g(x)}$; add and subtract $f(x) g(x)$ in the numerator and divide by $h$:
$\frac{1}{g(x+h) g(x)} \left( \frac{f(x+h) - f(x)}{h} g(x) - f(x) \frac{g(x+h) - g(x)}{h} \right) \to \frac{f'(x) g(x) - f(x) g'(x)}{g(x)^2}$.

**Rubric (3 points).**
0.5 for the sum rule (the quotient split in two, limits added).
1.5 for the product rule: the add-and-subtract step (0.5), the two quotients identified (0.5), $g(x+h) \to g(x)$ justified by continuity (0.5).
1 for the quotient rule: the common denominator and the add-and-subtract step (0.5), the limit with $g(x) \neq 0$ and continuity of $g$ named (0.5).
A quotient rule derived from the product rule and the chain rule gets its points only if the derivative of $1/g$ is itself proved from the definition.
''', "ex2_proofs_answer", 3)]
    return cells


def ex3_cells() -> list:
    cells = [md(r'''
## Exercise 3 (2 points): the constant-multiple rule

The constant-multiple rule $\frac{d}{dx}[c f(x)] = c f'(x)$ is a special case of the product rule.
### 3a (1 point)
Write `d_constant_multiple(c, f, df, x)`, the derivative of $c f(x)$ at `x`, **by calling your `d_product`** from Exercise 2 with the constant function $g(x) = c$ and its derivative.
As in Exercise 2, the check gives you a `df` that need not be the true derivative of `f`: use the one you are given. The check reads your code: it must call `d_product`, without autograd.
'''), solution(SOL["ex3_constant_multiple_solution"], "ex3_constant_multiple_solution"),
        code("d_constant_multiple(3.0, torch.sin, torch.cos, torch.tensor([0.0]))  # should be 3")]
    x = f64([-1.4, -0.5, 0.3, 0.8, 1.6, 2.2])
    f, df = torch.sin, (lambda t: t**2)
    c = 3.0
    cells.append(tests(f'''
# checks d_constant_multiple(3.0, f, df, x) with f = sin and a given df (not f') at six points; it calls d_product
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
f, df = torch.sin, (lambda t: t**2)  # df is given to the rule: not the derivative of sin
checks.close("d_constant_multiple(3.0, f, df, x)",
             student=lambda: d_constant_multiple(3.0, f, df, x),
             expected={lit(R["d_constant_multiple"](c, f, df, x), 22)},
             rtol=1e-12, atol=1e-12,
             wrong={{"a factor is missing: where did c go?":
                        {lit(df(x), 24)},
                    "the derivative you gave d_product for the constant function g is not right: "
                    "how fast does a constant change?":
                        {lit(c * df(x) + f(x), 24)},
                    "you returned c f(x), the function itself, not its derivative":
                        {lit(c * f(x), 24)},
                    "you used the true derivative of f, not the df you are given":
                        {lit(c * torch.cos(x), 24)}}})
{method("d_constant_multiple calls your d_product", "d_constant_multiple",
        forbid=BY_HAND, require=("d_product",))}{hidden("""
x = checks.points(seed=131, n=8, low=-2.0, high=2.0)
f, df = torch.exp, (lambda t: torch.cos(t) + t)
checks.close("d_constant_multiple(-0.75, f, df, x) at hidden points",
             student=lambda: d_constant_multiple(-0.75, f, df, x),
             expected=lambda: -0.75 * df(x), rtol=1e-12, atol=1e-12)
""")}''', "ex3_constant_multiple_tests", 1))
    cells += [md(r'''
### 3b (1 point, written)
In two or three sentences: why is the constant-multiple rule a special case of the product rule?
'''), answer(r'''
**Model answer.**
Write $c f(x)$ as the product $g(x) f(x)$ with the constant function $g(x) = c$.
The product rule gives $g'(x) f(x) + g(x) f'(x)$, and the derivative of a constant is $g'(x) = 0$.
So the first term vanishes and what is left is $c f'(x)$.

**Rubric (1 point).** 0.5 for $c f = g f$ with the constant function $g = c$; 0.5 for $g' = 0$ making the first term vanish.
''', "ex3_special_case_answer", 1)]
    return cells


def ex4_cells() -> list:
    cells = [md(r'''
## Exercise 4 (2 points): the derivative of $x^x$

Write `d_x_to_the_x(x)`, the derivative of $f(x) = x^x$ at `x` for $x > 0$, **worked out by hand** (checked to 13 digits; no autograd, no difference quotient).
Neither the power rule nor the exponential rule applies as it stands: both base and exponent vary.
Hint: $x^x = e^{x \log x}$.
'''), solution(SOL["ex4_x_to_the_x_solution"], "ex4_x_to_the_x_solution"),
        code("d_x_to_the_x(torch.tensor([1.0, 2.0]))  # should be 1 and 6.77...")]
    x = f64([0.15, 0.5, 1.2, 2.1, 3.4])
    cells.append(tests(f'''
# checks d_x_to_the_x at five points x > 0 (float64, 13 digits), and that it is worked out by hand
x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
checks.close("d_x_to_the_x(x)", student=lambda: d_x_to_the_x(x),
             expected={lit(R["d_x_to_the_x"](x), 22)},
             rtol={RULE_RTOL!r}, atol=1e-14,
             wrong={{"you applied the power rule, but the exponent x is not a constant: "
                    "use the hint":
                        {lit(x * x ** (x - 1), 24)},
                    "you applied the rule for a**x as if the base were constant; the base x "
                    "varies too: use the hint and the chain rule":
                        {lit(x**x * torch.log(x), 24)},
                    "check where the + 1 goes when you multiply out":
                        {lit(x**x * torch.log(x) + 1, 24)}}})
{method("d_x_to_the_x is worked out by hand", "d_x_to_the_x")}{hidden("""
x = checks.points(seed=141, n=10, low=0.05, high=4.0)
checks.close("d_x_to_the_x(x) at hidden points", student=lambda: d_x_to_the_x(x),
             expected=lambda: x**x * (torch.log(x) + 1), rtol=1e-13, atol=1e-14)
""")}''', "ex4_x_to_the_x_tests", 2))
    return cells


def show_cell(name: str, what: str) -> object:
    return code(f"{name}.show()  # {what}")


def ex5_cells() -> list:
    cells = [md(r'''
## Exercise 5 (3 points): a point where the slope is zero

### 5a (2 points)
The cell below shows your function $f_5$ (given above as `f5`) and an interval in which its slope is $0$ at exactly one point.
Work out $f_5'(x)$ **by hand**, solve $f_5'(x) = 0$, and set `flat_point` to that $x$, written as an exact expression (for example `math.sqrt(3) / 2` or `math.log(5)`).
The check takes the slope of `f5` at your `flat_point`: it must be $0$ to 12 digits of the largest slope on the interval, which a numerical search does not reach; and it reads your code: no `f5`, no autograd.
'''), show_cell("ex5", "your f5, and where its flat point lies"),
        solution(SOL["ex5_flat_solution"], "ex5_flat_solution"),
        code("flat_point, f5(torch.tensor(flat_point, dtype=torch.float64))")]
    cells.append(tests(f'''
# checks that the slope of your f5 at flat_point is 0 (12 digits), and that flat_point is
# worked out by hand
from calcgrad import ps1_predicates
{variant_import("ex5")}
checks.holds("the slope of your f5 at flat_point", student=lambda: float(flat_point),
             predicate=ps1_predicates.flat_point_of(ex5.f, ex5.family.interval),
             message="the slope of your f5 at flat_point is not 0")
{method("flat_point is worked out by hand", "flat_point", forbid=BY_HAND + ("f5",))}{hidden("""
low, high = ex5.family.interval
for _ in range(4):  # ever finer grids: where f5' (by autograd) changes sign, to ~1e-12
    grid = torch.linspace(low, high, 1025, dtype=torch.float64)
    t = grid.clone().requires_grad_(True)
    (slope,) = torch.autograd.grad(ex5.f(t).sum(), t)
    i = int(torch.nonzero(slope[:-1] * slope[1:] <= 0)[0])
    low, high = float(grid[i]), float(grid[i + 1])
point = torch.tensor([(low + high) / 2], dtype=torch.float64)
checks.close("flat_point", student=lambda: float(flat_point), expected=lambda: float(point[0]),
             rtol=1e-9, atol=1e-12)
""")}''', "ex5_flat_tests", 2))
    cells += [md(r'''
### 5b (1 point, written)
What does $f'(x) = 0$ say about the graph of $f$ near $x$?
Can a point where $f'(x) = 0$ be neither a maximum nor a minimum of $f$? Give an example, or say why not.
'''), answer(r'''
**Model answer.**
$f'(x) = 0$ means the tangent at $x$ is horizontal: to first order $f$ does not change there, $f(x + h) = f(x) + o(h)$.
It does not make $x$ a maximum or a minimum: $f(x) = x^3$ has $f'(0) = 0$, but $f(h) > 0 = f(0)$ for $h > 0$ and $f(h) < 0$ for $h < 0$, so $f$ keeps increasing through $0$ (a point of inflection with a horizontal tangent).
A maximum or minimum of a differentiable function, inside its domain, does have $f' = 0$: the condition is necessary, not sufficient.

**Rubric (1 point).** 0.5 for the meaning (horizontal tangent, or rate of change 0 at $x$); 0.5 for "yes" with a correct example and why it is not an extremum ($x^3$ at 0, or similar).
''', "ex5_meaning_answer", 1)]
    return cells


def ex6_cells() -> list:
    cells = [md(r'''
## Exercise 6 (4 points): a tangent line and its plot

Take your function $f_6$, shown by the cell below (given above as `f6`).
### 6a (1 point)
Write `df6(x)`, the derivative $f_6'(x)$, **worked out by hand** with the rules of Exercises 1–2 (checked to 13 digits at positive and negative $x$; no autograd, no difference quotient).
### 6b (1 point)
Write `tangent_line(f, df, x0)`: the tangent of `f` at `x0` as a pair `(slope, intercept)`, so that the line is $y = \text{slope} \cdot x + \text{intercept}$.
Use the derivative `df` you are given (checked to 12 digits).
'''), show_cell("ex6", "your f6"), solution(SOL["ex6_tangent_solution"], "ex6_tangent_solution"),
        code("tangent_line(f6, df6, torch.tensor(1.0, dtype=torch.float64))")]
    x = f64([-2.4, -0.5, 0.35, 1.6, 2.8])
    wrong0 = {"a sign error in the derivative of the second term": 3 * x**2 - 1 / x**2,
              "you differentiated only the first term": 3 * x**2,
              "you returned f(x) itself, not its derivative": x**3 - 1 / x}
    wrong_text = wrong_by_variant([wrong0] + [
        {"you returned f(x) itself, not its derivative": REFS[k]["f6"](x)} for k in VARIANTS if k])
    cells.append(tests(f'''
# checks df6, the derivative of your f6, at five points (float64, 13 digits), and that it is
# worked out by hand
{variant_import("ex6")}x = torch.tensor({lit(x, 17)}, dtype=torch.float64)
expected_by_variant = {by_variant([REFS[k]["df6"](x) for k in VARIANTS], 22)}
wrong_by_variant = {wrong_text}
checks.close("df6(x)", student=lambda: df6(x), expected=expected_by_variant[ex6.number],
             rtol={RULE_RTOL!r}, atol={RULE_ATOL!r}, wrong=wrong_by_variant.get(ex6.number))
{method("df6 is worked out by hand", "df6")}{hidden("""
x = torch.cat([checks.points(seed=161, n=8, low=-3.0, high=-0.3),
               checks.points(seed=163, n=8, low=0.3, high=3.0)])
t = x.clone().requires_grad_(True)
(slope,) = torch.autograd.grad(ex6.f(t).sum(), t)
checks.close("df6(x) at hidden points", student=lambda: df6(x),
             expected=lambda: slope, rtol=1e-13, atol=1e-15)
""")}''', "ex6_derivative_tests", 1))
    half = f64(0.5)
    e_line = R["tangent_line"](torch.exp, torch.exp, half)
    cells.append(tests(f'''
# checks tangent_line on 3x**2 - 4x at x0 = 1 (the lecture's y = 2x - 3), on x**3 at 2 and on exp at 0.5 (12 digits)
F, dF = (lambda t: 3 * t**2 - 4 * t), (lambda t: 6 * t - 4)
checks.close("tangent_line(3x**2 - 4x, 6x - 4, 1.0)", student=lambda: tangent_line(F, dF, 1.0),
             expected=[2.0, -3.0], rtol=1e-12, atol=1e-14,
             wrong={{"a sign error in the intercept: the line must pass through (x0, f(x0))":
                        [2.0, 1.0],
                    "the intercept has the opposite sign": [2.0, 3.0],
                    "the intercept is where the line meets x = 0, not f(x0)": [2.0, -1.0],
                    "slope and intercept are swapped: return (slope, intercept)": [-3.0, 2.0]}})
G, dG = (lambda t: t**3), (lambda t: 3 * t**2)
checks.close("tangent_line(x**3, 3x**2, 2.0)", student=lambda: tangent_line(G, dG, 2.0),
             expected=[12.0, -16.0], rtol=1e-12, atol=1e-14,
             wrong={{"a sign error in the intercept: the line must pass through (x0, f(x0))":
                        [12.0, 32.0]}})
x0 = torch.tensor(0.5, dtype=torch.float64)
checks.close("tangent_line(exp, exp, 0.5)", student=lambda: tangent_line(torch.exp, torch.exp, x0),
             expected={lit([float(v) for v in e_line], 22)}, rtol=1e-12, atol=1e-14)
{hidden("""
x0 = float(checks.points(seed=162, n=1, low=0.5, high=2.0)[0])
checks.close(f"tangent_line(exp, exp, {x0:.4f})",
             student=lambda: tangent_line(torch.exp, torch.exp, torch.tensor(x0, dtype=torch.float64)),
             expected=lambda: [math.exp(x0), math.exp(x0) * (1 - x0)], rtol=1e-12,
             atol=1e-14)
x0 = float(checks.points(seed=164, n=1, low=0.5, high=2.0)[0])
checks.close(f"tangent_line(sin, cos, {x0:.4f})",
             student=lambda: tangent_line(torch.sin, torch.cos, torch.tensor(x0, dtype=torch.float64)),
             expected=lambda: [math.cos(x0), math.sin(x0) - math.cos(x0) * x0], rtol=1e-12,
             atol=1e-14)
""")}''', "ex6_tangent_tests", 1))
    lines = [[float(v) for v in REFS[k]["tangent_line"](REFS[k]["f6"], REFS[k]["df6"], f64(1.0))]
             for k in VARIANTS]
    cells += [md(r'''
### 6c (2 points): the picture
Write `plot_ex6()`: plot your $f_6$ with at least 20 points, and its tangent at $x = 1$, with `plotting.plot` on a range of $x$ that contains $1$ but avoids $x = 0$ (where $f_6$ blows up), give each curve a name in the legend, and return the axes.
'''), solution(SOL["ex6_plot_solution"], "ex6_plot_solution"), code("plot_ex6();")]
    cells.append(tests(f'''
# checks the plot: your f6 with at least 20 points on a range with x = 1 and without x = 0, its
# tangent at 1, a legend
from calcgrad import ps1_predicates
{variant_import("ex6")}tangent_by_variant = {by_variant(lines, 21)}
checks.holds("plot_ex6()", student=lambda: checks.figure_data(plot_ex6()),
             predicate=ps1_predicates.plot_shows(curve=ex6.f, line=tangent_by_variant[ex6.number],
                                                 through=1.0, avoid=0.0, min_points=20),
             message="the plot does not show f and its tangent")''', "ex6_plot_tests", 2))
    return cells


def ex7_cells() -> list:
    cells = [md(r'''
## Exercise 7 (2 points): a gradient

Write `grad_f7(x)`, the gradient of your function $f_7(\mathbf{x})$, shown by the cell below (given above as `f7`), at a tensor `x` of shape `(2,)` holding $x_1, x_2$, **worked out by hand** (checked to 13 digits; no autograd, no difference quotient, and no call of `f7`: the check reads your code).
Return a tensor of shape `(2,)`: $\left[\frac{\partial f_7}{\partial x_1}, \frac{\partial f_7}{\partial x_2}\right]$.
'''), show_cell("ex7", "your f7"), solution(SOL["ex7_gradient_solution"], "ex7_gradient_solution"),
        code("grad_f7(torch.tensor([1.0, 0.0], dtype=torch.float64))")]
    pts = f64([[-1.3, 0.4], [0.2, -1.7], [0.9, 1.1], [1.8, -0.3], [-0.6, 2.0]])
    wants = [torch.stack([REFS[k]["grad_f7"](p) for p in pts]) for k in VARIANTS]
    terms = torch.stack([3 * pts[:, 0] ** 2, 5 * torch.exp(pts[:, 1])], dim=1)
    no5 = torch.stack([6 * pts[:, 0], torch.exp(pts[:, 1])], dim=1)
    power = torch.stack([6 * pts[:, 0], 5 * pts[:, 1] * torch.exp(pts[:, 1] - 1)], dim=1)
    wrong_text = wrong_by_variant([
        {"you returned the two terms of f, not their derivatives": terms,
         "a factor is missing in the second entry": no5,
         "you applied the power rule to an exponential": power,
         "the two entries are swapped": wants[0].flip(1)}] + [
        {"the two entries are swapped": wants[k].flip(1)} for k in VARIANTS if k])
    cells.append(tests(f'''
# checks grad_f7, the gradient of your f7, at five points (float64, 13 digits), and that it is
# worked out by hand
{variant_import("ex7")}pts = torch.tensor({lit(pts, 19)}, dtype=torch.float64)
expected_by_variant = {by_variant(wants, 22)}
wrong_by_variant = {wrong_text}
checks.close("grad_f7(p) at 5 points", student=lambda: [grad_f7(p) for p in pts],
             expected=expected_by_variant[ex7.number], rtol={RULE_RTOL!r}, atol={RULE_ATOL!r},
             wrong=wrong_by_variant.get(ex7.number))
{method("grad_f7 is worked out by hand", "grad_f7", forbid=BY_HAND + ("f7",))}{hidden("""
pts = checks.points(seed=171, n=16, low=-3.0, high=3.0).reshape(8, 2)
t = pts.clone().requires_grad_(True)
(gradients,) = torch.autograd.grad(sum(ex7.f(p) for p in t), t)
checks.close("grad_f7(p) at hidden points", student=lambda: [grad_f7(p) for p in pts],
             expected=lambda: gradients, rtol=1e-13, atol=1e-15)
""")}''', "ex7_gradient_tests", 2))
    return cells


def ex8_cells() -> list:
    cells = [md(r'''
## Exercise 8 (4 points): the gradient of the norm

Write `grad_norm(x)`, the gradient of $f(\mathbf{x}) = \|\mathbf{x}\|_2 = \sqrt{x_1^2 + \dots + x_n^2}$ at a 1-D tensor `x`, **worked out by hand** (checked to 13 digits; no autograd, no difference quotient).
At $\mathbf{x} = \mathbf{0}$ the norm has no gradient; there, by the convention of this course (and of PyTorch), return the zero vector, without NaN.
* 8a (2 points): the gradient at nonzero $\mathbf{x}$,
* 8b (1 point): the zero vector at $\mathbf{x} = \mathbf{0}$, shaped like `x`,
* 8c (1 point, written, below): why $\mathbf{0}$ is special.
'''), solution(SOL["ex8_norm_solution"], "ex8_norm_solution"),
        code("grad_norm(torch.tensor([3.0, 4.0])), grad_norm(torch.zeros(2))  # [0.6, 0.8] and [0, 0]")]
    v3, v5 = f64([0.7, -1.9, 1.2]), f64([-6.1, 2.4, 0.3, 8.8, -3.5])
    def norm(v):
        return torch.linalg.norm(v)
    cells.append(tests(f'''
# checks grad_norm at two nonzero vectors (float64, 13 digits), and that it is worked out by hand
v3 = torch.tensor({lit(v3, 18)}, dtype=torch.float64)
v5 = torch.tensor({lit(v5, 18)}, dtype=torch.float64)
checks.close("grad_norm(x) for x of length 3", student=lambda: grad_norm(v3),
             expected={lit(R["grad_norm"](v3), 22)}, rtol={RULE_RTOL!r}, atol=1e-15,
             wrong={{"that is the gradient of ||x||**2, not of ||x||":
                        {lit(2 * v3, 24)},
                    "your vector points the right way but is too short: check the power of "
                    "||x|| you divide by":
                        {lit(v3 / norm(v3) ** 2, 24)},
                    "you returned x itself: it needs scaling":
                        {lit(v3, 24)},
                    "a factor 2 is left over: do the 2s of the chain rule cancel?":
                        {lit(v3 / (2 * norm(v3)), 24)}}})
checks.close("grad_norm(x) for x of length 5", student=lambda: grad_norm(v5),
             expected={lit(R["grad_norm"](v5), 22)}, rtol={RULE_RTOL!r}, atol=1e-15,
             wrong={{"that is the gradient of ||x||**2, not of ||x||":
                        {lit(2 * v5, 24)}}})
{method("grad_norm is worked out by hand", "grad_norm")}{hidden("""
for seed, n in ((181, 2), (182, 7), (183, 1)):
    v = checks.points(seed=seed, n=n, low=-4.0, high=4.0)
    checks.close(f"grad_norm(x) for a hidden x of length {n}", student=lambda: grad_norm(v),
                 expected=lambda: v / torch.linalg.norm(v), rtol=1e-13, atol=1e-15)
""")}''', "ex8_norm_tests", 2))
    cells.append(tests('''
# checks the convention at x = 0: grad_norm returns the zero vector shaped like x, without NaN
from calcgrad import ps1_predicates

checks.holds("grad_norm(torch.zeros(3))",
             student=lambda: grad_norm(torch.zeros(3, dtype=torch.float64)),
             predicate=ps1_predicates.zero_vector(3), message="grad_norm(0) must be the zero vector")
### BEGIN HIDDEN TESTS
checks.holds("grad_norm(torch.zeros(6))",
             student=lambda: grad_norm(torch.zeros(6, dtype=torch.float64)),
             predicate=ps1_predicates.zero_vector(6),
             message="grad_norm(0) must be the zero vector, shaped like x")
### END HIDDEN TESTS''', "ex8_zero_tests", 1))
    cells += [md(r'''
#### 8c (1 point, written)
What goes wrong at $\mathbf{x} = \mathbf{0}$, and why is the zero vector a reasonable value to return there?
'''), answer(r'''
**Model answer.**
Near $\mathbf{0}$ the graph of $\|\mathbf{x}\|$ is a cone with its tip at $\mathbf{0}$: in every direction $\mathbf{u}$ of length 1 the slope is $+1$, because $\|t\mathbf{u}\| = |t|$.
A gradient would have to give slope $+1$ in direction $\mathbf{u}$ and slope $-1$ in direction $-\mathbf{u}$ (by linearity), so no gradient exists; the formula $\mathbf{x}/\|\mathbf{x}\|$ becomes $0/0$.
Every vector of length at most 1 is a *subgradient* there (the plane it defines stays below the cone), and the zero vector is the one in the middle: it does not prefer a direction, and it is the minimum, where a descent method should stop.
PyTorch makes the same choice, so our function agrees with autograd.

**Rubric (1 point).** 0.5 for why there is no gradient (the cone / slope $+1$ both ways / $0/0$); 0.5 for a reason the zero vector is sensible (a subgradient, symmetry, the minimum, or agreement with PyTorch).
''', "ex8_zero_answer", 1)]
    return cells


def ex9_paths(k: int, a: torch.Tensor, b: torch.Tensor) -> tuple:
    ns = {"torch": torch, "a": a, "b": b}
    exec(models.EX9_PATHS[k], ns)
    (ux, uy, uz), ((xa, ya, za), (xb, yb, zb)) = ns["outer"], ns["inner"]
    return (ux * xa, uy * ya, uz * za), (ux * xb, uy * yb, uz * zb)


def ex9_cells() -> list:
    cells = [md(r'''
## Exercise 9 (3 points): the multivariate chain rule

Your $u = f(x, y, z)$, and your $x$, $y$ and $z$ as functions of $a$ and $b$, are shown by the cell below.
Write `chain_rule_ex9(a, b)` that returns the pair $\left(\frac{\partial u}{\partial a}, \frac{\partial u}{\partial b}\right)$ at tensors `a`, `b` (elementwise), computed by the chain rule
$\frac{\partial u}{\partial a} = \frac{\partial u}{\partial x}\frac{\partial x}{\partial a} + \frac{\partial u}{\partial y}\frac{\partial y}{\partial a} + \frac{\partial u}{\partial z}\frac{\partial z}{\partial a}$ (and the same for $b$).
Work the partial derivatives out **by hand**: code that uses autograd or a difference quotient loses the points (the check compares with the exact values to 13 digits and reads your code).
Your function computes the derivatives only; it never evaluates $u$ itself, so it has no use for the special function in $u$ (`sin`, `log` or `atan`: the check reads your code for that too).
'''), show_cell("ex9", "your u, then your x, y and z"),
        solution(SOL["ex9_chain_solution"], "ex9_chain_solution"),
        code("chain_rule_ex9(torch.tensor([1.0], dtype=torch.float64), "
             "torch.tensor([1.0], dtype=torch.float64))")]
    a, b = f64([-1.6, -0.7, 0.3, 1.1, 1.8]), f64([1.4, -0.9, 0.6, -1.5, 0.2])
    wants, wrongs = [], []
    for k in VARIANTS:
        want = torch.stack(list(REFS[k]["chain_rule_ex9"](a, b)))
        (pa, pb) = ex9_paths(k, a, b)
        assert torch.allclose(torch.stack([sum(pa), sum(pb)]), want, rtol=1e-13, atol=1e-13)
        wants.append(want)
        wrongs.append({
            "the path through z is missing (in du/da and du/db)":
                torch.stack([pa[0] + pa[1], pb[0] + pb[1]]),
            "the path through y is missing (in du/da and du/db)":
                torch.stack([pa[0] + pa[2], pb[0] + pb[2]]),
            "the chain rule combines the paths through x, y and z; you multiplied them":
                torch.stack([pa[0] * pa[1] * pa[2], pb[0] * pb[1] * pb[2]]),
            "you returned (du/db, du/da): the pair is (du/da, du/db)": want.flip(0)})
    wrong_text = wrong_by_variant(wrongs)
    forbid = {k: ps1_functions.EX9_FORBID[k] for k in VARIANTS}
    cells.append(tests(f'''
# checks chain_rule_ex9 for your u at five points (a, b) (float64, 13 digits), and that it is
# worked out by hand
{variant_import("ex9")}a = torch.tensor({lit(a, 17)}, dtype=torch.float64)
b = torch.tensor({lit(b, 17)}, dtype=torch.float64)
expected_by_variant = {by_variant(wants, 22)}
wrong_by_variant = {wrong_text}
checks.close("chain_rule_ex9(a, b)", student=lambda: list(chain_rule_ex9(a, b)),
             expected=expected_by_variant[ex9.number], rtol={RULE_RTOL!r}, atol=1e-12,
             wrong=wrong_by_variant[ex9.number])
special_by_variant = {forbid!r}  # the special function of u, which its partials do not use
checks.method("chain_rule_ex9 is worked out by hand", function="chain_rule_ex9",
              forbid=checks.BY_HAND + (special_by_variant[ex9.number],))
{hidden("""
a = checks.points(seed=191, n=9, low=-3.0, high=3.0)
b = checks.points(seed=192, n=9, low=-3.0, high=3.0)
ta, tb = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
du_da, du_db = torch.autograd.grad(ex9.f(ta, tb).sum(), (ta, tb))
checks.close("chain_rule_ex9(a, b) at hidden points", student=lambda: list(chain_rule_ex9(a, b)),
             expected=lambda: torch.stack([du_da, du_db]), rtol=1e-13, atol=1e-11)
""")}''', "ex9_chain_tests", 3))
    return cells


def ex10_cells() -> list:
    cells = [md(r'''
## Exercise 10 (3 points): the derivative of an inverse function

Your $f_{10}$, shown by the cell below (given above as `f10`), is increasing, so it has an inverse $f_{10}^{-1}$, but no simple formula for it: `f10_inverse(y)`, given above, computes it numerically.
Differentiating both sides of $f^{-1}(f(x)) = x$ gives a formula for $(f^{-1})'(y)$ in terms of $f'$ and $f^{-1}$.
### 10a (2 points)
Write `d_f10_inverse(y)`, the derivative of $f_{10}^{-1}$ at `y` (elementwise), **using that formula**: your function calls `f10_inverse`, and uses neither autograd nor a difference quotient (the check compares with the exact values to 13 digits and reads your code).
'''), show_cell("ex10", "your f10"), solution(SOL["ex10_inverse_solution"], "ex10_inverse_solution"),
        code("d_f10_inverse(torch.tensor([0.0, 2.0], dtype=torch.float64))")]
    y = f64([-7.3, -1.2, 0.0, 0.8, 2.0, 9.6])
    wants, wrongs = [], []
    for k in VARIANTS:
        ref = REFS[k]
        xs = ref["f10_inverse"](y)
        slope = 1 / ref["d_f10_inverse"](y)  # f10' at x = f10_inverse(y)
        wants.append(ref["d_f10_inverse"](y))
        at_y = eval(models.EX10_DERIVATIVE[k], {"torch": torch, "x": y})
        wrongs.append({"you evaluated f' at y; which x belongs to y?": 1 / at_y,
                       "the reciprocal is missing: recheck your derivation (10b)": slope,
                       "a sign error: f is increasing, and so is its inverse": -1 / slope})
        assert torch.allclose(xs, ps1_functions.inverse(ref["f10"], y), rtol=0, atol=0)
    wrong_text = wrong_by_variant(wrongs)
    cells.append(tests(f'''
# checks d_f10_inverse for your f10 at six points (float64, 13 digits), and that it uses the
# formula with f10_inverse
{variant_import("ex10")}y = torch.tensor({lit(y, 17)}, dtype=torch.float64)
expected_by_variant = {by_variant(wants, 22)}
wrong_by_variant = {wrong_text}
checks.close("d_f10_inverse(y)", student=lambda: d_f10_inverse(y),
             expected=expected_by_variant[ex10.number], rtol={RULE_RTOL!r}, atol={RULE_ATOL!r},
             wrong=wrong_by_variant[ex10.number])
{method("d_f10_inverse uses the formula, with f10_inverse", "d_f10_inverse",
        forbid=BY_HAND, require=("f10_inverse",))}{hidden("""
from calcgrad import ps1_functions

y = checks.points(seed=1101, n=9, low=-40.0, high=40.0)
root = ps1_functions.inverse(ex10.f, y).requires_grad_(True)  # f10(root) = y, by bisection
(slope,) = torch.autograd.grad(ex10.f(root).sum(), root)
checks.close("d_f10_inverse(y) at hidden points", student=lambda: d_f10_inverse(y),
             expected=lambda: 1 / slope, rtol=1e-13, atol=1e-15)
""")}''', "ex10_inverse_tests", 2))
    cells += [md(r'''
### 10b (1 point, written)
Derive the formula you used from $f^{-1}(f(x)) = x$.
'''), answer(r'''
**Model answer.**
Differentiate both sides of $f^{-1}(f(x)) = x$ with respect to $x$, using the chain rule on the left:
$(f^{-1})'(f(x)) \cdot f'(x) = 1$.
Where $f'(x) \neq 0$ this gives $(f^{-1})'(f(x)) = \frac{1}{f'(x)}$, and with $y = f(x)$, that is $x = f^{-1}(y)$:
$(f^{-1})'(y) = \frac{1}{f'(f^{-1}(y))}$.
For $f(x) = x^3 + x$ (variant 0), $f'(x) = 3x^2 + 1 > 0$, so $(f^{-1})'(y) = \frac{1}{3 f^{-1}(y)^2 + 1}$; for the other variants, put your $f_{10}'$ in the same place.

**Rubric (1 point).** 0.5 for the chain rule on $f^{-1}(f(x)) = x$; 0.5 for solving it at $x = f^{-1}(y)$, with $f' \neq 0$ named.
''', "ex10_derivation_answer", 1)]
    return cells


def ex11_cells() -> list:
    cells = [md(r'''
## Exercise 11 (3 points): choosing the step $h$

The lecture showed that a difference quotient loses accuracy when $h$ is too large (truncation error) and when $h$ is too small (round-off: $f(x+h) - f(x)$ cancels most digits).
Write `good_difference(f, x)`: a finite-difference estimate of $f'(x)$ at a float64 tensor `x`, with a step $h$ (and a quotient) of your choice, written by you (no autograd, no course helpers: the check reads your code).
It must be within $10^{-6}$ of $f'(x)$ (relative to $|f'(x)|$ where that is above 1) for smooth functions such as $e^x$, $\sin x$ and $\log x$ at moderate $x$.
'''), solution(SOL["ex11_step_solution"], "ex11_step_solution"),
        code("good_difference(torch.exp, torch.tensor([0.0], dtype=torch.float64)) - 1"
             "  # the error at x = 0")]
    xe = f64([-1.7, -0.8, -0.1, 0.4, 0.9, 1.3, 1.6, 1.9])
    xs = f64([0.35, 0.7, 1.0, 1.4, 1.8, 2.1, 2.5, 2.75])
    cells.append(tests(f'''
# checks good_difference on exp and sin at eight points each: within 1e-6 of the exact slope
from calcgrad import ps1_predicates

x = torch.tensor({lit(xe, 17)}, dtype=torch.float64)
exact = {lit(torch.exp(xe), 8)}  # exp, and its second and third derivatives
checks.holds("good_difference(torch.exp, x)", student=lambda: good_difference(torch.exp, x),
             predicate=ps1_predicates.difference_accuracy(exact, exact, exact),
             message="good_difference(torch.exp, x) is not within 1e-6 of the slope")
x = torch.tensor({lit(xs, 17)}, dtype=torch.float64)
slope = {lit(torch.cos(xs), 8)}
second = {lit(-torch.sin(xs), 9)}
third = {lit(-torch.cos(xs), 8)}
checks.holds("good_difference(torch.sin, x)", student=lambda: good_difference(torch.sin, x),
             predicate=ps1_predicates.difference_accuracy(slope, second, third),
             message="good_difference(torch.sin, x) is not within 1e-6 of the slope")
{method("good_difference is a difference quotient of your own", "good_difference", forbid=("autograd", "calcgrad"))}{hidden("""
x = checks.points(seed=1111, n=8, low=0.5, high=5.0)
checks.holds("good_difference(torch.log, x)", student=lambda: good_difference(torch.log, x),
             predicate=ps1_predicates.difference_accuracy(1 / x, -1 / x**2, 2 / x**3),
             message="good_difference(torch.log, x) is not within 1e-6 of the slope")
x = checks.points(seed=1112, n=8, low=-3.0, high=3.0)
checks.holds("good_difference(x**3 - 2x, x)",
             student=lambda: good_difference(lambda t: t**3 - 2 * t, x),
             predicate=ps1_predicates.difference_accuracy(3 * x**2 - 2, 6 * x, 6 + 0 * x),
             message="good_difference(x**3 - 2x, x) is not within 1e-6 of the slope")
x = checks.points(seed=1113, n=8, low=-6.0, high=6.0)
checks.holds("good_difference(torch.cos, x)", student=lambda: good_difference(torch.cos, x),
             predicate=ps1_predicates.difference_accuracy(-torch.sin(x), -torch.cos(x),
                                                          torch.sin(x)),
             message="good_difference(torch.cos, x) is not within 1e-6 of the slope")
""")}''', "ex11_step_tests", 3))
    cells.append(md('''
That is all: 40 points in total, 31 of them checked automatically.
Restart the kernel and run all cells before you submit.
'''))
    return cells


def build() -> list:
    cells = [md(INTRO), readonly(SETUP, "setup"), md(GIVEN_TEXT), readonly(GIVEN, "given_functions")]
    for part in (ex1_cells, ex2_cells, ex3_cells, ex4_cells, ex5_cells, ex6_cells, ex7_cells,
                 ex8_cells, ex9_cells, ex10_cells, ex11_cells):
        cells += part()
    for cell in cells:  # no blank line left where a method check is switched off
        cell.source = cell.source.replace("\n\n### BEGIN HIDDEN", "\n### BEGIN HIDDEN")
    return cells


def main() -> None:
    save(notebook(build()), str(TARGET))
    print(f"wrote {TARGET.relative_to(ROOT)} ({'with' if METHOD else 'without'} method checks)")


if __name__ == "__main__":
    main()

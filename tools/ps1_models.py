"""Model answers of problem set 1's per-student exercises, one per variant (instructors only).

calcgrad.ps1_functions holds each pool's functions (what the students see); the answers,
worked out by hand, are here: tools/build_ps1.py puts them in the reference solution
(dispatched on the variant) and computes the visible checks' data from them,
tools/build_ps1_examples.py gives each sample student their own, and
`calcgrad variants ps1_calculus --models` lists them. tests/test_variants_ps1.py checks each
one against autograd on its family. Variant 0 is the problem set as first written.
"""

from __future__ import annotations

# Exercise 5: `flat_point`, the one x in the family's interval where f5'(x) = 0.
EX5 = (
    "flat_point = 0.5  # f5'(x) = (1 - 2x) e^(-2x)",
    "flat_point = math.e  # f5'(x) = (1 - log x) / x**2",
    "flat_point = 3 * math.pi / 4  # f5'(x) = e^x (sin x + cos x)",
    "flat_point = math.sqrt(2)  # f5'(x) = (2 - x**2) / (2 + x**2)**2",
)

# Exercise 6: the body of df6(x).
EX6 = (
    "return 3 * x**2 + 1 / x**2",
    "return 2 * x - 2 / x**3",
    "return torch.exp(x) + 2 / x**2",
    "return torch.sin(x) + x * torch.cos(x) + 1 / x**2",
)

# Exercise 7: the body of grad_f7(x).
EX7 = (
    "return torch.stack([6 * x[0], 5 * torch.exp(x[1])])",
    "return torch.stack([2 * x[1]**2 - torch.sin(x[0]), 4 * x[0] * x[1]])",
    "return torch.stack([torch.exp(x[1]), x[0] * torch.exp(x[1]) + 3 * x[1]**2])",
    "return torch.stack([2 * x[0] / (1 + x[0]**2) + 4 * x[1], 4 * x[0]])",
)

# Exercise 9: the body of chain_rule_ex9(a, b); every variant names its partials alike.
EX9 = (
    """x, y, z = a * b, a + b**2, a**2 - b
du_dx, du_dy, du_dz = 2 * x * y, x**2, torch.cos(z)
du_da = du_dx * b + du_dy * 1 + du_dz * 2 * a
du_db = du_dx * a + du_dy * 2 * b + du_dz * (-1)
return du_da, du_db""",
    """x, y, z = a + b, a * b, 1 + a**2 + b**2
du_dx, du_dy, du_dz = y**2, 2 * x * y, 1 / z
du_da = du_dx * 1 + du_dy * b + du_dz * 2 * a
du_db = du_dx * 1 + du_dy * a + du_dz * 2 * b
return du_da, du_db""",
    """x, y, z = a - b**2, 2 * a * b, a**2 + b
du_dx, du_dy, du_dz = 2 * x - y, -x, 1 / (1 + z**2)
du_da = du_dx * 1 + du_dy * 2 * b + du_dz * 2 * a
du_db = du_dx * (-2 * b) + du_dy * 2 * a + du_dz * 1
return du_da, du_db""",
    """x, y, z = a**2 + b, a - b, a * b
du_dx, du_dy, du_dz = y**2, 2 * x * y, -torch.cos(z)
du_da = du_dx * 2 * a + du_dy * 1 + du_dz * b
du_db = du_dx * 1 + du_dy * (-1) + du_dz * a
return du_da, du_db""",
)

# Exercise 9: the partials (du/dx, du/dy, du/dz) and the inner derivatives
# ((dx/da, dy/da, dz/da), (dx/db, dy/db, dz/db)), for the checks' hints (the paths).
EX9_PATHS = (
    """x, y, z = a * b, a + b**2, a**2 - b
outer = (2 * x * y, x**2, torch.cos(z))
inner = ((b, 1 + 0 * a, 2 * a), (a, 2 * b, -1 + 0 * a))""",
    """x, y, z = a + b, a * b, 1 + a**2 + b**2
outer = (y**2, 2 * x * y, 1 / z)
inner = ((1 + 0 * a, b, 2 * a), (1 + 0 * a, a, 2 * b))""",
    """x, y, z = a - b**2, 2 * a * b, a**2 + b
outer = (2 * x - y, -x, 1 / (1 + z**2))
inner = ((1 + 0 * a, 2 * b, 2 * a), (-2 * b, 2 * a, 1 + 0 * a))""",
    """x, y, z = a**2 + b, a - b, a * b
outer = (y**2, 2 * x * y, -torch.cos(z))
inner = ((2 * a, 1 + 0 * a, b), (1 + 0 * a, -1 + 0 * a, a))""",
)

# Exercise 10: f10'(x), for the body of d_f10_inverse(y) (x = f10_inverse(y)).
EX10_DERIVATIVE = (
    "3 * x**2 + 1",
    "1 + torch.exp(x)",
    "2 + torch.cos(x)",
    "1 + torch.exp(x) + torch.exp(-x)",
)


def _indent(body: str, spaces: int = 4) -> str:
    return "\n".join(" " * spaces + line if line else line for line in body.splitlines())


def ex10_body(k: int) -> str:
    return f"x = f10_inverse(y)\nreturn 1 / ({EX10_DERIVATIVE[k]})"


def body(exercise: str, k: int) -> str:
    """Variant k's answer to `exercise` (a function body, or Exercise 5's assignment)."""
    return {"ex5": EX5, "ex6": EX6, "ex7": EX7, "ex9": EX9}[exercise][k] \
        if exercise != "ex10" else ex10_body(k)


def indented(exercise: str, k: int, spaces: int = 4) -> str:
    return _indent(body(exercise, k), spaces)


def model_answer(k: int, exercise: str = "") -> str:
    """For `calcgrad variants --models`: variant k's model answer."""
    names = {"ex5": "", "ex6": "def df6(x):\n", "ex7": "def grad_f7(x):\n",
             "ex9": "def chain_rule_ex9(a, b):\n", "ex10": "def d_f10_inverse(y):\n"}
    head = names[exercise]
    return head + (indented(exercise, k) if head else body(exercise, k))

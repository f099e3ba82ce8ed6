"""Write source/ps2_autograd/ps2_autograd.ipynb (maintainers only).

Run `.venv/bin/python tools/build_ps2_autograd.py`, review the diff, then `make release`.

Every "by autograd" exercise takes the function to differentiate as an argument, so that
the hidden checks can pass functions the student has never seen and a closed form cannot
answer them; where the method is the point, a `checks.method` check reads the code too.
Visible checks hold their expected values as literal data at the shown inputs, computed
here by running the reference solutions below (never reference code in the cell); the
dependency graph, whose exact value is the answer, is checked by its SHA-256.

Part B's function (Exercises 8 to 10) is each student's own (issue 14): the given cell takes
it from calcgrad.variants by the student's id, the test cells work out that variant's expected
values (visible: literal data for every variant; hidden: autograd through the variant's
nodes), and the reference solution holds every variant's model answer
(tools/ps2_part_b_models.py), chosen by `PART_B_VARIANT`.
"""
# ruff: noqa: E501 - the notebook's prose keeps one sentence per line

from __future__ import annotations

import math
import pprint
import re
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calcgrad import checks, variants  # noqa: E402
from tools import ps2_part_b_models as part_b_models  # noqa: E402
from tools.nbauthor import answer, code, md, notebook, readonly, save, solution, tests  # noqa: E402

TARGET = ROOT / "source" / "ps2_autograd" / "ps2_autograd.ipynb"


# ---------------------------------------------------------------------------------------
# Literal data for the visible checks
# ---------------------------------------------------------------------------------------

def plain(value):
    """Tensors (and nested lists/tuples/dicts of them) as plain Python floats."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64).tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, str):  # a digest
        return value
    return float(value)


def lit(value, indent: int = 0) -> str:
    """A Python literal of `value` (full float64 repr), wrapped to fit a cell."""
    text = pprint.pformat(plain(value), width=96 - indent, compact=True, sort_dicts=False)
    return text.replace("\n", "\n" + " " * indent)


def f64(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def f64_src(t: torch.Tensor) -> str:
    return f"torch.tensor({plain(t)!r}, dtype=torch.float64)"


# ---------------------------------------------------------------------------------------
# Reference solutions (the solution regions of the notebook) and given code
# ---------------------------------------------------------------------------------------

GIVEN_F_CONTROL = '''
def f_control(a):
    """The lecture's function: doubles a until its norm reaches 1000, then maybe scales by 100."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def f_grow(a):
    """Another function with a loop and a branch: it squares until the result is large."""
    b = a
    while b.norm() < 100:
        b = b * b + 1
    if b.sum() > 1000:
        return b / 10
    return torch.sqrt(b)
'''

GIVEN_G = '''
def g(x):
    """A map from R^3 to R^2."""
    return torch.stack([x[0] * x[1] ** 2, torch.exp(x[2]) * x[0] + torch.sin(x[1])])
'''

# Part B: each student's own function (calcgrad.variants), its nodes and its graph.
PART_B_FAMILIES = variants.PS2_PART_B
PART_B_GIVEN = '''
part_b = variants.exercise("ps2_autograd", "part_b")  # your function: it depends on your id
PART_B_VARIANT = part_b.number
f_part_b = part_b.f
part_b.show()  # your f, then its intermediate results a, b, ..., f
'''


def part_b_solution(signature: str, part: str) -> tuple:
    """A solution cell's (head, body) holding every variant's model answer."""
    body = []
    for k, model in enumerate(part_b_models.MODELS):
        branch = model[part].strip("\n").replace("\n", "\n    ")
        body.append(f"    if PART_B_VARIANT == {k}:\n    " + branch)
    return signature, "\n".join(body)


SOLUTIONS = {
    "ex1_grad_solution": ('''
def grad_of(f, x):
    """The gradient of the scalar function f at the point x, computed by autograd."""
    x = x.detach().clone().requires_grad_(True)
''', '''
    y = f(x)
    y.backward()
    return x.grad
'''),
    "ex2_accum_solution": ('''
def fresh_grad(f, x):
    """The gradient of the scalar function f at the leaf tensor x (which requires grad), by
    backward; afterwards x.grad holds exactly that gradient, whatever it held before."""
''', '''
    if x.grad is not None:
        x.grad.zero_()
    f(x).backward()
    return x.grad.clone()
'''),
    "ex3_detach_solution": ('''
def detach_grads(f, x):
    """(dz/dx, dy/dx) for y = f(x) (f elementwise), u = y.detach(), z = u * x, both by autograd."""
    x = x.detach().clone().requires_grad_(True)
''', '''
    y = f(x)
    u = y.detach()
    z = u * x
    z.sum().backward()
    dz_dx = x.grad.clone()
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad
'''),
    "ex4_second_solution": ('''
def second_derivative(f, x):
    """d^2 f / dx^2 at the points x (f acts elementwise), by autograd."""
    x = x.detach().clone().requires_grad_(True)
''', '''
    (first,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), x)
    return second
'''),
    "ex5_twice_solution": ('''
def grad_after_two_backwards(f, x):
    """x.grad after two backward passes through y = f(x) (the graph kept after the first)."""
    x = x.detach().clone().requires_grad_(True)
''', '''
    y = f(x)
    y.backward(retain_graph=True)
    y.backward()
    return x.grad
'''),
    "ex6_control_solution": ('''
def control_flow_grad(f, a):
    """The gradient of f(a).sum() with respect to a, for a tensor a of any shape, by autograd."""
    a = a.detach().clone().requires_grad_(True)
''', '''
    d = f(a)
    d.sum().backward()
    return a.grad
'''),
    "ex7_plot_solution": ('''
def plot_with_derivative(f, x):
    """Plot f and then its derivative (by autograd) at the points x; return the axes."""
''', '''
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], xlabel="x", legend=["f(x)", "f'(x)"])
'''),
    "ex9_chain_solution": part_b_solution('''
def df_dx_by_hand(x):
    """df/dx for your f (f_part_b), from the chain rule (no autograd)."""
''', "df"),
    "ex10_forward_solution": part_b_solution('''
def tangents_forward(x):
    """Forward order: {"a": da/dx, "b": db/dx, ..., "f": df/dx}, from x towards f."""
''', "forward"),
    "ex10_backward_solution": part_b_solution('''
def adjoints_backward(x):
    """Backward order: {"f": 1, "e": df/de, "d": df/dd, ..., "x": df/dx}, from f back to x."""
''', "backward"),
    "ex11_modes_solution": ('''
def jvp_of(f, x, u):
    """J u, the Jacobian of f at x times the vector u, by forward mode (torch.func.jvp)."""
''', '''
    _, tangent = torch.func.jvp(f, (x,), (u,))
    return tangent
''', '''


def vjp_of(f, x, v):
    """v^T J, the vector v times the Jacobian of f at x, by backward mode (backward(gradient=v))."""
    x = x.detach().clone().requires_grad_(True)
''', '''
    y = f(x)
    y.backward(gradient=v)
    return x.grad
'''),
}


def solution_source(gid: str) -> str:
    """The solution cell: signature and docstring outside the markers, the body inside."""
    parts = SOLUTIONS[gid]
    out = []
    for i in range(0, len(parts), 2):
        out.append(parts[i].strip("\n") + "\n    ### BEGIN SOLUTION\n" + parts[i + 1].strip("\n")
            + "\n    ### END SOLUTION")
    return "\n\n\n".join(out)


def reference_namespace() -> dict:
    """The given code and the reference solutions, run here to compute the checks' data."""
    from calcgrad import plotting

    ns = {"torch": torch, "math": math, "plotting": plotting}
    for src in (GIVEN_F_CONTROL, GIVEN_G):
        exec(src, ns)
    for gid, parts in SOLUTIONS.items():
        if not gid.startswith(("ex9", "ex10")):  # Part B's: per variant, part_b_models
            exec("".join(parts), ns)
    return ns


R = reference_namespace()


def cell(template: str, **values) -> str:
    """A test cell's source: `{name}` placeholders filled with literal data (indented to
    where they stand)."""
    def fill(match):
        value = values[match.group(1)]
        if isinstance(value, str) and match.group(2) == "s":
            return value
        line_start = template.rfind("\n", 0, match.start()) + 1
        column = match.start() - line_start
        one_line = lit(value, column)
        line = template[line_start:match.start()]
        if "\n" not in one_line or not line.endswith('": '):
            return one_line
        # A dict's value too long for the rest of the line: on the next lines, a little indented.
        indent = len(line) - len(line.lstrip()) + 4
        return "\n" + " " * indent + lit(value, indent)
    filled = re.sub(r"\{(\w+)(?::(s))?\}", fill, template)
    return "\n".join(line.rstrip() for line in filled.split("\n"))


# ---------------------------------------------------------------------------------------
# Exercise 1: the gradient of a scalar function
# ---------------------------------------------------------------------------------------

def two_xtx(t):
    return 2 * torch.dot(t, t)


def bumpy(t):
    return t[0] * torch.exp(t[1]) + torch.sin(t[2]) * t[1] ** 2


X1A = torch.arange(4.0)
X1B = f64(0.5, -1.0, 2.0)
EX1_TESTS = cell('''
# checks grad_of on y = 2 x^T x (float32) and a second function (float64, to 1e-10); hidden:
# functions you have not seen, in float32 and float64; and that grad_of uses autograd
x = torch.arange(4.0)
checks.close("grad_of(lambda t: 2 * torch.dot(t, t), torch.arange(4.0))",
             student=lambda: grad_of(lambda t: 2 * torch.dot(t, t), x),
             expected={e1a},
             wrong={"you returned y = f(x) itself, not its gradient": {w1a}})
x = {x1b:s}
checks.close("grad_of(lambda t: t[0] * torch.exp(t[1]) + torch.sin(t[2]) * t[1] ** 2, x)",
             student=lambda: grad_of(lambda t: t[0] * torch.exp(t[1]) + torch.sin(t[2]) * t[1] ** 2, x),
             expected={e1b},
             rtol=1e-10, atol=1e-12)
### BEGIN HIDDEN TESTS
def autograd_gradient(fn, t):
    t = t.detach().clone().requires_grad_(True)
    return torch.autograd.grad(fn(t), t)[0]

def ripple(t):
    return torch.sin(t * t).sum() + t[0] * t[-1]

def soft_norm(t):
    return torch.log1p(torch.exp(t)).sum() ** 2

x = checks.points(seed=1101, n=5)
checks.close("grad_of(ripple, x), a function you have not seen", student=lambda: grad_of(ripple, x),
             expected=lambda: autograd_gradient(ripple, x), rtol=1e-10, atol=1e-12)
x = checks.points(seed=1102, n=4, dtype=torch.float32)
checks.close("grad_of(soft_norm, x) in float32", student=lambda: grad_of(soft_norm, x),
             expected=lambda: autograd_gradient(soft_norm, x.double()), rtol=1e-5)
### END HIDDEN TESTS
checks.method("grad_of uses autograd", function="grad_of", require=("autograd",))
''', e1a=R["grad_of"](two_xtx, X1A), w1a=two_xtx(X1A), x1b=f64_src(X1B), e1b=R["grad_of"](bumpy, X1B))


# ---------------------------------------------------------------------------------------
# Exercise 2: gradients accumulate
# ---------------------------------------------------------------------------------------

X2A = f64(0.5, -1.0, 2.0)
X2B = f64(1.5, -0.5, 0.25)
G2A = 3 * X2A**2
G2B = torch.exp(X2B)
EX2_TESTS = cell('''
# checks three calls of fresh_grad on the same x, what x.grad holds afterwards, and an x that
# already holds a gradient; hidden: functions you have not seen; and that fresh_grad uses autograd
x = {x2a:s}.requires_grad_(True)
checks.close("three calls of fresh_grad(lambda t: (t**3).sum(), x) on the same x",
             student=lambda: [fresh_grad(lambda t: (t**3).sum(), x) for _ in range(3)],
             expected={e2a},
             wrong={"your gradient grows with every call: backward adds to x.grad; "
                    "clear x.grad before backward": {w2a_grow},
                    "all three results are the last x.grad: you did not clear x.grad before "
                    "backward, and you returned x.grad itself (the same tensor every time)":
                        {w2a_same},
                    "all results are zero: you cleared x.grad after reading it, and the tensor "
                    "you returned is x.grad itself; clear it before backward instead":
                        {w2a_zero}})
checks.close("x.grad after those three calls", student=lambda: x.grad,
             expected={e2a_grad},
             wrong={"x.grad holds the sum of your passes: clear it before backward":
                        {w2a_grad}})
x = {x2b:s}.requires_grad_(True)
x.grad = torch.full_like(x, 7.0)  # earlier work left a gradient in x.grad
checks.close("fresh_grad(lambda t: torch.exp(t).sum(), x), then x.grad, when x.grad held 7s",
             student=lambda: [fresh_grad(lambda t: torch.exp(t).sum(), x), x.grad],
             expected={e2b},
             wrong={"x.grad already held a gradient from earlier work and yours was added to "
                    "it: clear x.grad before backward": {w2b_added},
                    "x.grad still holds what it held before: run backward on f(x) with x "
                    "itself (not a copy), so that the gradient lands in x.grad": {w2b_copy}})
### BEGIN HIDDEN TESTS
def wobble(t):
    return (torch.sin(t) * t).sum()

def wobble_gradient(t):
    return torch.cos(t) * t + torch.sin(t)

x1 = checks.points(seed=2021, n=6, low=-3.0, high=3.0)
x = x1.clone().requires_grad_(True)
(x * x).sum().backward()  # earlier work leaves 2x in x.grad
checks.close("fresh_grad(wobble, x), then x.grad, when x.grad held 2x",
             student=lambda: [fresh_grad(wobble, x), x.grad],
             expected=lambda: [wobble_gradient(x1)] * 2, rtol=1e-10, atol=1e-12)
checks.close("fresh_grad(lambda t: t.prod(), x) right after, then x.grad",
             student=lambda: [fresh_grad(lambda t: t.prod(), x), x.grad],
             expected=lambda: [x1.prod() / x1] * 2, rtol=1e-10, atol=1e-12)
### END HIDDEN TESTS
checks.method("fresh_grad uses autograd", function="fresh_grad", require=("autograd",))
''', x2a=f64_src(X2A), e2a=[G2A] * 3, w2a_grow=[G2A, 2 * G2A, 3 * G2A], w2a_same=[3 * G2A] * 3,
    w2a_zero=[0 * G2A] * 3, e2a_grad=G2A, w2a_grad=3 * G2A, x2b=f64_src(X2B), e2b=[G2B, G2B],
    w2b_added=[G2B + 7, G2B + 7], w2b_copy=[G2B, torch.full_like(G2B, 7.0)])


# ---------------------------------------------------------------------------------------
# Exercise 3: detaching
# ---------------------------------------------------------------------------------------

X3A = f64(0.5, 1.5, 3.0)
X3B = f64(-1.0, 0.5, 2.0)


def ex3_data(f, df, x):
    dz, dy = R["detach_grads"](f, x)
    return dict(dz=dz, dy=dy, dz_attached=f(x) + x * df(x), dz_overwritten=df(x),
                dy_unzeroed=f(x) + df(x), dy_both=f(x) + x * df(x) + df(x))


D3A = ex3_data(lambda t: t * t, lambda t: 2 * t, X3A)
D3B = ex3_data(torch.sin, torch.cos, X3B)
EX3_TESTS_TEMPLATE = '''
x = {x:s}
checks.close("detach_grads({fn:s}, x)[0], the gradient of z = u * x",
             student=lambda: detach_grads({fn:s}, x)[0],
             expected={dz}, rtol=1e-10, atol=1e-12,
             wrong={"dz/dx came out as if u were not a constant: use `u = y.detach()`":
                        {dz_attached},
                    "your first gradient was overwritten by the second backward: it is x.grad "
                    "itself; keep a copy with `x.grad.clone()`": {dz_overwritten}})
checks.close("detach_grads({fn:s}, x)[1], the gradient of y = f(x)",
             student=lambda: detach_grads({fn:s}, x)[1],
             expected={dy}, rtol=1e-10, atol=1e-12,
             wrong={"x.grad still held dz/dx when you ran y.sum().backward(): clear x.grad in "
                    "between": {dy_unzeroed},
                    "u was not detached and x.grad was not cleared in between": {dy_both}})
'''


def ex3_block(fn: str, x: torch.Tensor, data: dict) -> str:
    return cell(EX3_TESTS_TEMPLATE.replace("{fn:s}", fn), x=f64_src(x), **data).strip("\n")


EX3_TESTS = "\n".join([
    "# checks both gradients of detach_grads on t * t and torch.sin: dz/dx (z = u * x, u detached)",
    "# and dy/dx; hidden: functions you have not seen; and that detach_grads uses autograd",
    ex3_block("lambda t: t * t", X3A, D3A),
    ex3_block("torch.sin", X3B, D3B),
    '''### BEGIN HIDDEN TESTS
def decay(t):
    return t * torch.exp(-t)

def decay_derivative(t):
    return (1 - t) * torch.exp(-t)

x = checks.points(seed=3031, n=7, low=-3.0, high=3.0)
checks.close("detach_grads(decay, x)[0], a function you have not seen",
             student=lambda: detach_grads(decay, x)[0],
             expected=lambda: decay(x), rtol=1e-10, atol=1e-12)
checks.close("detach_grads(decay, x)[1]", student=lambda: detach_grads(decay, x)[1],
             expected=lambda: decay_derivative(x), rtol=1e-10, atol=1e-12)
checks.close("detach_grads(torch.tanh, x)[1]", student=lambda: detach_grads(torch.tanh, x)[1],
             expected=lambda: 1 - torch.tanh(x) ** 2, rtol=1e-10, atol=1e-12)
### END HIDDEN TESTS
checks.method("detach_grads uses autograd", function="detach_grads", require=("autograd",))'''])


# ---------------------------------------------------------------------------------------
# Exercise 4: second derivatives
# ---------------------------------------------------------------------------------------

X4A = f64(0.5, 1.25, 2.0)
X4B = f64(-1.0, 0.25, 1.5)


def exp_sin(t):
    return torch.exp(t) * torch.sin(t)


EX4_TESTS = cell('''
# checks second_derivative to float64 precision (rtol 1e-10) on t**3 and on e^t sin t; hidden:
# functions you have not seen; and that second_derivative uses autograd
x = {x4a:s}
checks.close("second_derivative(lambda t: t**3, x)",
             student=lambda: second_derivative(lambda t: t**3, x),
             expected={e4a}, rtol=1e-10, atol=1e-12,
             wrong={"you returned the first derivative, not the second": {w4a_first},
                    "you got the first derivative plus the second: backward adds to x.grad, so "
                    "the second pass landed on top of the first; use torch.autograd.grad, or "
                    "copy and clear x.grad between the passes": {w4a_sum}})
x = {x4b:s}
checks.close("second_derivative(lambda t: torch.exp(t) * torch.sin(t), x)",
             student=lambda: second_derivative(lambda t: torch.exp(t) * torch.sin(t), x),
             expected={e4b}, rtol=1e-10, atol=1e-12,
             wrong={"you returned the first derivative, not the second": {w4b_first},
                    "you got the first derivative plus the second: the second pass landed on "
                    "top of the first in x.grad": {w4b_sum}})
### BEGIN HIDDEN TESTS
x = checks.points(seed=4041, n=8, low=-3.0, high=3.0)
checks.close("second_derivative(torch.sin, x)", student=lambda: second_derivative(torch.sin, x),
             expected=lambda: -torch.sin(x), rtol=1e-10, atol=1e-12,
             wrong={"you returned the first derivative, not the second": lambda: torch.cos(x)})
checks.close("second_derivative(lambda t: t * torch.exp(t), x)",
             student=lambda: second_derivative(lambda t: t * torch.exp(t), x),
             expected=lambda: (2 + x) * torch.exp(x), rtol=1e-10, atol=1e-12)
checks.close("second_derivative(torch.tanh, x)", student=lambda: second_derivative(torch.tanh, x),
             expected=lambda: -2 * torch.tanh(x) / torch.cosh(x) ** 2, rtol=1e-10, atol=1e-12)
### END HIDDEN TESTS
checks.method("second_derivative uses autograd", function="second_derivative",
              require=("autograd",))
''', x4a=f64_src(X4A), e4a=R["second_derivative"](lambda t: t**3, X4A), w4a_first=3 * X4A**2,
    w4a_sum=3 * X4A**2 + 6 * X4A, x4b=f64_src(X4B),
    e4b=R["second_derivative"](exp_sin, X4B),
    w4b_first=torch.exp(X4B) * (torch.sin(X4B) + torch.cos(X4B)),
    w4b_sum=torch.exp(X4B) * (torch.sin(X4B) + torch.cos(X4B)) + 2 * torch.exp(X4B) * torch.cos(X4B))


# ---------------------------------------------------------------------------------------
# Exercise 5: backward twice
# ---------------------------------------------------------------------------------------

X5B = f64(0.5, -1.0, 2.0)


def sin_times_first(t):
    return torch.sin(t).sum() * t[0]


EX5_TESTS = cell('''
# checks grad_after_two_backwards on y = 2 x^T x and on a second function; hidden: functions
# you have not seen; and that grad_after_two_backwards uses autograd
x = torch.arange(4.0)
checks.close("grad_after_two_backwards(lambda t: 2 * torch.dot(t, t), torch.arange(4.0))",
             student=lambda: grad_after_two_backwards(lambda t: 2 * torch.dot(t, t), x),
             expected={e5a},
             wrong={"you returned the gradient of a single pass: after two backward passes "
                    "x.grad holds their sum; did you clear x.grad in between, or run backward "
                    "only once?": {w5a}})
x = {x5b:s}
checks.close("grad_after_two_backwards(lambda t: torch.sin(t).sum() * t[0], x)",
             student=lambda: grad_after_two_backwards(lambda t: torch.sin(t).sum() * t[0], x),
             expected={e5b}, rtol=1e-10, atol=1e-12,
             wrong={"you returned the gradient of a single pass, not the sum of two passes":
                        {w5b}})
### BEGIN HIDDEN TESTS
def cubic_mix(t):
    return (t**3).sum() + t.prod()

def cubic_mix_gradient(t):
    return 3 * t**2 + t.prod() / t

x = checks.points(seed=5051, n=6, low=0.5, high=2.0)
checks.close("grad_after_two_backwards(cubic_mix, x), a function you have not seen",
             student=lambda: grad_after_two_backwards(cubic_mix, x),
             expected=lambda: 2 * cubic_mix_gradient(x), rtol=1e-10, atol=1e-12,
             wrong={"one pass's gradient: after two passes x.grad holds their sum":
                        lambda: cubic_mix_gradient(x)})
### END HIDDEN TESTS
checks.method("grad_after_two_backwards uses autograd", function="grad_after_two_backwards",
              require=("autograd",))
''', e5a=R["grad_after_two_backwards"](two_xtx, torch.arange(4.0)), w5a=4 * torch.arange(4.0),
    x5b=f64_src(X5B), e5b=R["grad_after_two_backwards"](sin_times_first, X5B),
    w5b=R["grad_of"](sin_times_first, X5B))


# ---------------------------------------------------------------------------------------
# Exercise 6: control flow
# ---------------------------------------------------------------------------------------

A6A = f64(0.3, -1.2, 0.8, 0.1)
A6B = torch.tensor([[0.5, -0.25], [1.5, 0.75]], dtype=torch.float64)


def a6b_src() -> str:
    return f"torch.tensor({plain(A6B)!r}, dtype=torch.float64)"


EX6_TESTS = cell('''
# checks control_flow_grad on f_control at a vector and on f_grow at a matrix; hidden: matrices,
# the other branch, functions you have not seen; and that control_flow_grad uses autograd
a = {a6a:s}
checks.close("control_flow_grad(f_control, a) for a vector a",
             student=lambda: control_flow_grad(f_control, a),
             expected={e6a}, rtol=1e-10, atol=1e-12,
             wrong={"your gradient is divided by the number of entries: you used d.mean(); "
                    "reduce d with a sum (or pass gradient=torch.ones_like(d))": {w6a_mean},
                    "you returned d = f(a) itself, not its gradient": {w6a_value}})
a = {a6b:s}
checks.close("control_flow_grad(f_grow, a) for a 2x2 matrix a",
             student=lambda: control_flow_grad(f_grow, a),
             expected={e6b}, rtol=1e-10, atol=1e-12,
             wrong={"your gradient is divided by the number of entries: you used d.mean()":
                        {w6b_mean},
                    "you returned d = f(a) itself, not its gradient": {w6b_value},
                    "d / a is the gradient of f_control only: f_grow is not a constant times a; "
                    "let autograd follow the path that ran": {w6b_ratio}})
### BEGIN HIDDEN TESTS
def f_reference(a):
    b = 2 * a
    while torch.linalg.norm(b) < 1000:
        b = 2 * b
    return b if b.sum() > 0 else 100 * b

def f_wiggle(a):
    steps = int(a.abs().sum().item()) % 3 + 1
    b = a
    for _ in range(steps):
        b = torch.sin(b) + b * b
    if b.mean() < 0:
        b = -b
    return b

def autograd_gradient(fn, t):
    t = t.detach().clone().requires_grad_(True)
    return torch.autograd.grad(fn(t).sum(), t)[0]

gen = torch.Generator().manual_seed(6061)
a = torch.randn(3, 4, generator=gen, dtype=torch.float64)
checks.close("control_flow_grad(f_control, a) for a 3x4 matrix a",
             student=lambda: control_flow_grad(f_control, a), expected=lambda: f_reference(a) / a,
             atol=1e-12, rtol=1e-10,
             wrong={"you used d.mean(), which divides the gradient by the number of entries":
                        lambda: f_reference(a) / a / a.numel()})
a = checks.points(seed=6062, n=4, low=0.1, high=1.0)  # -a has a negative sum: the branch with 100
checks.close("control_flow_grad(f_control, a) for a vector with a negative sum",
             student=lambda: control_flow_grad(f_control, -a), expected=lambda: f_reference(-a) / -a,
             atol=1e-12, rtol=1e-10)
a = torch.randn(2, 3, generator=gen, dtype=torch.float64)
checks.close("control_flow_grad(f_wiggle, a), a function you have not seen",
             student=lambda: control_flow_grad(f_wiggle, a),
             expected=lambda: autograd_gradient(f_wiggle, a), rtol=1e-10, atol=1e-12)
### END HIDDEN TESTS
checks.method("control_flow_grad uses autograd", function="control_flow_grad",
              require=("autograd",))
''', a6a=f64_src(A6A), e6a=R["control_flow_grad"](R["f_control"], A6A),
    w6a_mean=R["control_flow_grad"](R["f_control"], A6A) / 4, w6a_value=R["f_control"](A6A),
    a6b=a6b_src(), e6b=R["control_flow_grad"](R["f_grow"], A6B),
    w6b_mean=R["control_flow_grad"](R["f_grow"], A6B) / 4, w6b_value=R["f_grow"](A6B),
    w6b_ratio=R["f_grow"](A6B) / A6B)


# ---------------------------------------------------------------------------------------
# Exercise 7: a function and its derivative, plotted
# ---------------------------------------------------------------------------------------

X7 = torch.linspace(-math.pi, math.pi, 9, dtype=torch.float64)
X7B = f64(-1.0, -0.5, 0.0, 0.5, 1.0)
EX7_PLOT_TESTS = cell('''
# checks the curves of plot_with_derivative(torch.sin, x) at 9 points of [-pi, pi]: first
# [x, sin x], then [x, its derivative]; the same for t**3; a legend naming both; hidden: functions
# you have not seen
x = torch.linspace(-math.pi, math.pi, 9, dtype=torch.float64)
checks.close("the curves of plot_with_derivative(torch.sin, x), as [[x, y], [x, y']]",
             student=lambda: [[line["x"], line["y"]] for line
                              in checks.figure_data(plot_with_derivative(torch.sin, x))["lines"]],
             expected={e7}, rtol=1e-5, atol=1e-6,
             wrong={"your second curve is the function again, not its derivative": {w7_same},
                    "the two curves are in the other order: plot f first, then its derivative":
                        {w7_swapped}})
x = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=torch.float64)
checks.close("the curves of plot_with_derivative(lambda t: t**3, x)",
             student=lambda: [[line["x"], line["y"]] for line
                              in checks.figure_data(plot_with_derivative(lambda t: t**3, x))["lines"]],
             expected={e7b}, rtol=1e-5, atol=1e-6)
checks.holds("the legend of plot_with_derivative(torch.sin, x)",
             student=lambda: checks.figure_data(plot_with_derivative(torch.sin, x))["legend"],
             predicate=lambda names: len({str(n).strip() for n in names} - {""}) >= 2,
             message="the legend must name both curves: pass legend=[..., ...] to plotting.plot")
### BEGIN HIDDEN TESTS
def curves(ax):
    return [[curve["x"], curve["y"]] for curve in checks.figure_data(ax)["lines"]]

x = torch.linspace(-2.0, 2.0, 11, dtype=torch.float64)
checks.close("the curves of plot_with_derivative(torch.tanh, x), a function you have not seen",
             student=lambda: curves(plot_with_derivative(torch.tanh, x)),
             expected=lambda: [[x, torch.tanh(x)], [x, 1 / torch.cosh(x) ** 2]], rtol=1e-5, atol=1e-6)
x = checks.points(seed=7071, n=7, low=-1.5, high=1.5, dtype=torch.float32)
checks.close("the curves of plot_with_derivative(lambda t: t**3 - 2 * t, x) in float32",
             student=lambda: curves(plot_with_derivative(lambda t: t**3 - 2 * t, x)),
             expected=lambda: [[x, x**3 - 2 * x], [x, 3 * x**2 - 2]], rtol=1e-5, atol=1e-6)
### END HIDDEN TESTS
''', e7=[[X7, torch.sin(X7)], [X7, torch.cos(X7)]],
    w7_same=[[X7, torch.sin(X7)], [X7, torch.sin(X7)]],
    w7_swapped=[[X7, torch.cos(X7)], [X7, torch.sin(X7)]],
    e7b=[[X7B, X7B**3], [X7B, 3 * X7B**2]])

EX7_METHOD_TESTS = '''
# checks how plot_with_derivative gets the derivative: by autograd, with no cosine in the code
checks.method("plot_with_derivative gets the derivative from autograd, not from a formula",
              function="plot_with_derivative", require=("autograd",), forbid=("cos",))
'''


# ---------------------------------------------------------------------------------------
# Exercises 8-10: Part B's function
# ---------------------------------------------------------------------------------------

def parents_digests() -> dict:
    return {k: checks.sha256_of({n: sorted(v) for n, v in fam.parents.items()})
            for k, fam in enumerate(PART_B_FAMILIES)}


PART_B_IMPORT = """from calcgrad import variants
part_b = variants.exercise("ps2_autograd", "part_b")  # the variant of the id being graded"""

EX8_TESTS = cell('''
# checks the dependency graph of your f: the nodes, that parents come before their node, and the
# graph itself (held as a SHA-256 fingerprint per variant, so that the check does not show it)
{imports:s}
checks.equal("the nodes of parents", student=lambda: sorted(parents),
             expected=["a", "b", "c", "d", "e", "f"])
checks.holds("each node's parents are earlier names",
             student=lambda: {node: sorted(ups) for node, ups in parents.items()},
             predicate=lambda graph: all(
                 ups and all(up in ["x", "a", "b", "c", "d", "e", "f"][:"xabcdef".index(node)]
                             for up in ups) for node, ups in graph.items()),
             message="each node's list must be non-empty and hold only names computed before "
                     "the node (x, then a, b, ...)")
graph_digests = {digests}
checks.equal("parents matches your f",
             student=lambda: {node: sorted(ups) for node, ups in parents.items()},
             expected=checks.digest(graph_digests[part_b.number]))
''', imports=PART_B_IMPORT, digests=parents_digests())

X9 = f64(0.5, 1.25, 2.0, 3.0)


def per_variant(part: str, x: torch.Tensor) -> dict:
    """Variant k's model answer `part` at x, for every k."""
    return {k: part_b_models.function(k, part)(x) for k in range(len(PART_B_FAMILIES))}


EX9_TESTS = cell('''
# checks df_dx_by_hand for your f to float64 precision at x = 0.5, 1.25, 2, 3 (hidden: negative x
# and more points), and that it is worked out by hand: no autograd, no numerical or symbolic
# derivative
{imports:s}
x = {x9:s}
expected_by_variant = {e9}
wrong_by_variant = {
    0: {"the derivative of log(x^2) needs its inner derivative (chain rule)": {w9_inner},
        "check the sign of the derivative of 1/x": {w9_sign},
        "a term of the product rule is missing: (bc)' = b'c + bc'": {w9_product}},
}
checks.close("df_dx_by_hand(x)", student=lambda: df_dx_by_hand(x),
             expected=expected_by_variant[part_b.number], rtol=1e-11, atol=1e-12,
             wrong=wrong_by_variant.get(part_b.number))
### BEGIN HIDDEN TESTS
def autograd_derivative(t):
    t = t.detach().clone().requires_grad_(True)
    part_b.f(t).sum().backward()
    return t.grad

x = checks.points(seed=9091, n=8, low=-4.0, high=-0.3)
checks.close("df_dx_by_hand(x) at negative x", student=lambda: df_dx_by_hand(x),
             expected=lambda: autograd_derivative(x), rtol=1e-11, atol=1e-12)
x = checks.points(seed=9092, n=8, low=0.3, high=6.0)
checks.close("df_dx_by_hand(x) at random x", student=lambda: df_dx_by_hand(x),
             expected=lambda: autograd_derivative(x), rtol=1e-11, atol=1e-12)
### END HIDDEN TESTS
checks.method("df_dx_by_hand is worked out by hand", function="df_dx_by_hand",
              forbid=checks.BY_HAND)
''', imports=PART_B_IMPORT, x9=f64_src(X9), e9=per_variant("df", X9),
    w9_inner=torch.sin(X9) / X9**2 + torch.log(X9**2) * torch.cos(X9) - 1 / X9**2,
    w9_sign=2 / X9 * torch.sin(X9) + torch.log(X9**2) * torch.cos(X9) + 1 / X9**2,
    w9_product=torch.log(X9**2) * torch.cos(X9) - 1 / X9**2)

X10 = f64(0.5, 1.25, 2.0, 3.0)
EX10_FORWARD_TESTS = cell('''
# checks every tangent of tangents_forward (d node / dx) for your f at x = 0.5, 1.25, 2, 3
# (hidden: negative x), and that it uses local derivatives only: no autograd
{imports:s}
x = {x10:s}
tangents_by_variant = {t10}
wrong_by_variant = {
    0: {"b": {"db/dx must carry da/dx along (chain rule)": {wt_b}},
        "d": {"a term of the product rule is missing": {wt_d}},
        "e": {"check the sign of the derivative of 1/x": {wt_e}}},
}
for node in "abcdef":
    checks.close(f"tangents_forward(x)[{node!r}]", student=lambda: tangents_forward(x)[node],
                 expected=tangents_by_variant[part_b.number][node], rtol=1e-11, atol=1e-12,
                 wrong=wrong_by_variant.get(part_b.number, {}).get(node))
### BEGIN HIDDEN TESTS
def reference_tangent(t, name):
    t = t.detach().clone().requires_grad_(True)
    return torch.autograd.grad(part_b.nodes(t)[name].sum(), t)[0]

x = checks.points(seed=10101, n=8, low=-4.0, high=-0.3)
for name in "abcdef":
    checks.close(f"tangents_forward(x)[{name!r}] at negative x",
                 student=lambda: tangents_forward(x)[name],
                 expected=lambda: reference_tangent(x, name), rtol=1e-11, atol=1e-12)
### END HIDDEN TESTS
checks.method("tangents_forward uses local derivatives, not autograd", function="tangents_forward",
              forbid=checks.BY_HAND)
''', imports=PART_B_IMPORT, x10=f64_src(X10), t10=per_variant("forward", X10), wt_b=1 / X10**2,
    wt_d=torch.log(X10**2) * torch.cos(X10), wt_e=1 / X10**2)

EX10_BACKWARD_TESTS = cell('''
# checks every adjoint of adjoints_backward (df / d node) for your f at x = 0.5, 1.25, 2, 3
# (hidden: negative x), and that it uses local derivatives only: no autograd
{imports:s}
x = {x10:s}
adjoints_by_variant = {a10}
wrong_by_variant = {
    0: {"a": {"df/da must carry the adjoint of b along": {wa_a}},
        "x": {"df/dx adds up every path from x to f: one is missing": {wa_x}}},
}
for node in "fedcbax":
    checks.close(f"adjoints_backward(x)[{node!r}]", student=lambda: adjoints_backward(x)[node],
                 expected=adjoints_by_variant[part_b.number][node], rtol=1e-11, atol=1e-12,
                 wrong=wrong_by_variant.get(part_b.number, {}).get(node))
### BEGIN HIDDEN TESTS
def reference_adjoint(t, name):
    nodes = part_b.nodes(t.detach().clone().requires_grad_(True))
    if name == "f":
        return torch.ones_like(t)
    return torch.autograd.grad(nodes["f"].sum(), nodes[name])[0]

x = checks.points(seed=10201, n=8, low=-4.0, high=-0.3)
for name in "fedcbax":
    checks.close(f"adjoints_backward(x)[{name!r}] at negative x",
                 student=lambda: adjoints_backward(x)[name],
                 expected=lambda: reference_adjoint(x, name), rtol=1e-11, atol=1e-12)
### END HIDDEN TESTS
checks.method("adjoints_backward uses local derivatives, not autograd",
              function="adjoints_backward", forbid=checks.BY_HAND)
''', imports=PART_B_IMPORT, x10=f64_src(X10), a10=per_variant("backward", X10), wa_a=1 / X10**2,
    wa_x=2 / X10 * torch.sin(X10) + torch.log(X10**2) * torch.cos(X10))


# ---------------------------------------------------------------------------------------
# Exercise 11: forward and backward mode
# ---------------------------------------------------------------------------------------

X11 = f64(0.5, -1.0, 0.25)
U11 = f64(1.0, 2.0, -0.5)
V11 = f64(-1.5, 0.75)
X11H = f64(0.8, -0.3)
U11H = f64(0.5, 2.0)
V11H = f64(1.0, -2.0, 0.5)


def h11(t):
    return torch.stack([t[0] * t[1], torch.sin(t[0]), t[1] ** 3])


def jacobian(fn, x):
    return torch.autograd.functional.jacobian(fn, x)


H11_SRC = "lambda t: torch.stack([t[0] * t[1], torch.sin(t[0]), t[1] ** 3])"
EX11_JVP_TESTS = cell('''
# checks jvp_of(f, x, u) = J u on g and on a map from R^2 to R^3; hidden: maps you have not
# seen; and that jvp_of uses forward mode (no full Jacobian, no backward pass)
x = {x11:s}
u = {u11:s}
checks.close("jvp_of(g, x, u)", student=lambda: jvp_of(g, x, u),
             expected={e11}, rtol=1e-10, atol=1e-12,
             wrong={"you returned g(x), the first output of torch.func.jvp; the second one is J u":
                        {w11_value},
                    "you swapped the point and the direction: jvp(f, (x,), (u,)) evaluates J at "
                    "x and multiplies by u": {w11_swapped}})
x = {x11h:s}
u = {u11h:s}
checks.close("jvp_of({h:s}, x, u)",
             student=lambda: jvp_of({h:s}, x, u),
             expected={e11h}, rtol=1e-10, atol=1e-12)
### BEGIN HIDDEN TESTS
def warp(t):
    return torch.stack([t[0] * t[1] * t[2], torch.sin(t).sum() * t[3], torch.exp(t[1] - t[3])])

gen = torch.Generator().manual_seed(11111)
for _ in range(3):
    x = torch.randn(4, generator=gen, dtype=torch.float64)
    u = torch.randn(4, generator=gen, dtype=torch.float64)
    checks.close("jvp_of(warp, x, u), a map you have not seen", student=lambda: jvp_of(warp, x, u),
                 expected=lambda: torch.func.jacrev(warp)(x) @ u, rtol=1e-10, atol=1e-12)
### END HIDDEN TESTS
checks.method("jvp_of uses forward mode", function="jvp_of", require=("forward_mode",),
              forbid=("jacobian", "reverse_mode"))
''', x11=f64_src(X11), u11=f64_src(U11), e11=jacobian(R["g"], X11) @ U11, w11_value=R["g"](X11),
    w11_swapped=jacobian(R["g"], U11) @ X11, x11h=f64_src(X11H), u11h=f64_src(U11H), h=H11_SRC,
    e11h=jacobian(h11, X11H) @ U11H)

EX11_VJP_TESTS = cell('''
# checks vjp_of(f, x, v) = v^T J on g and on a map from R^2 to R^3; hidden: maps you have not
# seen; and that vjp_of uses backward mode (no full Jacobian)
x = {x11:s}
v = {v11:s}
checks.close("vjp_of(g, x, v)", student=lambda: vjp_of(g, x, v),
             expected={e11}, rtol=1e-10, atol=1e-12,
             wrong={"you computed 1^T J (y.sum().backward()), not v^T J: pass gradient=v":
                        {w11_ones}})
x = {x11h:s}
v = {v11h:s}
checks.close("vjp_of({h:s}, x, v)",
             student=lambda: vjp_of({h:s}, x, v),
             expected={e11h}, rtol=1e-10, atol=1e-12)
### BEGIN HIDDEN TESTS
def warp(t):
    return torch.stack([t[0] * t[1] * t[2], torch.sin(t).sum() * t[3], torch.exp(t[1] - t[3])])

gen = torch.Generator().manual_seed(11211)
for _ in range(3):
    x = torch.randn(4, generator=gen, dtype=torch.float64)
    v = torch.randn(3, generator=gen, dtype=torch.float64)
    checks.close("vjp_of(warp, x, v), a map you have not seen", student=lambda: vjp_of(warp, x, v),
                 expected=lambda: v @ torch.func.jacrev(warp)(x), rtol=1e-10, atol=1e-12)
### END HIDDEN TESTS
checks.method("vjp_of uses backward mode", function="vjp_of", require=("reverse_mode",),
              forbid=("jacobian",))
''', x11=f64_src(X11), v11=f64_src(V11), e11=V11 @ jacobian(R["g"], X11),
    w11_ones=torch.ones(2, dtype=torch.float64) @ jacobian(R["g"], X11), x11h=f64_src(X11H),
    v11h=f64_src(V11H), h=H11_SRC, e11h=V11H @ jacobian(h11, X11H))


# ---------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------

INTRO = r'''
# Problem set 2: Automatic differentiation

This problem set follows the lecture `notebooks/02_autograd.ipynb` (§2.5 of *Dive into Deep Learning*).
Fill in every cell that says `YOUR CODE HERE` or `YOUR ANSWER HERE`.
After each exercise, run its check cell: it prints ✔ when your answer is right and says what is wrong when it is not.
Hidden checks use other inputs when your work is graded; where an exercise takes a function as an argument, they also pass functions you have not seen.
Each exercise says how to compute its answer (by autograd, forward mode, backward mode, or by hand), and its check cell reads your code for that method: an answer that dodges it loses the cell's points.

Before you submit, restart the kernel and run all cells (*Kernel → Restart Kernel and Run All Cells*).

| Part | Exercise | Points |
|---|---|---|
| A: the lecture's moves | 1. The gradient of a scalar function | 2 |
| | 2. Gradients accumulate | 2 |
| | 3. Detaching | 2 |
| B: the book's exercises | 4. Second derivatives (book 1) | 2 + 1 written |
| | 5. Backward twice (book 2) | 2 + 1 written |
| | 6. Control flow with a vector or matrix (book 3) | 2 + 1 written |
| | 7. A function and its derivative, plotted (book 4) | 3 |
| | 8. A dependency graph (book 5) | 1 |
| | 9. The chain rule by hand (book 6) | 2 |
| | 10. Forward and backward order (book 7) | 4 |
| | 11. Forward versus backward mode (book 8) | 4 + 1 written |
| **Total** | | **30** (26 checked automatically, 4 written answers graded by hand) |
'''

SETUP = '''
import math

import numpy as np
import torch

from calcgrad import checks, plotting, variants

variants.introduce("ps2_autograd")  # your id, and your own function for Exercises 8 to 10
'''


def rubric(model: str, points: str) -> str:
    return f"**Model answer.**\n{model.strip()}\n\n**Rubric (1 point).**\n{points.strip()}"


EX4_ANSWER = rubric(r'''
The first backward pass only has to produce numbers, so autograd can free the graph as it goes.
For a second derivative the first pass must itself be recorded (`create_graph=True`): every operation of the backward pass becomes a new node, its intermediate values are kept, and the graph to differentiate is the forward graph plus the backward graph, roughly twice as large.
The second pass then runs backward through all of that.
For a function of $n$ inputs the full second derivative (the Hessian) has $n^2$ entries and takes one such pass per row, against a single pass for the whole gradient.
''', '''
- 0.5: the first pass must be recorded as a graph (`create_graph=True`), so more is stored and the second pass runs through the forward and the backward graph.
- 0.5: the count: a full Hessian needs one pass per input (n passes, n² entries), a gradient one pass.
''')

EX5_ANSWER = rubric(r'''
The second call raises `RuntimeError: Trying to backward through the graph a second time`.
To save memory, the first backward pass frees the intermediate values each node saved for its gradient (here the `x` that `dot` saved), so the graph cannot be traversed again; `retain_graph=True` keeps them, and then the second pass adds the same gradient again: `x.grad` doubles.
For `y = x.sum()` the gradient is all ones whatever `x` is: `sum` saves no tensors for its backward, so there is nothing to free and a second pass works (and again doubles `x.grad`).
''', '''
- 0.5: the error, and why: the first pass frees the saved intermediate values (`retain_graph=True` keeps them).
- 0.5: `sum` saves nothing for its backward (its gradient does not depend on `x`), so nothing is freed.
''')

EX6_ANSWER = rubric(r'''
With a vector or matrix `a`, `d = f_control(a)` is a tensor of the same shape, and `d.backward()` fails: backward needs a scalar, or a vector $\mathbf{v}$ (`gradient=v`) to form $\mathbf{v}^\top J$.
Summing (or `gradient=torch.ones_like(d)`) gives, for each entry, the derivative of the sum, here $\partial d_i / \partial a_i$, because $d$ depends on each $a_i$ only through the same entry.
The loop and the branch only choose a number: `d = k * a` with $k = 2^m$ or $100 \cdot 2^m$, where $m$ and the branch depend on `a`'s norm and sum.
Autograd records only the operations that ran, so it differentiates this one path, a constant times `a`: the gradient is $k$ in every entry, that is `d / a` (entrywise, for nonzero entries).
The Jacobian of $d$ is $k I$; $k$ is piecewise constant, so $f$ jumps where the number of doublings or the branch changes, and there the derivative does not exist, though autograd still reports $k$.
''', '''
- 0.5: `d` is no longer a scalar: backward needs a reduction (sum) or `gradient=v`, and then gives $\\mathbf{v}^\\top J$ (the sum's gradient).
- 0.5: the analysis: the control flow only picks a constant factor $k$ along the path that ran, so the gradient is $k$ = `d / a` entrywise (piecewise; no derivative where the path changes).
''')

EX11_ANSWER = rubric(r'''
One forward pass gives one column of the Jacobian ($J\mathbf{u}$), one backward pass gives one row ($\mathbf{v}^\top J$).
For $f: \mathbb{R}^n \to \mathbb{R}^m$ the full Jacobian costs $n$ forward passes or $m$ backward passes, so forward mode wins when there are few inputs and many outputs, backward mode when there are many inputs and few outputs, above all a scalar loss of millions of parameters, which is why deep learning uses backward mode.
Forward mode carries the tangent along with the values and can forget each intermediate value as soon as it is used; backward mode must store the whole forward graph (memory grows with the depth of the computation) before it can start.
The $n$ forward passes (or $m$ backward passes) are independent of each other and can run in parallel, while the steps within one pass run in sequence.
''', '''
- 0.5: sizes: forward mode for few inputs / many outputs, backward mode for many inputs / few outputs (a scalar loss).
- 0.5: memory or parallelism: backward mode stores the forward graph, forward mode can drop values as it goes; the passes are independent and can run in parallel.
''')


def build() -> list:
    cells = [
        md(INTRO),
        readonly(SETUP, "setup"),
        md("# Part A: the lecture's moves"),
        md(r'''
## Exercise 1 (2 points): the gradient of a scalar function, by autograd

Write `grad_of(f, x)`: the gradient of a scalar-valued function `f` at the point `x` (a 1-D tensor, float32 or float64), computed by autograd.
Make a copy of `x` that requires grad, compute `y = f(x)`, run `backward` (or `torch.autograd.grad`), and return the gradient.
The demo uses the lecture's $y = 2\mathbf{x}^\top\mathbf{x}$, whose gradient is $4\mathbf{x}$.
The checks call `grad_of` with functions you have not seen, and read your code: it must use autograd.
'''),
        solution(solution_source("ex1_grad_solution"), "ex1_grad_solution"),
        code("grad_of(lambda x: 2 * torch.dot(x, x), torch.arange(4.0))  # should be 4 * x = [0, 4, 8, 12]"),
        tests(EX1_TESTS, "ex1_grad_tests", 2),
        md(r'''
## Exercise 2 (2 points): gradients accumulate

`backward` adds the new gradient to whatever `x.grad` already holds.
Write `fresh_grad(f, x)` for a leaf tensor `x` that already requires grad and a scalar-valued function `f`: run `backward` on `f(x)`, with `x` itself, so that afterwards `x.grad` holds exactly the gradient of `f` at `x`, and return that gradient.
`x` may already hold a gradient from earlier work, and `fresh_grad` may be called again and again on the same `x`: every call must return the gradient of its `f`, and leave exactly that in `x.grad`.
The checks call it with functions you have not seen, look at `x.grad` after each call, and read your code: it must use autograd.
'''),
        solution(solution_source("ex2_accum_solution"), "ex2_accum_solution"),
        code('''
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
cube = lambda t: (t**3).sum()
fresh_grad(cube, x), fresh_grad(cube, x), x.grad  # all three should be [3, 12, 27]
'''),
        tests(EX2_TESTS, "ex2_accum_tests", 2),
        md(r'''
## Exercise 3 (2 points): detaching

Write `detach_grads(f, x)` for an elementwise function `f`: with $y = f(x)$, $u$ = `y.detach()` and $z = u \cdot x$ (elementwise), return the pair `(dz_dx, dy_dx)`, both computed by autograd.
Run `z.sum().backward()` first and keep a copy of that gradient; then clear `x.grad` and run `y.sum().backward()`.
Since $u$ is a constant for autograd, `dz_dx` should be $u$, while `y` keeps its own graph: `dy_dx` is $f'(x)$.
The checks call it with functions you have not seen, and read your code: it must use autograd.
'''),
        solution(solution_source("ex3_detach_solution"), "ex3_detach_solution"),
        code("detach_grads(lambda t: t * t, torch.arange(4.0))  # should be ([0, 1, 4, 9], [0, 2, 4, 6])"),
        tests(EX3_TESTS, "ex3_detach_tests", 2),
        md('''
# Part B: the book's exercises

Exercises 4 to 11 are the eight exercises at the end of §2.5 of the book, in order.
'''),
        md(r'''
## Exercise 4 (2 points + 1 written): second derivatives

Write `second_derivative(f, x)`: the second derivative of an elementwise function `f` at the points `x`, by autograd.
Differentiate once with `create_graph=True`, so that the first derivative is itself a graph, then differentiate it again.
Use `torch.autograd.grad` for both passes: it returns the gradient instead of adding it to `x.grad`, which keeps the two passes apart (and `backward(create_graph=True)` prints a warning).
The checks pass float64 points and want float64 precision (a relative error below $10^{-10}$, which no difference quotient reaches), call it with functions you have not seen, and read your code: it must use autograd.
'''),
        solution(solution_source("ex4_second_solution"), "ex4_second_solution"),
        code("second_derivative(lambda t: t**3, torch.tensor([1.0, 2.0]))  # should be 6x = [6, 12]"),
        tests(EX4_TESTS, "ex4_second_tests", 2),
        md("**Written (1 point).** Why does a second derivative cost more than a first derivative? Answer in two to four sentences."),
        answer(EX4_ANSWER, "ex4_cost_answer", 1),
        md(r'''
## Exercise 5 (2 points + 1 written): backward twice

Predict what `x.grad` holds after running `backward` twice on the same $y$, then check your prediction.
Write `grad_after_two_backwards(f, x)` for a scalar-valued function `f`: compute $y = f(x)$, run `y.backward(retain_graph=True)`, run `y.backward()` again, and return `x.grad`.
The demo uses $y = 2\mathbf{x}^\top\mathbf{x}$; the checks call it with functions you have not seen, and read your code: it must use autograd.
'''),
        solution(solution_source("ex5_twice_solution"), "ex5_twice_solution"),
        code("grad_after_two_backwards(lambda x: 2 * torch.dot(x, x), torch.arange(4.0))"),
        tests(EX5_TESTS, "ex5_twice_tests", 2),
        md('''
**Written (1 point).** What happens when you run `y.backward()` twice *without* `retain_graph=True`, and why?
Why does `y = x.sum()` not raise the error?
'''),
        answer(EX5_ANSWER, "ex5_error_answer", 1),
        md(r'''
## Exercise 6 (2 points + 1 written): control flow with a vector or matrix

`f_control` below is the lecture's function with a `while` loop and an `if`; `f_grow` is another one.
Write `control_flow_grad(f, a)`: the gradient, by autograd, of `f(a).sum()` with respect to `a`, for a tensor `a` of any shape (a vector, a matrix).
`d = f(a)` is then a tensor, so reduce it to a scalar before `backward`, and return the gradient.
The checks call it with `f_control`, `f_grow` and functions you have not seen, and read your code: it must use autograd.
'''),
        readonly(GIVEN_F_CONTROL, "given_f_control"),
        solution(solution_source("ex6_control_solution"), "ex6_control_solution"),
        code('''
a = torch.randn(3, generator=torch.Generator().manual_seed(0))
control_flow_grad(f_control, a), f_control(a)  # the gradient, and d
'''),
        tests(EX6_TESTS, "ex6_control_tests", 2),
        md('''
**Written (1 point).** The book asks: in the control-flow example, what happens when `a` is a random vector or a matrix, so that `d = f_control(a)` is no longer a scalar?
What is the gradient of `f_control` with respect to `a`, and why, given its `while` loop and its `if`?
Compare `control_flow_grad(f_control, a)` with `d` in the demo above. Answer in three to five sentences.
'''),
        answer(EX6_ANSWER, "ex6_control_answer", 1),
        md(r'''
## Exercise 7 (3 points): a function and its derivative, plotted

The book asks for a plot of $\sin x$ and its derivative, computed by autograd rather than from the fact that it is $\cos x$.
Write `plot_with_derivative(f, x)`: plot the elementwise function `f` and then its derivative at the points `x` (a 1-D tensor), with `plotting.plot`: first the curve of `f`, then the curve of $f'$, both against `x` (and no other line), with a legend that names both; return the axes `plotting.plot` gives back.
Get the derivative from autograd, in one backward pass, without any formula for it: no cosine anywhere in your code.
The checks call it with `torch.sin` and with functions you have not seen (2 points), and read your code: it must use autograd and no cosine (1 point).
'''),
        solution(solution_source("ex7_plot_solution"), "ex7_plot_solution"),
        code("plot_with_derivative(torch.sin, torch.linspace(-math.pi, math.pi, 100));"),
        tests(EX7_PLOT_TESTS, "ex7_plot_tests", 2),
        tests(EX7_METHOD_TESTS, "ex7_method_tests", 1),
        md(r'''
## Exercise 8 (1 point): the dependency graph of your f

For the rest of Part B you work with **your own function** $f$: every student has one of several functions, chosen by your id (the setup cell at the top printed it), so your answers are yours.
The cell below shows your $f$ (it is `f_part_b`) and its intermediate results $a, b, \dots, f$, computed in that order from $x$.
When your work is graded, the checks use the function of the id you submit under.

Write the dependency graph from $x$ to $f$ as a dict `parents`: for each of `"a"` to `"f"` (and no other key), the list of the names it is computed from directly (`"x"` is the input).
The order within a list does not matter.
You may also draw it (on paper, or in a markdown cell below).
The check compares your graph with the right one without showing it: it holds only a fingerprint (a SHA-256) of the answer.
'''),
        readonly(PART_B_GIVEN, "given_f_part_b"),
        solution("### BEGIN SOLUTION\n" + "\n".join(
            f"if PART_B_VARIANT == {k}:\n    " + part_b_models.parents_source(k)
            for k in range(len(PART_B_FAMILIES))) + "\n### END SOLUTION", "ex8_graph_solution"),
        code("parents"),
        tests(EX8_TESTS, "ex8_graph_tests", 1),
        md(r'''
## Exercise 9 (2 points): the chain rule by hand

Write `df_dx_by_hand(x)`: $\frac{df}{dx}$ for your $f$ (shown again below), worked out with the chain rule and the product (or quotient) rule and coded as a formula.
Work it out by hand: the check reads your code, and autograd, a numerical derivative or a symbolic one loses the points.
The checks pass float64 points, positive and negative, and want float64 precision (a relative error below $10^{-11}$).
'''),
        code("part_b  # your f"),
        solution(solution_source("ex9_chain_solution"), "ex9_chain_solution"),
        code("df_dx_by_hand(torch.tensor([1.0, 2.0], dtype=torch.float64))"),
        tests(EX9_TESTS, "ex9_chain_tests", 2),
        md(r'''
## Exercise 10 (4 points): forward and backward order

With the graph of your $f$ (Exercise 8), evaluate its derivative in two orders, using only local derivatives (no autograd: the checks read your code).

- **Forward** (from $x$ to $f$): `tangents_forward(x)` returns $\frac{da}{dx}, \frac{db}{dx}, \dots, \frac{df}{dx}$ as a dict `{"a": ..., ..., "f": ...}`; each comes from the tangents of the node's parents, e.g. if $b = \log a$, then $\frac{db}{dx} = \frac{1}{a}\frac{da}{dx}$.
- **Backward** (from $f$ to $x$): `adjoints_backward(x)` returns $\frac{\partial f}{\partial f} = 1, \frac{\partial f}{\partial e}, \frac{\partial f}{\partial d}, \dots, \frac{\partial f}{\partial x}$ as a dict `{"f": ..., "e": ..., "d": ..., "c": ..., "b": ..., "a": ..., "x": ...}`; each comes from the adjoints of the node's children, e.g. if $a$ is used only by $b = \log a$, then $\frac{\partial f}{\partial a} = \frac{\partial f}{\partial b}\frac{1}{a}$.

Every value is a tensor shaped like `x` (use `torch.ones_like(x)` for the ones).
Both orders end with the same $\frac{df}{dx}$.
The checks pass float64 points, positive and negative, and want float64 precision.
'''),
        code("part_b.show()  # your f and its intermediate results"),
        solution(solution_source("ex10_forward_solution"), "ex10_forward_solution"),
        solution(solution_source("ex10_backward_solution"), "ex10_backward_solution"),
        code('''
x = torch.tensor([1.0, 2.0], dtype=torch.float64)
tangents_forward(x)["f"], adjoints_backward(x)["x"]  # the same derivative, two ways
'''),
        tests(EX10_FORWARD_TESTS, "ex10_forward_tests", 2),
        tests(EX10_BACKWARD_TESTS, "ex10_backward_tests", 2),
        md(r'''
## Exercise 11 (4 points + 1 written): forward versus backward mode

For a map $f: \mathbb{R}^n \to \mathbb{R}^m$ with Jacobian $J$ ($m \times n$), forward mode computes a Jacobian–vector product $J\mathbf{u}$ in one pass, backward mode a vector–Jacobian product $\mathbf{v}^\top J$ in one pass.
`g` below maps $\mathbb{R}^3$ to $\mathbb{R}^2$.

- `jvp_of(f, x, u)`: $J\mathbf{u}$ (a vector of $m$) by forward mode, e.g. with `torch.func.jvp`.
- `vjp_of(f, x, v)`: $\mathbf{v}^\top J$ (a vector of $n$) by backward mode, e.g. with `backward(gradient=v)`.

Neither may build the full Jacobian: the checks read your code (forward mode for `jvp_of`, no backward pass there; backward mode for `vjp_of`), and call both with `g`, another map, and maps you have not seen.
'''),
        readonly(GIVEN_G, "given_g"),
        solution(solution_source("ex11_modes_solution"), "ex11_modes_solution"),
        code('''
x = torch.tensor([1.0, 2.0, 0.5])
J = torch.autograd.functional.jacobian(g, x)
jvp_of(g, x, torch.tensor([1.0, 0.0, 0.0])), J[:, 0]  # the same: J times e_1 is J's first column
'''),
        tests(EX11_JVP_TESTS, "ex11_jvp_tests", 2),
        tests(EX11_VJP_TESTS, "ex11_vjp_tests", 2),
        md('''
**Written (1 point).** When is forward mode cheaper, and when backward mode?
Think of the number of inputs and outputs, the intermediate values each mode must keep, and what can run in parallel.
'''),
        answer(EX11_ANSWER, "ex11_modes_answer", 1),
        md("You are done: restart the kernel, run all cells, and check that every check cell prints ✔."),
    ]
    return cells


def main() -> None:
    save(notebook(build()), str(TARGET))
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""ps2_autograd: the exercises measure the skill they teach (issue 11).

- Shortcuts that dodge an exercise's method (a closed form or a difference quotient where
  autograd is asked, autograd where the rule is by hand, a full Jacobian for forward mode)
  lose the test cell's points at grading.
- Honest answers written another way (`x.grad = None` or `zero_()`, `torch.autograd.grad`
  or `backward`, `torch.func`, tuples or lists, `torch.pow` or `**`, other names) keep them.
- No visible test cell defines a function or holds reference code: its expected values are
  literal data (or a digest).

Each case replaces solution cells of the source notebook and runs it in-process up to the
test cell, hidden tests included (tests/nbexec.py).
"""

from __future__ import annotations

import ast

import nbformat
import pytest
from matplotlib import pyplot as plt

from nbexec import failure, source_notebook
from calcgrad.course import REPO

SOURCE = source_notebook("ps2_autograd")
RELEASE = REPO / "release" / "ps2_autograd" / "ps2_autograd.ipynb"


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    # Part B's answers here are for variant 0, the problem set as written (calcgrad.variants).
    monkeypatch.setenv("CALCGRAD_VARIANTS", "0")
    yield
    plt.close("all")


# (test cell, {solution cell: source}, what the shortcut does)
SHORTCUTS = [
    ("ex1_grad_tests", {"ex1_grad_solution": '''
def grad_of(f, x):
    return 4 * x
'''}, "the closed form of 2 x^T x"),
    ("ex1_grad_tests", {"ex1_grad_solution": '''
def grad_of(f, x):
    h = 1e-6
    x = x.detach().double()
    steps = torch.eye(len(x), dtype=torch.float64) * h
    return torch.stack([(f(x + e) - f(x - e)) / (2 * h) for e in steps])
'''}, "a central difference per coordinate"),
    ("ex2_accum_tests", {"ex2_accum_solution": '''
def fresh_grad(f, x):
    return 3 * x.detach() ** 2
'''}, "the closed form of sum(x**3)"),
    ("ex2_accum_tests", {"ex2_accum_solution": '''
def fresh_grad(f, x):
    t = x.detach().clone().requires_grad_(True)
    f(t).backward()
    return t.grad
'''}, "a fresh copy of x, so that accumulation never happens (x.grad untouched)"),
    ("ex3_detach_tests", {"ex3_detach_solution": '''
def detach_grads(f, x):
    return x * x, 2 * x
'''}, "the closed forms for y = x * x"),
    ("ex3_detach_tests", {"ex3_detach_solution": '''
def detach_grads(f, x):
    h = 1e-6
    return f(x), (f(x + h) - f(x - h)) / (2 * h)
'''}, "f(x) and a central difference"),
    ("ex4_second_tests", {"ex4_second_solution": '''
def second_derivative(f, x):
    h = 1e-4
    return (f(x + h) - 2 * f(x) + f(x - h)) / h**2
'''}, "a numerical second difference"),
    ("ex4_second_tests", {"ex4_second_solution": '''
def second_derivative(f, x):
    h = 1e-2
    c = [-1 / 560, 8 / 315, -1 / 5, 8 / 5, -205 / 72, 8 / 5, -1 / 5, 8 / 315, -1 / 560]
    return sum(ck * f(x + (k - 4) * h) for k, ck in enumerate(c)) / h**2
'''}, "an eighth-order stencil (close to float64 precision, but no autograd)"),
    ("ex5_twice_tests", {"ex5_twice_solution": '''
def grad_after_two_backwards(f, x):
    return 8 * x
'''}, "the closed form 8x"),
    ("ex5_twice_tests", {"ex5_twice_solution": '''
def grad_after_two_backwards(f, x):
    h = 1e-6
    x = x.detach().double()
    steps = torch.eye(len(x), dtype=torch.float64) * h
    return 2 * torch.stack([(f(x + e) - f(x - e)) / (2 * h) for e in steps])
'''}, "twice a central difference"),
    ("ex6_control_tests", {"ex6_control_solution": '''
def control_flow_grad(f, a):
    return f(a) / a
'''}, "d / a, true of f_control only"),
    ("ex6_control_tests", {"ex6_control_solution": '''
def control_flow_grad(f, a):
    h = 1e-6
    flat = a.detach().double().reshape(-1)
    steps = torch.eye(len(flat), dtype=torch.float64) * h
    slopes = [(f((flat + e).reshape(a.shape)).sum() - f((flat - e).reshape(a.shape)).sum())
              / (2 * h) for e in steps]
    return torch.stack(slopes).reshape(a.shape)
'''}, "a central difference per entry"),
    ("ex7_plot_tests", {"ex7_plot_solution": '''
def plot_with_derivative(f, x):
    return plotting.plot(x, [f(x), torch.cos(x)], legend=["f(x)", "f'(x)"])
'''}, "the known derivative of sin, for every f"),
    ("ex7_method_tests", {"ex7_plot_solution": '''
def plot_with_derivative(f, x):
    return plotting.plot(x, [f(x), torch.cos(x)], legend=["f(x)", "f'(x)"])
'''}, "a cosine, no autograd"),
    ("ex7_method_tests", {"ex7_plot_solution": '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    slope = torch.cos(x) if f is torch.sin else x.grad
    return plotting.plot(x, [y, slope], legend=["f(x)", "f'(x)"])
'''}, "autograd, but the cosine for the shown sin"),
    ("ex8_graph_tests", {"ex8_graph_solution": '''
parents = {"a": ["x"], "b": ["a"], "c": ["x"], "d": ["b", "c"], "e": ["x"], "f": ["d"]}
'''}, "f lists only d (a well-formed graph that is not f's)"),
    ("ex9_chain_tests", {"ex9_chain_solution": '''
def df_dx_by_hand(x):
    x = x.detach().clone().requires_grad_(True)
    (torch.log(x**2) * torch.sin(x) + 1 / x).sum().backward()
    return x.grad
'''}, "autograd"),
    ("ex9_chain_tests", {"ex9_chain_solution": '''
def df_dx_by_hand(x):
    h = 1e-6
    f = lambda t: torch.log(t**2) * torch.sin(t) + 1 / t
    return (f(x + h) - f(x - h)) / (2 * h)
'''}, "a central difference"),
    ("ex10_forward_tests", {"ex10_forward_solution": '''
def tangents_forward(x):
    x = x.detach().clone().requires_grad_(True)
    a = x**2
    b = torch.log(a)
    c = torch.sin(x)
    d = b * c
    e = 1 / x
    nodes = {"a": a, "b": b, "c": c, "d": d, "e": e, "f": d + e}
    return {k: torch.autograd.grad(v.sum(), x, retain_graph=True)[0] for k, v in nodes.items()}
'''}, "autograd for every tangent"),
    ("ex10_backward_tests", {"ex10_backward_solution": '''
def adjoints_backward(x):
    x = x.detach().clone().requires_grad_(True)
    a = x**2
    b = torch.log(a)
    c = torch.sin(x)
    d = b * c
    e = 1 / x
    f = d + e
    nodes = {"e": e, "d": d, "c": c, "b": b, "a": a, "x": x}
    out = {k: torch.autograd.grad(f.sum(), v, retain_graph=True)[0] for k, v in nodes.items()}
    return {"f": torch.ones_like(x), **out}
'''}, "autograd for every adjoint"),
    ("ex11_jvp_tests", {"ex11_modes_solution": '''
def jvp_of(f, x, u):
    return torch.autograd.functional.jacobian(f, x) @ u

def vjp_of(f, x, v):
    return v @ torch.autograd.functional.jacobian(f, x)
'''}, "a full Jacobian in place of forward mode"),
    ("ex11_jvp_tests", {"ex11_modes_solution": '''
def jvp_of(f, x, u):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    v = torch.zeros_like(y, requires_grad=True)
    (vjp,) = torch.autograd.grad(y, x, grad_outputs=v, create_graph=True)
    (ju,) = torch.autograd.grad(vjp, v, grad_outputs=u)
    return ju

def vjp_of(f, x, v):
    raise NotImplementedError()
'''}, "the double-backward trick (two reverse passes) in place of forward mode"),
    ("ex11_vjp_tests", {"ex11_modes_solution": '''
def jvp_of(f, x, u):
    raise NotImplementedError()

def vjp_of(f, x, v):
    return v @ torch.autograd.functional.jacobian(f, x)
'''}, "a full Jacobian in place of one backward pass"),
    ("ex11_vjp_tests", {"ex11_modes_solution": '''
def jvp_of(f, x, u):
    raise NotImplementedError()

def vjp_of(f, x, v):
    return v @ torch.stack([torch.func.jvp(f, (x,), (e,))[1]
                            for e in torch.eye(len(x), dtype=x.dtype)], dim=1)
'''}, "n forward passes (the Jacobian, column by column)"),
]

# (test cell, {solution cell: source}, what is different from the reference)
HONEST = [
    ("ex1_grad_tests", {"ex1_grad_solution": '''
def grad_of(f, x):
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x)
    return grad
'''}, "torch.autograd.grad, a variable named grad"),
    ("ex1_grad_tests", {"ex1_grad_solution": '''
def grad_of(f, x):
    return torch.func.grad(f)(x.detach())
'''}, "torch.func.grad"),
    ("ex1_grad_tests", {"ex1_grad_solution": '''
def grad_of(f, x):
    x = x.detach().clone().requires_grad_(True)
    f(x).backward()
    return x.grad.clone()
'''}, "backward, a copy of x.grad"),
    ("ex2_accum_tests", {"ex2_accum_solution": '''
def fresh_grad(f, x):
    x.grad = None
    f(x).backward()
    return x.grad
'''}, "x.grad = None, returns x.grad itself"),
    ("ex2_accum_tests", {"ex2_accum_solution": '''
def fresh_grad(f, x):
    if x.grad is not None:
        x.grad.zero_()
    f(x).backward()
    return x.grad
'''}, "zero_(), returns x.grad itself"),
    ("ex2_accum_tests", {"ex2_accum_solution": '''
def fresh_grad(f, x):
    (grad,) = torch.autograd.grad(f(x), x)
    x.grad = grad.clone()
    return grad
'''}, "torch.autograd.grad, then x.grad set to it"),
    ("ex3_detach_tests", {"ex3_detach_solution": '''
def detach_grads(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    u = y.detach()
    z = u * x
    dz_dx = torch.autograd.grad(z.sum(), x)[0]
    dy_dx = torch.autograd.grad(y.sum(), x)[0]
    return [dz_dx, dy_dx]
'''}, "torch.autograd.grad for both, a list"),
    ("ex3_detach_tests", {"ex3_detach_solution": '''
def detach_grads(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    z = y.detach() * x
    z.sum().backward()
    first = x.grad
    x.grad = None
    y.backward(torch.ones_like(y))
    return first, x.grad
'''}, "x.grad = None in between, backward(gradient=ones)"),
    ("ex4_second_tests", {"ex4_second_solution": '''
def second_derivative(f, x):
    return torch.func.vmap(torch.func.grad(torch.func.grad(f)))(x.detach())
'''}, "torch.func.grad twice, vmapped"),
    ("ex4_second_tests", {"ex4_second_solution": '''
def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    first = torch.autograd.grad(f(x), x, grad_outputs=torch.ones_like(x), create_graph=True)[0]
    return torch.autograd.grad(first, x, grad_outputs=torch.ones_like(x))[0]
'''}, "grad_outputs instead of sum()"),
    ("ex5_twice_tests", {"ex5_twice_solution": '''
def grad_after_two_backwards(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    for _ in range(2):
        y.backward(retain_graph=True)
    return x.grad
'''}, "a loop, retain_graph both times"),
    ("ex5_twice_tests", {"ex5_twice_solution": '''
def grad_after_two_backwards(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    torch.autograd.backward(y, retain_graph=True)
    torch.autograd.backward(y)
    return x.grad.clone()
'''}, "torch.autograd.backward"),
    ("ex6_control_tests", {"ex6_control_solution": '''
def control_flow_grad(f, a):
    a = a.detach().clone().requires_grad_(True)
    d = f(a)
    d.backward(gradient=torch.ones_like(d))
    return a.grad
'''}, "backward(gradient=ones)"),
    ("ex6_control_tests", {"ex6_control_solution": '''
def control_flow_grad(f, a):
    a = a.detach().clone().requires_grad_(True)
    return torch.autograd.grad(torch.sum(f(a)), a)[0]
'''}, "torch.autograd.grad of torch.sum"),
    ("ex7_plot_tests", {"ex7_plot_solution": '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    (slope,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y))
    return plotting.plot([x, x], [y, slope], legend=["function", "derivative"])
'''}, "torch.autograd.grad, one x per curve"),
    ("ex7_plot_tests", {"ex7_plot_solution": '''
def plot_with_derivative(f, x):
    t = x.detach().clone().requires_grad_(True)
    y = f(t)
    y.backward(torch.ones_like(y))
    ax = plotting.plot(t.detach().numpy(), [y.detach().numpy(), t.grad.numpy()],
                       legend=["sin-like", "slope"], fmts=["-", "--"])
    return ax
'''}, "numpy arrays, other names, other formats"),
    ("ex7_method_tests", {"ex7_plot_solution": '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], legend=["f", "df/dx"])
'''}, "backward"),
    ("ex7_method_tests", {"ex7_plot_solution": '''
def derivative(f, x):
    return torch.func.vmap(torch.func.grad(f))(x)

def plot_with_derivative(f, x):
    x = x.detach()
    return plotting.plot(x, [f(x), derivative(f, x)], legend=["f", "df/dx"])
'''}, "torch.func in a helper function"),
    ("ex8_graph_tests", {"ex8_graph_solution": '''
parents = {"f": ("e", "d"), "e": ("x",), "d": ("c", "b"), "c": ("x",), "b": ("a",),
           "a": ("x",)}
'''}, "tuples, other orders"),
    ("ex8_graph_tests", {"ex8_graph_solution": '''
parents = dict(a=["x"], b=["a"], c=["x"], d=["c", "b"], e=["x"], f=["e", "d"])
'''}, "dict(), lists in another order"),
    ("ex9_chain_tests", {"ex9_chain_solution": '''
def df_dx_by_hand(x):
    grad = 2 * torch.sin(x) / x + 2 * torch.log(torch.abs(x)) * torch.cos(x)
    grad = grad - torch.pow(x, -2)
    return grad
'''}, "a variable named grad, torch.pow, log|x|"),
    ("ex9_chain_tests", {"ex9_chain_solution": '''
def df_dx_by_hand(x):
    a = x**2
    b = torch.log(a)
    c = torch.sin(x)
    db = (1 / a) * (2 * x)
    dc = torch.cos(x)
    return db * c + b * dc + (-1) * x ** (-2)
'''}, "step by step along the graph"),
    ("ex10_forward_tests", {"ex10_forward_solution": '''
def tangents_forward(x):
    grad = {"a": 2 * x}
    grad["b"] = grad["a"] / x**2
    grad["c"] = torch.cos(x)
    grad["d"] = grad["b"] * torch.sin(x) + torch.log(x**2) * grad["c"]
    grad["e"] = -torch.pow(x, -2)
    grad["f"] = grad["d"] + grad["e"]
    return grad
'''}, "a dict named grad, torch.pow"),
    ("ex10_forward_tests", {"ex10_forward_solution": '''
def tangents_forward(x):
    one = torch.ones_like(x)
    a, da = x * x, 2 * x * one
    b, db = torch.log(a), da / a
    c, dc = torch.sin(x), torch.cos(x) * one
    d, dd = b * c, db * c + b * dc
    e, de = 1 / x, -one / (x * x)
    return dict(a=da, b=db, c=dc, d=dd, e=de, f=dd + de)
'''}, "dict(), value-tangent pairs"),
    ("ex10_backward_tests", {"ex10_backward_solution": '''
def adjoints_backward(x):
    bar = {"f": torch.ones_like(x)}
    bar["e"] = bar["f"]
    bar["d"] = bar["f"]
    bar["c"] = bar["d"] * torch.log(x**2)
    bar["b"] = bar["d"] * torch.sin(x)
    bar["a"] = bar["b"] / x**2
    bar["x"] = bar["a"] * 2 * x + bar["c"] * torch.cos(x) - bar["e"] / x**2
    return bar
'''}, "a dict filled in order"),
    ("ex10_backward_tests", {"ex10_backward_solution": '''
def adjoints_backward(x):
    a, b, c = x**2, torch.log(x**2), torch.sin(x)
    grad_f = torch.ones_like(x)
    grad_e, grad_d = grad_f, grad_f
    grad_b, grad_c = grad_d * c, grad_d * b
    grad_a = grad_b * torch.pow(a, -1)
    grad_x = grad_a * 2 * x + grad_c * torch.cos(x) + grad_e * -torch.pow(x, -2)
    return {"x": grad_x, "a": grad_a, "b": grad_b, "c": grad_c, "d": grad_d, "e": grad_e,
            "f": grad_f}
'''}, "variables named grad_*, torch.pow, another key order"),
    ("ex11_jvp_tests", {"ex11_modes_solution": '''
import torch.autograd.forward_ad as fwAD

def jvp_of(f, x, u):
    with fwAD.dual_level():
        y = f(fwAD.make_dual(x, u))
        return fwAD.unpack_dual(y).tangent

def vjp_of(f, x, v):
    raise NotImplementedError()
'''}, "dual numbers (torch.autograd.forward_ad)"),
    ("ex11_jvp_tests", {"ex11_modes_solution": '''
def jvp_of(f, x, u):
    value, ju = torch.autograd.functional.jvp(f, x, u)
    return ju

def vjp_of(f, x, v):
    raise NotImplementedError()
'''}, "torch.autograd.functional.jvp"),
    ("ex11_vjp_tests", {"ex11_modes_solution": '''
def jvp_of(f, x, u):
    raise NotImplementedError()

def vjp_of(f, x, v):
    x = x.detach().clone().requires_grad_(True)
    return torch.autograd.grad(f(x), x, grad_outputs=v)[0]
'''}, "torch.autograd.grad with grad_outputs"),
    ("ex11_vjp_tests", {"ex11_modes_solution": '''
def jvp_of(f, x, u):
    raise NotImplementedError()

def vjp_of(f, x, v):
    _, pullback = torch.func.vjp(f, x)
    (grad,) = pullback(v)
    return grad
'''}, "torch.func.vjp"),
]


def _graded_ids() -> list[str]:
    nb = nbformat.read(SOURCE, as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("test_id, replace, what", SHORTCUTS,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(SHORTCUTS)])
def test_shortcut_loses_the_points(test_id, replace, what):
    assert failure(SOURCE, test_id, replace=replace) is not None, \
        f"{test_id} keeps full marks for a shortcut: {what}"


@pytest.mark.parametrize("test_id, replace, what", SHORTCUTS,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(SHORTCUTS)])
def test_shortcut_already_fails_the_visible_check(test_id, replace, what):
    """No surprise: the student's own check cell shows the points a shortcut will lose."""
    assert failure(RELEASE, test_id, replace=replace) is not None, \
        f"the visible {test_id} passes a shortcut that grading fails: {what}"


@pytest.mark.parametrize("test_id, replace, what", HONEST,
                         ids=[f"{h[0]}-{i}" for i, h in enumerate(HONEST)])
def test_honest_variant_keeps_the_points(test_id, replace, what):
    message = failure(SOURCE, test_id, replace=replace)
    assert message is None, f"{test_id} takes points from an honest answer ({what}):\n{message}"


def test_every_graded_cell_has_a_shortcut_and_two_honest_variants():
    shortcuts = {test_id for test_id, *_ in SHORTCUTS}
    honest = {test_id: sum(1 for h in HONEST if h[0] == test_id) for test_id in _graded_ids()}
    assert shortcuts == set(_graded_ids())
    assert all(n >= 2 for n in honest.values()), honest


def _visible_test_cells() -> dict[str, str]:
    nb = nbformat.read(RELEASE, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


@pytest.mark.parametrize("test_id", _graded_ids())
def test_visible_test_cell_defines_no_function_and_reads_no_code(test_id):
    """What a student can read computes nothing at a new input: no `def`, no lambda outside the
    student's half and the predicates, no `checks.source_of` (code read in the sandbox)."""
    source = _visible_test_cells()[test_id]
    tree = ast.parse(source)
    assert not any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                   for node in ast.walk(tree)), f"{test_id} defines a function"
    assert "source_of" not in source
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("expected", "wrong"):
            lambdas = [n for n in ast.walk(node.value) if isinstance(n, ast.Lambda)]
            assert not lambdas, f"{test_id}: {node.arg}= computes its value instead of holding data"


def test_the_graph_answer_is_not_readable_in_the_release():
    source = _visible_test_cells()["ex8_graph_tests"]
    assert "checks.digest(" in source
    assert '["b", "c"]' not in source and "['b', 'c']" not in source


def _without_function(source: str, name: str) -> str:
    """A variant's source without the top-level `def name` (the other exercise's stub)."""
    tree = ast.parse(source)
    kept = [ast.get_source_segment(source, node) for node in tree.body
            if not (isinstance(node, ast.FunctionDef) and node.name == name)]
    return "\n\n".join(kept)


def _honest_submission(k: int) -> nbformat.NotebookNode:
    """The release with every solution cell filled by its k-th honest variant (or the last)."""
    variants: dict[str, list[str]] = {}
    for _, replace, _ in HONEST:
        for solution_id, source in replace.items():
            variants.setdefault(solution_id, []).append(source)
    jvp = [_without_function(s, "vjp_of") for s in variants["ex11_modes_solution"]
           if "def jvp_of(f, x, u):\n    raise" not in s]
    vjp = [_without_function(s, "jvp_of") for s in variants["ex11_modes_solution"]
           if "def jvp_of(f, x, u):\n    raise" in s]
    variants["ex11_modes_solution"] = [a + "\n\n\n" + b for a, b in zip(jvp, vjp)]
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in variants:
            options = variants[gid]
            cell.source = options[min(k, len(options) - 1)].strip("\n")
    return nb


def test_honest_variants_keep_full_marks_with_nbgrader_and_calcgrad(tmp_path):
    """In a real kernel (warnings on stderr cost a cell its points there), with plain
    nbgrader, then with `calcgrad autograde` on a copy of the course."""
    import shutil
    import subprocess
    import sys

    from calcgrad import course

    root = course.new_course(tmp_path / "course", ("ps2_autograd",))
    # The honest answers of Part B are variant 0's: this course turns variants off, which
    # both graders must respect (calcgrad.variants).
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write("\nc.CalcgradVariants.enabled = False\n")
    course.generate(root, "ps2_autograd")
    for k in (0, 1):
        path = tmp_path / f"honest{k}.ipynb"
        nbformat.write(_honest_submission(k), path)
        course.submit(root, "ps2_autograd", f"honest{k}", path, name="ps2_autograd.ipynb")
    course.nbgrader(root, "autograde", "ps2_autograd", "--force")
    auto = sum(p for gid, p in course.graded_cells(SOURCE).items() if gid.endswith("_tests"))
    plain = course.grades(root, "ps2_autograd")
    assert {s: g.score for s, g in plain.items()} == {"honest0": auto, "honest1": auto}, \
        {s: g.cells for s, g in plain.items()}
    copy = shutil.copytree(root, tmp_path / "copy", symlinks=True)
    shutil.rmtree(copy / "autograded")
    subprocess.run([sys.executable, "-m", "calcgrad", "autograde", "ps2_autograd", "--quiet",
                    "--course-dir", str(copy)], check=True, capture_output=True, cwd=copy)
    graded = course.grades(copy, "ps2_autograd")
    assert {s: g.score for s, g in graded.items()} == {"honest0": auto, "honest1": auto}, \
        {s: g.cells for s, g in graded.items()}


def test_no_hidden_line_shows_up_in_what_students_see():
    """Feedback shows the student's notebook and the visible checks: a line of a hidden test
    that also stands there would look leaked (tests/test_grading_batch.py checks feedback)."""
    nb = nbformat.read(SOURCE, as_version=4)
    hidden, shown = [], []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            else:
                (hidden if inside else shown).append(line.strip())
    text = "\n".join(shown)
    assert not [line for line in hidden if len(line) > 12 and line in text]


def test_the_source_notebook_is_what_its_build_script_writes():
    """The visible checks' literal data come from the reference solutions in
    tools/build_ps2_autograd.py: the committed notebook must be that script's output."""
    import sys

    sys.path.insert(0, str(REPO))
    from tools.build_ps2_autograd import build

    built = [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in build()]
    committed = [(c.cell_type, c.source, c.metadata.get("nbgrader"))
                 for c in nbformat.read(SOURCE, as_version=4).cells]
    assert built == committed, "run .venv/bin/python tools/build_ps2_autograd.py, then make release"

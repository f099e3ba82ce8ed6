"""ps2_autograd: typical wrong answers get a message that names the mistake, and the visible
check already fails them (no surprise at grading).

Each case replaces one solution cell with a wrong answer a student is likely to write, runs
the notebook in-process up to the test cell and reads the message of the failing check: on
the source notebook (hidden tests included) and on the release (the visible checks only).
"""

from __future__ import annotations

import nbformat
import pytest
from matplotlib import pyplot as plt

from nbexec import failure, source_notebook
from calcgrad.course import REPO, graded_cells

SOURCE = source_notebook("ps2_autograd")
RELEASE = REPO / "release" / "ps2_autograd" / "ps2_autograd.ipynb"


def _test_ids(path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


TEST_IDS = _test_ids(SOURCE)


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    # Part B's answers here are for variant 0, the problem set as written (calcgrad.variants).
    monkeypatch.setenv("CALCGRAD_VARIANTS", "0")
    yield
    plt.close("all")


# (test cell, solution cell, wrong source, phrase the message must contain)
MISTAKES = [
    # Exercise 1: the gradient of a scalar function
    ("ex1_grad_tests", "ex1_grad_solution", '''
def grad_of(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.backward()
    return y
''', "not its gradient"),
    ("ex1_grad_tests", "ex1_grad_solution", '''
def grad_of(f, x):
    x = x.detach().clone()
    y = f(x)
    y.backward()
    return x.grad
''', "requires_grad"),
    ("ex1_grad_tests", "ex1_grad_solution", '''
def grad_of(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    return x.grad
''', "did you call `.backward()`"),
    # Exercise 2: accumulation
    ("ex2_accum_tests", "ex2_accum_solution", '''
def fresh_grad(f, x):
    f(x).backward()
    return x.grad.clone()
''', "your gradient grows with every call"),
    ("ex2_accum_tests", "ex2_accum_solution", '''
def fresh_grad(f, x):
    f(x).backward()
    return x.grad
''', "the same tensor every time"),
    ("ex2_accum_tests", "ex2_accum_solution", '''
def fresh_grad(f, x):
    f(x).backward()
    g = x.grad
    x.grad.zero_()
    return g
''', "you cleared x.grad after reading it"),
    ("ex2_accum_tests", "ex2_accum_solution", '''
def fresh_grad(f, x):
    f(x).backward()
    g = x.grad.clone()
    x.grad = None
    return g
''', "after those three calls is None"),
    ("ex2_accum_tests", "ex2_accum_solution", '''
def fresh_grad(f, x):
    t = x.detach().clone().requires_grad_(True)
    f(t).backward()
    return t.grad
''', "is None"),
    # Exercise 3: detach
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    u = y
    z = u * x
    z.sum().backward(retain_graph=True)
    dz_dx = x.grad.clone()
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad
''', "as if u were not a constant"),
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    z = y * x
    z.sum().backward()
    dz_dx = x.grad.clone()
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad
''', "`.detach()` it"),
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    u = y.detach()
    z = u * x
    z.sum().backward()
    dz_dx = x.grad.clone()
    y.sum().backward()
    return dz_dx, x.grad
''', "clear x.grad in between"),
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    u = y.detach()
    z = u * x
    z.sum().backward()
    dz_dx = x.grad
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad
''', "x.grad.clone()"),
    # Exercise 4: second derivatives
    ("ex4_second_tests", "ex4_second_solution", '''
def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    (first,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    return first
''', "you returned the first derivative"),
    ("ex4_second_tests", "ex4_second_solution", '''
def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    f(x).sum().backward()
    x.grad.sum().backward()
    return x.grad
''', "create_graph=True"),
    ("ex4_second_tests", "ex4_second_solution", '''
def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    (first,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    first.sum().backward()
    return x.grad + first
''', "the first derivative plus the second"),
    # Exercise 5: backward twice
    ("ex5_twice_tests", "ex5_twice_solution", '''
def grad_after_two_backwards(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.backward()
    return x.grad
''', "a single pass"),
    ("ex5_twice_tests", "ex5_twice_solution", '''
def grad_after_two_backwards(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.backward()
    y.backward()
    return x.grad
''', "retain_graph=True"),
    ("ex5_twice_tests", "ex5_twice_solution", '''
def grad_after_two_backwards(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.backward(retain_graph=True)
    x.grad.zero_()
    y.backward()
    return x.grad
''', "did you clear x.grad in between"),
    # Exercise 6: control flow with a vector or matrix
    ("ex6_control_tests", "ex6_control_solution", '''
def control_flow_grad(f, a):
    a = a.detach().clone().requires_grad_(True)
    d = f(a)
    d.backward()
    return a.grad
''', "needs a `gradient=` argument"),
    ("ex6_control_tests", "ex6_control_solution", '''
def control_flow_grad(f, a):
    a = a.detach().clone().requires_grad_(True)
    d = f(a)
    d.mean().backward()
    return a.grad
''', "you used d.mean()"),
    ("ex6_control_tests", "ex6_control_solution", '''
def control_flow_grad(f, a):
    a = a.detach().clone().requires_grad_(True)
    return f(a)
''', "not its gradient"),
    # Exercise 7: the plot
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], xlabel="x")
''', "the legend must name both curves"),
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x.data)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], legend=["f", "f'"])
''', "take `.data`"),
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    return plotting.plot(x, [x.grad, y], legend=["f'", "f"])
''', "the other order"),
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    return plotting.plot(x, [y, y], legend=["f", "f'"])
''', "not its derivative"),
    # Exercise 7: how the derivative is computed
    ("ex7_method_tests", "ex7_plot_solution", '''
def plot_with_derivative(f, x):
    return plotting.plot(x, [f(x), torch.cos(x)], legend=["sin", "cos"])
''', "uses `cos`"),
    ("ex7_method_tests", "ex7_plot_solution", '''
def plot_with_derivative(f, x):
    y = f(x)
    slope = (y[2:] - y[:-2]) / (x[2:] - x[:-2])
    return plotting.plot([x, x[1:-1]], [y, slope], legend=["f", "slope"])
''', "does not use autograd"),
    ("ex7_method_tests", "ex7_plot_solution", '''
def plot_with_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    slope = torch.cos(x) if f is torch.sin else x.grad
    return plotting.plot(x, [y, slope], legend=["f", "f'"])
''', "`cos`"),
    # Exercise 8: the dependency graph
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"x": ["a", "c", "e"], "a": ["b"], "b": ["d"], "c": ["d"], "d": ["f"], "e": ["f"]}
''', "the nodes of parents"),
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"a": ["b"], "b": ["d"], "c": ["d"], "d": ["f"], "e": ["f"], "f": ["x"]}
''', "computed before the node"),
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"a": ["x"], "b": ["a"], "c": ["x"], "d": ["b", "c"], "e": ["x"], "f": ["d"]}
''', "not right yet"),
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"a": ["x"], "b": ["a", "x"], "c": ["x"], "d": ["b", "c"], "e": ["x"], "f": ["d", "e"]}
''', "not right yet"),
    # Exercise 9: the chain rule by hand
    ("ex9_chain_tests", "ex9_chain_solution", '''
def df_dx_by_hand(x):
    return torch.sin(x) / x**2 + torch.log(x**2) * torch.cos(x) - 1 / x**2
''', "needs its inner derivative"),
    ("ex9_chain_tests", "ex9_chain_solution", '''
def df_dx_by_hand(x):
    return 2 / x * torch.sin(x) + torch.log(x**2) * torch.cos(x) + 1 / x**2
''', "check the sign"),
    ("ex9_chain_tests", "ex9_chain_solution", '''
def df_dx_by_hand(x):
    return torch.log(x**2) * torch.cos(x) - 1 / x**2
''', "a term of the product rule is missing"),
    ("ex9_chain_tests", "ex9_chain_solution", '''
def df_dx_by_hand(x):
    x = x.detach().clone().requires_grad_(True)
    (torch.log(x**2) * torch.sin(x) + 1 / x).sum().backward()
    return x.grad
''', "uses autograd"),
    # Exercise 10: forward and backward order
    ("ex10_forward_tests", "ex10_forward_solution", '''
def tangents_forward(x):
    a, da = x**2, 2 * x
    b, db = torch.log(a), 1 / a
    c, dc = torch.sin(x), torch.cos(x)
    dd = db * c + b * dc
    de = -1 / x**2
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": dd + de}
''', "must carry da/dx along"),
    ("ex10_forward_tests", "ex10_forward_solution", '''
def tangents_forward(x):
    a, da = x**2, 2 * x
    b, db = torch.log(a), da / a
    c, dc = torch.sin(x), torch.cos(x)
    dd = b * dc
    de = -1 / x**2
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": dd + de}
''', "a term of the product rule is missing"),
    ("ex10_forward_tests", "ex10_forward_solution", '''
def tangents_forward(x):
    a, da = x**2, 2 * x
    b, db = torch.log(a), da / a
    c, dc = torch.sin(x), torch.cos(x)
    dd = db * c + b * dc
    de = 1 / x**2
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": dd + de}
''', "check the sign"),
    ("ex10_backward_tests", "ex10_backward_solution", '''
def adjoints_backward(x):
    a, b, c = x**2, torch.log(x**2), torch.sin(x)
    one = torch.ones_like(x)
    b_bar, c_bar = c, b
    a_bar = 1 / a
    x_bar = a_bar * 2 * x + c_bar * torch.cos(x) - 1 / x**2
    return {"f": one, "e": one, "d": one, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}
''', "carry the adjoint of b along"),
    ("ex10_backward_tests", "ex10_backward_solution", '''
def adjoints_backward(x):
    a, b, c = x**2, torch.log(x**2), torch.sin(x)
    one = torch.ones_like(x)
    b_bar, c_bar = c, b
    a_bar = b_bar / a
    x_bar = a_bar * 2 * x + c_bar * torch.cos(x)
    return {"f": one, "e": one, "d": one, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}
''', "one is missing"),
    # Exercise 11: forward versus backward mode
    ("ex11_jvp_tests", "ex11_modes_solution", '''
def jvp_of(f, x, u):
    return torch.func.jvp(f, (x,), (u,))[0]

def vjp_of(f, x, v):
    raise NotImplementedError()
''', "the first output of torch.func.jvp"),
    ("ex11_jvp_tests", "ex11_modes_solution", '''
def jvp_of(f, x, u):
    return torch.func.jvp(f, (u,), (x,))[1]

def vjp_of(f, x, v):
    raise NotImplementedError()
''', "you swapped the point and the direction"),
    ("ex11_vjp_tests", "ex11_modes_solution", '''
def jvp_of(f, x, u):
    raise NotImplementedError()

def vjp_of(f, x, v):
    x = x.detach().clone().requires_grad_(True)
    f(x).sum().backward()
    return x.grad
''', "pass gradient=v"),
    ("ex11_vjp_tests", "ex11_modes_solution", '''
def jvp_of(f, x, u):
    raise NotImplementedError()

def vjp_of(f, x, v):
    x = x.detach().clone().requires_grad_(True)
    f(x).backward()
    return x.grad
''', "needs a `gradient=` argument"),
]


@pytest.mark.parametrize("test_id, solution_id, wrong, phrase", MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_mistake_gets_a_message_that_names_it(test_id, solution_id, wrong, phrase):
    message = failure(SOURCE, test_id, replace={solution_id: wrong})
    assert message is not None, f"{test_id} passed a wrong answer:\n{wrong}"
    assert phrase in message, f"{test_id}: {phrase!r} not in the message:\n{message}"


@pytest.mark.parametrize("test_id, solution_id, wrong, phrase", MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_the_visible_check_already_fails_the_mistake(test_id, solution_id, wrong, phrase):
    """No surprise: what grading takes points for, the student's own check cell shows."""
    message = failure(RELEASE, test_id, replace={solution_id: wrong})
    assert message is not None, f"the visible {test_id} passes a wrong answer:\n{wrong}"


def test_every_test_cell_has_at_least_two_named_mistakes():
    counts = {test_id: 0 for test_id in TEST_IDS}
    for test_id, *_ in MISTAKES:
        counts[test_id] += 1
    assert all(n >= 2 for n in counts.values()), counts


@pytest.mark.parametrize("test_id", TEST_IDS)
def test_reference_passes(test_id):
    assert failure(SOURCE, test_id) is None


@pytest.mark.parametrize("test_id", TEST_IDS)
def test_blank_release_fails(test_id):
    message = failure(RELEASE, test_id)
    assert message is not None and ("not done yet" in message or "not defined" in message
                                    or "does not use" in message), message


def test_points_add_up_to_the_stated_total():
    cells = graded_cells(SOURCE)
    assert sum(cells.values()) == 30
    assert sum(p for gid, p in cells.items() if gid.endswith("_tests")) == 26
    intro = nbformat.read(SOURCE, as_version=4).cells[0].source
    assert "**30**" in intro and "26 checked automatically" in intro

"""ps2_autograd: typical wrong answers get a message that names the mistake.

Each case replaces one solution cell of the source notebook with a wrong
answer a student is likely to write, runs the notebook in-process up to the
test cell (hidden tests included) and checks the message of the failing check.
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
def _close_figures():
    yield
    plt.close("all")

# (test cell, solution cell, wrong source, phrase the message must contain)
MISTAKES = [
    # Exercise 1: the gradient of 2 x^T x
    ("ex1_grad_tests", "ex1_grad_solution", '''
def grad_two_xtx(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.dot(x, x)
    y.backward()
    return x.grad
''', "you returned 2x"),
    ("ex1_grad_tests", "ex1_grad_solution", '''
def grad_two_xtx(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    return y
''', "not its gradient"),
    ("ex1_grad_tests", "ex1_grad_solution", '''
def grad_two_xtx(x):
    x = x.detach().clone()
    y = 2 * torch.dot(x, x)
    y.backward()
    return x.grad
''', "requires_grad"),
    # Exercise 2: accumulation
    ("ex2_accum_tests", "ex2_accum_solution", '''
def cube_grad(x):
    (x**3).sum().backward()
    return x.grad.clone()
''', "did you forget `x.grad.zero_()`"),
    ("ex2_accum_tests", "ex2_accum_solution", '''
def cube_grad(x):
    (x**3).sum().backward()
    return x.grad
''', "you forgot `x.grad.zero_()`"),
    ("ex2_accum_tests", "ex2_accum_solution", '''
def cube_grad(x):
    (x**3).sum().backward()
    g = x.grad
    x.grad.zero_()
    return g
''', "you zeroed x.grad after reading it"),
    ("ex2_accum_tests", "ex2_accum_solution", '''
def cube_grad(x):
    (x**3).sum().backward()
    g = x.grad.clone()
    x.grad = None
    return g
''', "x.grad already held 2x"),
    # Exercise 3: detach
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(x):
    x = x.detach().clone().requires_grad_(True)
    y = x * x
    u = y
    z = u * x
    z.sum().backward(retain_graph=True)
    dz_dx = x.grad.clone()
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad
''', "you did not detach y"),
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(x):
    x = x.detach().clone().requires_grad_(True)
    y = x * x
    z = y * x
    z.sum().backward()
    dz_dx = x.grad.clone()
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad
''', "`.detach()` it"),
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(x):
    x = x.detach().clone().requires_grad_(True)
    y = x * x
    u = y.detach()
    z = u * x
    z.sum().backward()
    dz_dx = x.grad.clone()
    y.sum().backward()
    return dz_dx, x.grad
''', "did you forget `x.grad.zero_()`"),
    ("ex3_detach_tests", "ex3_detach_solution", '''
def detach_grads(x):
    x = x.detach().clone().requires_grad_(True)
    y = x * x
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
    f(x).sum().backward(create_graph=True)
    x.grad.sum().backward()
    return x.grad
''', "the first derivative plus the second"),
    # Exercise 5: backward twice
    ("ex5_twice_tests", "ex5_twice_solution", '''
def grad_after_two_backwards(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    return x.grad
''', "a single pass"),
    ("ex5_twice_tests", "ex5_twice_solution", '''
def grad_after_two_backwards(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    y.backward()
    return x.grad
''', "retain_graph=True"),
    ("ex5_twice_tests", "ex5_twice_solution", '''
def grad_after_two_backwards(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward(retain_graph=True)
    x.grad.zero_()
    y.backward()
    return x.grad
''', "did you zero x.grad in between"),
    # Exercise 6: control flow with a vector or matrix
    ("ex6_control_tests", "ex6_control_solution", '''
def control_flow_grad(a):
    a = a.detach().clone().requires_grad_(True)
    d = f_control(a)
    d.backward()
    return a.grad
''', "needs a `gradient=` argument"),
    ("ex6_control_tests", "ex6_control_solution", '''
def control_flow_grad(a):
    a = a.detach().clone().requires_grad_(True)
    d = f_control(a)
    d.mean().backward()
    return a.grad
''', "you used d.mean()"),
    ("ex6_control_tests", "ex6_control_solution", '''
def control_flow_grad(a):
    a = a.detach().clone().requires_grad_(True)
    return f_control(a)
''', "not its gradient"),
    # Exercise 7: the plot
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    x = torch.linspace(-math.pi, math.pi, 100, requires_grad=True)
    y = torch.sin(x)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], xlabel="x")
''', "the legend must name both curves"),
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    x = torch.linspace(-math.pi, math.pi, 100)
    y = torch.sin(x)
    slope = (y[2:] - y[:-2]) / (x[2:] - x[:-2])
    return plotting.plot([x, x[1:-1]], [y, slope], legend=["sin", "slope"])
''', "no curve matches the derivative of sin"),
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    x = torch.linspace(-math.pi, math.pi, 100, requires_grad=True)
    y = torch.sin(x.data)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], legend=["sin", "derivative"])
''', "take `.data`"),
    ("ex7_plot_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    x = torch.linspace(0, math.pi, 100, requires_grad=True)
    y = torch.sin(x)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], legend=["sin", "derivative"])
''', "no curve is sin(x) on [-pi, pi]"),
    # Exercise 7: how the derivative is computed
    ("ex7_source_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    x = torch.linspace(-math.pi, math.pi, 100)
    return plotting.plot(x, [torch.sin(x), torch.cos(x)], legend=["sin", "cos"])
''', "your code calls a cosine"),
    ("ex7_source_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    xs = np.linspace(-np.pi, np.pi, 100)
    return plotting.plot(xs, [np.sin(xs), np.cos(xs)], legend=["sin", "derivative"])
''', "your code calls a cosine"),
    ("ex7_source_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    x = torch.linspace(-math.pi, math.pi, 100)
    return plotting.plot(x, [torch.sin(x), torch.sin(x + math.pi / 2)], legend=["sin", "d sin"])
''', "cos x in disguise"),
    ("ex7_source_tests", "ex7_plot_solution", '''
def plot_sin_and_derivative():
    x = torch.linspace(-math.pi, math.pi, 100)
    y = torch.sin(x)
    slope = (y[2:] - y[:-2]) / (x[2:] - x[:-2])
    return plotting.plot([x, x[1:-1]], [y, slope], legend=["sin", "slope"])
''', "use autograd for the derivative"),
    # Exercise 8: the dependency graph
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"x": ["a", "c", "e"], "a": ["b"], "b": ["d"], "c": ["d"], "d": ["f"], "e": ["f"]}
''', 'with the keys "a", "b", "c", "d", "e", "f"'),
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"a": ["b"], "b": ["d"], "c": ["d"], "d": ["f"], "e": ["f"], "f": ["x"]}
''', "come before it"),
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"a": ["x"], "b": ["a"], "c": ["x"], "d": ["b"], "e": ["x"], "f": ["d", "e"]}
''', "node 'd' is computed directly from more names"),
    ("ex8_graph_tests", "ex8_graph_solution", '''
parents = {"a": ["x"], "b": ["a", "x"], "c": ["x"], "d": ["b", "c"], "e": ["x"], "f": ["d", "e"]}
''', "node 'b' lists a name it is not computed from directly"),
    # Exercise 9: the chain rule by hand
    ("ex9_chain_tests", "ex9_chain_solution", '''
def df_dx_by_hand(x):
    return torch.sin(x) / x**2 + torch.log(x**2) * torch.cos(x) - 1 / x**2
''', "you forgot the inner derivative"),
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
''', "not autograd"),
    # Exercise 10: forward and backward order
    ("ex10_forward_tests", "ex10_forward_solution", '''
def tangents_forward(x):
    a, da = x**2, 2 * x
    b, db = torch.log(a), 1 / a
    c, dc = torch.sin(x), torch.cos(x)
    dd = db * c + b * dc
    de = -1 / x**2
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": dd + de}
''', "you forgot to multiply by da/dx"),
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
''', "multiply by the adjoint of b"),
    ("ex10_backward_tests", "ex10_backward_solution", '''
def adjoints_backward(x):
    a, b, c = x**2, torch.log(x**2), torch.sin(x)
    one = torch.ones_like(x)
    b_bar, c_bar = c, b
    a_bar = b_bar / a
    x_bar = a_bar * 2 * x + c_bar * torch.cos(x)
    return {"f": one, "e": one, "d": one, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}
''', "adds up all three paths"),
    # Exercise 11: forward versus backward mode
    ("ex11_jvp_tests", "ex11_modes_solution", '''
def jvp_of_g(x, u):
    return torch.func.jvp(g, (x,), (u,))[0]

def vjp_of_g(x, v):
    raise NotImplementedError()
''', "the first output of torch.func.jvp"),
    ("ex11_jvp_tests", "ex11_modes_solution", '''
def jvp_of_g(x, u):
    return torch.func.jvp(g, (u,), (x,))[1]

def vjp_of_g(x, v):
    raise NotImplementedError()
''', "you swapped the point and the direction"),
    ("ex11_vjp_tests", "ex11_modes_solution", '''
def jvp_of_g(x, u):
    raise NotImplementedError()

def vjp_of_g(x, v):
    x = x.detach().clone().requires_grad_(True)
    g(x).sum().backward()
    return x.grad
''', "pass gradient=v"),
    ("ex11_vjp_tests", "ex11_modes_solution", '''
def jvp_of_g(x, u):
    raise NotImplementedError()

def vjp_of_g(x, v):
    x = x.detach().clone().requires_grad_(True)
    g(x).backward()
    return x.grad
''', "needs a `gradient=` argument"),
]


@pytest.mark.parametrize("test_id, solution_id, wrong, phrase", MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_mistake_gets_a_message_that_names_it(test_id, solution_id, wrong, phrase):
    message = failure(SOURCE, test_id, replace={solution_id: wrong})
    assert message is not None, f"{test_id} passed a wrong answer:\n{wrong}"
    assert phrase in message, f"{test_id}: {phrase!r} not in the message:\n{message}"


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
    assert message is not None and ("not done yet" in message or "not defined" in message), message


def test_points_add_up_to_the_stated_total():
    cells = graded_cells(SOURCE)
    assert sum(cells.values()) == 29
    assert sum(p for gid, p in cells.items() if gid.endswith("_tests")) == 26
    intro = nbformat.read(SOURCE, as_version=4).cells[0].source
    assert "**29**" in intro and "26 checked automatically" in intro

"""Rebuild the ps2 sample submissions from the release: `.venv/bin/python examples/ps2_autograd/build.py`.

Each student fills the release's solution cells with their own code and written answers:
alice every exercise right, bob one slip, carol the first six exercises only, dave the
common mistakes. Exercises 8 to 10 are each student's own variant (calcgrad.variants, by
their id): alice and bob answer for theirs (tools/ps2_part_b_models.py), dave has variant 0. Their plain-nbgrader scores are in expected.json (tests/test_pipeline.py).
Run it again after `make release` whenever the problem set changes, and update expected.json.
"""

# ruff: noqa: E501 - the students' written answers are one line each
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from calcgrad import variants  # noqa: E402
from tools import ps2_part_b_models as part_b  # noqa: E402

RELEASE = HERE.parent.parent / "release" / "ps2_autograd" / "ps2_autograd.ipynb"
STUB = "# YOUR CODE HERE\n    raise NotImplementedError()"
TOP_LEVEL_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

# Bodies of the solution cells, in the order of the stubs in each cell.
RIGHT = {
    "ex1_grad_solution": ["""
    y = f(x)
    y.backward()
    return x.grad"""],
    "ex2_accum_solution": ["""
    if x.grad is not None:
        x.grad.zero_()
    f(x).backward()
    return x.grad.clone()"""],
    "ex3_detach_solution": ["""
    y = f(x)
    u = y.detach()
    z = u * x
    z.sum().backward()
    dz_dx = x.grad.clone()
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad"""],
    "ex4_second_solution": ["""
    (first,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), x)
    return second"""],
    "ex5_twice_solution": ["""
    y = f(x)
    y.backward(retain_graph=True)
    y.backward()
    return x.grad"""],
    "ex6_control_solution": ["""
    d = f(a)
    d.sum().backward()
    return a.grad"""],
    "ex7_plot_solution": ["""
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.sum().backward()
    return plotting.plot(x, [y, x.grad], xlabel="x", legend=["f(x)", "f'(x)"])"""],
    "ex8_graph_solution": ["""
parents = {"a": ["x"], "b": ["a"], "c": ["x"], "d": ["b", "c"], "e": ["x"], "f": ["d", "e"]}"""],
    "ex9_chain_solution": ["""
    return 2 / x * torch.sin(x) + torch.log(x**2) * torch.cos(x) - 1 / x**2"""],
    "ex10_forward_solution": ["""
    a, da = x**2, 2 * x
    b, db = torch.log(a), da / a
    c, dc = torch.sin(x), torch.cos(x)
    dd = db * c + b * dc
    de = -1 / x**2
    df = dd + de
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": df}"""],
    "ex10_backward_solution": ["""
    a = x**2
    b = torch.log(a)
    c = torch.sin(x)
    f_bar = torch.ones_like(x)
    d_bar = f_bar  # f = d + e
    e_bar = f_bar
    b_bar = d_bar * c  # d = b c
    c_bar = d_bar * b
    a_bar = b_bar / a  # b = log a
    x_bar = a_bar * 2 * x + c_bar * torch.cos(x) + e_bar * (-1 / x**2)  # three paths from x
    return {"f": f_bar, "e": e_bar, "d": d_bar, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}"""],
    "ex11_modes_solution": ["""
    _, tangent = torch.func.jvp(f, (x,), (u,))
    return tangent""", """
    y = f(x)
    y.backward(gradient=v)
    return x.grad"""],
}

ANSWERS = {
    "ex4_cost_answer": "The first pass has to be recorded as a graph too (create_graph=True), so autograd keeps all the intermediate values of the backward pass and then runs backward through the forward and the backward graph together. A full Hessian needs one pass per input.",
    "ex5_error_answer": "Without retain_graph the second call fails: the first backward freed the saved tensors of the graph. With y = x.sum() nothing is saved, so it works (and doubles x.grad).",
    "ex6_control_answer": "d has the shape of a, so backward needs d.sum() (or gradient=v). The loop and the if only pick how many times a is doubled and whether it is scaled by 100, so d = k * a along the path that ran, and autograd gives k in every entry: d / a.",
    "ex11_modes_answer": "Forward mode gives a column Ju per pass, backward mode a row v^T J per pass. Few inputs and many outputs: forward. Many inputs and one output (a loss): backward, but it must store the forward values; forward mode can discard them and the passes run in parallel.",
}


def own_part_b(student: str, code: dict) -> dict:
    """`code` with Exercises 8 to 10 answered right for `student`'s own variant."""
    k = variants.number("ps2_autograd", "part_b", student)
    return dict(code, ex8_graph_solution=[part_b.parents_source(k)],
                ex9_chain_solution=[part_b.MODELS[k]["df"]],
                ex10_forward_solution=[part_b.MODELS[k]["forward"]],
                ex10_backward_solution=[part_b.MODELS[k]["backward"]])


ALICE = own_part_b("alice", RIGHT)
assert variants.number("ps2_autograd", "part_b", "bob") == 3, "bob's slip is for variant 3"
BOB = dict(own_part_b("bob", RIGHT), ex10_forward_solution=["""
    a, da = torch.sin(x), torch.cos(x)
    b, db = torch.cos(x), -torch.sin(x)
    c, dc = a * b, da * b
    d = torch.exp(c)
    dd = d * dc
    e = 1 / (1 + x**2)
    de = -2 * x * e**2
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": dd * e + d * de}"""])

CAROL = {gid: body for gid, body in RIGHT.items()
         if gid.split("_")[0] in ("ex1", "ex2", "ex3", "ex4", "ex5", "ex6")}

assert variants.number("ps2_autograd", "part_b", "dave") == 0, "dave's mistakes are variant 0's"
DAVE = dict(RIGHT, **{
    "ex2_accum_solution": ["""
    y = f(x)
    y.backward()
    return x.grad.clone()"""],
    "ex3_detach_solution": ["""
    y = f(x)
    u = y
    z = u * x
    z.sum().backward(retain_graph=True)
    dz_dx = x.grad.clone()
    x.grad.zero_()
    y.sum().backward()
    return dz_dx, x.grad"""],
    "ex6_control_solution": ["""
    d = f(a)
    d.backward()
    return a.grad"""],
    "ex7_plot_solution": ["""
    return plotting.plot(x, [f(x), torch.cos(x)], xlabel="x", legend=["sin", "cos"])"""],
    "ex9_chain_solution": ["""
    return 2 / x * torch.sin(x) + torch.log(x**2) * torch.cos(x) + 1 / x**2"""],
    "ex10_backward_solution": ["""
    a, b, c = x**2, torch.log(x**2), torch.sin(x)
    one = torch.ones_like(x)
    b_bar = one * c
    c_bar = one * b
    a_bar = b_bar / a
    x_bar = a_bar * 2 * x + c_bar * torch.cos(x)
    return {"f": one, "e": one, "d": one, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}"""],
    "ex11_modes_solution": ["""
    return torch.func.jvp(f, (x,), (u,))[1]""", """
    f(x).sum().backward()
    return x.grad"""],
})

STUDENTS = {
    "alice": (ALICE, ANSWERS),
    "bob": (BOB, ANSWERS),
    "carol": (CAROL, {"ex4_cost_answer": "Because you need to do backward twice."}),
    "dave": (DAVE, {"ex5_error_answer": "It gives an error."}),
}


def fill(cell, bodies: list[str]) -> None:
    source = cell.source
    for body in bodies:
        if STUB in source:
            source = source.replace(STUB, body.strip("\n").lstrip(), 1)
        else:
            source = source.replace(TOP_LEVEL_STUB, body.strip("\n"), 1)
    cell.source = source


def build(code: dict, answers: dict) -> nbformat.NotebookNode:
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in code:
            fill(cell, code[gid])
        elif gid in answers:
            cell.source = answers[gid]
    return nb


def main() -> None:
    for name, (code, answers) in STUDENTS.items():
        nbformat.write(build(code, answers), HERE / f"{name}.ipynb")
        print(f"wrote examples/ps2_autograd/{name}.ipynb")


if __name__ == "__main__":
    main()

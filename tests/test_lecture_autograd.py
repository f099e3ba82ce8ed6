"""notebooks/02_autograd.ipynb: covers what §2.5 asks for, and its stored outputs stay clean.

nbval re-executes the notebook and compares outputs (`make nbval`); these
tests check what nbval cannot: that the topics are there, that no stored
output is an error or a warning, and that the key numbers are the right ones.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from calcgrad.course import REPO

LECTURE = REPO / "notebooks" / "02_autograd.ipynb"


@pytest.fixture(scope="module")
def cells():
    return nbformat.read(LECTURE, as_version=4).cells


def _code(cells) -> str:
    return "\n".join(c.source for c in cells if c.cell_type == "code")


def _outputs(cells) -> list[str]:
    texts = []
    for c in cells:
        for out in c.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            elif "data" in out:
                texts.append(out.data.get("text/plain", ""))
    return texts


@pytest.mark.parametrize("move", [
    "requires_grad_(True)", "x.grad is None", ".backward()", "x.grad.zero_()",
    "backward(gradient=", "y.sum().backward()", "torch.autograd.functional.jacobian",
    "torch.func.jvp", ".detach()", "while b.norm()", "retain_graph=True", "create_graph=True",
    "torch.allclose(a.grad, d / a)", "plotting.plot(",
])
def test_lecture_shows_each_move(cells, move):
    assert move in _code(cells)


def test_every_code_cell_was_executed_without_errors_or_warnings(cells):
    for c in cells:
        if c.cell_type != "code":
            continue
        assert c.execution_count is not None, c.source
        for out in c.outputs:
            assert out.output_type != "error", c.source
            assert not (out.output_type == "stream" and out.name == "stderr"), c.source


def test_deliberate_errors_are_caught_and_printed(cells):
    printed = "\n".join(_outputs(cells))
    assert "grad can be implicitly created only for scalar outputs" in printed
    assert "backward through the graph a second time" in printed


def test_worked_example_numbers(cells):
    printed = "\n".join(_outputs(cells))
    assert "tensor([  26., 1240.])" in printed  # v^T J for v = (1, 10, 100) at x = (1, 2)
    assert "tensor([ 0.,  4.,  8., 12.])" in printed  # 4x
    assert "tensor([ 0.,  6., 12., 18.])" in printed  # 4x from y, plus 2x from z: accumulated
    # retain_graph: two passes through exp give 2 e^x
    assert "(tensor([ 2.0000,  5.4366, 14.7781]), tensor([ 2.0000,  5.4366, 14.7781]))" in printed
    assert "tensor(-4., grad_fn=<MulBackward0>)" in printed and "tensor(12.)" in printed  # 2pq^3, 6pq^2


def test_sigmoid_derivative_comes_from_one_backward_pass(cells):
    plot_cell = next(c for c in cells if c.cell_type == "code" and "torch.sigmoid(x)" in c.source)
    assert plot_cell.source.count("backward") == 1 and "for " not in plot_cell.source
    assert "1 - " not in plot_cell.source  # the formula sigma (1 - sigma) is only in the check after it
    assert any("image/svg+xml" in out.get("data", {}) for out in plot_cell.outputs)
    check = cells[cells.index(plot_cell) + 2]
    assert "s * (1 - s)" in check.source and check.outputs[0].data["text/plain"] == "True"


def test_jacobian_built_from_columns_and_from_rows(cells):
    cell = next(c for c in cells if c.cell_type == "code" and "torch.stack(columns, dim=1)" in c.source)
    shown = cell.outputs[0].data["text/plain"]
    assert shown.count("[ 2., 24.]") == 2 and shown.count("[ 0., 10.]") == 2


def test_float_comparisons_use_a_tolerance(cells):
    for c in cells:
        if c.cell_type == "code":
            for line in c.source.splitlines():
                if "grad ==" in line:  # only where the lecture shows why == is fragile
                    assert "isclose" in line, line


def test_students_are_sent_to_the_release(cells):
    first = cells[0].source
    assert "release/ps2_autograd" in first and "source/" not in first


def test_exact_equality_fails_only_where_100_b_rounds(cells):
    printed = "\n".join(_outputs(cells))
    rows = {branch: (int(eq), int(close)) for branch, eq, close
            in re.findall(r"^(b [<>] 0)\s+\d+\s+(\d+)\s+(\d+)$", printed, re.M)}
    assert rows["b > 0"] == (0, 0), "doubling is exact: no == failure on the b > 0 branch"
    assert rows["b < 0"][0] > 0 and rows["b < 0"][1] == 0
    d32 = float(re.search(r"d in float32 = (\S+)", printed).group(1))
    exact = float(re.search(r"100 \* 2\*\*m \* a exactly = (\S+)", printed).group(1))
    assert d32 != exact, "the shown d should be the rounded one"


def _printed_by(cells, snippet: str) -> str:
    cell = next(c for c in cells if c.cell_type == "code" and snippet in c.source)
    return "\n".join(out.get("text", "") or out.get("data", {}).get("text/plain", "") for out in cell.outputs)


def test_grad_fn_chain_of_two_x_transpose_x(cells):
    lines = _printed_by(cells, "walk(y.grad_fn)").splitlines()
    assert [line.split("  (")[0] for line in lines] == [
        "MulBackward0", "    DotBackward0", "        AccumulateGrad", "        AccumulateGrad"]
    assert all("[0.0, 1.0, 2.0, 3.0]" in line for line in lines[2:])  # both branches end at x


def test_jacobian_is_the_transpose_of_the_column_layout(cells):
    printed = _printed_by(cells, "jacobian(lambda t: A @ t, point)")
    assert "shape (3, 4), equal to A: True" in printed
    assert "shape (4, 3), equal to A^T: True, equal to the Jacobian transposed: True" in printed


def test_what_autograd_returns_at_kinks(cells):
    printed = _printed_by(cells, "torch.where(t >= 0, t, 0.0)")
    rows = {line[:28].strip(): line[28:].strip() for line in printed.splitlines()[1:]}
    assert rows == {"torch.relu(x)": "[0.0, 0.0, 1.0]", "torch.where(x >= 0, x, 0)": "[0.0, 1.0, 1.0]",
                    "x * (x > 0)": "[0.0, 0.0, 1.0]", "x.abs()": "[-1.0, 0.0, 1.0]"}


def test_gradcheck_passes_the_right_backward_and_fails_the_wrong_one(cells):
    assert _printed_by(cells, "class SoftplusSignSlip(Softplus)") == "(True, False)"
    mismatch = _printed_by(cells, "except GradcheckError")
    assert mismatch.startswith("Jacobian mismatch") and "numerical" in mismatch and "analytical" in mismatch

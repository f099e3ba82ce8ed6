"""notebooks/01_calculus.ipynb: the facts it shows are in its stored outputs, and it reads in order.

nbval re-executes the notebook and compares outputs; these tests say *what*
the outputs must show, so that a change that keeps nbval happy but loses the
point of a section (say, the float32 collapse) is caught.
"""

from __future__ import annotations

import math
import re

import nbformat
import pytest

from nbexec import REPO

LECTURE = REPO / "notebooks" / "01_calculus.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(LECTURE, as_version=4)


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out and "text/plain" in out.data:
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def _outputs(nb) -> str:
    return "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")


def test_every_code_cell_was_executed_in_order_without_errors(nb):
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert all(o.output_type != "error" for o in cell.outputs), cell.source
            assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs)


def _numbered_headings(nb) -> list[str]:
    return [line for c in nb.cells if c.cell_type == "markdown"
            for line in c.source.splitlines() if re.match(r"## \d", line)]


def test_sections_in_order(nb):
    headings = _numbered_headings(nb)
    assert [int(h.split()[1]) for h in headings] == list(range(1, len(headings) + 1))
    assert "automatic differentiation" in headings[-1].lower()


def _section(nb, title: str) -> list:
    """The cells from the heading that contains title up to the next numbered heading."""
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                 and any(re.match(r"## \d", line) and title in line for line in c.source.splitlines()))
    end = next((i for i in range(start + 1, len(nb.cells)) if nb.cells[i].cell_type == "markdown"
                and re.match(r"## \d", nb.cells[i].source)), len(nb.cells))
    return nb.cells[start:end]


def test_plotting_helpers_are_built_one_cell_each(nb):
    cells = [c for c in _section(nb, "Plotting helpers") if c.cell_type == "code"]
    shown = [c for c in cells if "inspect.getsource" in c.source]
    helpers = ["use_svg_display", "set_figsize", "set_axes", "plot"]
    assert [re.search(r"plotting\.(\w+)\)", c.source).group(1) for c in shown] == helpers
    for cell, helper in zip(shown, helpers):
        assert f"def {helper}(" in _text(cell), f"{helper}: its code is not printed"


def test_set_figsize_is_honoured_by_plot_in_the_lecture(nb):
    cells = [c for c in _section(nb, "Plotting helpers") if c.cell_type == "code"]
    sized = next(c for c in cells if "get_size_inches" in c.source)
    assert "array([5., 2.])" in _text(sized)  # set_figsize((5, 2)) two cells before
    assert any(o.get("data", {}).get("image/svg+xml") for o in sized.outputs)
    panels = next(c for c in cells if "axes=left" in c.source)
    assert "axes=right" in panels.source and _svgs(panels)


def _svgs(cell) -> list:
    return [o for o in cell.get("outputs", []) if "data" in o and "image/svg+xml" in o.data]


def test_difference_quotient_table_closes_in_on_two(nb):
    out = _outputs(nb)
    for q in ("2.30000", "2.03000", "2.00300", "2.00030", "2.00003"):
        assert f"quotient = {q}" in out


def test_float32_collapses_where_float64_holds(nb):
    out = _outputs(nb)
    row = re.search(r"h = 1e-08\s+float32: (\S+)\s+float64: (\S+)", out)
    assert row, "the float32/float64 table is missing"
    assert float(row.group(1)) == 0.0  # 1 + 1e-8 == 1 in float32
    assert abs(float(row.group(2)) - 2) < 1e-6


def test_central_beats_forward(nb):
    rows = re.findall(r"^(\S+)\s+(\d\.\d\de-\d\d)\s+(\d\.\d\de-\d\d)$", _outputs(nb), re.M)
    assert len(rows) == 5
    assert all(float(central) < float(forward) for _, forward, central in rows)


def test_worked_derivative_and_tangent(nb):
    sources = "\n".join(c.source for c in nb.cells)
    assert "return 6 * x - 4" in sources and "2 * x - 3" in sources
    assert "(2.0, 1.99999999999" in _outputs(nb)


def test_identities_and_chain_rule_checks_hold(nb):
    checks = [c for c in nb.cells if c.cell_type == "code" and "torch.allclose" in c.source]
    assert len(checks) == 5  # A x, x^T A, x^T B x, ||x||^2, ||X||_F^2
    assert all(_text(c).strip() == "True" for c in checks)


def test_plots_are_stored_as_svg(nb):
    svgs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "data" in o and "image/svg+xml" in o.data]
    # round-off, forward vs central, set_figsize, two panels, tangent, secants, the h and x0 explorers,
    # kinks, surrogate losses, gradient field
    assert len(svgs) == 11
    assert all("<dc:date>" not in o.data["image/svg+xml"] for o in svgs)  # reproducible: no date


def test_one_sided_slopes_differ_at_kinks_and_agree_where_smooth(nb):
    rows = re.findall(r"^(\|x\||ReLU\(x\)|3x²−4x)\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)$", _outputs(nb), re.M)
    by_name = {}
    for name, h, right, left in rows:
        by_name.setdefault(name, []).append((float(h), float(right), float(left)))
    assert {(right, left) for _, right, left in by_name["|x|"]} == {(1.0, -1.0)}
    assert {(right, left) for _, right, left in by_name["ReLU(x)"]} == {(1.0, 0.0)}
    smooth = by_name["3x²−4x"]
    assert len(smooth) == 3  # 2 + 3h from the right, 2 - 3h from the left
    assert all(abs(right - 2) <= 3.001 * h and abs(left - 2) <= 3.001 * h for h, right, left in smooth)
    kinks = [c for c in _section(nb, "Differentiability") if c.cell_type == "code" and "kink" in c.source]
    assert kinks and _svgs(kinks[0])


def test_surrogate_losses_have_slopes_where_the_0_1_loss_has_none(nb):
    rows = re.findall(r"^(-?\d\S*)\s+(-?\d\.\d{4})\s+(-?\d\.\d{4})\s+(-?\d\.\d{4})\s*$", _outputs(nb), re.M)
    assert len(rows) == 4
    for m, zero_one, logistic, hinge in ((float(v) for v in row) for row in rows):
        assert zero_one == 0.0
        assert logistic == pytest.approx(-1 / (1 + math.exp(m)), abs=1e-4)
        assert hinge == (-1.0 if m < 1 else 0.0)


def test_gradient_descent_on_the_bowl_goes_down_and_zig_zags(nb):
    steps = re.findall(r"^step (\d+): x = \(\s*(\S+),\s*(\S+)\)\s+b\(x\) = (\S+)$", _outputs(nb), re.M)
    assert [int(k) for k, *_ in steps] == list(range(9))
    values = [float(b) for *_, b in steps]
    assert all(later < earlier for earlier, later in zip(values, values[1:])) and values[-1] < 0.01
    x2_signs = [float(x2) > 0 for _, _, x2, _ in steps]
    assert all(a != b for a, b in zip(x2_signs, x2_signs[1:])), "the steps should cross the valley each time"


def test_gradient_field_is_drawn_perpendicular_to_the_level_sets(nb):
    field = next(c for c in nb.cells if c.cell_type == "code" and "quiver(" in c.source)
    assert "contour(" in field.source and "axes=ax" in field.source and _svgs(field)
    cosine = re.search(r"largest \|cos\(angle\)\| between the gradient and the level set: (\S+)",
                       _outputs(nb))
    assert cosine and float(cosine.group(1)) < 1e-6


WIDGET = "application/vnd.jupyter.widget-view+json"


def _explorer(nb, slider: str):
    cell = next(c for c in nb.cells if c.cell_type == "code" and slider in c.source
                and "explorers.Explorer" in c.source)
    kinds = [("widget" if WIDGET in o.data else "svg" if "image/svg+xml" in o.data else "text")
             for o in cell.outputs]
    return cell, kinds


def test_h_explorer_stores_a_meaningful_default(nb):
    """Slider first, then the table and the secant plot for h = 0.1, as a static page shows them."""
    cell, kinds = _explorer(nb, "h_slider = widgets.FloatLogSlider")
    assert kinds == ["widget", "text", "svg"]
    assert cell.outputs[1].data["text/plain"].splitlines() == [
        "h = 1        quotient = 5.0000000000", "h = 0.1      quotient = 2.3000000000"]
    assert "FloatLogSlider(value=0.1" in cell.outputs[0].data["text/plain"]


def test_x0_explorer_stores_a_meaningful_default(nb):
    cell, kinds = _explorer(nb, "x0_slider = widgets.FloatSlider")
    assert kinds == ["widget", "text", "svg"]
    assert cell.outputs[1].data["text/plain"] == "x0 = 1   f(x0) = -1.0000   slope f'(x0) = 2.0000"


def _public_helpers():
    import inspect

    from calcgrad import explorers, plotting

    for module in (plotting, explorers):
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not name.startswith("_") \
                    and obj.__module__ == module.__name__:
                yield name, obj


@pytest.mark.parametrize("name, helper", list(_public_helpers()))
def test_each_helper_is_introduced_where_its_docstring_says(name, helper):
    """"Introduced by: notebooks/X.ipynb" is true: X's code calls the helper, or calls a helper
    of the course package whose code calls it."""
    import inspect

    claim = re.search(r"Introduced by: (notebooks/\S+\.ipynb)", inspect.getdoc(helper) or "")
    assert claim, f"{name}: no 'Introduced by' in its docstring"
    notebook = nbformat.read(REPO / claim.group(1), as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    callers = [other for other_name, other in _public_helpers()
               if re.search(rf"\b{other_name}\(", code)
               and re.search(rf"\b{name}\(", inspect.getsource(other))]
    assert re.search(rf"\b{name}\(", code) or callers, f"{name}: {claim.group(1)} never uses it"

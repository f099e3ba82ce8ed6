"""The plotting helpers, inspected through the lines, labels and legends they draw."""

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt

from calcgrad import plotting
from calcgrad.plotting import plot, plot_secants, plot_tangent, set_axes, set_figsize


@pytest.fixture(autouse=True)
def headless():
    """Draw with Agg (no window, no display needed) and close every figure afterwards."""
    matplotlib.use("Agg")
    yield
    plt.close("all")


def f(x):
    return 3 * x**2 - 4 * x


def legend_texts(axes):
    return [text.get_text() for text in axes.get_legend().get_texts()]


def test_one_curve_with_labels_limits_and_scales():
    x = np.arange(1.0, 5.0)
    axes = plot(x, x**2, xlabel="x", ylabel="x squared", legend="x^2", xlim=(1, 4),
                ylim=(1, 20), yscale="log")
    assert isinstance(axes, matplotlib.axes.Axes)
    (line,) = axes.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), x)
    np.testing.assert_array_equal(line.get_ydata(), x**2)
    assert axes.get_xlabel() == "x" and axes.get_ylabel() == "x squared"
    assert axes.get_xlim() == (1, 4) and axes.get_ylim() == pytest.approx((1, 20))
    assert axes.get_xscale() == "linear" and axes.get_yscale() == "log"
    assert legend_texts(axes) == ["x^2"]


def test_new_figure_has_the_requested_size_and_rcparams_untouched():
    before = tuple(plt.rcParams["figure.figsize"])
    axes = plot([1, 2, 3], figsize=(5, 2))
    assert tuple(axes.figure.get_size_inches()) == pytest.approx((5, 2))
    assert tuple(plt.rcParams["figure.figsize"]) == before


def test_set_figsize_changes_what_plot_draws():
    with matplotlib.rc_context():
        set_figsize((5, 2))
        wide = plot([1, 2, 3])
        set_figsize((2, 3))
        tall = plot([1, 2, 3])
        assert tuple(wide.figure.get_size_inches()) == pytest.approx((5, 2))
        assert tuple(tall.figure.get_size_inches()) == pytest.approx((2, 3))
        assert plot([1, 2, 3], figsize=(4, 4)).figure.get_size_inches() == pytest.approx((4, 4))


def test_plot_draws_into_the_axes_it_is_given():
    figure, (left, right) = plt.subplots(1, 2)
    returned = plot([0, 1, 2], [[0, 1, 4], [0, 1, 8]], legend=["x^2", "x^3"], axes=right)
    assert returned is right and plt.get_fignums() == [figure.number]  # no new figure
    assert len(right.get_lines()) == 2 and not left.get_lines()


def test_many_curves_share_one_x_and_use_the_fmts_in_turn():
    x = np.linspace(0, 1, 11)
    axes = plot(x, [x, x**2, x**3], legend=["x", "x^2", "x^3"])
    lines = axes.get_lines()
    assert len(lines) == 3
    for line, power in zip(lines, (1, 2, 3)):
        np.testing.assert_array_equal(line.get_xdata(), x)
        np.testing.assert_allclose(line.get_ydata(), x**power)
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-."]
    assert lines[1].get_color() == "m" and lines[2].get_color() == "g"
    assert legend_texts(axes) == ["x", "x^2", "x^3"]


def test_one_x_per_curve():
    axes = plot([[0, 1], [5, 6, 7]], [[1, 2], [3, 4, 5]])
    first, second = axes.get_lines()
    np.testing.assert_array_equal(second.get_xdata(), [5, 6, 7])
    np.testing.assert_array_equal(second.get_ydata(), [3, 4, 5])
    np.testing.assert_array_equal(first.get_xdata(), [0, 1])


def test_y_none_plots_against_the_index():
    axes = plot([4.0, 5.0, 7.0])
    (line,) = axes.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(line.get_ydata(), [4, 5, 7])


def test_y_none_with_several_curves_and_a_2d_tensor():
    axes = plot(torch.tensor([[1.0, 2.0, 3.0], [6.0, 5.0, 4.0]]))
    lines = axes.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[1].get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(lines[1].get_ydata(), [6, 5, 4])


def test_tensors_that_require_grad_are_detached():
    x = torch.linspace(-3, 3, 31, requires_grad=True)
    y = torch.sin(x)
    y.sum().backward()
    axes = plot(x, [y, x.grad], legend=["sin(x)", "cos(x)"])
    sin_line, cos_line = axes.get_lines()
    np.testing.assert_allclose(sin_line.get_xdata(), x.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(sin_line.get_ydata(), np.sin(x.detach().numpy()), rtol=1e-5)
    np.testing.assert_allclose(cos_line.get_ydata(), np.cos(x.detach().numpy()), atol=1e-6)


def test_a_list_of_scalar_tensors_is_one_curve():
    x = torch.tensor(2.0, requires_grad=True)
    axes = plot([x, x * 2, x * 3])
    (line,) = axes.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [2, 4, 6])


def test_more_curves_than_fmts_are_all_drawn_with_cycled_fmts():
    x = np.arange(5.0)
    ys = [x + k for k in range(5)]
    axes = plot(x, ys, fmts=("-", "m--", "g-.", "r:"))
    lines = axes.get_lines()
    assert len(lines) == 5
    np.testing.assert_array_equal(lines[4].get_ydata(), x + 4)
    assert lines[4].get_linestyle() == lines[0].get_linestyle() == "-"


def test_single_fmt_string():
    axes = plot([0, 1], [[0, 1], [1, 0]], fmts="k:")
    assert [line.get_linestyle() for line in axes.get_lines()] == [":", ":"]


@pytest.mark.parametrize("legend", [["only one"], ["a", "b", "c"]])
def test_legend_with_wrong_number_of_names_is_an_error(legend):
    with pytest.raises(ValueError, match=r"legend has \d names for 2 curves"):
        plot([0, 1], [[0, 1], [1, 0]], legend=legend)


def test_mismatched_lengths_name_both_lengths():
    with pytest.raises(ValueError, match="x has 3 points but y has 2"):
        plot([0, 1, 2], [5, 6])
    with pytest.raises(ValueError, match="2 x-arrays for 3 y-curves"):
        plot([[0, 1], [0, 1]], [[0, 1], [0, 1], [0, 1]])


def test_given_axes_are_used_and_returned():
    _, (left, right) = plt.subplots(1, 2)
    returned = plot([0, 1], [2, 3], axes=right)
    assert returned is right
    assert len(right.get_lines()) == 1 and len(left.get_lines()) == 0
    assert len(plt.get_fignums()) == 1  # no extra figure


def test_set_axes_and_set_figsize():
    _, axes = plt.subplots()
    axes.plot([1, 10], [1, 100])
    set_axes(axes, "x", "y", (1, 10), (1, 100), "log", "log", ["line"])
    assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    assert axes.get_xlabel() == "x" and axes.get_ylabel() == "y"
    assert legend_texts(axes) == ["line"]
    before = plt.rcParams["figure.figsize"]
    try:
        set_figsize((4, 3))
        assert tuple(plt.rcParams["figure.figsize"]) == (4, 3)
    finally:
        plt.rcParams["figure.figsize"] = before


def test_use_svg_display_sets_the_inline_format(monkeypatch):
    from matplotlib_inline import backend_inline

    calls = []
    monkeypatch.setattr(backend_inline, "set_matplotlib_formats",
                        lambda *formats, **kwargs: calls.append((formats, kwargs)))
    monkeypatch.setitem(plt.rcParams, "svg.hashsalt", None)
    plotting.use_svg_display()
    # SVG, with no date and a fixed hash salt: re-executed notebooks give identical bytes.
    assert calls == [(("svg",), {"metadata": {"Date": None}})]
    assert plt.rcParams["svg.hashsalt"] == "calcgrad"


def line_slope_and_value_at(line, x0):
    xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    slope, intercept = np.polyfit(xs, ys, 1)
    return slope, slope * x0 + intercept


def test_plot_tangent_of_the_lecture_example():
    axes = plot_tangent(f, 1.0)
    curve, tangent, point = axes.get_lines()
    xs = np.asarray(curve.get_xdata())
    assert xs.min() < 1 < xs.max()
    np.testing.assert_allclose(curve.get_ydata(), f(xs))
    slope, value = line_slope_and_value_at(tangent, 1.0)
    assert slope == pytest.approx(2.0, abs=1e-6)
    assert value == pytest.approx(-1.0, abs=1e-6)
    assert list(point.get_xdata()) == [1.0] and list(point.get_ydata()) == pytest.approx([-1.0])
    names = legend_texts(axes)
    assert names[0] == "f(x)" and "tangent" in names[1] and "x=1" in names[1]


def test_plot_tangent_with_given_slope_xs_tensor_and_axes():
    _, given = plt.subplots()
    xs = torch.linspace(-2, 2, 21)
    axes = plot_tangent(torch.sin, 0.0, slope=0.5, xs=xs, axes=given)
    assert axes is given
    _, tangent, _ = axes.get_lines()
    slope, value = line_slope_and_value_at(tangent, 0.0)
    assert slope == pytest.approx(0.5) and value == pytest.approx(0.0, abs=1e-12)


def test_plot_secants_close_in_on_the_tangent():
    hs = (1.0, 0.5, 0.1)
    axes = plot_secants(f, 1.0, hs=hs)
    lines = axes.get_lines()
    curve, secants, tangent = lines[0], lines[1:4], lines[4]
    np.testing.assert_allclose(curve.get_ydata(), f(np.asarray(curve.get_xdata())))
    for h, secant in zip(hs, secants):
        slope, value = line_slope_and_value_at(secant, 1.0)
        assert slope == pytest.approx(2 + 3 * h)  # (f(1 + h) - f(1)) / h
        assert value == pytest.approx(-1.0)  # passes through (1, f(1))
        _, value_at_far_end = line_slope_and_value_at(secant, 1.0 + h)
        assert value_at_far_end == pytest.approx(f(1.0 + h))  # and through (1 + h, f(1 + h))
    slope, value = line_slope_and_value_at(tangent, 1.0)
    assert slope == pytest.approx(2.0, abs=1e-6) and value == pytest.approx(-1.0)
    assert legend_texts(axes) == ["f(x)", "secant, h=1", "secant, h=0.5", "secant, h=0.1",
                                  "tangent"]
    # the y-range follows f, not the steepest secant
    low, high = axes.get_ylim()
    assert low < -1 and high > f(3.0) - 1e-9 and high < 20

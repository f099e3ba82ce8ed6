"""The lecture's slider explorers, driven from Python: a new slider value redraws the text and the figure."""

import ipywidgets
import matplotlib
import numpy as np

from calcgrad import explorers


def f(x):
    return 3 * x**2 - 4 * x


def df(x):
    return 6 * x - 4


def line_ys(figure):
    return [np.asarray(line.get_ydata(), dtype=float) for line in figure.axes[0].get_lines()]


def test_secant_view_tabulates_down_to_h_and_draws_that_secant():
    text, figure = explorers.secant_view(f, 1.0, 0.001)
    rows = text.splitlines()
    assert [row.split()[2] for row in rows] == ["1", "0.1", "0.01", "0.001"]
    assert rows[-1].endswith("quotient = 2.0030000000")  # 2 + 3h
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == ["f(x)", "secant, h=0.001", "tangent"]
    assert isinstance(figure, matplotlib.figure.Figure) and not matplotlib.pyplot.get_fignums()


def test_tangent_view_moves_the_tangent_with_x0():
    xs = np.linspace(-1.5, 3.5, 101)
    text, figure = explorers.tangent_view(f, df, 2.0, xs, ylim=(-5, 23))
    assert text == "x0 = 2   f(x0) = 4.0000   slope f'(x0) = 8.0000"
    curve, tangent, point = figure.axes[0].get_lines()
    np.testing.assert_allclose(tangent.get_ydata(), 4 + 8 * (xs - 2))
    assert figure.axes[0].get_ylim() == (-5, 23)


class FakeHandle:
    def __init__(self, shown):
        self.shown = [shown]

    def update(self, obj, raw=False):
        self.shown.append(obj)


def test_moving_the_slider_replaces_the_shown_text_and_figure(monkeypatch):
    displayed = []

    def fake_display(obj, raw=False, display_id=None):
        displayed.append(obj)
        return FakeHandle(obj) if display_id else None

    monkeypatch.setattr(explorers, "display", fake_display)
    slider = ipywidgets.FloatSlider(value=1.0, min=-1.0, max=3.0, step=0.5)
    explorer = explorers.Explorer(slider, lambda x0: explorers.tangent_view(f, df, x0, [0, 1, 2], (-5, 5)))
    explorer.show()
    assert displayed[0] is slider and len(displayed) == 3
    text_shown, figure_shown = explorer._text_shown, explorer._figure_shown
    assert text_shown.shown[0]["text/plain"].startswith("x0 = 1 ")
    before = line_ys(figure_shown.shown[0])[1]
    slider.value = 2.5
    assert text_shown.shown[-1]["text/plain"].startswith("x0 = 2.5 ")
    after = line_ys(figure_shown.shown[-1])[1]
    assert figure_shown.shown[-1] is explorer.figure and not np.allclose(before, after)
    assert len(displayed) == 3  # updated in place, nothing new displayed


def test_slider_values_that_are_not_decades():
    text, _ = explorers.secant_view(f, 1.0, 0.03)
    assert [row.split()[2] for row in text.splitlines()] == ["1", "0.1", "0.03"]

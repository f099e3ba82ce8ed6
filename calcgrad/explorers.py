"""Sliders that redraw a picture, for the lectures (ipywidgets).

`Explorer(slider, view).show()` displays the slider, then the text and the
figure that `view(slider.value)` returns, as ordinary outputs with a display
id. A static page (GitHub, nbviewer) and nbval's comparison see that default
picture; in a live notebook, moving the slider replaces the text and the
figure in place (IPython's `update_display`), so the page never grows a
second copy. Figures are made with `matplotlib.figure.Figure`, not pyplot, so
none is left behind for the inline backend to show again at the end of a cell.

Introduced by: notebooks/01_calculus.ipynb, section 4 (the h and x0 explorers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from calcgrad import plotting

View = Callable[[float], tuple[str, Figure]]
Function = Callable[[Any], Any]


class Explorer:
    """A slider and the text and figure that `view` draws for its value, redrawn when it moves.

    Introduced by: notebooks/01_calculus.ipynb, section 4.
    """

    def __init__(self, slider, view: View) -> None:
        self.slider = slider
        self.view = view
        self.text, self.figure = view(slider.value)
        self._text_shown = None
        self._figure_shown = None
        slider.observe(self._redraw, names="value")

    def show(self) -> None:
        """Display the slider, then the text and figure for its current value."""
        display(self.slider)
        self._text_shown = display({"text/plain": self.text}, raw=True, display_id=True)
        self._figure_shown = display(self.figure, display_id=True)

    def _redraw(self, change: dict) -> None:
        self.text, self.figure = self.view(change["new"])
        if self._text_shown is not None:
            self._text_shown.update({"text/plain": self.text}, raw=True)
            self._figure_shown.update(self.figure)


def secant_view(f: Function, x0: float, h: float,
                figsize: tuple[float, float] = (5.5, 2.5)) -> tuple[str, Figure]:
    """The difference quotients of f at x0 for h = 1, 0.1, ... down to h, and the secant for h.

    The table has one row per power of ten from 1 down to h (h itself last);
    the figure is `plotting.plot_secants` with that one secant and the tangent.

    Introduced by: notebooks/01_calculus.ipynb, section 4 (the h slider).
    """
    steps = [10.0 ** -k for k in range(16) if 10.0 ** -k > h] + [h]
    rows = [f"h = {step:<8g} quotient = {(f(x0 + step) - f(x0)) / step:.10f}" for step in steps]
    figure = Figure(figsize=figsize, layout="constrained")
    plotting.plot_secants(f, x0, hs=(h,), axes=figure.subplots())
    return "\n".join(rows), figure


def tangent_view(f: Function, df: Function, x0: float, xs: Sequence[float], ylim: tuple[float, float],
                 figsize: tuple[float, float] = (5.5, 2.5)) -> tuple[str, Figure]:
    """f and its tangent at x0 (slope df(x0)) on the fixed range xs and ylim, and a line of numbers.

    Introduced by: notebooks/01_calculus.ipynb, section 4 (the x0 slider).
    """
    text = f"x0 = {x0:g}   f(x0) = {f(x0):.4f}   slope f'(x0) = {df(x0):.4f}"
    figure = Figure(figsize=figsize, layout="constrained")
    axes = plotting.plot_tangent(f, x0, slope=df(x0), xs=np.asarray(xs, dtype=np.float64),
                                 axes=figure.subplots())
    axes.set_ylim(ylim)
    return text, figure

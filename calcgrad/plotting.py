"""Plotting helpers in the style of Dive into Deep Learning, written for this course.

Nothing happens on import: no backend is chosen and no settings change.
The helpers never call `plt.show()`; in Jupyter the inline backend shows
the figure at the end of the cell, and headless (Agg) they just draw.
Data may be lists, NumPy arrays or torch tensors, including tensors that
require grad (they are detached first).

Where each helper is introduced is in its docstring: the four general ones
(`use_svg_display`, `set_figsize`, `set_axes`, `plot`) are built one cell at a
time in notebooks/01_calculus.ipynb, section 3, which shows their code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib import pyplot as plt

DEFAULT_FMTS = ("-", "m--", "g-.", "r:")

Function = Callable[[Any], Any]


def use_svg_display() -> None:
    """Show figures as SVG in Jupyter (sharper than PNG), byte-for-byte reproducible.

    The SVG gets a fixed hash salt for its element ids and no date, so a
    re-executed notebook gives the same output (nbval compares it).

    Introduced by: notebooks/01_calculus.ipynb, section 3 (its code is shown there);
    every lecture calls it in its first cell.
    """
    from matplotlib_inline import backend_inline

    plt.rcParams["svg.hashsalt"] = "calcgrad"
    backend_inline.set_matplotlib_formats("svg", metadata={"Date": None})


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Set the default size, in inches, of figures made from now on (`plot` included).

    Introduced by: notebooks/01_calculus.ipynb, section 3 (its code is shown there).
    """
    plt.rcParams["figure.figsize"] = figsize


def set_axes(
    axes,
    xlabel: str | None = None,
    ylabel: str | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    xscale: str = "linear",
    yscale: str = "linear",
    legend: Sequence[str] | None = None,
) -> None:
    """Label, scale and limit a matplotlib axes, add a legend if names are given, and a grid.

    Introduced by: notebooks/01_calculus.ipynb, section 3 (its code is shown there).
    """
    if xlabel is not None:
        axes.set_xlabel(xlabel)
    if ylabel is not None:
        axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    if xlim is not None:
        axes.set_xlim(xlim)
    if ylim is not None:
        axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid(True)


def _to_numpy(values: Any) -> np.ndarray:
    """A float64 array from a number, list, array or tensor (detached, moved to the CPU)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=np.float64)


def _curves(data: Any) -> list[np.ndarray]:
    """Split data into 1-D curves: one curve, a 2-D array (one curve per row) or a list of curves."""
    if isinstance(data, (list, tuple)):
        items = [_to_numpy(item) for item in data]
        if all(item.ndim == 0 for item in items):  # a list of numbers is one curve
            return [np.array(items, dtype=np.float64)]
        return [item.reshape(-1) for item in items]
    array = _to_numpy(data)
    if array.ndim == 2:
        return list(array)
    return [array.reshape(-1)]


def plot(
    X: Any,
    Y: Any = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: str | Sequence[str] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: str | Sequence[str] = DEFAULT_FMTS,
    figsize: tuple[float, float] | None = None,
    axes=None,
):
    """Plot one or several curves and return the matplotlib axes.

    - `plot(x, y)`: one curve.
    - `plot(x, [y1, y2])`: the single x is reused for every y.
    - `plot([x1, x2], [y1, y2])`: one x per y.
    - `plot(y)` or `plot([y1, y2])` (Y=None): each curve against its index 0, 1, 2, ...
    A 2-D array or tensor counts as one curve per row. Tensors that require
    grad are fine: they are detached.

    fmts are matplotlib format strings, used in turn; with more curves than
    fmts they start over (curve 5 of 4 fmts gets fmts[0]), so no curve is
    dropped. legend needs exactly one name per curve (a single string for a
    single curve). If axes is None a new figure is made, of size figsize if
    given, else of the size last set with `set_figsize` (matplotlib's
    `rcParams["figure.figsize"]`); otherwise the curves are added to the given
    axes (a subplot, say) and figsize is not used.

    Introduced by: notebooks/01_calculus.ipynb, section 3 (its code is shown there).
    """
    if Y is None:
        ys = _curves(X)
        xs = [np.arange(len(y), dtype=np.float64) for y in ys]
    else:
        xs, ys = _curves(X), _curves(Y)
        if len(xs) == 1:
            xs = xs * len(ys)
        if len(xs) != len(ys):
            raise ValueError(f"got {len(xs)} x-arrays for {len(ys)} y-curves; "
                             "give one x for all curves or one x per curve")
    for i, (x, y) in enumerate(zip(xs, ys)):
        if len(x) != len(y):
            raise ValueError(f"curve {i}: x has {len(x)} points but y has {len(y)}")
    if isinstance(legend, str):
        legend = [legend]
    if legend is not None and len(legend) != len(ys):
        raise ValueError(f"legend has {len(legend)} names for {len(ys)} curves; "
                         "give one name per curve")
    if isinstance(fmts, str):
        fmts = [fmts]

    if axes is None:
        axes = plt.figure(figsize=figsize).gca()  # figsize=None: rcParams, i.e. set_figsize
    for i, (x, y) in enumerate(zip(xs, ys)):
        label = legend[i] if legend is not None else None
        axes.plot(x, y, fmts[i % len(fmts)], label=label)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale)
    if legend is not None:
        axes.legend()
    return axes


def _value(f: Function, x0: float, like: Any) -> float:
    """f(x0) as a float, calling f with a tensor when the plotted xs are tensors."""
    point = like.new_tensor(x0) if hasattr(like, "new_tensor") else x0
    return float(_to_numpy(f(point)))


def _grid(f: Function, xs: Any) -> tuple[np.ndarray, np.ndarray]:
    """The xs and f(xs) as float64 arrays; f is called with xs as given (array or tensor)."""
    return _to_numpy(xs), _to_numpy(f(xs))


def _slope(f: Function, x0: float, like: Any, h: float = 1e-5) -> float:
    return (_value(f, x0 + h, like) - _value(f, x0 - h, like)) / (2 * h)


def plot_tangent(
    f: Function,
    x0: float,
    slope: float | None = None,
    xs: Any = None,
    name: str = "f(x)",
    xlabel: str = "x",
    ylabel: str = "y",
    figsize: tuple[float, float] | None = None,
    axes=None,
):
    """Plot f and its tangent line at x0, mark the point (x0, f(x0)), and return the axes.

    The slope is a central difference unless given. xs defaults to 101
    points on [x0 - 2, x0 + 2]; pass a torch tensor as xs if f needs tensors
    (torch.sin, say). Lines on the axes, in order: f, the tangent, the point.

    Introduced by: notebooks/01_calculus.ipynb, section 4 (the tangent explorer).
    """
    if xs is None:
        xs = np.linspace(x0 - 2, x0 + 2, 101)
    grid_x, grid_y = _grid(f, xs)
    y0 = _value(f, x0, xs)
    if slope is None:
        slope = _slope(f, x0, xs)
    tangent = y0 + slope * (grid_x - x0)
    axes = plot(grid_x, [grid_y, tangent], xlabel, ylabel,
                legend=[name, f"tangent at x={x0:g} (slope {slope:.3g})"],
                fmts=("-", "r--"), figsize=figsize, axes=axes)
    axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))  # off the curves, as in plot_secants
    axes.plot([x0], [y0], "ko", markersize=4)
    return axes


def plot_secants(
    f: Function,
    x0: float,
    hs: Sequence[float] = (1.0, 0.5, 0.1),
    xs: Any = None,
    name: str = "f(x)",
    xlabel: str = "x",
    ylabel: str = "y",
    figsize: tuple[float, float] | None = None,
    axes=None,
):
    """Plot f, the secants through (x0, f(x0)) and (x0 + h, f(x0 + h)), and the tangent at x0.

    As h shrinks the secants close in on the tangent: the picture behind the
    limit of the difference quotient. xs defaults to 101 points on
    [x0 - 2, x0 + 2]. The y-range is kept to f's range on xs (plus a margin)
    so steep secants do not squash the curve. Lines on the axes, in order:
    f, one secant per h, the tangent, the points (x0 + h, f(x0 + h)), the point x0.

    Introduced by: notebooks/01_calculus.ipynb, section 4 (secants closing in on the tangent).
    """
    if xs is None:
        xs = np.linspace(x0 - 2, x0 + 2, 101)
    grid_x, grid_y = _grid(f, xs)
    y0 = _value(f, x0, xs)
    curves, names = [grid_y], [name]
    for h in hs:
        secant_slope = (_value(f, x0 + h, xs) - y0) / h
        curves.append(y0 + secant_slope * (grid_x - x0))
        names.append(f"secant, h={h:g}")
    slope = _slope(f, x0, xs)
    curves.append(y0 + slope * (grid_x - x0))
    names.append("tangent")
    secant_fmts = ["m--", "g-.", "c:", "y--", "b-."]
    fmts = ["-"] + [secant_fmts[i % len(secant_fmts)] for i in range(len(hs))] + ["r-"]
    low, high = grid_y.min(), grid_y.max()
    margin = 0.1 * (high - low) or 1.0
    axes = plot(grid_x, curves, xlabel, ylabel, legend=names, fmts=fmts,
                ylim=(low - margin, high + margin), figsize=figsize, axes=axes)
    axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))  # five names: keep them off the curves
    axes.plot([x0 + h for h in hs], [_value(f, x0 + h, xs) for h in hs], "k.")
    axes.plot([x0], [y0], "ko", markersize=4)
    return axes


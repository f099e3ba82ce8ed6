"""Run a course notebook's code cells in-process, with some cells replaced.

Fast (no kernel): the mistake tests replace one solution cell with a typical
wrong answer, run the notebook up to a test cell and read the message the
student would get.
"""

from __future__ import annotations

import linecache
from pathlib import Path

import nbformat

from calcgrad.checks import CheckFailed

REPO = Path(__file__).resolve().parent.parent


def source_notebook(assignment: str) -> Path:
    return REPO / "source" / assignment / f"{assignment}.ipynb"


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def code_cells(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def _compile(src: str, filename: str):
    """Compile a cell and register its source, so that inspect.getsource
    works on functions it defines, as it does in Jupyter."""
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    return compile(src, filename, "exec")


def run_until(path: Path, test_id: str, replace: dict[str, str] | None = None) -> dict:
    """Run the code cells before `test_id` (errors in them are ignored, as a student's
    demo cells may fail); returns the namespace."""
    replace = replace or {}
    # `_ih`: IPython's input history, which `checks.method` reads in a kernel.
    ns: dict = {"__name__": "__main__", "_ih": [""]}
    for cell in code_cells(path):
        gid = grade_id(cell)
        if gid == test_id:
            return ns
        src = replace.get(gid, cell.source)
        ns["_ih"].append(src)
        try:
            exec(_compile(src, f"<cell {gid}>"), ns)
        except Exception:  # noqa: BLE001 - a wrong answer's demo cell may raise anything
            pass
    raise KeyError(f"{path.name} has no cell with grade_id {test_id!r}")


def test_cell_source(path: Path, test_id: str) -> str:
    for cell in code_cells(path):
        if grade_id(cell) == test_id:
            return cell.source
    raise KeyError(f"{path.name} has no cell with grade_id {test_id!r}")


def failure(path: Path, test_id: str, replace: dict[str, str] | None = None) -> str | None:
    """The message of the CheckFailed the test cell raises, or None when it passes."""
    ns = run_until(path, test_id, replace)
    ns["_ih"].append(test_cell_source(path, test_id))
    try:
        exec(_compile(test_cell_source(path, test_id), f"<cell {test_id}>"), ns)
    except CheckFailed as exc:
        return str(exc)
    return None

"""Cell builders for writing course notebooks from Python (maintainers only).

nbgrader keeps its cell roles in `cell.metadata.nbgrader`; writing that JSON
by hand is error-prone, so scripts that create or edit `source/` and
`notebooks/` use these builders. The committed .ipynb files stay the source
of truth: run a script once, review the diff, commit the notebook.

    from tools.nbauthor import md, code, solution, tests, answer, readonly, notebook, save
"""

from __future__ import annotations

import nbformat

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str) -> nbformat.NotebookNode:
    """A plain markdown cell."""
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(src: str) -> nbformat.NotebookNode:
    """A plain code cell (students may edit it)."""
    return nbformat.v4.new_code_cell(src.strip("\n"))


def readonly(src: str, grade_id: str) -> nbformat.NotebookNode:
    """A locked code cell: restored from the gradebook at autograde."""
    return nbformat.v4.new_code_cell(src.strip("\n"), metadata=_meta(
        grade_id, grade=False, solution=False, locked=True))


def solution(src: str, grade_id: str) -> nbformat.NotebookNode:
    """A code cell with ### BEGIN SOLUTION / ### END SOLUTION inside."""
    assert "### BEGIN SOLUTION" in src, f"{grade_id}: keep signatures outside the markers"
    return nbformat.v4.new_code_cell(src.strip("\n"), metadata=_meta(
        grade_id, grade=False, solution=True, locked=False))


def tests(src: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """An autograded test cell (may hold ### BEGIN HIDDEN TESTS blocks)."""
    return nbformat.v4.new_code_cell(src.strip("\n"), metadata=_meta(
        grade_id, grade=True, solution=False, locked=True, points=points))


def answer(text: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """A manually graded written answer (markdown)."""
    return nbformat.v4.new_markdown_cell(text.strip("\n"), metadata=_meta(
        grade_id, grade=True, solution=True, locked=False, points=points))


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def save(nb: nbformat.NotebookNode, path: str) -> None:
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"cell-{i:03d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)

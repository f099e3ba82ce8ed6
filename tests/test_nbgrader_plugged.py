"""nbgrader's own `autograde` (what formgrader's Autograde button runs) with calcgrad plugged
into the course's nbgrader_config.py: student code runs in the sandbox and check-based test
cells are decided outside it, so a hostile notebook neither fools the checks nor touches the
course folder.
"""

from __future__ import annotations

import nbformat
import pytest

import browser_support as bs
from calcgrad import course

ASSIGNMENT = course.ASSIGNMENTS[0]
PLUG = """
from calcgrad.grading.nbgrader_execute import autograde_preprocessors  # noqa: E402
c.Autograde.autograde_preprocessors = autograde_preprocessors()
"""
# In the first answer cell of the blank release: every check passes in the student's kernel,
# and a file is written three folders up (the course folder, under plain nbgrader).
HOSTILE = """from calcgrad import checks as _checks
_checks._run = lambda check: print("\\u2714", check.name)
try:
    with open("../../../pwned.txt", "w") as _fh:
        _fh.write("pwned")
except OSError:
    pass
"""


@pytest.fixture(scope="module")
def plugged(tmp_path_factory):
    root = course.new_course(tmp_path_factory.mktemp("plugged"), (ASSIGNMENT,))
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(PLUG)
    released = course.generate(root, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    work = tmp_path_factory.mktemp("work")
    nbformat.write(bs.completed_notebook(released, ASSIGNMENT), work / "ref.ipynb")
    hostile = nbformat.read(released, as_version=4)
    first = next(c for c in hostile.cells if c.metadata.get("nbgrader", {}).get("solution")
                 and c.cell_type == "code")
    first.source = HOSTILE + first.source
    nbformat.write(hostile, work / "hostile.ipynb")
    course.submit(root, ASSIGNMENT, "ref", work / "ref.ipynb")
    course.submit(root, ASSIGNMENT, "hostile", work / "hostile.ipynb")
    proc = course.nbgrader(root, "autograde", ASSIGNMENT, "--force")
    return root, proc.stdout + proc.stderr


def test_honest_work_keeps_its_points(plugged):
    root, log = plugged
    assert "Exception while loading config" not in log  # nbgrader then grades unsandboxed
    cells = course.grades(root, ASSIGNMENT)["ref"].cells
    want = bs.autograded_cells(ASSIGNMENT)
    assert {gid: cells[gid] for gid in want} == want, log[-3000:]


def test_a_hostile_notebook_fools_no_check_and_touches_nothing(plugged):
    root, log = plugged
    grades = course.grades(root, ASSIGNMENT)["hostile"]
    assert all(grades.cells[gid] == 0 for gid in bs.autograded_cells(ASSIGNMENT)), grades
    assert not list(root.rglob("pwned.txt")) and not (root.parent / "pwned.txt").exists()
    assert "calcgrad: hostile" in log

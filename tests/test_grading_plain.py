"""Test cells written without calcgrad.checks: graded by nbgrader's rule, as plain nbgrader does.

A throwaway assignment mixes a plain `assert` cell, a partial-credit cell (a
numeric last value), a cell mixing an assert with a check (so it cannot be
decided outside student code) and a check-only cell. Honest submissions must
score exactly as under plain `nbgrader autograde`; a submission that turns
every later cell into `pass` can fool the plain cells (which the report marks
not tamper-proof) but not the check.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from calcgrad import course

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tools import nbauthor as nba  # noqa: E402

A = "ps0_plain"
SOLUTION = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
ANSWERS = {
    "reference": "def f(x):\n    return 2 * x",
    "wrong": "def f(x):\n    return 2 * x + 1",
    "half": "def f(x):\n    return 2 * x if x < 3 else 0",
    "transformer": "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"
                   "def f(x):\n    return 0",
}


def _source() -> nbformat.NotebookNode:
    return nba.notebook([
        nba.readonly("import math\nfrom calcgrad import checks", "setup"),
        nba.solution(SOLUTION, "f_solution"),
        nba.tests("# f doubles\nassert f(2) == 4", "plain_tests", 2),
        nba.tests("# partial credit: 1.5 per right value\n1.5 * sum([f(1) == 2, f(3) == 6])",
                  "partial_tests", 3),
        nba.tests("# mixed\nassert f(1) == 2\nchecks.equal('f(5)', student=lambda: f(5), "
                  "expected=10)", "mixed_tests", 2),
        nba.tests("# checks only\nchecks.equal('f(7)', student=lambda: f(7), expected=14)",
                  "checks_tests", 1),
    ])


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = course.new_course(tmp_path_factory.mktemp("plain"), ())
    (root / "source" / A).mkdir(parents=True)
    nbformat.write(_source(), root / "source" / A / f"{A}.ipynb")
    release = course.generate(root, A) / f"{A}.ipynb"
    for student, answer in ANSWERS.items():
        nb = nbformat.read(release, as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = answer
        path = root / f"{student}.ipynb"
        nbformat.write(nb, path)
        course.submit(root, A, student, path)
    plain = root.parent / "plain-nbgrader"
    shutil.copytree(root, plain)
    course.nbgrader(plain, "autograde", A, "--force")
    proc = subprocess.run([sys.executable, "-m", "calcgrad", "autograde", A, "--course-dir",
                           str(root), "--cell-timeout", "20"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["student"]: r for r in csv.DictReader(
        (root / f"calcgrad-autograde-{A}.csv").open())}
    return course.grades(root, A), course.grades(plain, A), rows


def test_honest_work_scores_as_under_plain_nbgrader(graded):
    ours, plain, _ = graded
    for student in ("reference", "wrong", "half"):
        assert ours[student].cells == plain[student].cells, student
    assert ours["reference"].score == 8
    assert ours["half"].cells == {"plain_tests": 2, "partial_tests": 1.5, "mixed_tests": 0,
                                  "checks_tests": 0}


def test_plain_cells_are_reported_as_not_tamper_proof(graded):
    ours, plain, rows = graded
    notes = rows["reference"]["notes"]
    assert "not tamper-proof" in notes
    assert "plain_tests" in notes and "partial_tests" in notes and "mixed_tests" in notes
    assert "checks_tests" not in notes.split("not tamper-proof")[1]
    # The transformer fools the plain cells, as it fools nbgrader, but never the check.
    assert plain["transformer"].cells["checks_tests"] == 1
    assert ours["transformer"].cells["checks_tests"] == 0
    assert rows["transformer"]["status"] == "tampering suspected"

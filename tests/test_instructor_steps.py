"""The instructor's steps after a first grading run: partial re-runs, unreadable submissions,
pending hand grading, and what the commands say.

One throwaway course (ps1), a small class graded once by `calcgrad autograde`: the reference
answers, the blank release, and a notebook cut off mid-JSON (as erin's in examples/).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from calcgrad import course

ASSIGNMENT = course.ASSIGNMENTS[0]
CORRUPT = '{"cells": [{"cell_type": "code", "source": "x = 1'


def calcgrad(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calcgrad", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def status_csv(root: Path) -> dict[str, dict]:
    with open(root / f"calcgrad-autograde-{ASSIGNMENT}.csv", newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def submit_corrupt(root: Path, student: str) -> None:
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(CORRUPT)
    (folder / "timestamp.txt").write_text("2026-11-01 12:00:00 UTC")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = course.new_course(tmp_path_factory.mktemp("steps"), (ASSIGNMENT,))
    released = course.generate(root, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    course.submit(root, ASSIGNMENT, "ref", root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    course.submit(root, ASSIGNMENT, "blank", released)
    submit_corrupt(root, "erin")
    first = calcgrad("autograde", ASSIGNMENT, "--course-dir", str(root), "--quiet")
    assert first.returncode == 0, first.stderr[-3000:]
    return root, first


def test_a_partial_run_merges_into_the_status_record(graded):
    root, _ = graded
    before = status_csv(root)
    assert before["erin"]["status"] == "corrupt" and before["erin"]["notes"]
    proc = calcgrad("autograde", ASSIGNMENT, "--course-dir", str(root), "--student", "blank",
                    "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = status_csv(root)
    assert set(after) == set(before)
    assert after["erin"] == before["erin"], "erin's status and note were lost"
    assert after["ref"] == before["ref"]
    assert after["blank"]["status"] == "graded"
    assert list(after) == sorted(after), "rows are not sorted by student"


def test_a_corrupt_submission_gets_an_autograded_placeholder(graded):
    root, _ = graded
    from nbgrader.apps.api import NbGraderAPI

    from calcgrad.grading.autograde import Course

    loaded = Course.load(root)
    api = NbGraderAPI(coursedir=loaded.coursedir, config=loaded.config)
    submission = api.get_submission(ASSIGNMENT, "erin")
    assert submission["autograded"], "formgrader would show erin as 'needs autograding'"
    assert submission["score"] == 0
    path = root / "autograded" / "erin" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "corrupt" in nb.cells[0].source
    tests = [c for c in nb.cells if c.cell_type == "code"
             and c.metadata.get("nbgrader", {}).get("grade")]
    assert tests, "the placeholder has no test cells for formgrader to show"
    for cell in tests:
        assert [o.ename for o in cell.outputs] == ["SubmissionUnreadable"]
    # formgrader lists its notebooks (a notebook without an autograded file is left out)
    listed = api.get_notebook_submission_indices(ASSIGNMENT, ASSIGNMENT)
    with loaded.gradebook() as gb:
        erin = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "erin")
        assert erin.id in listed

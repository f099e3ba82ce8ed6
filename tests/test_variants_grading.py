"""Per-student variants end to end, with plain `nbgrader autograde` (the autograded-folder
rule) and with `calcgrad autograde` (the gradebook's id in the trusted process): two
students right for their own variants get full marks; bob's verbatim copy of alice's
notebook, and erin's copy of alice's answers with her id set to alice's inside the
notebook, lose Part B's variant-specific points (Exercises 8 to 10: 7 points)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import nbformat
import pytest

from calcgrad import course, variants
from calcgrad.course import REPO

SAMPLES = REPO / "examples" / "ps2_autograd"
FULL = 26  # the points checked automatically
PART_B = 7  # ex8 (1) + ex9 (2) + ex10 (2 + 2)


def _samples_module():
    spec = importlib.util.spec_from_file_location("ps2_samples", SAMPLES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _claims_to_be(nb: nbformat.NotebookNode, friend: str) -> nbformat.NotebookNode:
    """The notebook with a cell, right after the setup cell, that says it is `friend`'s."""
    nb = nbformat.from_dict(nb)
    at = next(i for i, c in enumerate(nb.cells)
              if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup")
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(
        f"import os\nos.environ[{variants.ID_VARIABLE!r}] = {friend!r}"))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    numbers = {s: variants.number("ps2_autograd", "part_b", s)
               for s in ("alice", "grace", "bob", "erin")}
    assert numbers["alice"] not in (numbers["grace"], numbers["bob"], numbers["erin"])
    samples = _samples_module()
    alice = nbformat.read(SAMPLES / "alice.ipynb", as_version=4)
    notebooks = {
        "alice": alice,
        "grace": samples.build(samples.own_part_b("grace", samples.RIGHT), samples.ANSWERS),
        "bob": alice,  # alice's notebook, verbatim
        "erin": _claims_to_be(alice, "alice"),
    }
    tmp = tmp_path_factory.mktemp("variants")
    root = course.new_course(tmp / "course", ("ps2_autograd",))
    course.generate(root, "ps2_autograd")
    for student, nb in notebooks.items():
        path = tmp / f"{student}.ipynb"
        nbformat.write(nb, path)
        course.submit(root, "ps2_autograd", student, path, name="ps2_autograd.ipynb")
    copy = shutil.copytree(root, tmp / "copy", symlinks=True)
    course.nbgrader(root, "autograde", "ps2_autograd", "--force")
    subprocess.run([sys.executable, "-m", "calcgrad", "autograde", "ps2_autograd", "--quiet",
                    "--course-dir", str(copy)], check=True, capture_output=True, cwd=copy)
    return {"nbgrader": course.grades(root, "ps2_autograd"),
            "calcgrad": course.grades(copy, "ps2_autograd"), "course": copy}


@pytest.mark.parametrize("grader", ["nbgrader", "calcgrad"])
def test_students_right_for_their_own_variant_get_full_marks(graded, grader):
    scores = {s: g.score for s, g in graded[grader].items()}
    assert scores["alice"] == FULL and scores["grace"] == FULL, graded[grader]


@pytest.mark.parametrize("grader", ["nbgrader", "calcgrad"])
def test_a_verbatim_copy_loses_the_variant_specific_points(graded, grader):
    assert graded[grader]["bob"].score == FULL - PART_B, graded[grader]["bob"].cells


@pytest.mark.parametrize("grader", ["nbgrader", "calcgrad"])
def test_claiming_a_friends_id_in_the_notebook_scores_as_a_copy(graded, grader):
    assert graded[grader]["erin"].score == FULL - PART_B, graded[grader]["erin"].cells


def test_the_instructor_lists_every_students_variant_with_its_model_answer(graded):
    import csv
    import io

    result = subprocess.run([sys.executable, "-m", "calcgrad", "variants", "ps2_autograd",
                             "--models", "--course-dir", str(graded["course"])],
                            check=True, capture_output=True, text=True)
    table = {row["student"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert sorted(table) == ["alice", "bob", "erin", "grace"]
    for student, row in table.items():
        k = variants.number("ps2_autograd", "part_b", student)
        assert row["variant"] == str(k)
        assert row["function"] == variants.PS2_PART_B[k].python
        assert "parents = " in row["model_answer"] and "def adjoints_backward" in row["model_answer"]
    assert table["alice"]["model_answer"] != table["erin"]["model_answer"]


def test_feedback_names_the_students_own_function(graded):
    copy = graded["course"]
    subprocess.run([sys.executable, "-m", "calcgrad", "feedback", "ps2_autograd",
                    "--course-dir", str(copy), "--student", "alice", "erin"],
                   check=True, capture_output=True, cwd=copy)
    for student in ("alice", "erin"):
        page = (copy / "feedback" / student / "ps2_autograd" / "ps2_autograd.html").read_text()
        k = variants.number("ps2_autograd", "part_b", student)
        assert f"part_b: variant {k}, f(x) = " in page


def test_the_report_names_each_students_variant(graded, tmp_path):
    copy = graded["course"]
    subprocess.run([sys.executable, "-m", "calcgrad", "report", "ps2_autograd",
                    "--course-dir", str(copy), "--out", str(tmp_path / "report")],
                   check=True, capture_output=True, cwd=copy)
    page = (tmp_path / "report" / "index.html").read_text()
    for student in ("alice", "grace"):
        k = variants.number("ps2_autograd", "part_b", student)
        assert f"{student} <span class='muted'>(variant part_b {k})</span>" in page

"""ps1's per-student variants end to end, with plain `nbgrader autograde` (the autograded-folder
rule) and with `calcgrad autograde` (the gradebook's id in the trusted process): alice and bob,
right for their own variants, get full marks; heidi's verbatim copy of alice's notebook, and
oscar's copy with his id set to alice's inside the notebook, lose the points of every exercise
whose variant differs from alice's (Exercises 5, 6, 7, 9 and 10: 12 points in all)."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from calcgrad import course, variants
from calcgrad.course import REPO

sys.path.insert(0, str(REPO))
from tools import build_ps1_examples as samples
from test_variants_grading import _claims_to_be

FULL = 31  # the points checked automatically
# The points of each exercise with variants (its test cells).
POINTS = {"ex5": 2, "ex6": 1 + 2, "ex7": 2, "ex9": 3, "ex10": 2}


def copy_score(student: str, of: str) -> int:
    """What `student` earns with `of`'s correct answers: the exercises whose variant differs
    are lost (the ex6 tangent's 1 point is not variant-specific: tangent_line is general)."""
    return FULL - sum(p for ex, p in POINTS.items()
                      if variants.number("ps1_calculus", ex, student)
                      != variants.number("ps1_calculus", ex, of))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assert copy_score("heidi", "alice") == FULL - sum(POINTS.values())  # every variant differs
    alice = samples._student(samples.own_answers(samples.numbers_of("alice")), samples.WRITTEN)
    notebooks = {
        "alice": alice,
        "bob": samples._student(samples.own_answers(samples.numbers_of("bob")), samples.WRITTEN),
        "heidi": alice,  # alice's notebook, verbatim
        "oscar": _claims_to_be(alice, "alice"),
    }
    tmp = tmp_path_factory.mktemp("variants_ps1")
    root = course.new_course(tmp / "course", ("ps1_calculus",))
    course.generate(root, "ps1_calculus")
    for student, nb in notebooks.items():
        path = tmp / f"{student}.ipynb"
        nbformat.write(nb, path)
        course.submit(root, "ps1_calculus", student, path, name="ps1_calculus.ipynb")
    import shutil

    copy = shutil.copytree(root, tmp / "copy", symlinks=True)
    course.nbgrader(root, "autograde", "ps1_calculus", "--force")
    subprocess.run([sys.executable, "-m", "calcgrad", "autograde", "ps1_calculus", "--quiet",
                    "--course-dir", str(copy)], check=True, capture_output=True, cwd=copy)
    return {"nbgrader": course.grades(root, "ps1_calculus"),
            "calcgrad": course.grades(copy, "ps1_calculus"), "course": copy}


@pytest.mark.parametrize("grader", ["nbgrader", "calcgrad"])
def test_students_right_for_their_own_variants_get_full_marks(graded, grader):
    scores = {s: g.score for s, g in graded[grader].items()}
    assert scores["alice"] == FULL and scores["bob"] == FULL, graded[grader]


@pytest.mark.parametrize("grader", ["nbgrader", "calcgrad"])
def test_a_verbatim_copy_loses_the_variant_specific_points(graded, grader):
    assert graded[grader]["heidi"].score == FULL - 12, graded[grader]["heidi"].cells


@pytest.mark.parametrize("grader", ["nbgrader", "calcgrad"])
def test_claiming_a_friends_id_in_the_notebook_scores_as_a_copy(graded, grader):
    assert graded[grader]["oscar"].score == copy_score("oscar", "alice"), \
        graded[grader]["oscar"].cells


def test_the_report_csv_has_each_students_variant(graded, tmp_path):
    import csv

    subprocess.run([sys.executable, "-m", "calcgrad", "report", "ps1_calculus",
                    "--course-dir", str(graded["course"]), "--out", str(tmp_path / "report")],
                   check=True, capture_output=True, cwd=graded["course"])
    with open(tmp_path / "report" / "scores.csv", newline="") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    for student in ("alice", "bob", "heidi", "oscar"):
        assert rows[student]["variant"] == variants.label("ps1_calculus", student)
    assert rows["alice"]["variant"] != rows["heidi"]["variant"]


def test_the_instructor_lists_each_students_model_answers(graded):
    import csv
    import io

    result = subprocess.run([sys.executable, "-m", "calcgrad", "variants", "ps1_calculus",
                             "--models", "--course-dir", str(graded["course"])],
                            check=True, capture_output=True, text=True)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    mine = {row["exercise"]: row for row in rows if row["student"] == "alice"}
    assert sorted(mine) == sorted(POINTS)
    assert "def chain_rule_ex9(a, b):" in mine["ex9"]["model_answer"]
    assert mine["ex5"]["model_answer"].startswith("flat_point = ")


def test_feedback_names_the_students_own_functions(graded):
    copy = graded["course"]
    subprocess.run([sys.executable, "-m", "calcgrad", "feedback", "ps1_calculus",
                    "--course-dir", str(copy), "--student", "alice", "heidi"],
                   check=True, capture_output=True, cwd=copy)
    for student in ("alice", "heidi"):
        page = (copy / "feedback" / student / "ps1_calculus" / "ps1_calculus.html").read_text()
        for name in POINTS:
            k = variants.number("ps1_calculus", name, student)
            assert f"{name}: variant {k}, " in page, (student, name)

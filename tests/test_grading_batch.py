"""`calcgrad autograde` on a whole class: honest and hostile submissions in one batch.

The class per assignment: the reference (source notebook), the blank release,
the sample submissions of examples/<assignment>/ (their expected.json holds
plain nbgrader's scores) and the hostile corpus of examples/hostile/ (its
expected.json holds the status and score each attack must end with).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import descendants
import nbformat
import pytest

from calcgrad import course

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CELL_SECONDS = "6"
JOBS = "2"

spec = importlib.util.spec_from_file_location("corpus", EXAMPLES / "hostile" / "corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)

def _honest(assignment: str) -> dict:
    path = EXAMPLES / assignment / "expected.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _auto_points(notebook: Path) -> float:
    """The points plain nbgrader gives the reference: every autograded test cell."""
    nb = nbformat.read(notebook, as_version=4)
    total = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            total += float(meta.get("points", 0))
    return total


def _digest(paths: list[Path]) -> dict[str, str]:
    out = {}
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            if f.is_symlink():
                continue
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def autograde(course_dir: Path, *args: str, env: dict | None = None,
              tracked: Path | None = None) -> subprocess.CompletedProcess:
    """`calcgrad autograde`; with `tracked`, under tests/descendants.py, which writes there
    the processes it left behind (tracked by descent, after a grace period)."""
    argv = [sys.executable, "-m", "calcgrad", "autograde", *args, "--course-dir", str(course_dir)]
    if tracked is not None:
        argv = descendants.command(tracked, argv)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)


class Batch:
    def __init__(self, root: Path, assignment: str):
        self.assignment = assignment
        self.root = course.new_course(root)
        release = course.generate(self.root, assignment) / f"{assignment}.ipynb"
        self.source = self.root / "source" / assignment / f"{assignment}.ipynb"
        course.submit(self.root, assignment, "reference", self.source)
        course.submit(self.root, assignment, "blank", release)
        self.honest = _honest(assignment)
        for student in self.honest:
            course.submit(self.root, assignment, student, EXAMPLES / assignment / f"{student}.ipynb")
        self.hostile = corpus.submit_all(self.root, assignment)
        (self.root / ".calcgrad-hostile-target").touch()  # read_course may damage only this
        watched = [self.root / "source", self.root / "release", self.root / "submitted",
                   self.root / "nbgrader_config.py"]
        self.before = _digest(watched)
        self.watched = watched
        with corpus.AnswerServer(self.source):
            tracked = self.root.parent / "descendants.json"
            self.proc = autograde(self.root, assignment, "--jobs", JOBS,
                                  "--cell-timeout", CELL_SECONDS, tracked=tracked)
        self.after = _digest(watched)
        self.leftovers = descendants.read_report(tracked)["leftovers"]
        csv_path = self.root / f"calcgrad-autograde-{assignment}.csv"
        self.rows = {r["student"]: r for r in csv.DictReader(csv_path.open())} \
            if csv_path.exists() else {}
        self.grades = course.grades(self.root, assignment)

    def score(self, student: str) -> float:
        return self.grades[student].score


@pytest.fixture(scope="module", params=course.ASSIGNMENTS)
def batch(request, tmp_path_factory) -> Batch:
    return Batch(tmp_path_factory.mktemp(request.param), request.param)


def test_the_batch_completes(batch):
    assert batch.proc.returncode == 0, batch.proc.stderr[-3000:]
    expected = {"reference", "blank", *batch.honest, *(f"h_{k}" for k in batch.hostile)}
    assert set(batch.rows) == expected
    assert "report:" in batch.proc.stdout


def test_reference_and_blank_score_as_under_nbgrader(batch):
    assert batch.score("reference") == _auto_points(batch.source) > 0
    assert batch.score("blank") == 0
    assert batch.rows["reference"]["status"] == "graded"
    assert batch.rows["blank"]["status"] == "graded"


def test_honest_samples_score_as_under_plain_nbgrader(batch):
    for student, want in batch.honest.items():
        assert batch.score(student) == want["score"], (student, batch.rows[student])
        assert batch.rows[student]["status"] == "graded", batch.rows[student]


def test_every_attack_is_held(batch):
    reference = batch.score("reference")
    wrong = []
    for case_id, want in batch.hostile.items():
        student = f"h_{case_id}"
        row = batch.rows[student]
        score = reference if want["score"] == "reference" else want["score"]
        if (float(row["score"]), row["status"]) != (score, want["status"]):
            wrong.append(f"{case_id}: got {row['score']} {row['status']!r} ({row['notes']}), "
                         f"expected {score} {want['status']!r}")
        assert batch.score(student) == float(row["score"])
    assert not wrong, "\n".join(wrong)


def test_nothing_outside_the_autograded_output_changed(batch):
    changed = {p for p in set(batch.before) | set(batch.after)
               if batch.before.get(p) != batch.after.get(p)}
    assert not changed
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{batch.root / 'gradebook.db'}") as gb:
        assert len(gb.students) == len(batch.rows)


def test_the_disk_attack_found_nothing_and_damaged_nothing(batch):
    if "read_course" not in batch.hostile:
        pytest.skip("no disk attack for this assignment")
    path = batch.root / "autograded" / "h_read_course" / batch.assignment / \
        f"{batch.assignment}.ipynb"
    text = "".join(o.get("text", "") for c in nbformat.read(path, as_version=4).cells
                   if c.cell_type == "code" for o in c.get("outputs", []))
    assert "{'source': 0, 'gradebook': 0, 'submitted': 0}" in text
    assert "damaged: []" in text


def test_no_process_outlives_the_batch(batch):
    assert batch.leftovers == []


def test_output_is_capped(batch):
    for case_id, want in batch.hostile.items():
        if "max_notebook_bytes" in want:
            path = batch.root / "autograded" / f"h_{case_id}" / batch.assignment / \
                f"{batch.assignment}.ipynb"
            assert path.stat().st_size < want["max_notebook_bytes"]
            assert "output truncated" in batch.rows[f"h_{case_id}"]["notes"]


def test_autograded_notebooks_are_valid_and_scored_by_nbgrader(batch):
    from nbgrader.utils import determine_grade

    for student in ("reference", "blank", *batch.honest):
        path = batch.root / "autograded" / student / batch.assignment / \
            f"{batch.assignment}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        total = 0.0
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code" and not meta.get("solution"):
                total += determine_grade(cell)[0]
        assert total == batch.score(student)


def test_nbgrader_export_and_feedback_still_work(batch):
    course.nbgrader(batch.root, "export", "--to", "grades.csv")
    rows = {r["student_id"]: r for r in csv.DictReader((batch.root / "grades.csv").open())
            if r["assignment"] == batch.assignment}
    assert float(rows["reference"]["raw_score"]) == batch.score("reference")
    course.nbgrader(batch.root, "generate_feedback", batch.assignment, "--student", "reference")
    assert list((batch.root / "feedback" / "reference" / batch.assignment).glob("*.html"))


def test_rerunning_is_idempotent(batch):
    students = ["reference", "blank"]
    before = {s: batch.grades[s].cells for s in students}
    proc = autograde(batch.root, batch.assignment, "--student", *students, "--jobs", JOBS,
                     "--cell-timeout", CELL_SECONDS)
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = course.grades(batch.root, batch.assignment)
    assert {s: after[s].cells for s in students} == before
    assert after["bob" if "bob" in after else "blank"].score == \
        batch.grades["bob" if "bob" in after else "blank"].score


def _hidden_lines(source: Path) -> list[str]:
    lines, hidden = [], False
    for cell in nbformat.read(source, as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                hidden = True
            elif "END HIDDEN TESTS" in line:
                hidden = False
            elif hidden and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def test_feedback_shows_outcomes_and_never_hidden_tests(batch):
    import html

    nbgrader_page = (batch.root / "feedback" / "reference" / batch.assignment /
                     f"{batch.assignment}.html")
    if nbgrader_page.exists():  # nbgrader's own feedback, with the course's HideTests
        assert "HIDDEN TESTS" not in nbgrader_page.read_text()
    proc = subprocess.run([sys.executable, "-m", "calcgrad", "feedback", batch.assignment,
                           "--course-dir", str(batch.root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    hidden = _hidden_lines(batch.source)
    assert hidden
    pages = {}
    for student in ("reference", "blank", *batch.honest, "h_steal_expected"):
        page = (batch.root / "feedback" / student / batch.assignment /
                f"{batch.assignment}.html").read_text()
        pages[student] = page
        assert "HIDDEN TESTS" not in page
        for line in hidden:
            assert html.escape(line, quote=True) not in page, (student, line)
    assert "\u2714" in pages["reference"] and "\u2718" not in pages["reference"]
    assert "not done yet" in pages["blank"]

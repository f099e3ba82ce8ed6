"""The whole nbgrader workflow, end to end, as an instructor and two students run it.

A throwaway course with a throwaway exchange folder; two students simulated by separate
working folders (each with its own nbgrader cache and `--student` id):
generate + release_assignment -> fetch_assignment -> the students complete it (ada with the
reference answers, ben all but the last exercise) -> submit -> collect -> autograde ->
generate_feedback -> release_feedback -> fetch_feedback. Then zip_collect from an LMS-style
zip of two more students' submissions.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import browser_support as student_work
from calcgrad import course

COURSE_ID = "calculus-autograd"
EXCHANGED = course.ASSIGNMENTS[0]
STUDENTS = ("ada", "ben")  # ada: the reference answers; ben: all but the last exercise


def calcgrad(root: Path, *args: str) -> None:
    """`calcgrad ARGS` in the course folder, as an instructor runs it."""
    subprocess.run([sys.executable, "-m", "calcgrad", *args, "--course-dir", str(root)],
                   cwd=root, check=True, capture_output=True, text=True)


def autograde(root: Path, assignment: str) -> None:
    """Grade the collected submissions with the course's sandboxed engine."""
    calcgrad(root, "autograde", assignment, "--quiet")


def feedback(root: Path, assignment: str) -> None:
    """Feedback for students, without the hidden tests' source."""
    calcgrad(root, "feedback", assignment)


def nbgrader(cwd: Path, *args: str) -> str:
    """`nbgrader ARGS` run in `cwd`, in this process (as nbgrader's own test suite runs it: the
    same command-line parsing and apps, without 2-3 s of start-up per command); returns its log."""
    from jupyter_core.application import NoStart
    from nbgrader.apps import NbGraderApp

    old_cwd, old_path = os.getcwd(), os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + old_path  # alembic
    log = io.StringIO()
    app = NbGraderApp.instance()
    try:
        os.chdir(cwd)
        app.initialize(list(args))
        app.init_logging(logging.StreamHandler, [log], color=False, subapps=True)
        app.start()
        code = 0
    except NoStart:  # how NbGraderApp ends after running a subcommand
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        app.reset()
        os.chdir(old_cwd)
        os.environ["PATH"] = old_path
    if code:
        raise course.NbgraderFailed(f"nbgrader {' '.join(args)} failed ({code}) in {cwd}:\n"
                                    f"{log.getvalue()[-4000:]}")
    return log.getvalue()


def as_student(folder: Path, name: str, exchange: Path, *args: str) -> str:
    """An nbgrader exchange command run by one student, in their own working folder."""
    return nbgrader(folder, *args, f"--course={COURSE_ID}", f"--Exchange.root={exchange}",
                    f"--Exchange.cache={folder / '.nbgrader-cache'}", f"--CourseDirectory.student_id={name}")


def expected_cells(assignment: str, student: str) -> dict[str, float]:
    """Autograded cell -> the score this student's work earns."""
    cells = student_work.autograded_cells(assignment)
    if student == "ada":
        return cells
    last = student_work.code_solution_cells(assignment)[-1]
    before = student_work.test_cells_before(assignment, last)
    return {gid: (pts if gid in before else 0.0) for gid, pts in cells.items()}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    base = tmp_path_factory.mktemp("workflow")
    root = course.new_course(base / "course", (EXCHANGED,))
    exchange = base / "exchange"
    exchange.mkdir()
    ex = f"--Exchange.root={exchange}"
    notebook = f"{EXCHANGED}.ipynb"

    nbgrader(root, "generate_assignment", EXCHANGED)
    nbgrader(root, "release_assignment", EXCHANGED, ex)

    homes = {}
    for name in STUDENTS:
        home = base / "students" / name
        home.mkdir(parents=True)
        homes[name] = home
        as_student(home, name, exchange, "fetch_assignment", EXCHANGED)
        fetched = home / EXCHANGED / notebook
        assert fetched.exists(), f"{name} did not get {notebook}: {sorted(home.rglob('*'))}"
        work = (student_work.completed_notebook(fetched, EXCHANGED) if name == "ada"
                else student_work.partial_notebook(fetched, EXCHANGED))
        nbformat.write(work, fetched)
        as_student(home, name, exchange, "submit", EXCHANGED)

    nbgrader(root, "collect", EXCHANGED, ex, "--CollectApp.check_owner=False")
    autograde(root, EXCHANGED)
    feedback(root, EXCHANGED)
    nbgrader(root, "release_feedback", EXCHANGED, ex)
    for name, home in homes.items():
        as_student(home, name, exchange, "fetch_feedback", EXCHANGED)
    return root, exchange, homes


def test_collect_puts_each_submission_in_its_place(workflow):
    root, _, _ = workflow
    for name in STUDENTS:
        assert (root / "submitted" / name / EXCHANGED / f"{EXCHANGED}.ipynb").exists(), name


def test_scores_in_the_gradebook(workflow):
    root, _, _ = workflow
    grades = course.grades(root, EXCHANGED)
    assert set(grades) == set(STUDENTS)
    for name in STUDENTS:
        want = expected_cells(EXCHANGED, name)
        got = {gid: grades[name].cells.get(gid) for gid in want}
        assert got == want, f"{name}: {got} != {want}"
    total = sum(expected_cells(EXCHANGED, "ada").values())
    assert grades["ada"].score == pytest.approx(total)
    assert 0 <= grades["ben"].score < grades["ada"].score


def test_each_student_fetches_only_their_own_feedback(workflow):
    root, _, homes = workflow
    for name, home in homes.items():
        fetched = sorted((home / EXCHANGED / "feedback").rglob("*.html"))
        assert len(fetched) == 1, f"{name} fetched {fetched}"
        own = root / "feedback" / name / EXCHANGED / f"{EXCHANGED}.html"
        assert fetched[0].read_bytes() == own.read_bytes(), f"{name} got feedback that is not theirs"
        others = [root / "feedback" / o / EXCHANGED / f"{EXCHANGED}.html" for o in homes if o != name]
        assert all(fetched[0].read_bytes() != o.read_bytes() for o in others)


SCORE = re.compile(r"Score: ([0-9.]+) / ([0-9.]+)")  # calcgrad feedback: "Score: 31 / 35"


def test_feedback_shows_the_students_score(workflow):
    root, _, homes = workflow
    grades = course.grades(root, EXCHANGED)
    for name, home in homes.items():
        html = next((home / EXCHANGED / "feedback").rglob("*.html")).read_text()
        first = SCORE.search(" ".join(re.sub(r"<[^>]+>", " ", html).split()))
        assert first, f"{name}'s feedback shows no score"
        shown = (float(first[1]), float(first[2]))
        assert shown == (grades[name].score, grades[name].max_score), f"{name}'s feedback shows {shown}"


def test_zip_collect_from_an_lms_download(workflow):
    """A zip as an LMS hands it out, one file per student named
    <assignment>_<student>_attempt_<timestamp>_<notebook>: zip_collect files each where
    autograde looks for it, with the timestamp from its name."""
    root, _, _ = workflow
    released = root / "release" / EXCHANGED / f"{EXCHANGED}.ipynb"
    archive = root / "downloaded" / EXCHANGED / "archive"
    archive.mkdir(parents=True)
    works = {"cy": nbformat.writes(student_work.completed_notebook(released, EXCHANGED)),
             "dee": nbformat.writes(student_work.partial_notebook(released, EXCHANGED))}
    with zipfile.ZipFile(archive / "submissions.zip", "w") as zf:
        for name, text in works.items():
            zf.writestr(f"{EXCHANGED}_{name}_attempt_20261101T150000_{EXCHANGED}.ipynb", text)
    regexp = (rf".*/{EXCHANGED}_(?P<student_id>[a-z]+)_attempt_(?P<timestamp>[0-9T]+)_"
              rf"(?P<file_id>{EXCHANGED}\.ipynb)")
    nbgrader(root, "zip_collect", EXCHANGED, f"--FileNameCollectorPlugin.named_regexp={regexp}")
    for name, text in works.items():
        folder = root / "submitted" / name / EXCHANGED
        assert (folder / f"{EXCHANGED}.ipynb").read_text() == text, f"{name}'s notebook was not collected"
        assert (folder / "timestamp.txt").read_text().startswith("2026-11-01 15:00:00"), name

"""The `calcgrad` command's edges: configuration errors, --no-sandbox, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from calcgrad import course

ASSIGNMENT = "ps1_calculus"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = course.new_course(tmp_path_factory.mktemp("cli"), (ASSIGNMENT,))
    course.generate(root, ASSIGNMENT)
    return root


def calcgrad(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calcgrad", *args], capture_output=True,
                          text=True, env=env, timeout=600, **kw)


def test_unknown_assignment_is_a_configuration_error(small):
    proc = calcgrad("autograde", "ps9_nothing", "--course-dir", str(small))
    assert proc.returncode == 2
    assert "no assignment ps9_nothing; known: ps1_calculus" in proc.stderr


def test_no_course_is_a_configuration_error(tmp_path):
    proc = calcgrad("autograde", ASSIGNMENT, cwd=tmp_path)
    assert proc.returncode == 2 and "nbgrader_config.py" in proc.stderr


def test_it_refuses_to_grade_without_a_sandbox(small):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))  # no bwrap on PATH
    proc = calcgrad("autograde", ASSIGNMENT, "--course-dir", str(small), env=env)
    assert proc.returncode == 2
    assert "bubblewrap" in proc.stderr and "--no-sandbox" in proc.stderr


def test_no_sandbox_warns_and_still_grades(small):
    release = small / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    course.submit(small, ASSIGNMENT, "nosb_ref", small / "source" / ASSIGNMENT /
                  f"{ASSIGNMENT}.ipynb")
    course.submit(small, ASSIGNMENT, "nosb_blank", release)
    proc = calcgrad("autograde", ASSIGNMENT, "--course-dir", str(small), "--no-sandbox",
                    "--student", "nosb_ref", "nosb_blank", "typo_student", "--jobs", "2",
                    "--cell-timeout", "20")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "WARNING: --no-sandbox" in proc.stderr
    grades = course.grades(small, ASSIGNMENT)
    assert grades["nosb_ref"].score > 0 and grades["nosb_blank"].score == 0
    assert "typo_student" not in grades  # a student without a folder is not created


def test_ctrl_c_leaves_the_gradebook_consistent(small):
    source = small / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    students = [f"int_{i}" for i in range(4)]
    for s in students:
        course.submit(small, ASSIGNMENT, s, source)
    proc = subprocess.Popen([sys.executable, "-m", "calcgrad", "autograde", ASSIGNMENT,
                             "--course-dir", str(small), "--student", *students, "--jobs", "1",
                             "--progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if line.startswith("  int_"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    assert "interrupted" in err
    from calcgrad.grading.sandbox import FIRST_UID

    for status in Path("/proc").glob("[0-9]*/status"):  # every sandbox was killed
        try:
            uid = int(status.read_text().split("Uid:")[1].split()[0])
        except (OSError, IndexError):
            continue
        assert not FIRST_UID <= uid < FIRST_UID + 256
    grades = course.grades(small, ASSIGNMENT)
    done = [s for s in students if s in grades]
    assert 1 <= len(done) < len(students)
    for s in done:  # a student in the gradebook is completely graded
        assert grades[s].score > 0
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{small / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            for nb in sub.notebooks:
                for g in nb.grades:
                    assert g.auto_score is not None or g.cell_type == "markdown"


def test_late_submissions_get_nbgraders_penalty(tmp_path):
    root = course.new_course(tmp_path / "late", (ASSIGNMENT,))
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    course.generate(root, ASSIGNMENT)
    course.nbgrader(root, "db", "assignment", "add", ASSIGNMENT,
                    "--duedate=2026-10-01 00:00:00 UTC")
    source = root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    course.submit(root, ASSIGNMENT, "on_time", source, timestamp="2026-09-30 12:00:00 UTC")
    course.submit(root, ASSIGNMENT, "late", source, timestamp="2026-10-02 12:00:00 UTC")
    proc = calcgrad("autograde", ASSIGNMENT, "--course-dir", str(root), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        late = gb.find_submission(ASSIGNMENT, "late")
        on_time = gb.find_submission(ASSIGNMENT, "on_time")
        assert late.total_seconds_late > 0 and on_time.total_seconds_late == 0
        assert late.late_submission_penalty == late.score > 0
        assert not on_time.late_submission_penalty
    import csv

    rows = {r["student"]: r for r in csv.DictReader(
        (root / f"calcgrad-autograde-{ASSIGNMENT}.csv").open())}
    assert float(rows["late"]["late_penalty"]) == float(rows["late"]["score"]) > 0
    assert float(rows["on_time"]["late_penalty"]) == 0

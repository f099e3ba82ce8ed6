"""The `calcgrad` command's edges: configuration errors, --no-sandbox, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import descendants
import nbformat
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


def test_ctrl_c_leaves_the_gradebook_consistent(small, tmp_path):
    """Deterministic: the first student is graded (its row is printed), every later one
    sleeps in a cell far longer than the test waits, so Ctrl-C always lands while the
    second is running, whatever the machine's speed."""
    source = small / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    students = [f"int_{i}" for i in range(4)]
    course.submit(small, ASSIGNMENT, students[0], source)
    sleeper = nbformat.read(source, as_version=4)
    sleeper.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(3600)"))
    nbformat.write(sleeper, tmp_path / "sleeper.ipynb")
    for s in students[1:]:
        course.submit(small, ASSIGNMENT, s, tmp_path / "sleeper.ipynb")
    report = tmp_path / "descendants.json"
    argv = [sys.executable, "-m", "calcgrad", "autograde", ASSIGNMENT, "--course-dir",
            str(small), "--student", *students, "--jobs", "1", "--cell-timeout", "3000",
            "--progress"]
    proc = subprocess.Popen(descendants.command(report, argv), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = ""
    while True:  # the first student's row, or the end of the output
        line = proc.stderr.readline()
        seen += line
        if not line or line.startswith("  int_"):
            break
    assert line.startswith("  int_0:"), seen
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, seen + err
    assert "interrupted" in err
    assert descendants.read_report(report)["leftovers"] == []  # every sandbox was killed
    grades = course.grades(small, ASSIGNMENT)
    done = [s for s in students if s in grades]
    assert done == ["int_0"]
    assert grades["int_0"].score > 0  # a student in the gradebook is completely graded
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


def test_the_descendant_tracker_sees_an_abandoned_process(tmp_path):
    report = tmp_path / "descendants.json"
    leaver = ("import subprocess\n"
              "subprocess.Popen(['sleep', '120'], start_new_session=True)\n")
    proc = subprocess.run(descendants.command(report, [sys.executable, "-c", leaver], grace=1),
                          timeout=120)
    assert proc.returncode == 0
    assert descendants.read_report(report)["leftovers"] == ["sleep 120"]
    proc = subprocess.run(descendants.command(report, [sys.executable, "-c", "pass"], grace=1),
                          timeout=120)
    assert descendants.read_report(report)["leftovers"] == []

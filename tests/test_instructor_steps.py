"""The instructor's steps after a first grading run: partial re-runs, unreadable submissions,
pending hand grading, and what the commands say.

One throwaway course (ps1), a small class graded once by `calcgrad autograde`: the reference
answers, the blank release, and a notebook cut off mid-JSON (as erin's in examples/).
"""

from __future__ import annotations

import csv
import os
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
    table = [line.split()[0] for line in first.stdout.splitlines()[1:4]]
    assert table == sorted(table) == ["blank", "erin", "ref"], "rows not sorted by student"
    return root, first


def test_a_partial_run_merges_into_the_status_record(graded):
    root, _ = graded
    before = status_csv(root)
    assert before["erin"]["status"] == "corrupt" and before["erin"]["notes"]
    proc = calcgrad("autograde", ASSIGNMENT, "--course-dir", str(root), "--student", "blank")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # not a terminal: no progress on stderr, the table once on stdout
    assert "blank" not in proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()].count("blank") == 1
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


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The reference answers autograded by plain nbgrader, in a course of their own."""
    root = course.new_course(tmp_path_factory.mktemp("plain"), (ASSIGNMENT,))
    course.generate(root, ASSIGNMENT)
    course.submit(root, ASSIGNMENT, "ref", root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    # As in a Jupyter server: the kernel's own inline backend (the suite sets MPLBACKEND=Agg).
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"],
                   cwd=root, env=env, check=True, capture_output=True, timeout=600)
    return root


def rich_outputs(root: Path, student: str) -> list[list[tuple]]:
    """Per code cell of a student's autograded notebook: its display and result outputs."""
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                       as_version=4)
    return [[(o.output_type, sorted(o.data)) for o in cell.outputs
             if o.output_type in ("display_data", "execute_result")]
            for cell in nb.cells if cell.cell_type == "code"]


def test_autograded_notebooks_keep_the_outputs_plain_nbgrader_keeps(graded, plain):
    root, _ = graded
    ours, theirs = rich_outputs(root, "ref"), rich_outputs(plain, "ref")
    images = sum(1 for cell in theirs for _, mimes in cell
                 if any(m.startswith("image/") for m in mimes))
    assert images >= 1, "the reference answers draw no plot under plain nbgrader"
    assert ours == theirs


def test_feedback_shows_the_plots(graded):
    root, _ = graded
    proc = calcgrad("feedback", ASSIGNMENT, "--course-dir", str(root))
    assert proc.returncode == 0, proc.stderr
    page = (root / "feedback" / "ref" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    drawn = sum(1 for cell in rich_outputs(root, "ref") for kind, mimes in cell
                if kind == "display_data" and any(m.startswith("image/") for m in mimes))
    assert drawn >= 1
    assert page.count("<img alt='plot' src='data:image/") == drawn


def gradebook_grades(root: Path) -> dict[str, dict[str, tuple]]:
    """student -> grade id -> (auto score, manual score, max score), from the gradebook."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            found[sub.student_id] = {g.name: (g.auto_score, g.manual_score, g.max_score)
                                     for nb in sub.notebooks for g in nb.grades}
    return found


def test_the_table_shows_points_waiting_for_hand_grading(graded):
    root, first = graded
    waiting = {student: sum(m for a, h, m in cells.values() if a is None and h is None)
               for student, cells in gradebook_grades(root).items()}
    assert waiting["ref"] > 0, "the reference's written answers should wait for hand grading"
    lines = {line.split()[0]: line for line in first.stdout.splitlines() if line.strip()}
    assert f"{waiting['ref']:g} pts" in lines["ref"]
    assert " - " in lines["blank"] or waiting["blank"] > 0
    assert float(status_csv(root)["ref"]["hand_pending"]) == waiting["ref"]
    assert "wait for hand grading" in first.stdout


def test_feedback_says_not_graded_yet_for_written_answers(graded):
    root, _ = graded
    assert calcgrad("feedback", ASSIGNMENT, "--course-dir", str(root)).returncode in (0, 1)
    page = (root / "feedback" / "ref" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    pending = [gid for gid, (a, h, _) in gradebook_grades(root)["ref"].items()
               if a is None and h is None]
    assert pending
    assert page.count("not graded yet") >= len(pending)


@pytest.fixture(scope="module")
def reported(graded, tmp_path_factory):
    root, _ = graded
    out = tmp_path_factory.mktemp("report")
    proc = calcgrad("report", ASSIGNMENT, "--out", str(out), cwd=root / "autograded")
    assert proc.returncode == 0, proc.stderr  # found the course from a subfolder
    import json

    return root, json.loads((out / "report.json").read_text())


def test_report_keeps_unreadable_notebooks_out_of_the_numbers(reported):
    import statistics

    root, data = reported
    grades = gradebook_grades(root)
    readable = sorted(set(grades) - {"erin"})
    assert data["summary"]["unreadable"] == 1
    assert data["statuses"]["corrupt"] == 1
    totals = {s["student"]: s["score"] for s in data["students"]}
    assert data["summary"]["mean"] == pytest.approx(
        statistics.fmean(totals[s] for s in readable))
    for cell in data["cells"]:
        assert cell["students"] == len(readable), cell["grade_id"]
        for failure in cell["failures"]:
            assert "Submission" not in failure["message"]
            assert "no error shown" not in failure["message"], failure


def test_report_leaves_ungraded_written_answers_out_of_means(reported):
    root, data = reported
    grades = gradebook_grades(root)
    for cell in (c for c in data["cells"] if c["kind"] == "manual"):
        scored = [a if h is None else h for student, cells in grades.items() if student != "erin"
                  for gid, (a, h, _) in cells.items() if gid == cell["grade_id"]
                  and (a is not None or h is not None)]
        assert cell["graded"] == len(scored)
        assert cell["mean_score"] == (pytest.approx(sum(scored) / len(scored)) if scored
                                      else None)
        assert cell["graded"] < cell["students"], "the reference's answer counts as graded"


def test_report_on_nothing_graded_is_an_error(tmp_path):
    root = course.new_course(tmp_path / "empty", (ASSIGNMENT,))
    course.generate(root, ASSIGNMENT)
    proc = calcgrad("report", ASSIGNMENT, "--course-dir", str(root))
    assert proc.returncode == 1
    assert "no graded submission" in proc.stderr and "calcgrad autograde" in proc.stderr
    assert not (root / "reports" / ASSIGNMENT / "index.html").exists()


@pytest.mark.parametrize("command", ["autograde", "feedback", "report"])
def test_a_misspelled_assignment_is_named_with_the_known_ones(graded, command):
    root, _ = graded
    proc = calcgrad(command, "ps1_calculs", "--course-dir", str(root))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"calcgrad {command}: error: no assignment ps1_calculs; "
                                   f"known: {ASSIGNMENT}")
    assert not proc.stdout


def test_feedback_names_the_submissions_it_skipped(graded):
    root, _ = graded
    proc = calcgrad("feedback", ASSIGNMENT, "--course-dir", str(root), "--student", "ref",
                    "nobody")
    assert proc.returncode == 0, proc.stderr
    assert "calcgrad feedback: no feedback for nobody" in proc.stderr
    assert "1 feedback file(s) written" in proc.stdout


def test_report_help_is_for_instructors():
    proc = calcgrad("report", "--help")
    assert proc.returncode == 0
    assert "Introduced by" not in proc.stdout and "ASSIGNMENT" in proc.stdout


def feedback_page(root: Path, student: str) -> str:
    return (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def test_feedback_is_titled_and_labelled_from_the_notebook(graded):
    import html
    import re

    from calcgrad.grading.feedback import title_of

    root, _ = graded
    assert calcgrad("feedback", ASSIGNMENT, "--course-dir", str(root)).returncode in (0, 1)
    released = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    title = title_of(released, "")
    assert title and title != ASSIGNMENT
    headings = {line.lstrip("#").strip().replace("$", "")
                for cell in released.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## Exercise")}
    ids = [c.metadata["nbgrader"]["grade_id"] for c in released.cells
           if c.metadata.get("nbgrader", {}).get("grade_id")]
    for student in ("ref", "blank"):
        page = feedback_page(root, student)
        assert f"<h1>{html.escape(title)}</h1>" in page
        shown = {html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", page)}
        assert headings <= shown, headings - shown
        assert not [gid for gid in ids if gid in page], "cell ids on the student's page"


def test_feedback_names_each_failed_check_once(graded):
    import html
    import re

    root, _ = graded
    page = feedback_page(root, "blank")
    failed = re.findall(r"<li class='fail'>\u2718 (.*?)<pre>(.*?)</pre>", page, re.S)
    assert failed
    for name, message in failed:
        assert not html.unescape(message).startswith(html.unescape(name) + ":"), name


def test_hidden_checks_are_marked_in_the_autograded_notebook(graded):
    root, _ = graded
    nb = nbformat.read(root / "autograded" / "ref" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                       as_version=4)
    marked = 0
    for cell in nb.cells:
        for check in cell.metadata.get("calcgrad", {}).get("checks", []):
            if check["hidden"]:
                assert "BEGIN HIDDEN TESTS" in cell.source
                marked += 1
    assert marked, "no check is marked hidden"


HIDDEN_FAILURE = {"tamper_proof": True, "checks": [
    {"name": "d_exp at hidden points", "passed": False, "hidden": True,
     "message": "d_exp at hidden points: got 0 at index 5, expected 3.37721 (3 of 10 values "
                "differ); tolerance: rtol=1e-05, atol=1e-08.\n  Hint: Your values are all zero."},
    {"name": "d_exp at the shown points", "passed": False, "hidden": False,
     "message": "d_exp at the shown points: got 0 at index 1, expected 2.71828."}]}


def _page_of(meta: dict, **kw) -> str:
    from calcgrad.grading.feedback import render

    cell = nbformat.v4.new_code_cell("checks.close(...)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    cell.metadata["calcgrad"] = meta
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Exercise 1"), cell])
    return render(nb, "s", "a", "n", {"t": (0, 1)}, {}, (0, 1), 0.0, **kw)


def test_a_failed_hidden_check_does_not_show_its_values():
    page = _page_of(HIDDEN_FAILURE)
    hidden = page.split("d_exp at the shown points")[0]
    assert "3.37721" not in hidden and "index 5" not in hidden
    assert "not shown" in hidden and "Your values are all zero" in hidden
    assert "2.71828" in page, "a visible check keeps its message"


def test_the_course_may_show_hidden_values():
    assert "3.37721" in _page_of(HIDDEN_FAILURE, hidden_details="full")


def hidden_test_lines(root: Path) -> list[str]:
    """The longer lines of the source notebook's hidden tests."""
    source = nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    lines, hidden = [], False
    for cell in source.cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                hidden = True
            elif "END HIDDEN TESTS" in line:
                hidden = False
            elif hidden and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def test_nbgraders_own_feedback_does_not_show_hidden_tests(graded):
    """What formgrader's Generate Feedback button runs: nbgrader's generate_feedback with
    the course's nbgrader_config.py."""
    import html

    root, _ = graded
    course.nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    hidden = hidden_test_lines(root)
    assert hidden
    for student in ("ref", "blank"):
        page = feedback_page(root, student)
        assert "HIDDEN TESTS" not in page
        for line in hidden:
            assert html.escape(line) not in page and line not in page, (student, line)
    assert "\u2714" in feedback_page(root, "ref")
    assert "\u2718" in feedback_page(root, "blank")


def test_autograde_warns_of_feedback_that_shows_hidden_tests(graded):
    root, _ = graded
    page = root / "feedback" / "blank" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("<pre>### BEGIN HIDDEN TESTS\nassert secret\n### END HIDDEN TESTS</pre>")
    proc = calcgrad("autograde", ASSIGNMENT, "--course-dir", str(root), "--student", "blank",
                    "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "show hidden tests" in proc.stderr and "calcgrad feedback" in proc.stderr
    assert calcgrad("feedback", ASSIGNMENT, "--course-dir", str(root), "--student",
                    "blank").returncode == 0
    assert "BEGIN HIDDEN TESTS" not in page.read_text()


def test_report_knows_a_placeholder_without_the_status_csv(graded, tmp_path):
    import json

    root, _ = graded
    statuses = tmp_path / "statuses.csv"
    statuses.write_text("student,status\nref,graded\n")
    proc = calcgrad("report", ASSIGNMENT, "--course-dir", str(root), "--status-csv",
                    str(statuses), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {s["student"]: s["status"] for s in data["students"]}["erin"] == "corrupt"
    assert data["summary"]["unreadable"] == 1

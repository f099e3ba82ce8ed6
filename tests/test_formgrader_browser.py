"""Formgrader's own buttons, clicked in headless Chromium, on the course as shipped.

An instructor who grades from formgrader never types `calcgrad autograde`: its Autograde
button runs nbgrader's autograde inside the Jupyter server, and its Generate Feedback button
runs nbgrader's generate_feedback. With the course's nbgrader_config.py both go through
calcgrad (SandboxedExecute, HideTests), so a hostile notebook graded by the button fools no
check and writes nothing outside its sandbox, and the feedback the button writes shows no
hidden test. A corrupt submission that `calcgrad autograde` has seen is listed as graded
(its placeholder), not as "needs autograding".
"""

from __future__ import annotations

import html
import os
import subprocess
import sys

import nbformat
import pytest

import browser_support as bs
from calcgrad import course
from test_nbgrader_plugged import HOSTILE

ASSIGNMENT = course.ASSIGNMENTS[0]
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

pytestmark = pytest.mark.skipif(bs.chromium_missing() is not None,
                                reason=bs.chromium_missing() or "")


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory):
    """A course with a hostile and a corrupt submission, and formgrader's submissions page."""
    assert os.environ.get(course.PLAIN) != "1", "the course's own configuration is under test"
    root = course.new_course(tmp_path_factory.mktemp("formgrader"), (ASSIGNMENT,))
    released = course.generate(root, ASSIGNMENT) / NOTEBOOK
    hostile = nbformat.read(released, as_version=4)
    first = next(c for c in hostile.cells if c.metadata.get("nbgrader", {}).get("solution")
                 and c.cell_type == "code")
    first.source = HOSTILE + first.source
    work = tmp_path_factory.mktemp("work")
    nbformat.write(hostile, work / "hostile.ipynb")
    course.submit(root, ASSIGNMENT, "hostile", work / "hostile.ipynb")
    corrupt = root / "submitted" / "erin" / ASSIGNMENT
    corrupt.mkdir(parents=True)
    (corrupt / NOTEBOOK).write_text('{"cells": [')
    (corrupt / "timestamp.txt").write_text("2026-11-01 12:00:00 UTC")
    proc = subprocess.run([sys.executable, "-m", "calcgrad", "autograde", ASSIGNMENT,
                           "--course-dir", str(root), "--student", "erin"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with bs.jupyter_lab(root, tmp_path_factory.mktemp("home")) as server, \
            bs.browser() as chromium:
        # The token as a header: formgrader's own API calls carry it too.
        page = chromium.new_page(viewport=bs.VIEWPORT,
                                 extra_http_headers={"Authorization": f"token {server.token}"})
        page.set_default_timeout(bs.RUN_TIMEOUT_S * 1000)
        page.goto(f"{server.url}formgrader/manage_submissions/{ASSIGNMENT}")
        page.wait_for_selector("td.student-id:has-text('hostile')", timeout=60_000)
        try:
            yield root, page
        finally:
            page.close()


def _row(page, student: str):
    return page.locator("tr", has=page.locator("td.student-id", has_text=student))


def _click(page, student: str, button: str) -> str:
    """Click a row's button; the text of the dialog formgrader opens when the job is done."""
    _row(page, student).locator(f"td.{button} a").click()
    modal = page.locator("#success-modal, #error-modal").first
    modal.wait_for(state="visible")
    text = modal.inner_text()
    modal.locator("button").first.click()
    modal.wait_for(state="detached")
    return text


def test_a_corrupt_submission_is_listed_as_graded_not_waiting(formgrader):
    _, page = formgrader
    status = _row(page, "erin").locator("td.status").inner_text()
    assert "needs autograding" not in status.lower(), status
    assert _row(page, "erin").locator("td.score").inner_text().startswith("0 /")


def test_the_autograde_button_runs_the_hostile_notebook_in_the_sandbox(formgrader):
    root, page = formgrader
    said = _click(page, "hostile", "autograde")
    assert "Successfully autograded" in said, said[-3000:]
    grades = course.grades(root, ASSIGNMENT)["hostile"]
    auto = bs.autograded_cells(ASSIGNMENT)
    assert auto and all(grades.cells[gid] == 0 for gid in auto), grades
    assert not list(root.rglob("pwned.txt")) and not (root.parent / "pwned.txt").exists()
    assert "calcgrad: hostile" in said  # the log the button shows names what was held


def test_the_generate_feedback_button_shows_no_hidden_test(formgrader):
    root, page = formgrader
    if not (root / "autograded" / "hostile").is_dir():
        _click(page, "hostile", "autograde")
    said = _click(page, "hostile", "generate-feedback")
    assert "Successfully generated feedback" in said, said[-3000:]
    page_text = html.unescape(
        (root / "feedback" / "hostile" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text())
    assert "BEGIN HIDDEN TESTS" not in page_text
    source = nbformat.read(root / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    hidden = [line.strip() for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source
              for line in c.source.split("### BEGIN HIDDEN TESTS", 1)[1]
              .split("### END HIDDEN TESTS", 1)[0].splitlines() if len(line.strip()) > 12]
    assert hidden, "the assignment has no hidden tests to look for"
    shown = [line for line in hidden if line in page_text]
    assert not shown, shown[:3]
    assert "Score: 0" in page_text or "0 / " in page_text  # the feedback still has scores

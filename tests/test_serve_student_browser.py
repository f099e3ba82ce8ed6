"""A student in JupyterLab, with `calcgrad serve` running: the Assignments tab's Fetch,
the answers typed in, Submit, then Fetch Feedback, and the feedback page in Chromium shows
the checks' verdicts and no test source. Also takes docs/serve-feedback.png for the README
when CALCGRAD_SCREENSHOTS=1."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import nbformat
import pytest

import browser_support as bs
from test_serve import A, Class, Serving, graded_attempt

pytestmark = pytest.mark.skipif(bs.chromium_missing() is not None,
                                reason=bs.chromium_missing() or "")
STUDENT = "zoe"
WAIT_MS = bs.RUN_TIMEOUT_S * 1000


def _student_config(home: Path, cls: Class) -> None:
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = 'calculus-autograd'\n"
        f"c.CourseDirectory.student_id = {STUDENT!r}\n"
        f"c.Exchange.root = {str(cls.exchange)!r}\n"
        f"c.Exchange.cache = {str(home / 'nbgrader-cache')!r}\n")


def test_student_submits_in_lab_and_reads_feedback(tmp_path):
    cls = Class(tmp_path / "class")
    home, work = tmp_path / "zoe-home", tmp_path / "zoe-work"
    work.mkdir()
    _student_config(home, cls)
    service = Serving(cls.root, "lab")
    try:
        with bs.jupyter_lab(work, home) as server, bs.browser() as chromium:
            lab = bs.Lab(server, chromium)
            page = lab.page
            page.evaluate("() => window.jupyterapp.commands.execute("
                          "'nbgrader:open-assignment-list')")
            page.locator("#released_assignments_list button", has_text="Fetch").click(
                timeout=WAIT_MS)
            submit = page.locator("#fetched_assignments_list button", has_text="Submit")
            submit.wait_for(timeout=WAIT_MS)
            fetched = work / A / f"{A}.ipynb"
            assert fetched.is_file()
            # The student's answers: the reference solutions typed into the solution cells.
            nbformat.write(bs.completed_notebook(fetched, A), fetched)
            submit.click()
            page.locator("#submitted_assignments_list .list_item").first.wait_for(
                timeout=WAIT_MS)
            service.wait_for("graded zoe's submission from the lab",
                             lambda: graded_attempt(cls.root, STUDENT))
            page.locator("#refresh_assignments_list").click()
            page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").click(
                timeout=WAIT_MS)
            page.locator("#submitted_assignments_list a", has_text="view feedback").wait_for(
                timeout=WAIT_MS)
            pages = sorted((work / A / "feedback").rglob("*.html"))
            assert len(pages) == 1
            rel = pages[0].relative_to(work).as_posix()
            view = chromium.new_page(viewport=bs.VIEWPORT)
            view.goto(f"{server.url}files/{rel}?token={server.token}", timeout=WAIT_MS)
            text = view.inner_text("body")
            assert f"Feedback for {STUDENT}" in text
            assert "\u2714" in text and "Checks" in text  # verdicts, per exercise
            # No hidden check is named after its inputs ("f(x, -2.5) at hidden points").
            assert "hidden check 1" in text
            assert not [line for line in text.splitlines()
                        if "hidden points" in line and re.search(r"\d", line)]
            html = view.content()
            assert "HIDDEN TESTS" not in html and "check_" not in html  # no test source
            if os.environ.get("CALCGRAD_SCREENSHOTS") == "1":
                view.screenshot(path=str(bs.REPO / "docs" / "serve-feedback.png"))
            view.close()
            lab.close()
    finally:
        report = service.stop(signal.SIGTERM)
    assert report["returncode"] == 0 and report["leftovers"] == [], report

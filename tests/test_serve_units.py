"""`calcgrad serve`'s parts that need no sandbox: journal, inbound scan, visibility, status."""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from calcgrad.serve import exchange, status, visibility
from calcgrad.serve.journal import Journal


def test_journal_survives_a_restart_and_is_replaced_whole(tmp_path):
    j = Journal.in_course(tmp_path)
    j.done("ps1", "ada", "ada+ps1+t1", released_at=100.0, held_until=None)
    j.done("ps1", "ben", "ben+ps1+t2", released_at=None, held_until=700.0)
    again = Journal.in_course(tmp_path)
    assert again.graded == {"ps1/ada": "ada+ps1+t1", "ps1/ben": "ben+ps1+t2"}
    assert again.released == {"ps1/ada": 100.0}
    assert again.held == {"ps1/ben": 700.0}
    again.release_done("ps1", "ben", 800.0)
    assert Journal.in_course(tmp_path).held == {}
    # Only the journal itself is left in its folder (no half-written temporary file).
    assert [p.name for p in (tmp_path / ".calcgrad-serve").iterdir()] == ["journal.json"]


def _attempt(inbound: Path, name: str, complete: bool = True) -> None:
    folder = inbound / name
    folder.mkdir(parents=True)
    (folder / "ps1.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text(name.split("+")[2])
    if complete:
        (folder / exchange.SECRET).write_text("s" * 128)


class _Course:
    def __init__(self, root: Path):
        from calcgrad.grading.autograde import Course

        (root / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = 'c1'\n"
            f"c.Exchange.root = {str(root / 'exchange')!r}\n")
        self.course = Course.load(root)


def test_latest_complete_attempt_wins(tmp_path):
    course = _Course(tmp_path).course
    inbound = exchange.Inbound(course, logging.getLogger("t"))
    assert inbound.folder == tmp_path / "exchange" / "c1" / "inbound"
    _attempt(inbound.folder, "ada+ps1+2026-12-01 10:00:00.000001 UTC+aaaa")
    _attempt(inbound.folder, "ada+ps1+2026-12-01 10:00:00.000002 UTC+bbbb")
    _attempt(inbound.folder, "ada+ps1+2026-12-01 10:00:01.000000 UTC+cccc", complete=False)
    _attempt(inbound.folder, "b+en+ps1+2026-12-01 09:00:00.000000 UTC+dddd")
    _attempt(inbound.folder, "ada+ps2+2026-12-01 11:00:00.000000 UTC+eeee")
    latest = inbound.latest({"ps1"})
    assert sorted(latest) == [("ada", "ps1"), ("b+en", "ps1")]
    assert latest[("ada", "ps1")].name.endswith("+bbbb")  # the newer complete one
    assert inbound.attempt_of(inbound.folder / "b+en+ps1+x+y" / "f.ipynb") == ("b+en", "ps1")


def test_collect_replaces_the_previous_attempt_and_keeps_every_attempt(tmp_path):
    course = _Course(tmp_path).course
    inbound = exchange.Inbound(course, logging.getLogger("t"))
    first = "ada+ps1+2026-12-01 10:00:00.000001 UTC+aaaa"
    second = "ada+ps1+2026-12-01 10:00:00.000002 UTC+bbbb"
    _attempt(inbound.folder, first)
    (inbound.folder / first / "only_in_first.txt").write_text("x")
    _attempt(inbound.folder, second)
    for name in (first, second):
        inbound.collect(exchange.Attempt("ada", "ps1", name, ""))
    dest = course.submitted("ada", "ps1")
    assert sorted(p.name for p in dest.iterdir()) == ["ps1.ipynb", exchange.SECRET,
                                                      "timestamp.txt"]
    assert (dest / "timestamp.txt").read_text() == "2026-12-01 10:00:00.000002 UTC"
    assert len(list(inbound.folder.iterdir())) == 2  # both attempts kept
    assert sorted(p.name for p in dest.parent.iterdir()) == ["ps1"]  # no temporary folders


def test_a_submission_with_a_symbolic_link_is_not_collected(tmp_path):
    course = _Course(tmp_path).course
    inbound = exchange.Inbound(course, logging.getLogger("t"))
    name = "eve+ps1+2026-12-01 10:00:00.000001 UTC+aaaa"
    _attempt(inbound.folder, name)
    (tmp_path / "gradebook-secret.txt").write_text("answers")
    (inbound.folder / name / "notes.txt").symlink_to(tmp_path / "gradebook-secret.txt")
    with pytest.raises(RuntimeError, match="symbolic link"):
        inbound.collect(exchange.Attempt("eve", "ps1", name, ""))
    assert not course.submitted("eve", "ps1").exists()


def _nb_with_checks() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("check(...)")
    cell.metadata["calcgrad"] = {"tamper_proof": True, "checks": [
        {"name": "shown", "passed": True, "message": ""},
        {"name": "secret1", "passed": False, "hidden": True, "message": "x=3.5 gives 7"},
        {"name": "f(x, -2.5) at hidden points", "passed": True, "hidden": True,
         "message": ""}]}
    return nbformat.v4.new_notebook(cells=[cell])


def test_show_settings_change_only_hidden_checks():
    every = visibility.adjuster("all")(_nb_with_checks())
    assert [c["name"] for c in every.cells[0].metadata["calcgrad"]["checks"]] == \
        ["shown", "hidden check 1", "hidden check 2"]  # "secret1" holds a digit
    counted = visibility.adjuster("hidden_counted")(_nb_with_checks())
    checks = counted.cells[0].metadata["calcgrad"]["checks"]
    assert [c["name"] for c in checks] == ["shown", "hidden checks: 1 of 2 passed"]
    assert checks[1]["passed"] is False and "3.5" not in json.dumps(checks)
    visible = visibility.adjuster("visible_only")(_nb_with_checks())
    assert [c["name"] for c in visible.cells[0].metadata["calcgrad"]["checks"]] == ["shown"]


def test_before_due():
    due = datetime(2026, 12, 1, 12, 0)
    assert visibility.before_due(None)
    assert visibility.before_due(due, now=datetime(2026, 12, 1, 11, 59))
    assert not visibility.before_due(due, now=datetime(2026, 12, 1, 12, 1))


def test_percentiles():
    assert status.percentile([], 50) is None
    values = [float(x) for x in range(1, 101)]
    assert status.percentile(values, 50) == 50.0
    assert status.percentile(values, 95) == 95.0
    assert status.percentile([3.0], 95) == 3.0


def test_status_page_over_http_shows_figures_and_inert_names():
    stats = status.Stats()
    stats.set_queue(3)
    stats.graded_one(1.5)
    stats.graded_one(2.5)
    stats.error("ps1/<script>x", "status crashed")
    stats.set_held({"ps1/ben": 2_000_000_000.0})
    server = status.serve_status(stats, 0)  # a free port
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        data = json.loads(urllib.request.urlopen(base + "/status.json", timeout=10).read())
        assert data["queue"] == 1 and data["graded"] == 2
        assert data["p50_seconds"] == 1.5 and data["p95_seconds"] == 2.5
        assert data["rate_limited"][0]["who"] == "ps1/ben"
        html = urllib.request.urlopen(base + "/", timeout=10).read().decode()
        assert "<script>x" not in html and "ps1/ben" in html and "1.50 s" in html
    finally:
        server.shutdown()
        server.server_close()


def test_serve_refuses_a_course_with_nothing_to_serve(tmp_path):
    import subprocess
    import sys

    from calcgrad import course

    root = course.new_course(tmp_path / "course", (course.ASSIGNMENTS[0],))  # no gradebook
    for extra in ([], ["--assignment", course.ASSIGNMENTS[0]]):
        proc = subprocess.run([sys.executable, "-m", "calcgrad", "serve", "--course-dir",
                               str(root), *extra], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert "calcgrad serve: error:" in proc.stderr


def test_without_an_exchange_submitted_folders_are_the_submissions(tmp_path):
    import os

    course = _Course(tmp_path).course  # its exchange folder does not exist
    source = exchange.Submitted(course, logging.getLogger("t"))
    folder = course.submitted("ada", "ps1")
    folder.mkdir(parents=True)
    (folder / "ps1.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00 UTC")
    first = source.latest({"ps1"})[("ada", "ps1")]
    assert first.timestamp == "2026-12-01 10:00:00 UTC"
    assert source.latest({"ps1"})[("ada", "ps1")] == first  # unchanged folder, same attempt
    (folder / "ps1.ipynb").write_text('{"cells": []}')  # the instructor copies a new one in
    os.utime(folder / "ps1.ipynb", ns=(1, 1))
    assert source.latest({"ps1"})[("ada", "ps1")].name != first.name
    assert source.latest({"ps2"}) == {}
    assert source.attempt_of(folder / "ps1.ipynb") == ("ada", "ps1")

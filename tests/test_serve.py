"""`calcgrad serve` end to end: students submit through nbgrader's exchange, the service
grades each submission on warm sandboxes and releases feedback they fetch.

One throwaway course and exchange; the service is started three times:
- A: dan submitted while it was down; ada submits; ben submits twice in quick succession;
  eve submits a hostile notebook next to fay's honest one; then SIGTERM.
- B: cal submits a notebook that runs for seconds; the service is SIGKILLed mid-grade.
- C: with `show = "hidden_counted"`, a 10-minute rate limit and nbgrader's "zero" late
  penalty in nbgrader_config.py: cal is graded at start; gil submits twice, and the second
  feedback is held; the due date passes and hal submits late; then SIGINT.
A and C run under tests/descendants.py, which reports any process they leave behind.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

import browser_support as student_work
import descendants
from calcgrad import course
from test_workflow import COURSE_ID, as_student, nbgrader

A = course.ASSIGNMENTS[0]
HOSTILE = Path(__file__).resolve().parent.parent / "examples" / "hostile" / A
REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("corpus", REPO / "examples" / "hostile" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)
WAIT_S = 300  # a deadline for a wait on a loaded machine, never an assertion on speed


class Serving:
    """One `calcgrad serve` process (under descendants.py when `tracked`)."""

    def __init__(self, root: Path, name: str, tracked: bool = True):
        self.root, self.name, self.tracked = root, name, tracked
        self.log_path = root.parent / f"serve-{name}.log"
        self.report = root.parent / f"serve-{name}.json"
        argv = [sys.executable, "-m", "calcgrad", "serve", "--course-dir", str(root)]
        if tracked:
            argv = descendants.command(self.report, argv, grace=20)
        env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep
                   + os.environ.get("PATH", ""))
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, cwd=root, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, env=env)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, what: str, predicate):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"calcgrad serve ({self.name}): never {what}; log:\n"
                             f"{self.log()[-4000:]}")

    def service_pid(self) -> int:
        if not self.tracked:
            return self.proc.pid
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return int(children.split()[0])

    def status_url(self) -> str:
        found = self.wait_for("printed its status page",
                              lambda: re.search(r"http://127\.0\.0\.1:\d+/", self.log()))
        return found[0]

    def stop(self, sig: int) -> dict:
        os.kill(self.service_pid(), sig)
        code = self.proc.wait(timeout=WAIT_S)
        self.log_file.close()
        if not self.tracked:
            return {"code": code}
        return descendants.read_report(self.report)


def journal(root: Path) -> dict:
    path = root / ".calcgrad-serve" / "journal.json"
    return json.loads(path.read_text()) if path.is_file() else {"graded": {}, "held": {}}


def attempts(exchange: Path, student: str) -> list[str]:
    inbound = exchange / COURSE_ID / "inbound"
    return sorted(p.name for p in inbound.iterdir() if p.name.startswith(f"{student}+{A}+"))


def graded_attempt(root: Path, student: str) -> str | None:
    return journal(root)["graded"].get(f"{A}/{student}")


class Class:
    def __init__(self, base: Path):
        self.root = course.new_course(base / "course", (A,))
        self.exchange = base / "exchange"
        self.exchange.mkdir()
        with open(self.root / "nbgrader_config.py", "a") as fh:
            fh.write(f"\nc.Exchange.root = {str(self.exchange)!r}\n")
        self.base = base
        nbgrader(self.root, "generate_assignment", A)
        nbgrader(self.root, "release_assignment", A, f"--Exchange.root={self.exchange}")

    def home(self, student: str) -> Path:
        home = self.base / "students" / student
        if not home.exists():
            home.mkdir(parents=True)
            as_student(home, student, self.exchange, "fetch_assignment", A)
        return home

    def released_notebook(self, student: str) -> Path:
        return self.home(student) / A / f"{A}.ipynb"

    def submit(self, student: str, nb) -> str:
        """`nbgrader submit` as this student; returns the new inbound attempt's name."""
        before = set(attempts(self.exchange, student))
        nbformat.write(nb, self.released_notebook(student))
        as_student(self.home(student), student, self.exchange, "submit", A)
        (new,) = set(attempts(self.exchange, student)) - before
        return new

    def completed(self, student: str):
        return student_work.completed_notebook(self.released_notebook(student), A)

    def hostile(self, attack: str):
        return corpus.assemble(HOSTILE / f"{attack}.ipynb", REPO / "source" / A / f"{A}.ipynb",
                               self.root / "release" / A / f"{A}.ipynb")

    def partial(self, student: str):
        return student_work.partial_notebook(self.released_notebook(student), A)

    def fetch_feedback(self, student: str) -> list[Path]:
        home = self.home(student)
        as_student(home, student, self.exchange, "fetch_feedback", A)
        return sorted((home / A / "feedback").rglob("*.html"))


def slow(nb):
    nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(8)"))
    return nb


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    cls = Class(tmp_path_factory.mktemp("serve"))
    root, out = cls.root, {}
    out["dan"] = cls.submit("dan", cls.completed("dan"))  # while no service runs

    # -- A
    a = Serving(root, "A")
    a.wait_for("graded dan's submission made while it was down",
               lambda: graded_attempt(root, "dan") == out["dan"])
    out["ada"] = cls.submit("ada", cls.completed("ada"))
    a.wait_for("graded ada", lambda: graded_attempt(root, "ada") == out["ada"])
    out["ben_first"] = cls.submit("ben", cls.partial("ben"))
    out["ben"] = cls.submit("ben", cls.completed("ben"))
    out["eve"] = cls.submit("eve", cls.hostile("patch_checks"))
    out["fay"] = cls.submit("fay", cls.completed("fay"))
    for student in ("ben", "eve", "fay"):
        a.wait_for(f"graded {student}", lambda s=student: graded_attempt(root, s) == out[s])
    out["feedback"] = {s: cls.fetch_feedback(s) for s in ("dan", "ada", "ben", "eve", "fay")}
    out["A_log"] = a.log()
    out["A_stop"] = a.stop(signal.SIGTERM)

    # -- B: killed mid-grade
    out["cal"] = cls.submit("cal", slow(cls.completed("cal")))
    b = Serving(root, "B", tracked=False)
    b.wait_for("collected cal", lambda: (root / "submitted" / "cal" / A / f"{A}.ipynb").exists())
    time.sleep(1.0)  # inside the 8 s the notebook sleeps
    b.stop(signal.SIGKILL)
    out["cal_after_kill"] = graded_attempt(root, "cal")

    # -- C: settings
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write('c.CalcgradServe.show = "hidden_counted"\n'
                 "c.CalcgradServe.min_interval_minutes = 10\n"
                 'c.LateSubmissionPlugin.penalty_method = "zero"\n')
    c = Serving(root, "C")
    c.wait_for("graded cal after the kill", lambda: graded_attempt(root, "cal") == out["cal"])
    out["gil_first"] = cls.submit("gil", cls.partial("gil"))
    c.wait_for("graded gil", lambda: graded_attempt(root, "gil") == out["gil_first"])
    out["gil"] = cls.submit("gil", cls.completed("gil"))
    c.wait_for("graded gil again", lambda: graded_attempt(root, "gil") == out["gil"])
    # The due date passes: a late submission gets nbgrader's late penalty, and feedback
    # shows every check again.
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        gb.update_or_create_assignment(A, duedate=datetime(2020, 1, 1))
    out["hal"] = cls.submit("hal", cls.completed("hal"))
    c.wait_for("graded hal", lambda: graded_attempt(root, "hal") == out["hal"])
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        sub = gb.find_submission(A, "hal")
        out["hal_late"] = (sub.score, sub.late_submission_penalty)
    url = c.status_url()
    out["status"] = json.loads(urllib.request.urlopen(url + "status.json", timeout=30).read())
    out["status_page"] = urllib.request.urlopen(url, timeout=30).read().decode()
    out["feedback"]["cal"] = cls.fetch_feedback("cal")
    out["feedback"]["gil"] = cls.fetch_feedback("gil")
    out["feedback"]["hal"] = cls.fetch_feedback("hal")
    out["C_log"] = c.log()
    out["C_stop"] = c.stop(signal.SIGINT)
    out["grades"] = course.grades(root, A)
    return cls, out


def full_marks() -> float:
    return sum(student_work.autograded_cells(A).values())


def test_a_submission_made_while_down_is_graded_at_start(served):
    _, out = served
    assert out["grades"]["dan"].score == pytest.approx(full_marks())


def test_each_submission_is_graded_into_the_gradebook_and_logged(served):
    _, out = served
    for student in ("ada", "fay", "ben"):
        assert out["grades"][student].score == pytest.approx(full_marks()), student
        assert re.search(rf"graded {student} {A}: [0-9.]+ / [0-9.]+ \(graded\) in [0-9.]+ s",
                         out["A_log"]), student


def test_two_quick_submissions_latest_graded_both_kept(served):
    cls, out = served
    assert attempts(cls.exchange, "ben") == sorted([out["ben_first"], out["ben"]])
    assert graded_attempt(cls.root, "ben") == out["ben"]
    assert out["grades"]["ben"].score == pytest.approx(full_marks())  # the complete one


def test_hostile_submission_affects_only_its_owner(served):
    _, out = served
    assert out["grades"]["eve"].score == 0
    assert out["grades"]["fay"].score == pytest.approx(full_marks())
    assert re.search(rf"graded eve {A}: 0(\.0)? / [0-9.]+ \(tampering suspected\)", out["A_log"])


def test_students_fetch_their_feedback_without_hidden_tests(served):
    _, out = served
    for student, pages in out["feedback"].items():
        assert pages, f"{student} fetched no feedback"
        for page in pages:
            html = page.read_text()
            assert f"Feedback for <b>{student}</b>" in html
            assert "HIDDEN TESTS" not in html and "check_" not in html


def test_sigterm_and_sigint_stop_cleanly(served):
    _, out = served
    for run in ("A_stop", "C_stop"):
        report = out[run]
        assert report["returncode"] == 0, report
        assert report["leftovers"] == [], report


def test_killed_mid_grade_is_graded_again_at_restart(served):
    cls, out = served
    assert out["cal_after_kill"] != out["cal"]  # it really was killed before it finished
    assert graded_attempt(cls.root, "cal") == out["cal"]
    assert out["grades"]["cal"].score == pytest.approx(full_marks())


def test_hidden_checks_only_counted_before_the_due_date(served):
    _, out = served
    html = out["feedback"]["cal"][-1].read_text()
    assert re.search(r"hidden checks: \d+ of \d+ passed", html)


def test_late_submission_gets_nbgraders_penalty_and_full_feedback(served):
    _, out = served
    score, penalty = out["hal_late"]
    assert score == pytest.approx(full_marks()) and penalty == pytest.approx(score)  # "zero"
    html = out["feedback"]["hal"][-1].read_text()
    assert "late penalty" in html
    assert not re.search(r"hidden checks: \d+ of \d+ passed", html)  # after the due date


def test_rate_limit_holds_feedback_but_grades(served):
    cls, out = served
    assert out["grades"]["gil"].score == pytest.approx(full_marks())  # graded at once
    assert [x["who"] for x in out["status"]["rate_limited"]] == [f"{A}/gil"]
    assert len(out["feedback"]["gil"]) == 1  # only the first attempt's feedback is out
    assert "feedback held until" in out["C_log"]
    assert f"{A}/gil" in journal(cls.root)["held"]


def test_status_page_shows_latency_and_rate_limited(served):
    _, out = served
    status = out["status"]
    assert status["graded"] >= 3 and status["queue"] == 0
    assert status["p50_seconds"] is not None and status["p50_seconds"] <= status["p95_seconds"]
    assert f"{A}/gil" in out["status_page"]

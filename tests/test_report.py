"""`calcgrad report`: the instructor report's numbers are the gradebook's, and it opens in a browser.

One throwaway course, one autograde run of a small class: the reference answers, a blank
release, and the sample submissions in examples/.
"""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import browser_support as bs
from calcgrad import course, report
from calcgrad.demo import readable_notebook

ASSIGNMENT = course.ASSIGNMENTS[0]
SHOTS = course.REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = course.new_course(tmp_path_factory.mktemp("report-course"), (ASSIGNMENT,))
    released = course.generate(root, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    work = tmp_path_factory.mktemp("work")
    nbformat.write(bs.completed_notebook(released, ASSIGNMENT), work / "reference.ipynb")
    course.submit(root, ASSIGNMENT, "reference", work / "reference.ipynb")
    course.submit(root, ASSIGNMENT, "blank", released)
    for example in sorted((course.REPO / "examples" / ASSIGNMENT).glob("*.ipynb")):
        if readable_notebook(example) is None:
            course.submit(root, ASSIGNMENT, example.stem, example, name=f"{ASSIGNMENT}.ipynb")
    subprocess.run([sys.executable, "-m", "calcgrad", "autograde", ASSIGNMENT, "--quiet",
                    "--course-dir", str(root)], check=True, capture_output=True)
    return root, course.grades(root, ASSIGNMENT)


@pytest.fixture(scope="module")
def written(graded, tmp_path_factory):
    root, _ = graded
    out = tmp_path_factory.mktemp("report")
    assert report.main([ASSIGNMENT, "--course-dir", str(root), "--out", str(out)]) == 0
    return out, json.loads((out / "report.json").read_text())


def test_summary_equals_the_gradebook(graded, written):
    _, grades = graded
    _, data = written
    scores = [g.score for g in grades.values()]
    s = data["summary"]
    assert s["submissions"] == len(grades) >= 3
    assert s["mean"] == pytest.approx(statistics.fmean(scores))
    assert s["median"] == pytest.approx(statistics.median(scores))
    assert (s["min"], s["max"]) == (min(scores), max(scores))
    assert s["max_score"] == grades["reference"].max_score


def test_pass_rate_per_cell_equals_the_gradebook(graded, written):
    _, grades = graded
    _, data = written
    auto = bs.autograded_cells(ASSIGNMENT)
    cells = {c["grade_id"]: c for c in data["cells"]}
    assert set(auto) <= set(cells)
    assert [c["grade_id"] for c in data["cells"] if c["kind"] == "auto"] == list(auto), \
        "cells are not in notebook order"
    for gid, points in auto.items():
        full = sum(1 for g in grades.values() if g.cells.get(gid) == points)
        assert (cells[gid]["full_marks"], cells[gid]["students"]) == (full, len(grades)), gid
        assert cells[gid]["pass_rate"] == pytest.approx(full / len(grades)), gid
    assert cells[next(iter(auto))]["exercise"].startswith("Exercise"), "cells are not named by exercise"


def test_csv_has_every_students_cell_scores(graded, written):
    _, grades = graded
    out, _ = written
    with open(out / "scores.csv", newline="") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(grades)
    for student, grade in grades.items():
        row = rows[student]
        assert float(row["score"]) == grade.score and float(row["max_score"]) == grade.max_score
        for gid in bs.autograded_cells(ASSIGNMENT):
            assert float(row[gid]) == grade.cells[gid], (student, gid)
        assert row["status"] == "graded"


def test_failure_messages_are_what_the_students_saw(graded, written):
    root, grades = graded
    _, data = written
    for cell in (c for c in data["cells"] if c["kind"] == "auto"):
        lost = cell["students"] - cell["full_marks"]
        assert sum(f["count"] for f in cell["failures"]) == lost, cell["grade_id"]
    # the blank release's messages, read straight from its autograded notebook
    nb = nbformat.read(root / "autograded" / "blank" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cells = {c["grade_id"]: c for c in data["cells"]}
    checked = 0
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if gid in cells and errors and errors[-1].ename == "CheckFailed":
            said = errors[-1].evalue.split()
            assert said in [f["message"].split() for f in cells[gid]["failures"]], gid
            checked += 1
    assert checked, "the blank submission shows no CheckFailed message"
    messages = [f["message"] for c in data["cells"] for f in c["failures"]]
    assert not [m for m in messages if "Traceback" in m], "a traceback made it into the report"


def test_statuses_come_from_the_engines_csv(graded, tmp_path):
    root, grades = graded
    engine_csv = tmp_path / f"calcgrad-autograde-{ASSIGNMENT}.csv"
    statuses = {"blank": "timed out", "reference": "crashed",
                "mallory": "tampering suspected"}
    with open(engine_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student", "score", "max_score", "status", "notes"])
        writer.writeheader()
        for student, status in statuses.items():
            writer.writerow({"student": student, "status": status, "notes": f"{student} note"})
    out = tmp_path / "out"
    assert report.main([ASSIGNMENT, "--course-dir", str(root), "--out", str(out),
                        "--status-csv", str(engine_csv)]) == 0
    data = json.loads((out / "report.json").read_text())
    want = {"graded": len(grades) - 2, "crashed": 1, "timed out": 1, "tampering suspected": 1}
    assert data["statuses"] == want
    mallory = next(s for s in data["students"] if s["student"] == "mallory")
    assert mallory["score"] is None and mallory["notes"] == "mallory note"
    assert data["summary"]["scored"] == len(grades)


def test_no_course_is_one_line_on_stderr(tmp_path, capsys):
    assert report.main([ASSIGNMENT, "--course-dir", str(tmp_path)]) == 2
    said = capsys.readouterr()
    assert not said.out
    assert said.err.startswith("calcgrad report: error: ") and "nbgrader_config.py" in said.err
    assert len(said.err.strip().splitlines()) == 1


@pytest.mark.skipif(bs.chromium_missing() is not None, reason=bs.chromium_missing() or "")
def test_html_opens_in_the_browser_with_its_images(written):
    out, data = written
    with bs.browser() as chromium:
        page = chromium.new_page(viewport={"width": 1100, "height": 1400})
        errors = []
        page.on("requestfailed", lambda r: errors.append(r.url))
        page.goto((out / "index.html").as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.id, i.complete && i.naturalWidth > 0])")
        assert images == [["score-distribution", True], ["pass-rate", True]], images
        assert not errors, f"failed to load: {errors}"
        shown = page.eval_on_selector_all(
            "#cells tr[data-cell]", "rows => rows.map(r => [r.dataset.cell, "
            "r.querySelector('[data-full]').innerText])")
        want = [[c["grade_id"], f"{c['full_marks']} / {c['students']}"]
                for c in data["cells"] if c["kind"] == "auto"]
        assert [row for row in shown if row[0] in {w[0] for w in want}] == want
        mean = page.inner_text("#summary [data-key='mean']")
        assert mean == f"{data['summary']['mean']:.2f}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"report_{ASSIGNMENT}.png"), full_page=True)
        page.close()


def test_plots_are_pngs_of_a_sensible_size(written):
    out, _ = written
    for name in ("score_distribution.png", "pass_rate.png"):
        head = (out / name).read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        assert 300 < width < 2000 and 150 < height < 2000, (name, width, height)


def test_report_module_runs_as_a_command(graded, tmp_path):
    import subprocess
    import sys

    root, _ = graded
    proc = subprocess.run([sys.executable, "-m", "calcgrad.report", ASSIGNMENT, "--course-dir", str(root),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"report: {Path(tmp_path) / 'index.html'}" in proc.stdout


def test_a_course_with_its_own_db_url(graded, tmp_path, monkeypatch):
    """The report reads the gradebook the course's db_url names, and the engine's CSV next
    to it, finding the course from a folder inside it (no --course-dir)."""
    import shutil

    root, grades = graded
    moved = tmp_path / "course"
    shutil.copytree(root, moved, symlinks=True)
    books = moved / "books"
    books.mkdir()
    (moved / "gradebook.db").rename(books / "marks.sqlite")
    engine_csv = f"calcgrad-autograde-{ASSIGNMENT}.csv"
    (moved / engine_csv).rename(books / engine_csv)
    with open(moved / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write(f"\nc.CourseDirectory.db_url = 'sqlite:///{books / 'marks.sqlite'}'\n")
    monkeypatch.chdir(moved / "source" / ASSIGNMENT)
    out = tmp_path / "out"
    assert report.main([ASSIGNMENT, "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert Path(data["course_dir"]).resolve() == moved.resolve()
    assert Path(data["status_source"]).resolve() == (books / engine_csv).resolve()
    scores = {s["student"]: s["score"] for s in data["students"] if s["score"] is not None}
    assert scores == {student: grade.score for student, grade in grades.items()}
    with open(books / engine_csv, newline="", encoding="utf-8") as fh:
        statuses = {row["student"]: row["status"] for row in csv.DictReader(fh)}
    assert {s["student"]: s["status"] for s in data["students"]} == statuses


def test_a_course_with_its_own_folder_names(graded, written, tmp_path):
    """The report reads source and autograded notebooks where the course's config puts them
    (nbgrader's CourseDirectory.source_directory and autograded_directory)."""
    import shutil

    root, _ = graded
    moved = tmp_path / "course"
    shutil.copytree(root, moved, symlinks=True)
    (moved / "source").rename(moved / "masters")
    (moved / "autograded").rename(moved / "marked")
    with open(moved / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write("\nc.CourseDirectory.source_directory = 'masters'\n"
                 "c.CourseDirectory.autograded_directory = 'marked'\n")
    out = tmp_path / "out"
    assert report.main([ASSIGNMENT, "--course-dir", str(moved), "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    _, before = written
    assert [(c["grade_id"], c["failures"]) for c in data["cells"]] == \
        [(c["grade_id"], c["failures"]) for c in before["cells"]]
    assert any(c["failures"] for c in data["cells"]), "no failure message was read"

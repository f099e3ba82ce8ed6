"""`calcgrad report ASSIGNMENT`: what the class did, for the instructor, from the gradebook.

Writes, into --out (default: reports/ASSIGNMENT/ in the course folder):

  index.html               the report: summary, score distribution, pass rate per graded
                           cell, the most common failure messages per exercise with counts,
                           status counts, a table of every student
  score_distribution.png   histogram of the students' total scores
  pass_rate.png            share of students with full marks on each autograded cell
  scores.csv               one row per student: variant, status, total, the score of every graded cell
  report.json              every number above, for scripts and tests

Where the numbers come from:
  * scores: nbgrader's gradebook (the course's db_url: gradebook.db by default);
  * failure messages: the autograded notebooks, autograded/<student>/ASSIGNMENT/*.ipynb,
    the error output of each graded test cell (a `calcgrad.checks` failure says in words
    what is wrong; other errors show as "Name: message");
  * statuses (graded, crashed, timed out, tampering suspected, ...): a CSV with columns
    `student` (or `student_id`) and `status`, optional `notes` -- the grading engine's
    report `calcgrad-autograde-ASSIGNMENT.csv` next to the gradebook is read when it
    exists, or the file given by --status-csv; without one every submission is "graded".

Written answers nobody has graded yet count in no mean. Corrupt and missing notebooks
(nothing could be run) count in no mean, pass rate or failure message: they are counted on
their own. The course is the folder holding nbgrader_config.py, at or above the current
folder (or --course-dir); its configuration says where the gradebook is.
Needs no network; plots are drawn with matplotlib (Agg).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from calcgrad import textsafe, variants
from calcgrad.grading.vocabulary import UNREADABLE, Status

# Always shown, in this order (the engine's words: grading/vocabulary.py).
STATUSES = (Status.GRADED, Status.CRASHED, Status.TIMED_OUT, Status.TAMPERING)
TOP_MESSAGES = 5
MESSAGE_CHARS = 400
NO_MESSAGE = "(no error shown: the cell wrote to stderr, timed out, or was not run)"


@dataclass
class CellStats:
    grade_id: str
    exercise: str  # the heading of the exercise the cell belongs to
    kind: str  # "auto" (a test cell) or "manual" (a written answer)
    max_score: float
    students: int = 0  # submissions with a grade for this cell
    full_marks: int = 0  # ... that earned all its points
    graded: int = 0  # for manual cells: graded by hand so far
    mean_score: float | None = None
    failures: list[tuple[str, int]] = field(default_factory=list)  # (message, count), commonest first

    @property
    def pass_rate(self) -> float | None:
        return self.full_marks / self.students if self.students and self.kind == "auto" else None


@dataclass
class StudentRow:
    student: str
    status: str
    score: float | None
    max_score: float | None
    cells: dict[str, float | None]
    notes: str = ""


@dataclass
class Report:
    assignment: str
    course_dir: str
    max_score: float
    students: list[StudentRow]
    cells: list[CellStats]
    statuses: dict[str, int]
    status_source: str

    @property
    def scores(self) -> list[float]:
        return [s.score for s in self.students
                if s.score is not None and s.status not in UNREADABLE]

    def summary(self) -> dict:
        scores = self.scores
        return {"submissions": len(self.students), "scored": len(scores),
                "unreadable": sum(1 for s in self.students if s.status in UNREADABLE),
                "max_score": self.max_score,
                "mean": statistics.fmean(scores) if scores else None,
                "median": statistics.median(scores) if scores else None,
                "min": min(scores) if scores else None,
                "max": max(scores) if scores else None}

    def as_json(self) -> dict:
        cells = []
        for c in self.cells:
            d = asdict(c)
            d["pass_rate"] = c.pass_rate
            d["failures"] = [{"message": m, "count": n} for m, n in c.failures]
            cells.append(d)
        return {"assignment": self.assignment, "course_dir": self.course_dir,
                "summary": self.summary(), "statuses": self.statuses,
                "status_source": self.status_source, "cells": cells,
                "students": [asdict(s) for s in self.students]}


# --- reading ---------------------------------------------------------------------------------

def _source_order(course, assignment: str) -> dict[str, tuple[int, str]]:
    """grade_id -> (position, exercise heading), from the source notebooks when present."""
    import nbformat

    order: dict[str, tuple[int, str]] = {}
    heading = ""
    folder = Path(course.coursedir.format_path(course.coursedir.source_directory, ".",
                                               assignment))
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for line in cell.source.splitlines():
                    if line.startswith("## "):
                        heading = line[3:].replace("$", "").strip()
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid and cell.metadata["nbgrader"].get("grade"):
                order[gid] = (len(order), heading)
    return order


def message_of(output: dict) -> str:
    """What a failed test cell said, in one normalized string."""
    name, value = output.get("ename", ""), str(output.get("evalue", "")).strip()
    if name in ("CheckFailed", "AssertionError") and value:
        text = value
    else:
        text = f"{name}: {value}" if value else name
    text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "\u2026"


def failure_messages(course, assignment: str, student: str) -> dict[str, str]:
    """grade_id -> the error message of each graded test cell that raised, for one student."""
    import nbformat

    out: dict[str, str] = {}
    for path in sorted(course.autograded(student, assignment).glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            continue  # its cells count as failed without a message
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade"):
                continue
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                out[meta["grade_id"]] = message_of(errors[-1])
    return out


def placeholder_status(course, assignment: str, student: str) -> str | None:
    """"corrupt" or "missing" when calcgrad autograde wrote a placeholder for one of the
    student's notebooks (nothing of it could be run); None otherwise."""
    for path in sorted(course.autograded(student, assignment).glob("*.ipynb")):
        try:
            with open(path, encoding="utf-8") as fh:
                status = json.load(fh).get("metadata", {}).get("calcgrad", {}).get("placeholder")
        except (OSError, ValueError, AttributeError):
            continue
        if status in UNREADABLE:
            return status
    return None


def _canonical_status(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").split()) or "graded"


def read_statuses(path: Path | None) -> dict[str, tuple[str, str]]:
    """student -> (status, notes) from a status CSV; empty when there is none."""
    if path is None or not Path(path).exists():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for row in rows:
        student = textsafe.from_csv_cell(row.get("student") or row.get("student_id") or "")
        if student:
            out[student] = (_canonical_status(textsafe.from_csv_cell(row.get("status") or "")),
                             textsafe.from_csv_cell(row.get("notes") or ""))
    return out


class NothingGraded(RuntimeError):
    """The gradebook holds the assignment, but no submission of it has been graded."""


def build(course_dir: Path | None, assignment: str, status_csv: Path | None = None) -> Report:
    """Read the gradebook, the autograded notebooks and the statuses into a Report. The
    course is `course_dir`, else the folder holding nbgrader_config.py at or above here."""
    from calcgrad.grading import run_table
    from calcgrad.grading.config import Course, find_course_dir

    graded = Course.load(course_dir or find_course_dir())
    graded.require_assignment(assignment)
    course_dir = graded.root
    engine_csv = run_table.csv_path(graded, assignment)
    status_csv = status_csv or (engine_csv if engine_csv.exists() else None)
    statuses = read_statuses(status_csv)
    order = _source_order(graded, assignment)

    with graded.gradebook() as gb:
        assignment_row = gb.find_assignment(assignment)
        max_score = float(assignment_row.max_score)
        kinds = {}
        for nb in assignment_row.notebooks:
            for gc in nb.grade_cells:
                kinds[gc.name] = ("auto" if gc.cell_type == "code" else "manual", float(gc.max_score))
        students = []
        for sub in sorted(gb.assignment_submissions(assignment), key=lambda s: s.student_id):
            cells = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    # a written answer nobody has graded yet has no score (not a zero)
                    pending = g.auto_score is None and g.manual_score is None
                    cells[g.name] = None if pending else float(g.score)
            status, notes = statuses.get(sub.student_id, ("graded", ""))
            if status == "graded":  # a status CSV from before this run, or none
                status = placeholder_status(graded, assignment, sub.student_id) or status
            students.append(StudentRow(sub.student_id, status, float(sub.score),
                                       float(sub.max_score), cells, notes))
    seen = {s.student for s in students}
    for student, (status, notes) in sorted(statuses.items()):
        if student not in seen:  # in the engine's report but not in the gradebook: no scores
            students.append(StudentRow(student, status, None, None, {}, notes))
    if not any(s.score is not None and s.status not in UNREADABLE for s in students):
        raise NothingGraded(f"no graded submission of {assignment} in the gradebook yet: run "
                            f"`calcgrad autograde {assignment}` first"
                            + (f" ({len(students)} submission(s) could not be read)"
                               if students else ""))
    # corrupt or missing notebooks: counted in the statuses, kept out of the cells' numbers
    readable = [s for s in students if s.status not in UNREADABLE]

    ids = sorted(kinds, key=lambda g: (order.get(g, (len(order), ""))[0], g))
    messages = {s.student: failure_messages(graded, assignment, s.student) for s in readable}
    cells = []
    for gid in ids:
        kind, points = kinds[gid]
        stats = CellStats(gid, order.get(gid, (0, ""))[1], kind, points)
        scored = [(s, s.cells[gid]) for s in readable if s.cells.get(gid) is not None]
        stats.students = sum(1 for s in readable if gid in s.cells)
        stats.graded = len(scored)
        if scored:
            stats.mean_score = statistics.fmean(v for _, v in scored)
        if kind == "auto":
            stats.full_marks = sum(1 for _, v in scored if v >= points)
            failed = Counter(messages[s.student].get(gid, NO_MESSAGE) for s, v in scored if v < points)
            stats.failures = sorted(failed.items(), key=lambda kv: (-kv[1], kv[0]))
        cells.append(stats)

    counts = dict.fromkeys(STATUSES, 0)
    for s in students:
        counts[s.status] = counts.get(s.status, 0) + 1
    source = str(status_csv) if statuses else "none (every submission counted as graded)"
    return Report(assignment, str(course_dir), max_score, students, cells, counts, source)


# --- writing ---------------------------------------------------------------------------------

def _png(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    return path


def plot_distribution(report: Report, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    scores = report.scores
    top = max(report.max_score, max(scores, default=0.0), 1.0)
    step = 1.0 if top <= 40 else top / 40
    edges = [i * step for i in range(int(top / step) + 2)]
    fig, ax = plt.subplots(figsize=(4.8, 3))
    ax.hist(scores, bins=edges, color="#4c72b0", edgecolor="white")
    ax.set_xlim(0, top + step)
    ax.set_xlabel(f"total score (out of {report.max_score:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{report.assignment}: scores of {len(scores)} submission(s)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    if scores:
        mean = statistics.fmean(scores)
        ax.axvline(mean, color="#333333", linestyle="--", linewidth=1)
        ax.text(mean, ax.get_ylim()[1] * 0.95, f" mean {mean:.1f}", va="top", fontsize=8)
    try:
        return _png(fig, path)
    finally:
        plt.close(fig)


def plot_pass_rate(report: Report, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    auto = [c for c in report.cells if c.kind == "auto"]
    rates = [100 * (c.pass_rate or 0.0) for c in auto]
    fig, ax = plt.subplots(figsize=(4.8, 0.8 + 0.25 * max(len(auto), 1)))
    colors = ["#c44e52" if r < 50 else "#dd8452" if r < 80 else "#55a868" for r in rates]
    ax.barh(range(len(auto)), rates, color=colors)
    ax.set_yticks(range(len(auto)), [c.grade_id for c in auto], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students with full marks (%)")
    ax.set_title(f"{report.assignment}: pass rate per autograded cell")
    for i, r in enumerate(rates):
        ax.text(min(r + 1, 92), i, f"{r:.0f}%", va="center", fontsize=7)
    try:
        return _png(fig, path)
    finally:
        plt.close(fig)


def write_csv(report: Report, path: Path) -> Path:
    ids = [c.grade_id for c in report.cells]
    on = variants.enabled_for_course(report.course_dir)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "variant", "status", "score", "max_score", *ids])
        for s in report.students:
            mine = variants.label(report.assignment, s.student, on)  # calcgrad variants
            writer.writerow([textsafe.csv_cell(s.student), mine, textsafe.csv_cell(s.status),
                             _num(s.score), _num(s.max_score),
                             *(_num(s.cells.get(gid)) for gid in ids)])
    return path


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 82em; color: #222;
  padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .25em .7em; text-align: left;
  border-bottom: 1px solid #eee; vertical-align: top; } th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #777; } .low { color: #b00; font-weight: 600; }
ol.messages { margin: .2em 0 .6em 1.2em; padding: 0; } ol.messages li { margin: .15em 0; }
.message { white-space: pre-line; }
.count { display: inline-block; min-width: 2.5em; font-weight: 600; }
img { max-width: 100%; border: 1px solid #eee; }
.row { display: flex; flex-wrap: wrap; gap: 1em 3em; align-items: flex-start; }
.row > div > h2 { margin-top: .8em; }
"""


def render_html(report: Report, figures: dict[str, str]) -> str:
    e = textsafe.html  # student ids, statuses, notes and messages come from submissions
    s = report.summary()
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
           f"<title>{e(report.assignment)}: instructor report</title><style>{CSS}</style></head><body>",
           f"<h1>{e(report.assignment)}: instructor report</h1>",
           f"<p class='muted'>From the gradebook in {e(report.course_dir)}. "
           f"Statuses: {e(report.status_source)}. Per-student scores: "
           f"<a href='scores.csv'>scores.csv</a>; all numbers: <a href='report.json'>report.json</a>.</p>",
           "<div class='row'><div><h2>Summary</h2><table id='summary'>"]
    for key, label in [("submissions", "submissions"), ("scored", "with a score"),
                       ("unreadable", "corrupt or missing (not in the numbers)"),
                       ("max_score", "points possible"), ("mean", "mean score"),
                       ("median", "median score"), ("min", "lowest"), ("max", "highest")]:
        value = s[key]
        shown = "–" if value is None else (f"{value:.2f}" if key == "mean" else f"{value:g}")
        out.append(f"<tr><th>{label}</th><td class='num' data-key='{key}' "
                   f"data-value='{'' if value is None else value}'>{shown}</td></tr>")
    out.append("</table>")

    out.append("</div><div><h2>Status</h2><table id='statuses'>"
               "<tr><th>status</th><th>submissions</th></tr>")
    for status, n in report.statuses.items():
        out.append(f"<tr><td>{e(status)}</td><td class='num' data-status='{e(status)}' "
                   f"data-value='{n}'>{n}</td></tr>")
    out.append("</table></div></div>")

    out.append("<div class='row'><div><h2>Score distribution</h2><img id='score-distribution' "
               f"src='{e(figures['distribution'])}' alt='histogram of total scores'></div>"
               "<div><h2>Pass rate per test cell</h2>"
               f"<img id='pass-rate' src='{e(figures['pass_rate'])}' alt='pass rate per test cell'>"
               "</div></div>")

    out.append("<h2>Graded cells</h2>"
               "<p class='muted'>Full marks on a test cell count as a pass. Written answers are "
               "graded by hand; their column shows how many have a score so far.</p>"
               "<table id='cells'><tr><th>exercise</th><th>graded cell</th><th>points</th>"
               "<th>full marks</th><th>pass rate</th><th>mean</th></tr>")
    for c in report.cells:
        low = " low" if c.pass_rate is not None and c.pass_rate < 0.5 else ""
        full = f"{c.full_marks} / {c.students}" if c.kind == "auto" else f"{c.graded} / {c.students} graded"
        out.append(f"<tr data-cell='{e(c.grade_id)}'><td>{e(c.exercise)}</td><td><code>{e(c.grade_id)}"
                   f"</code></td><td class='num'>{c.max_score:g}</td>"
                   f"<td class='num' data-full='{c.full_marks}' data-students='{c.students}'>{full}</td>"
                   f"<td class='num{low}' data-pass-rate='{'' if c.pass_rate is None else c.pass_rate}'>"
                   f"{_pct(c.pass_rate)}</td><td class='num'>"
                   f"{'–' if c.mean_score is None else format(c.mean_score, '.2f')}</td></tr>")
    out.append("</table>")

    out.append("<h2>Most common failure messages</h2>"
               "<p class='muted'>What the checks told the students who lost the points, per test "
               f"cell, commonest first (at most {TOP_MESSAGES}).</p><div id='failures'>")
    exercise = None
    for c in report.cells:
        if c.kind != "auto" or not c.failures:
            continue
        if c.exercise != exercise:
            exercise = c.exercise
            out.append(f"<h3>{e(exercise or c.grade_id)}</h3>")
        failed = sum(n for _, n in c.failures)
        out.append(f"<p><code>{e(c.grade_id)}</code>: {failed} of {c.students} lost points</p>"
                   f"<ol class='messages' data-cell='{e(c.grade_id)}'>")
        for message, n in c.failures[:TOP_MESSAGES]:
            out.append(f"<li data-count='{n}'><span class='count'>{n}×</span> "
                       f"<span class='message'>{e(message)}</span></li>")
        out.append("</ol>")
    if exercise is None:
        out.append("<p>No test cell lost points.</p>")
    out.append("</div>")

    out.append("<h2>Students</h2><table id='students'><tr><th>student</th><th>status</th>"
               "<th>score</th><th>notes</th></tr>")
    on = variants.enabled_for_course(report.course_dir)
    for st in report.students:
        score = "–" if st.score is None else f"{st.score:g} / {st.max_score:g}"
        mine = variants.label(report.assignment, st.student, on)  # calcgrad variants ASSIGNMENT
        who = e(st.student) + (f" <span class='muted'>(variant {e(mine)})</span>" if mine else "")
        out.append(f"<tr data-student='{e(st.student)}'><td>{who}</td><td>{e(st.status)}</td>"
                   f"<td class='num' data-score='{_num(st.score)}'>{score}</td>"
                   f"<td class='muted'>{e(st.notes)}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


def write(report: Report, out: Path) -> Path:
    """Write the report's files into `out`; returns the path of index.html."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = {"distribution": plot_distribution(report, out / "score_distribution.png").name,
               "pass_rate": plot_pass_rate(report, out / "pass_rate.png").name}
    write_csv(report, out / "scores.csv")
    (out / "report.json").write_text(json.dumps(report.as_json(), indent=1), encoding="utf-8")
    index = out / "index.html"
    index.write_text(render_html(report, figures), encoding="utf-8")
    return index


def write_report(course_dir: Path, assignment: str, out: Path | None = None,
                 status_csv: Path | None = None) -> Path:
    """Build and write the report (for `make demo` and scripts); returns index.html."""
    report = build(Path(course_dir), assignment, status_csv)
    return write(report, out or Path(report.course_dir) / "reports" / assignment)


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 when the report was written, 2 for a configuration error (no course,
    no such assignment), 1 when nothing of the assignment is graded yet."""
    from calcgrad.grading.config import ConfigurationError

    parser = argparse.ArgumentParser(prog="calcgrad report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", metavar="ASSIGNMENT")
    parser.add_argument("--course-dir", type=Path, default=None,
                        help="the course (default: the folder holding nbgrader_config.py, at "
                             "or above the current folder)")
    parser.add_argument("--out", type=Path,
                        help="where to write the report (default: COURSE_DIR/reports/ASSIGNMENT)")
    parser.add_argument("--status-csv", type=Path,
                        help="statuses per student (columns student, status[, notes]); default: "
                             "calcgrad autograde's calcgrad-autograde-ASSIGNMENT.csv (next to "
                             "the gradebook) when it exists")
    args = parser.parse_args(argv)
    if args.status_csv and not args.status_csv.exists():
        parser.error(f"--status-csv {args.status_csv}: no such file")
    try:
        report = build(args.course_dir, args.assignment, args.status_csv)
    except ConfigurationError as exc:
        print(f"calcgrad report: error: {exc}", file=sys.stderr)
        return 2
    except NothingGraded as exc:
        print(f"calcgrad report: error: {exc}", file=sys.stderr)
        return 1
    index = write(report, args.out or Path(report.course_dir) / "reports" / args.assignment)
    s = report.summary()
    mean = "–" if s["mean"] is None else f"{s['mean']:.2f}"
    print(f"{args.assignment}: {s['submissions']} submission(s), mean {mean} / {s['max_score']:g}; "
          + ", ".join(f"{n} {k}" for k, n in report.statuses.items() if n))
    print(f"report: {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

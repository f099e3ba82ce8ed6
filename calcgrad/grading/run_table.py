"""The report of a grading run: one row per student, printed and written as CSV."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from calcgrad import textsafe
from calcgrad.grading.files import atomic_write
from calcgrad.grading.vocabulary import WORST_FIRST, Status

# Worst first: the status a student's row shows is the worst of its notebooks.
STATUSES = WORST_FIRST
COLUMNS = ("student", "score", "max_score", "hand_pending", "late_penalty", "status", "seconds",
           "notes")
TEXT_COLUMNS = ("student", "status", "notes")  # may hold student-derived text
# nbgrader's OverwriteCells says this once per cell it puts back (the report says it once).
NBGRADER_RESTORED = re.compile(r"Missing grade cell (.+) encountered, adding to notebook")


@dataclass
class NotebookReport:
    name: str
    status: str = ""
    notes: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)  # what the sandbox noticed
    problems: list[str] = field(default_factory=list)  # what the trusted side noticed
    cells: list = field(default_factory=list)  # (grade_id, how it was graded when not trusted)
    restored: list[str] = field(default_factory=list)  # test cells missing from the submission
    edited: list[str] = field(default_factory=list)  # test cells the student changed
    seconds: float = 0.0

    def summary(self) -> list[str]:
        notes = []
        if self.restored:
            notes.append(f"restored deleted test cells: {', '.join(self.restored)}")
        restored_cells = [m.group(1) for m in map(NBGRADER_RESTORED.fullmatch, self.notes)
                          if m and m.group(1) not in self.restored]
        if restored_cells:
            notes.append(f"restored deleted graded cells: {', '.join(restored_cells)}")
        if self.edited:
            notes.append(f"restored edited test cells: {', '.join(self.edited)}")
        signs = sorted(f for f in self.flags if f not in ("memory", "timeout"))
        if signs:
            notes.append("sandbox: " + "; ".join(signs))
        if self.problems:
            notes.append("verdicts: " + "; ".join(dict.fromkeys(self.problems)))
        untrusted = [gid for gid, _ in self.cells]
        if untrusted:
            notes.append(f"not tamper-proof (plain nbgrader rule): {', '.join(untrusted)}")
        seen = set()
        for note in self.notes:
            if note and note not in seen and not note.startswith("Attribute '") \
                    and not NBGRADER_RESTORED.fullmatch(note):
                seen.add(note)
                notes.append(note)
        return notes


@dataclass
class Row:
    student: str
    score: float
    max_score: float
    notebooks: list[NotebookReport]
    notes: list[str] = field(default_factory=list)
    late_penalty: float = 0.0
    recorded: bool = True  # False: nothing of this student was written (no submitted folder)
    pending: float = 0.0  # points of the maximum that wait for hand grading (written answers)

    @property
    def status(self) -> str:
        found = [nb.status or Status.GRADED for nb in self.notebooks] or [Status.MISSING]
        return min(found, key=lambda s: STATUSES.index(s) if s in STATUSES else 0)

    @property
    def seconds(self) -> float:
        return round(sum(nb.seconds for nb in self.notebooks), 2)

    def all_notes(self) -> list[str]:
        many = len(self.notebooks) > 1
        notes = list(self.notes)
        for nb in self.notebooks:
            notes += [f"{nb.name}: {n}" if many else n for n in nb.summary()]
        return notes

    def values(self) -> dict:
        return {"student": self.student, "score": _num(self.score),
                "max_score": _num(self.max_score), "hand_pending": _num(self.pending),
                "late_penalty": _num(self.late_penalty),
                "status": self.status, "seconds": f"{self.seconds:.1f}",
                "notes": " | ".join(self.all_notes())}


def _num(x: float) -> str:
    return f"{x:g}"


def table(rows: list[Row], width: int = 120) -> str:
    """The run as a text table, one row per student in order of their ids (notes cut to fit
    the width). `score` is what is graded so far; `by hand` the points still to be graded
    by hand (written answers), which the maximum includes."""
    if not rows:
        return "no submissions graded"
    rows = sorted(rows, key=lambda r: r.student)
    shown = [{k: textsafe.inert(v) for k, v in r.values().items()} for r in rows]
    sw = max(7, *(len(v["student"]) for v in shown))
    lines = [f"{'student':<{sw}}  {'score':>11}  {'by hand':>7}  {'status':<19}  {'secs':>5}  "
             "notes"]
    for r, v in zip(rows, shown):
        score = f"{v['score']} / {v['max_score']}"
        hand = f"{v['hand_pending']} pts" if r.pending else "-"
        note = v["notes"]
        room = max(20, width - sw - 54)
        if len(note) > room:
            note = note[:room - 3] + "..."
        lines.append(f"{v['student']:<{sw}}  {score:>11}  {hand:>7}  {v['status']:<19}  "
                     f"{v['seconds']:>5}  {note}")
    counts = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append(f"{len(rows)} submission(s): " +
                 ", ".join(f"{n} {s}" for s, n in sorted(counts.items(),
                                                           key=lambda kv: STATUSES.index(kv[0]))))
    waiting = [r for r in rows if r.pending]
    if waiting:
        lines.append(f"{sum(r.pending for r in waiting):g} point(s) in {len(waiting)} "
                     "submission(s) wait for hand grading (formgrader); the scores above do "
                     "not include them yet.")
    return "\n".join(lines)


def csv_path(course, assignment: str) -> Path:
    """Where a run's report goes: next to the gradebook (`calcgrad report` reads it there)."""
    db = course.db_path()
    return (db.parent if db else course.root) / f"calcgrad-autograde-{assignment}.csv"


def write_csv(rows: list[Row], path: Path, merge: bool = False) -> Path:
    """Write the run's rows, sorted by student. With `merge`, the rows of students this run
    did not grade (a `--student` run) are kept from the file already there."""
    path = Path(path)
    values = {r.student: r.values() for r in rows if r.recorded}
    if merge and path.is_file():
        for kept in read_csv(path):
            student = kept.get("student")
            if student and student not in values:
                values[student] = {k: kept.get(k, "") for k in COLUMNS}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    for student in sorted(values):
        writer.writerow({k: textsafe.csv_cell(v) if k in TEXT_COLUMNS else v
                         for k, v in values[student].items()})
    return atomic_write(path, buf.getvalue())


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: textsafe.from_csv_cell(v) if k in TEXT_COLUMNS and isinstance(v, str) else v
                 for k, v in row.items()} for row in csv.DictReader(fh)]

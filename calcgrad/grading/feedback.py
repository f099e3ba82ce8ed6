"""`calcgrad feedback ASSIGNMENT`: per-student HTML feedback that never shows a test's source.

nbgrader's own `generate_feedback` renders the autograded notebook, hidden
tests included. This page shows, per exercise, the student's own answer
cells, the points, and for each test cell the outcome of each check and its
message (what `calcgrad autograde` kept in the cell's metadata), or, for a
test cell written without checks, only whether it passed. Written to
feedback/<student>/<assignment>/<notebook>.html, where `nbgrader
release_feedback` picks it up.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat

from calcgrad import textsafe, variants

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
.pass { color: #176317; } .fail { color: #a61b1b; } .note { color: #666; font-size: .9rem; }
.points { float: right; font-weight: 600; }
ul.checks { list-style: none; padding-left: .5rem; } ul.checks li { margin: .3rem 0; }
ul.checks pre { white-space: pre-wrap; background: #fff4f4; }
"""


def _e(text) -> str:
    return textsafe.html(text)


def _points(x) -> str:
    return "?" if x is None else f"{float(x):g}"


def _heading(cell) -> str | None:
    for line in cell.source.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


def _test_cell(cell) -> str:
    meta = cell.metadata.get("calcgrad")
    errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
    if not isinstance(meta, dict):
        return "<p class='note'>This test was not run by calcgrad autograde.</p>"
    if not meta.get("tamper_proof"):
        if errors:
            e = errors[0]
            return (f"<p class='fail'>\u2718 failed: {_e(e.ename)}"
                    + (f": {_e(e.evalue)}" if e.evalue else "") + "</p>")
        return "<p class='pass'>\u2714 passed</p>"
    items = []
    for check in meta.get("checks", []):
        if check.get("passed"):
            items.append(f"<li class='pass'>\u2714 {_e(check.get('name', ''))}</li>")
        else:
            items.append(f"<li class='fail'>\u2718 {_e(check.get('name', ''))}"
                         f"<pre>{_e(check.get('message', ''))}</pre></li>")
    if meta.get("error"):
        items.append(f"<li class='fail'>\u2718 the test stopped: {_e(meta['error'])}</li>")
    elif not meta.get("checks") and errors:
        e = errors[-1]
        items.append(f"<li class='fail'>\u2718 {_e(e.ename)}: {_e(e.evalue)}</li>")
    return "<ul class='checks'>" + "".join(items) + "</ul>"


def render(nb, student: str, assignment: str, notebook: str, grades: dict, comments: dict,
           total: tuple[float, float], penalty: float) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(assignment)} "
             f"feedback for {_e(student)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{_e(assignment)}: {_e(notebook)}</h1>",
             f"<p>Student: <b>{_e(student)}</b>. Score: <b>{_points(total[0])} / "
             f"{_points(total[1])}</b>"
             + (f" (late penalty: {_points(penalty)})" if penalty else "") + ".</p>"]
    section = None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and not meta.get("solution"):
            heading = _heading(cell)
            if heading and heading.lower().startswith(("exercise", "part", "question")):
                section = heading
                parts.append(f"<h2>{_e(heading)}</h2>")
            continue
        gid = meta.get("grade_id")
        if meta.get("solution"):
            title = "Your answer" + (f" ({_e(gid)})" if gid else "")
            if gid in grades:
                score, max_score = grades[gid]
                title += f"<span class='points'>{_points(score)} / {_points(max_score)}</span>"
            parts.append(f"<h3>{title}</h3><pre>{_e(cell.source)}</pre>")
            if comments.get(gid):
                parts.append(f"<p class='note'>Comment: {_e(comments[gid])}</p>")
        elif meta.get("grade") and cell.cell_type == "code":
            score, max_score = grades.get(gid, (None, meta.get("points")))
            parts.append(f"<h3>Checks ({_e(gid)})<span class='points'>{_points(score)} / "
                         f"{_points(max_score)}</span></h3>")
            parts.append(_test_cell(cell))
            if comments.get(gid):
                parts.append(f"<p class='note'>Comment: {_e(comments[gid])}</p>")
    if section is None and len(parts) == 3:
        parts.append("<p class='note'>No graded cells.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_feedback(course, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write feedback for every autograded submission of an assignment; returns the files."""
    from nbgrader.api import MissingEntry

    written = []
    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            from calcgrad.grading.autograde import ConfigurationError

            raise ConfigurationError(f"no assignment {assignment!r} in the gradebook") from None
        for sub in gb.assignment_submissions(assignment):
            student = sub.student_id
            if students and student not in students:
                continue
            for subnb in sub.notebooks:
                path = course.autograded(student, assignment) / f"{subnb.name}.ipynb"
                if not path.is_file():
                    continue
                nb = nbformat.read(path, as_version=4)
                grades = {g.name: (g.score, g.max_score) for g in subnb.grades}
                comments = {c.name: c.comment for c in subnb.comments if c.comment}
                page = render(nb, student, assignment, subnb.name, grades, comments,
                              (subnb.score, subnb.max_score),
                              subnb.late_submission_penalty or 0.0)
                mine = variants.summary(assignment, student, variants.enabled_in(course.config))
                if mine:  # the student's own functions, next to their score
                    at = page.index("</p>", page.index("<p>Student:"))
                    page = page[:at] + _e(mine) + page[at:]
                dest = Path(course.coursedir.format_path(course.coursedir.feedback_directory,
                                                         student, assignment))
                dest.mkdir(parents=True, exist_ok=True)
                out = dest / f"{subnb.name}.html"
                tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
                tmp.write_text(page, encoding="utf-8")
                os.replace(tmp, out)
                written.append(out)
                # `nbgrader release_feedback` reads these two beside the HTML.
                for name in ("timestamp.txt", "submission_secret.txt"):
                    kept = course.autograded(student, assignment) / name
                    if kept.is_file():
                        shutil.copyfile(kept, dest / name)
    return written

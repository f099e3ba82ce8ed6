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

import base64
import re
import shutil
from pathlib import Path

import nbformat

from calcgrad import textsafe, variants
from calcgrad.grading.files import atomic_write

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
.pass { color: #176317; } .fail { color: #a61b1b; } .note { color: #666; font-size: .9rem; }
.points { float: right; font-weight: 600; }
ul.checks { list-style: none; padding-left: .5rem; } ul.checks li { margin: .3rem 0; }
ul.checks pre { white-space: pre-wrap; background: #fff4f4; }
img { max-width: 100%; }
"""


def _e(text) -> str:
    return textsafe.html(text)


def _points(x) -> str:
    return "?" if x is None else f"{float(x):g}"


HEADING = re.compile(r"^(#{1,6})\s+(.*\S)")
DIGIT = re.compile(r"\d")
HIDDEN_NOTE = "fails on inputs you were not shown"


def _heading(cell) -> tuple[int, str] | None:
    """The first markdown heading of a cell: (level, text without $ signs)."""
    for line in cell.source.splitlines():
        found = HEADING.match(line)
        if found:
            return len(found[1]), found[2].replace("$", "")
    return None


def title_of(nb, fallback: str) -> str:
    """The notebook's own title: its first top-level heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = _heading(cell)
            if heading and heading[0] == 1:
                return heading[1]
    return fallback


def _without_name(name: str, message: str) -> str:
    """A check's message without the check's name in front (the page shows it already)."""
    message = str(message)
    prefix = f"{name}:"
    return message[len(prefix):].lstrip() if name and message.startswith(prefix) else message


def hidden_message(message: str) -> str:
    """What a failed hidden check may tell a student: that it failed on inputs not shown,
    and the hints in its message, but no number (a number may be a hidden input, an index
    into one, or an expected value)."""
    kept = []
    for line in str(message).splitlines():
        for sentence in re.split(r"(?<=[.;!?])\s+", line.strip()):
            if sentence and not DIGIT.search(sentence) and "expected" not in sentence:
                kept.append(sentence)
    return " ".join([HIDDEN_NOTE + ".", *kept])


def _failure(check: dict, hidden_details: str) -> str:
    """A failed check's message without its name, and a hidden check's without numbers."""
    message = _without_name(check.get("name", ""), check.get("message", ""))
    if check.get("hidden") and hidden_details != "full":
        message = hidden_message(message)
    return message


def _plain_failure(cell, error, hidden_details: str) -> str:
    """A cell graded by nbgrader's rule (no checks): the error's name, and its message only
    when the cell has no hidden tests whose values it may hold."""
    shows = hidden_details == "full" or "HIDDEN TESTS" not in cell.get("source", "")
    evalue = error.get("evalue", "") if shows else ""
    return f"{error.get('ename', 'error')}" + (f": {evalue}" if evalue else "")


def outcome_lines(cell, hidden_details: str = "hints") -> list[str]:
    """A test cell's outcome in plain lines, for a page that must not show the test's code:
    each check's mark, name and message (a hidden check's without its numbers), or, for a
    cell not decided by calcgrad, whether it passed."""
    meta = cell.metadata.get("calcgrad")
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not isinstance(meta, dict) or not meta.get("tamper_proof"):
        return [f"\u2718 failed: {_plain_failure(cell, errors[0], hidden_details)}" if errors
                else "\u2714 passed"]
    lines = []
    for check in meta.get("checks", []):
        name = check.get("name", "")
        lines.append(f"\u2714 {name}" if check.get("passed")
                     else f"\u2718 {name}: {_failure(check, hidden_details)}")
    if meta.get("error"):
        lines.append(f"\u2718 the test stopped: {meta['error']}")
    elif not lines and errors:
        lines.append(f"\u2718 failed: {_plain_failure(cell, errors[-1], hidden_details)}")
    return lines


def _test_cell(cell, hidden_details: str) -> str:
    meta = cell.metadata.get("calcgrad")
    errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
    if not isinstance(meta, dict):
        if errors and errors[0].ename in ("SubmissionUnreadable", "SubmissionMissing"):
            return f"<p class='fail'>\u2718 not graded: {_e(errors[0].evalue)}</p>"
        return "<p class='note'>This test was not run by calcgrad autograde.</p>"
    if not meta.get("tamper_proof"):
        if errors:
            return (f"<p class='fail'>\u2718 failed: "
                    f"{_e(_plain_failure(cell, errors[0], hidden_details))}</p>")
        return "<p class='pass'>\u2714 passed</p>"
    items = []
    for check in meta.get("checks", []):
        name = check.get("name", "")
        if check.get("passed"):
            items.append(f"<li class='pass'>\u2714 {_e(name)}</li>")
        else:
            items.append(f"<li class='fail'>\u2718 {_e(name)}"
                         f"<pre>{_e(_failure(check, hidden_details))}</pre></li>")
    if meta.get("error"):
        items.append(f"<li class='fail'>\u2718 the test stopped: {_e(meta['error'])}</li>")
    elif not meta.get("checks") and errors:
        items.append(f"<li class='fail'>\u2718 "
                     f"{_e(_plain_failure(cell, errors[-1], hidden_details))}</li>")
    return "<ul class='checks'>" + "".join(items) + "</ul>"


def _outputs(cell, images_only: bool = False) -> str:
    """What a code cell showed when the student's notebook ran (kept by autograde within
    the output limits, and only safe MIME types): images, text results, printed text."""
    parts = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream" and o.get("name") == "stdout" and not images_only:
            parts.append(f"<pre class='out'>{_e(o.text)}</pre>")
        elif o.output_type in ("display_data", "execute_result"):
            data = o.get("data", {})
            for mime in ("image/png", "image/jpeg"):
                if isinstance(data.get(mime), str):
                    parts.append(f"<img alt='plot' src='data:{mime};base64,"
                                 f"{_e(data[mime].strip())}'>")
                    break
            else:
                if isinstance(data.get("image/svg+xml"), str):  # an <img> runs no script
                    svg = base64.b64encode(data["image/svg+xml"].encode()).decode()
                    parts.append(f"<img alt='plot' src='data:image/svg+xml;base64,{svg}'>")
                elif isinstance(data.get("text/plain"), str) and not images_only:
                    parts.append(f"<pre class='out'>{_e(data['text/plain'])}</pre>")
    return "".join(parts)


def render(nb, student: str, assignment: str, notebook: str, grades: dict, comments: dict,
           total: tuple[float, float], penalty: float, pending: float = 0.0,
           hidden_details: str = "hints") -> str:
    """The page. `grades`: grade id -> (score, max score), score None while a written answer
    waits for hand grading; `pending`: the points still to be graded by hand."""
    title = title_of(nb, notebook)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}: "
             f"feedback for {_e(student)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f"<p>Feedback for <b>{_e(student)}</b> ({_e(assignment)}). Score: "
             f"<b>{_points(total[0])} / {_points(total[1])}</b>"
             + (f" (late penalty: {_points(penalty)})" if penalty else "")
             + (f", so far: {_points(pending)} point(s) of written answers are not graded "
                "yet" if pending else "") + ".</p>"]
    intro = len(parts)
    section, shown = None, None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and not meta.get("solution"):
            heading = _heading(cell)
            if heading and heading[0] > 1:
                section = heading[1]
            continue
        gid = meta.get("grade_id")
        graded = meta.get("solution") or (meta.get("grade") and cell.cell_type == "code")
        test = bool(meta.get("grade")) and not meta.get("solution")
        images = _outputs(cell, images_only=test) if cell.cell_type == "code" else ""
        if not graded and "<img" not in images:
            continue
        if section and section != shown:
            parts.append(f"<h2>{_e(section)}</h2>")
            shown = section
        if not graded:  # a demo cell that drew the student's plot
            parts.append(f"<h3>Your plot</h3>{images}")
        elif meta.get("solution"):
            title = "Your answer"
            if gid in grades:
                score, max_score = grades[gid]
                points = "not graded yet" if score is None else \
                    f"{_points(score)} / {_points(max_score)}"
                title += f"<span class='points'>{points}</span>"
            parts.append(f"<h3>{title}</h3><pre>{_e(cell.source)}</pre>{images}")
            if comments.get(gid):
                parts.append(f"<p class='note'>Comment: {_e(comments[gid])}</p>")
        else:
            score, max_score = grades.get(gid, (None, meta.get("points")))
            parts.append(f"<h3>Checks<span class='points'>{_points(score)} / "
                         f"{_points(max_score)}</span></h3>")
            parts.append(_test_cell(cell, hidden_details) + images)
            if comments.get(gid):
                parts.append(f"<p class='note'>Comment: {_e(comments[gid])}</p>")
    if len(parts) == intro:
        parts.append("<p class='note'>No graded cells.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def hidden_details(course) -> str:
    """How much a failed hidden check tells the student, from the course's configuration:
    `c.CalcgradFeedback.hidden_check_details = "hints"` (the default: that it failed, and its
    hints without numbers) or "full" (the whole message, hidden inputs' values included)."""
    return hidden_details_of(course.config)


def hidden_details_of(config) -> str:
    section = config.get("CalcgradFeedback", {})
    value = section.get("hidden_check_details", "hints") if hasattr(section, "get") else "hints"
    return value if value in ("hints", "full") else "hints"


def _pending(grade) -> bool:
    """A written answer (or a manually graded cell) that nobody has graded yet."""
    return grade.manual_score is None and grade.auto_score is None


def write_feedback(course, assignment: str, students: list[str] | None = None,
                   skipped: list | None = None, adjust=None) -> list[Path]:
    """Write feedback for every autograded submission of an assignment; returns the files.
    `skipped`, when given, receives (student, notebook, why) for each page not written;
    `adjust`, when given, changes each autograded notebook (read-only copy) before it is
    rendered (`calcgrad serve` leaves hidden checks out before the due date)."""
    from nbgrader.api import MissingEntry

    written = []
    skipped = [] if skipped is None else skipped
    details = hidden_details(course)
    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            from calcgrad.grading.config import unknown_assignment

            raise unknown_assignment(gb, assignment) from None
        seen = set()
        for sub in sorted(gb.assignment_submissions(assignment), key=lambda s: s.student_id):
            student = sub.student_id
            if students and student not in students:
                continue
            seen.add(student)
            for subnb in sub.notebooks:
                path = course.autograded(student, assignment) / f"{subnb.name}.ipynb"
                if not path.is_file():
                    skipped.append((student, subnb.name, f"no autograded notebook at {path} "
                                                         "(run calcgrad autograde first)"))
                    continue
                nb = nbformat.read(path, as_version=4)
                if adjust is not None:
                    nb = adjust(nb)
                grades = {g.name: (None if _pending(g) else g.score, g.max_score)
                          for g in subnb.grades}
                pending = sum(g.max_score for g in subnb.grades if _pending(g))
                comments = {c.name: c.comment for c in subnb.comments if c.comment}
                page = render(nb, student, assignment, subnb.name, grades, comments,
                              (subnb.score, subnb.max_score),
                              subnb.late_submission_penalty or 0.0, pending, details)
                mine = variants.summary(assignment, student, variants.enabled_in(course.config))
                if mine:  # the student's own functions, next to their score
                    at = page.index("</p>")  # the first paragraph: who, and the score
                    page = page[:at] + _e(mine) + page[at:]
                dest = Path(course.coursedir.format_path(course.coursedir.feedback_directory,
                                                         student, assignment))
                dest.mkdir(parents=True, exist_ok=True)
                out = atomic_write(dest / f"{subnb.name}.html", page)
                written.append(out)
                # `nbgrader release_feedback` reads these two beside the HTML.
                for name in ("timestamp.txt", "submission_secret.txt"):
                    kept = course.autograded(student, assignment) / name
                    if kept.is_file():
                        shutil.copyfile(kept, dest / name)
        for student in sorted(set(students or ()) - seen):
            skipped.append((student, "*", "no autograded submission in the gradebook"))
    return written


def leaking_pages(course, assignment: str) -> list[Path]:
    """Feedback pages of the assignment that show hidden tests (written by a plain nbgrader
    generate_feedback, e.g. a configuration without HideTests): `release_feedback` would
    hand them to students."""
    from nbgrader.preprocessors import ClearHiddenTests

    marker = ClearHiddenTests(config=course.config).begin_test_delimeter
    cd = course.coursedir
    base = Path(cd.format_path(cd.feedback_directory, ".", "."))
    found = []
    for page in sorted(base.glob(f"*/{assignment}/*.html")) if base.is_dir() else []:
        try:
            if marker in page.read_text(encoding="utf-8", errors="replace"):
                found.append(page)
        except OSError:
            continue
    return found

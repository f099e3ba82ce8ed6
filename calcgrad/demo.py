"""`make demo`: grade the sample submissions in examples/ and print the results.

Runs in a throwaway course folder (never the repository's own gradebook):
generates the assignments, submits every examples/<assignment>/*.ipynb as
that student's work, grades them with `calcgrad autograde` (sandboxed, into
nbgrader's gradebook), exports the grades with `nbgrader export`, writes
leak-free feedback and the instructor report, and prints a table. A
submission that is not a readable notebook gets a one-line error naming the
file; the others are still graded.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import warnings
from pathlib import Path

from calcgrad import course

EXAMPLES = course.REPO / "examples"


def readable_notebook(path: Path) -> str | None:
    """None when `path` is a notebook nbgrader can read; else the problem, in words."""
    import nbformat

    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    except UnicodeDecodeError:
        return "not valid JSON (not UTF-8 text)"
    try:
        nbformat.validate(nbformat.reads(json.dumps(data), as_version=4))
    except (nbformat.ValidationError, nbformat.reader.NotJSONError, KeyError, TypeError,
            AttributeError) as exc:
        return f"not a Jupyter notebook ({type(exc).__name__})"
    return None


def submit_examples(root: Path, assignment: str) -> list[str]:
    """Submit every sample notebook, readable or not (the grader must cope); returns ids."""
    students = []
    for path in sorted((EXAMPLES / assignment).glob("*.ipynb")):
        course.submit(root, assignment, path.stem, path, name=f"{assignment}.ipynb")
        students.append(path.stem)
    return students


def table(rows: list[tuple[str, ...]]) -> str:
    header = ("student", "assignment", "score / max", "by hand", "status")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    return "\n".join(out)


def grade(root: Path, assignment: str) -> list:
    """`calcgrad autograde` on one assignment, its CSV report included; returns the rows."""
    from calcgrad.grading import run_table
    from calcgrad.grading.autograde import Grader
    from calcgrad.grading.config import Course, Options

    graded = Course.load(root)
    options = Options(assignment, jobs=os.cpu_count() or 1)
    rows = Grader(graded, options, log=lambda text: None).run()
    run_table.write_csv(rows, run_table.csv_path(graded, assignment))
    return rows


def run(root: Path) -> int:
    from calcgrad.grading.config import Course
    from calcgrad.grading.feedback import write_feedback
    from calcgrad.report import write_report

    course.new_course(root)
    rows, errors, reports = [], [], []
    for assignment in course.ASSIGNMENTS:
        course.generate(root, assignment)
        submit_examples(root, assignment)
        for row in grade(root, assignment):
            rows.append((row.student, assignment, f"{row.score:g} / {row.max_score:g}",
                         f"{row.pending:g} pts" if row.pending else "-", row.status))
            if row.status == "corrupt":
                sample = EXAMPLES / assignment / f"{row.student}.ipynb"
                problem = readable_notebook(sample) or "; ".join(row.all_notes())
                errors.append(f"{sample.relative_to(course.REPO)}: {problem}")
        write_feedback(Course.load(root), assignment)
        reports.append(write_report(root, assignment))
    export = root / "grades.csv"
    course.nbgrader(root, "export", "--to", str(export))
    print(table(sorted(rows)))
    print("(max includes written answers; 'by hand': points of answered written questions that "
          "wait for the instructor in formgrader)")
    print("\nEach student's own functions (`calcgrad variants ASSIGNMENT`):")
    from calcgrad import variants_table

    for assignment in course.ASSIGNMENTS:
        for row in variants_table.rows(Course.load(root), assignment):
            print(f"  {row['student']:<8} {assignment} {row['exercise']}: variant "
                  f"{row['variant']}, f(x) = {row['function']}")
    for error in errors:
        print(f"error: {error}")
    print(f"\nCourse folder: {root}")
    print(f"Grades exported by nbgrader: {export}")
    print(f"Feedback for students: {root / 'feedback'}/<student>/<assignment>/")
    for path in reports:
        print(f"Instructor report: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m calcgrad.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course-dir", type=Path,
                        help="where to build the throwaway course (default: a new temp folder)")
    args = parser.parse_args(argv)
    # nbgrader's gradebook code trips SQLAlchemy warnings that say nothing about grades.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    root = args.course_dir or Path(tempfile.mkdtemp(prefix="calcgrad-demo-"))
    print(f"Grading the sample submissions in examples/ in a throwaway course: {root}\n")
    return run(root)


if __name__ == "__main__":
    raise SystemExit(main())

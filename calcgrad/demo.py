"""`make demo`: grade the sample submissions in examples/ and print the results.

Runs in a throwaway course folder (never the repository's own gradebook):
generates the assignments, submits every examples/<assignment>/*.ipynb as
that student's work, autogrades, exports the grades, writes feedback, and
prints a table. A submission that is not a readable notebook gets a one-line
error naming the file; the others are still graded.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
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


def submit_examples(root: Path, assignment: str) -> tuple[list[str], list[str]]:
    """Submit the sample notebooks; returns (students submitted, one-line errors)."""
    students, errors = [], []
    for path in sorted((EXAMPLES / assignment).glob("*.ipynb")):
        problem = readable_notebook(path)
        if problem:
            errors.append(f"{path.relative_to(course.REPO)}: {problem}; not graded")
            continue
        course.submit(root, assignment, path.stem, path, name=f"{assignment}.ipynb")
        students.append(path.stem)
    return students, errors


def table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("student", "assignment", "score / max", "status")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    return "\n".join(out)


def run(root: Path) -> int:
    course.new_course(root)
    rows, errors = [], []
    for assignment in course.ASSIGNMENTS:
        course.generate(root, assignment)
        students, bad = submit_examples(root, assignment)
        errors += bad
        rows += [(s, assignment, "-", "not graded (corrupt)") for s in
                 (Path(e.split(":")[0]).stem for e in bad)]
        if not students:
            continue
        course.nbgrader(root, "autograde", assignment, "--force")
        course.nbgrader(root, "generate_feedback", assignment, "--force")
        for student, grade in sorted(course.grades(root, assignment).items()):
            rows.append((student, assignment, f"{grade.score:g} / {grade.max_score:g}", "graded"))
    export = root / "grades.csv"
    course.nbgrader(root, "export", "--to", str(export))
    rows.sort()
    print(table(rows))
    for error in errors:
        print(f"error: {error}")
    with export.open() as f:
        n_rows = sum(1 for _ in csv.DictReader(f))
    print(f"\nCourse folder: {root}")
    print(f"Gradebook export ({n_rows} rows): {export}")
    print(f"Feedback for students: {root / 'feedback'}/<student>/<assignment>/*.html")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m calcgrad.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course-dir", type=Path,
                        help="where to build the throwaway course (default: a new temp folder)")
    args = parser.parse_args(argv)
    root = args.course_dir or Path(tempfile.mkdtemp(prefix="calcgrad-demo-"))
    print(f"Grading the sample submissions in examples/ in a throwaway course: {root}\n")
    return run(root)


if __name__ == "__main__":
    raise SystemExit(main())

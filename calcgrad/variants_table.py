"""`calcgrad variants ASSIGNMENT`: every student's variant, as CSV (instructors only).

One row per student and exercise with a variant: the student id (from the gradebook and the
submitted folder), the exercise, the variant number, the student's function, and, with
`--models`, the model answer of that variant. So an instructor can answer "what was my f?"
by e-mail, and grade written work against the right function. The same id always gives the
same variant (calcgrad.variants), so the table is the same before and after grading.

Model answers are never in the calcgrad package (students have it): they are read from the
course's own `tools/` folder (MODEL_FILES), in the course folder or in this checkout.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
from pathlib import Path

from calcgrad import textsafe, variants

# (assignment, exercise) -> the instructor's file with `model_answer(k) -> str`.
MODEL_FILES = {("ps2_autograd", "part_b"): "tools/ps2_part_b_models.py"}
CHECKOUT = Path(__file__).resolve().parent.parent


def _model_answers(root: Path, key: tuple) -> object | None:
    relative = MODEL_FILES.get(key)
    if relative is None:
        return None
    for base in (root, CHECKOUT):
        path = base / relative
        if path.is_file():
            if str(base) not in sys.path:
                sys.path.insert(0, str(base))
            spec = importlib.util.spec_from_file_location(f"_models_{key[0]}_{key[1]}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    return None


def _students(course, assignment: str) -> list[str]:
    found = set(course.students(assignment))
    db = course.db_path()
    if db is None or db.exists():
        with course.gradebook() as gb:
            found |= {s.id for s in gb.students}
    return sorted(found)


def rows(course, assignment: str, models: bool = False) -> list[dict]:
    """The table's rows (plain strings), for the course's setting of variants."""
    enabled = variants.enabled_in(course.config)
    exercises = sorted(ex for (a, ex) in variants.POOLS if a == assignment)
    loaded = {ex: _model_answers(course.root, (assignment, ex)) for ex in exercises} \
        if models else {}
    out = []
    for student in _students(course, assignment):
        with variants.graded_as(student, enabled):
            for ex in exercises:
                mine = variants.exercise(assignment, ex)
                row = {"student": student, "exercise": ex, "variant": str(mine.number),
                       "function": mine.family.python}
                if models:
                    module = loaded.get(ex)
                    row["model_answer"] = (module.model_answer(mine.number) if module else
                                           f"(no {MODEL_FILES.get((assignment, ex))} here)")
                out.append(row)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="calcgrad variants", description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--course-dir", type=Path, default=None)
    parser.add_argument("--models", action="store_true",
                        help="add each variant's model answer (keep this file to yourself)")
    parser.add_argument("--output", "-o", type=Path, default=None,
                        help="write the CSV here (default: standard output)")
    args = parser.parse_args(argv)
    from calcgrad.grading.config import ConfigurationError, Course, find_course_dir

    try:
        course = Course.load(args.course_dir or find_course_dir())
    except ConfigurationError as exc:
        print(f"calcgrad variants: error: {exc}", file=sys.stderr)
        return 2
    if not any(a == args.assignment for (a, _) in variants.POOLS):
        print(f"calcgrad variants: {args.assignment} has no per-student variants",
              file=sys.stderr)
        return 2
    table = rows(course, args.assignment, args.models)
    fields = ["student", "exercise", "variant", "function"] + (["model_answer"]
                                                               if args.models else [])
    handle = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in table:
            writer.writerow({k: (textsafe.csv_cell(v) if k == "student" else v)
                             for k, v in row.items()})
    finally:
        if args.output:
            handle.close()
    return 0

"""Which notebooks and students a run grades, and which notebooks it refuses, as nbgrader's
autograde decides from its configuration (`CourseDirectory.notebook_id` and `student_id`,
that `--notebook` and `--student` set; `Autograde.create_student`; the kernel).

calcgrad re-grades every selected submission on every run (nbgrader's `--force`), so that
its table and status record always describe the whole selection: the README lists this
among the differences from nbgrader.
"""

from __future__ import annotations

import fnmatch

# A notebook is run by calcgrad's Python runner: one that names another kernel is refused,
# where nbgrader's Execute fails to start that kernel.
PYTHON = "python"


class NoNotebookSelected(ValueError):
    """`CourseDirectory.notebook_id` matches none of the assignment's notebooks."""


def selected_notebooks(coursedir, names: list[str]) -> list[str]:
    """The assignment's notebooks that `CourseDirectory.notebook_id` (nbgrader's
    `--notebook`, a glob) selects; all of them by default."""
    pattern = coursedir.notebook_id or "*"
    chosen = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
    if not chosen:
        raise NoNotebookSelected(f"no notebook of the assignment matches --notebook "
                                 f"{pattern!r}; there are: {', '.join(names)}")
    return chosen


def selected_students(coursedir, students: list[str]) -> list[str]:
    """The students that `CourseDirectory.student_id` (a glob, "*" by default) selects."""
    pattern = coursedir.student_id or "*"
    return [s for s in students if fnmatch.fnmatchcase(s, pattern)]


def creates_students(config) -> bool:
    """nbgrader's `Autograde.create_student` (True by default)."""
    from nbgrader.converters import Autograde

    return bool(Autograde.class_traits()["create_student"].default()
                if "create_student" not in config.get("Autograde", {})
                else config.Autograde.create_student)


def kernel_refusal(nb) -> str:
    """Why a sanitized notebook (its kernelspec is the gradebook's when the source has one)
    is not run, or "" when it is a Python notebook (or names no kernel)."""
    spec = nb.get("metadata", {}).get("kernelspec") or {}
    if not isinstance(spec, dict):
        return "its kernelspec is not a mapping"
    name = str(spec.get("name") or "")
    language = str(spec.get("language") or "")
    if not name and not language:
        return ""
    if language.lower() == PYTHON or name.lower().startswith(PYTHON):
        return ""
    shown = (name or language)[:60]
    return (f"it asks for the kernel {shown!r}: calcgrad runs Python notebooks only "
            "(nbgrader fails to start a kernel it does not have)")

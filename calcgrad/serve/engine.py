"""The one place `calcgrad serve` meets the grading engine.

Only the engine's public names are used (`Course`, `Options`, `Grader` with `.check()`,
`.run(on_row)`, `.close_workers()`, `run_table`, `write_feedback`), so the engine's own
modules may move. `Options.keep_workers` keeps the warm sandboxes (and, as root, their
slots) alive from one `run()` to the next: each new submission forks from a worker that has
already imported torch.
"""

from __future__ import annotations

from calcgrad.grading.autograde import (  # noqa: F401 - re-exported for calcgrad.serve
    ConfigurationError, Course, Grader, Options, find_course_dir)
from calcgrad.grading.config import course_limits
from calcgrad.grading.feedback import write_feedback


class AssignmentEngine:
    """A grader for one assignment whose warm workers live until `close()`."""

    def __init__(self, course, assignment: str, jobs: int, log, sandbox: bool = True,
                 dask_scheduler: str | None = None):
        self.course, self.assignment = course, assignment
        self.options = Options(assignment, jobs=jobs, limits=course_limits(course),
                               sandbox=sandbox, dask_scheduler=dask_scheduler,
                               keep_workers=True)
        self.grader = Grader(course, self.options, log=log)

    def check(self) -> None:
        self.grader.check()

    def warm_up(self) -> None:
        self.grader.warm_up()

    def duedate(self):
        with self.course.gradebook() as gb:
            return gb.find_assignment(self.assignment).duedate

    def grade(self, students: list[str], on_row) -> list:
        """Grade these students' submitted/ folders into the gradebook, as
        `calcgrad autograde --student ...` does (its CSV report rows merged too)."""
        from calcgrad.grading import run_table

        self.options.students = list(students)
        self.grader.warm_up()  # in this long-lived thread: see Grader.warm_up
        rows = self.grader.run(on_row=on_row)
        run_table.write_csv(rows, run_table.csv_path(self.course, self.assignment), merge=True)
        return rows

    def feedback(self, student: str, adjust=None) -> list:
        skipped: list = []
        written = write_feedback(self.course, self.assignment, [student], skipped,
                                 adjust=adjust)
        return written

    def close(self) -> None:
        self.grader.close_workers()

"""Grades and notebooks to the gradebook and to disk: step 4 of `calcgrad autograde`.

nbgrader's own preprocessors after `Execute` (limit output, save grades, late
penalties) run on the judged notebook in the batch's gradebook session, and
the autograded notebook is written beside nbgrader's (`autograded/`). A
notebook that could not be read scores 0 and gets a placeholder that says why.
Runs in the grader's main thread only.
"""

from __future__ import annotations

import json
import os

import nbformat
from nbformat.notebooknode import NotebookNode

from calcgrad.grading import outputs as out
from calcgrad.grading import submission_files
from calcgrad.grading.config import Course
from calcgrad.grading.files import atomic_write
from calcgrad.grading.jobs import SECRET, NotebookJob
from calcgrad.grading.nbgrader_steps import Steps, collect_notes, notebook_text, save_grades
from calcgrad.grading.run_table import Row
from calcgrad.grading.submission import Unreadable, read_regular, read_timestamp
from calcgrad.grading.vocabulary import Status


class GradebookWriter:
    """Writes one assignment's results; `gb` is the batch's gradebook session."""

    def __init__(self, course: Course, assignment: str):
        self.course, self.assignment = course, assignment
        self.steps: Steps | None = None  # once the gradebook is known to hold the assignment
        self.gb = None
        # Per student being saved: what this run wrote into autograded/ (the rest is pruned).
        self.kept: dict[str, set[str]] = {}

    def _autograded(self, student: str):
        return self.course.autograded(student, self.assignment)

    def open_submission(self, student: str, inputs=None) -> list[str]:
        """The student and their submission in the gradebook (with its timestamp); notes.
        `inputs`: the files gathered next to the notebooks (submission_files)."""
        notes = []
        folder = self.course.submitted(student, self.assignment)
        timestamp, note = read_timestamp(folder) if folder.is_dir() else (None, "")
        if note:
            notes.append(note)
        self.gb.update_or_create_student(student)
        if timestamp:
            self.gb.update_or_create_submission(self.assignment, student, timestamp=timestamp)
        else:
            self.gb.update_or_create_submission(self.assignment, student)
        dest = self._autograded(student)
        # CALL SITE (submission_files): the submitted files (timestamp.txt verbatim, as
        # nbgrader copies it), then source/'s over them, into autograded/.
        self.kept[student] = submission_files.write_autograded(
            dest, (inputs or submission_files.Inputs()).files, notes)
        # nbgrader's exchange names released feedback after this secret (release_feedback).
        if folder.is_dir() and os.path.lexists(folder / SECRET):
            try:
                secret = read_regular(folder / SECRET, 1024).decode("ascii").strip()
            except (Unreadable, UnicodeDecodeError) as exc:
                notes.append(f"{SECRET} ignored ({exc})")
            else:
                atomic_write(dest / SECRET, secret, read_only=True)
        return notes

    def save(self, nbjob: NotebookJob) -> None:
        """nbgrader's steps after Execute, the grades, and the autograded notebook."""
        with collect_notes(nbjob.report.notes):
            nb = self.steps.after(nbjob.nb, nbjob.resources)
            save_grades(self.steps, self.gb, self.assignment, nbjob.student, nbjob.notebook, nb)
            dest = self._autograded(nbjob.student)
            # CALL SITE (submission_files): the files the notebook wrote (side effects),
            # checked, kept next to it as nbgrader keeps them; the notebook is written last.
            written = submission_files.produced(nbjob.run.files if nbjob.run else [],
                                                nbjob.report.notes)
            self.kept.setdefault(nbjob.student, set()).update(
                submission_files.write_autograded(dest, written, nbjob.report.notes))
            atomic_write(dest / f"{nbjob.notebook}.ipynb", notebook_text(nb), read_only=True)
        nbjob.nb = nbjob.job = None  # done with: memory stays flat across the class

    def zero(self, nbjob: NotebookJob) -> None:
        """No notebook to grade: every grade of it is 0, as nbgrader does for a missing one."""
        sub = self.gb.find_submission_notebook(nbjob.notebook, self.assignment, nbjob.student)
        for grade in sub.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        self.gb.db.commit()
        atomic_write(self._autograded(nbjob.student) / f"{nbjob.notebook}.ipynb",
                     notebook_text(self.placeholder(nbjob)), read_only=True)

    def placeholder(self, nbjob: NotebookJob) -> NotebookNode:
        """The autograded notebook of a submission with no readable notebook: a banner that
        says so, then the assignment's graded cells from the gradebook, each test cell with an
        error naming the problem. Formgrader lists it as autograded (score 0) and shows why,
        instead of "needs autograding"; its Autograde button has nothing left to run."""
        status = nbjob.report.status or Status.MISSING
        banner = nbformat.v4.new_markdown_cell(
            f"**calcgrad autograde: not graded ({status}).** "
            + ("No notebook was submitted under this name." if status == Status.MISSING else
               "The submitted file is not a notebook that can be read.")
            + " Every graded cell scores 0; what was wrong is in the test cells' errors below "
              "and in the autograde report. The student's file is unchanged in `submitted/`.")
        banner.metadata["calcgrad"] = {"placeholder": status}
        why = "; ".join(nbjob.report.notes[:3]) or status
        ename = "SubmissionMissing" if status == Status.MISSING else "SubmissionUnreadable"
        record = self.steps.notebook(nbjob.notebook)
        points = {c.name: c.max_score for c in record.grade_cells}
        answers = {c.name for c in record.solution_cells}
        cells = [banner]
        for source_cell in record.source_cells:
            name = source_cell.name
            meta = {"grade": name in points, "solution": name in answers,
                    "locked": bool(source_cell.locked), "grade_id": name, "schema_version": 3}
            if name in points:
                meta["points"] = points[name]
            # A solution cell is left empty: the gradebook's copy is the instructor's answer.
            text = "" if name in answers else source_cell.source
            if source_cell.cell_type == "code":
                cell = nbformat.v4.new_code_cell(text)
                if name in points and name not in answers:
                    cell.outputs = [out.error(ename, why)]
            else:
                cell = nbformat.v4.new_markdown_cell(text)
            cell.metadata["nbgrader"] = meta
            cells.append(cell)
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["calcgrad"] = {"placeholder": status}
        if record.kernelspec:
            nb.metadata["kernelspec"] = json.loads(record.kernelspec)
        return nb

    def row(self, student: str, jobs: list[NotebookJob], notes: list[str]) -> Row:
        """The student's line in the report, with the gradebook's totals."""
        sub = self.gb.find_submission(self.assignment, student)
        score, max_score = sub.score, sub.max_score
        penalty = sub.late_submission_penalty or 0.0
        pending = sum(g.max_score for nb in sub.notebooks for g in nb.grades
                      if g.auto_score is None and g.manual_score is None)
        return Row(student, score, max_score, [j.report for j in jobs], notes, penalty,
                   pending=pending)

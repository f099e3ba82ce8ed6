"""`nbgrader autograde` and formgrader's Autograde button, with calcgrad's sandbox.

nbgrader's Autograde converter runs its sanitize preprocessors, then
`c.Autograde.autograde_preprocessors`, whose first step, `Execute`, runs the
student's notebook in a kernel with the grader's permissions and decides test
cells there. `SandboxedExecute` takes `Execute`'s place: the notebook, as
nbgrader sanitized it, runs in calcgrad's sandbox (one per notebook), and
check-based test cells are decided in this process from the gradebook's
source, exactly as `calcgrad autograde` does. nbgrader's own steps after it
(LimitOutput, SaveAutoGrades, late penalties) then save the grades.

To plug it in, in the course's nbgrader_config.py:

    from calcgrad.grading.nbgrader_execute import SandboxedExecute, autograde_preprocessors
    c.Autograde.autograde_preprocessors = autograde_preprocessors()

What it cannot change: nbgrader reads the submission before any preprocessor
runs, so a notebook that is not valid JSON still fails there (calcgrad
autograde gives it a placeholder, so formgrader does not offer to autograde
it again).
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from calcgrad.grading import submission_files
from calcgrad.grading.run_table import NotebookReport


def autograde_preprocessors() -> list:
    """nbgrader's default autograde preprocessors with SandboxedExecute for Execute."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    return [SandboxedExecute if pp is Execute else pp for pp in defaults]


class SandboxedExecute(NbGraderPreprocessor):
    """Execute's place in nbgrader's autograde: the sandbox and trusted verdicts."""

    def preprocess(self, nb, resources):
        from calcgrad.grading.autograde import Grader
        from calcgrad.grading.config import Course, Options, course_limits, find_course_dir
        from calcgrad.grading.jobs import NotebookJob

        info = resources["nbgrader"]
        root = self.config.get("CourseDirectory", {}).get("root") or find_course_dir()
        course = Course.load(Path(root))
        grader = Grader(course, Options(info["assignment"], jobs=1, warm=False,
                                        limits=course_limits(course)),
                        log=self.log.warning)
        grader.check()
        nbjob = NotebookJob(info["student"], info["notebook"],
                            report=NotebookReport(info["notebook"]), resources=resources)
        submitted = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id")}
        grader.plan(nbjob, nb, submitted)
        # CALL SITE (submission_files): the released data files and the student's own files
        # go into the sandbox's scratch folder, next to the notebook, as nbgrader would run
        # it in autograded/ among them.
        assignment, student = info["assignment"], info["student"]
        inputs = submission_files.gather(course, assignment, course.submitted(student, assignment))
        nbjob.job["files"] = inputs.for_sandbox()
        try:
            nbjob.run = grader.execute(nbjob, 0)
        finally:
            grader.close_workers()
        # CALL SITE (submission_files): what the notebook wrote stays in autograded/.
        written = submission_files.produced(nbjob.run.files, nbjob.report.notes)
        submission_files.write_autograded(course.autograded(student, assignment), written,
                                          nbjob.report.notes)
        grader.fill_outputs(nbjob)
        status = nbjob.report.status or "graded"
        for note in nbjob.report.summary():
            self.log.warning("calcgrad: %s/%s: %s", info["student"], info["notebook"], note)
        self.log.info("calcgrad: %s/%s %s in the sandbox", info["student"], info["notebook"],
                      status)
        return nbjob.nb, resources

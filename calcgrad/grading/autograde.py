"""`calcgrad autograde`: nbgrader's autograde pipeline with a sandbox and trusted verdicts.

For each submitted notebook (`README.md` here follows one through the modules):
1. `jobs`: read it without trusting it, then nbgrader's own sanitize
   preprocessors, and strip the trusted halves of its test cells;
2. `backends`: instead of nbgrader's `Execute`, run its code cells in the
   sandbox (cold, warm or on a Dask cluster);
3. `judging`: decide every check-based test cell in this process from the
   gradebook's copy of its source and write its outputs so nbgrader's own
   rule scores it; other cells keep their sandboxed outputs;
4. `writer`: nbgrader's own autograde preprocessors after `Execute` (limit
   output, save grades to the gradebook, late penalties), with Ctrl-C held
   back until the student's grades and autograded notebook are complete.
This module is the batch: sandboxes run in parallel (`jobs` at a time) on a
window of students; steps 1, 3 and 4 run in this thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from calcgrad import variants
from calcgrad.grading import backends, nbgrader_selection, submission_files, trusted
from calcgrad.grading.backends import WARMUP_STANDIN  # noqa: F401 - where it was
from calcgrad.grading.config import (ConfigurationError, Course, Options,  # noqa: F401
                                     find_course_dir, unknown_assignment)
from calcgrad.grading.jobs import NotebookJob, TestCell  # noqa: F401 - where they were
from calcgrad.grading.jobs import SECRET, JobBuilder
from calcgrad.grading.judging import Judge
from calcgrad.grading.nbgrader_steps import AssignmentRecord, Steps
from calcgrad.grading.run_table import NotebookReport, Row
from calcgrad.grading.sandbox import LOCAL_SLOTS, Sandbox, SandboxUnavailable, claim_slot
from calcgrad.grading.supervise import RunResult, kill_all
from calcgrad.grading.vocabulary import Reason, Status
from calcgrad.grading.writer import GradebookWriter


@contextlib.contextmanager
def _interrupts_held():
    """Ctrl-C waits until the block is done (the gradebook stays consistent)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda *_: pending.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt


class Grader:
    """One assignment's batch: `check()`, then `run()`; or one notebook at a time
    (`plan`, `execute`, `fill_outputs`), as nbgrader's own Autograde does through
    `nbgrader_execute.SandboxedExecute`."""

    def __init__(self, course: Course, options: Options, log=print):
        self.course = course
        self.options = options
        self.log = log
        self.sandbox = Sandbox(enabled=options.sandbox)
        enabled = variants.enabled_in(course.config)
        self.jobs = JobBuilder(course, options.assignment, enabled)
        self.backend = backends.backend_for(options, self.sandbox, log)
        self.judge = Judge(course.config, options.assignment, options.limits, enabled)
        self.writer = GradebookWriter(course, options.assignment)
        self._held_leases: list[tuple[int, int]] | None = None  # Options.keep_workers

    # -- checks before anything is graded
    def check(self) -> list[str]:
        assignment = self.options.assignment
        self.course.require_assignment(assignment)
        with self.course.gradebook() as gb:
            record = AssignmentRecord.read(gb, assignment)
        names = list(record.notebooks)
        if not names:
            raise ConfigurationError(f"assignment {assignment!r} has no notebooks")
        # CALL SITE (nbgrader_selection): only the notebooks nbgrader's --notebook selects
        # (CourseDirectory.notebook_id); the others keep their autograded files and grades.
        try:
            names = nbgrader_selection.selected_notebooks(self.course.coursedir, names)
        except nbgrader_selection.NoNotebookSelected as exc:
            raise ConfigurationError(str(exc)) from None
        steps = Steps(self.course.config, self.course.coursedir, record)
        self.jobs.steps = self.writer.steps = steps
        self.backend.check()
        return names

    # -- one notebook, step by step
    def plan(self, nbjob: NotebookJob, nb, submitted_tests: dict) -> None:
        self.jobs.plan(nbjob, nb, submitted_tests)

    def execute(self, nbjob: NotebookJob, slot: int) -> RunResult:
        return backends.execute(self.backend, nbjob.job, slot)

    def fill_outputs(self, nbjob: NotebookJob) -> None:
        self.judge.fill_outputs(nbjob)

    def finalize(self, nbjob: NotebookJob) -> None:
        self.judge.fill_outputs(nbjob)
        self.writer.save(nbjob)

    def warm_up(self) -> None:
        """With Options.keep_workers: start (or restart) every slot's warm worker now, in
        the calling thread. bwrap's --die-with-parent follows the thread that started the
        sandbox, not the process: a worker started by run()'s pool threads dies when run()
        returns, so a long-lived caller (`calcgrad serve`) calls this before each run()."""
        if not self.options.keep_workers or not isinstance(self.backend, backends.WarmBackend):
            return
        if self.jobs.steps is None:
            self.check()
        trusted.namespace()  # the trusted side's imports (torch), before the first verdict
        self.backend.warmup = backends.warmup_cells(self.course, self.options.assignment)
        if self._held_leases is None:
            self._held_leases = self._claim_slots(max(1, self.options.jobs))
        slots = [n for n, _ in self._held_leases] or list(range(max(1, self.options.jobs)))
        self.backend.warm(slots)

    def close_workers(self) -> None:
        self.backend.close()
        for _, lock in self._held_leases or ():
            os.close(lock)
        self._held_leases = None

    # -- the batch
    def _claim_slots(self, n: int) -> list[tuple[int, int]]:
        """As root, slots are uids: claim n that no other batch on this host holds."""
        leases: list[tuple[int, int]] = []
        if not (self.sandbox.enabled and self.sandbox.as_root):
            return leases
        try:
            for _ in range(n):
                leases.append(claim_slot(LOCAL_SLOTS))
        except SandboxUnavailable:
            for _, lock in leases:
                os.close(lock)
            raise
        return leases

    def run(self, on_row=None) -> list[Row]:
        names = self.check()
        # The trusted side's imports (torch, matplotlib) while the warm workers start.
        threading.Thread(target=trusted.namespace, daemon=True).start()
        students = self.options.students or self.course.students(self.options.assignment)
        # CALL SITE (nbgrader_selection): nbgrader's CourseDirectory.student_id glob.
        students = nbgrader_selection.selected_students(self.course.coursedir, students)
        if not self.options.keep_workers:  # a one-off batch: nothing started yet
            self.backend = backends.sized(self.backend, len(students) * len(names))
        self.backend.warmup = backends.warmup_cells(self.course, self.options.assignment)
        rows: list[Row] = []
        slots = list(range(max(1, self.options.jobs)))
        if self.options.keep_workers:
            if self._held_leases is None:
                self._held_leases = self._claim_slots(len(slots))
            leases = self._held_leases
        else:
            leases = self._claim_slots(len(slots))
        if leases:
            slots = [number for number, _ in leases]
        lock = threading.Lock()

        def work(nbjob: NotebookJob) -> NotebookJob:
            with lock:
                slot = slots.pop()
            try:
                nbjob.run = self.execute(nbjob, slot)
            except Exception as exc:  # noqa: BLE001 - a grader bug costs one notebook, not the batch
                nbjob.report.status = Status.GRADER_ERROR
                nbjob.report.notes.append(f"{type(exc).__name__}: {exc}"[:300])
                nbjob.run = RunResult(reason=Reason.ERROR, detail=str(exc)[:300])
            finally:
                with lock:
                    slots.append(slot)
            return nbjob

        unknown = [s for s in students if not os.path.lexists(self.course.submitted(
            s, self.options.assignment).parent)]
        for student in unknown:  # a typo must not create a student in the gradebook
            report = NotebookReport(names[0], status=Status.MISSING,
                                    notes=["no submitted folder: nothing written"])
            rows.append(Row(student, 0.0, 0.0, [report], recorded=False))
        # CALL SITE (nbgrader_selection): with Autograde.create_student = False, a student
        # the gradebook does not hold is not graded (nbgrader fails that submission).
        if not nbgrader_selection.creates_students(self.course.config):
            with self.course.gradebook() as gb:
                known = {s.id for s in gb.students}
            for student in [s for s in students if s not in unknown and s not in known]:
                unknown.append(student)
                report = NotebookReport(names[0], status=Status.MISSING, notes=[
                    "not in the gradebook, and Autograde.create_student is False: not graded"])
                rows.append(Row(student, 0.0, 0.0, [report], recorded=False))
        students = [s for s in students if s not in unknown]
        # Students read and not yet complete: memory does not grow with the class.
        window = 2 * len(slots) + 2
        queue = iter(students)
        exhausted = False
        pending: dict[str, list[NotebookJob]] = {}
        not_done: set[Future] = set()
        threads = ThreadPoolExecutor(max_workers=len(slots), thread_name_prefix="sandbox")
        self.writer.gb = self.course.gradebook()
        try:
            while True:
                while not exhausted and len(pending) < window:
                    student = next(queue, None)
                    if student is None:
                        exhausted = True
                        break
                    jobs = pending[student] = self.jobs.prepare(student, names)
                    not_done |= {threads.submit(work, j) for j in jobs if not j.report.status}
                for student, jobs in list(pending.items()):
                    if all(j.report.status or j.run is not None for j in jobs):
                        rows.append(self._complete(student, pending.pop(student), on_row))
                if exhausted and not pending:
                    break
                if not_done:
                    done, not_done = wait(not_done, timeout=1.0, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
        except KeyboardInterrupt:
            threads.shutdown(wait=False, cancel_futures=True)
            kill_all()
            raise
        finally:
            threads.shutdown(wait=True, cancel_futures=True)
            if not self.options.keep_workers:
                self.close_workers()
                for _, lock in leases:
                    os.close(lock)
            self.writer.gb.close()
            self.writer.gb = None
        return rows

    def _complete(self, student: str, jobs: list[NotebookJob], on_row) -> Row:
        writer = self.writer
        with _interrupts_held():
            # CALL SITE (submission_files): the gathered files go to autograded/ here.
            notes = writer.open_submission(student, jobs[0].inputs if jobs else None)
            for nbjob in jobs:
                if nbjob.report.status == Status.GRADER_ERROR:
                    continue
                if nbjob.report.status:
                    writer.zero(nbjob)
                    continue
                try:
                    self.finalize(nbjob)
                except Exception as exc:  # noqa: BLE001 - a grader bug costs one notebook
                    writer.gb.db.rollback()
                    nbjob.report.status = Status.GRADER_ERROR
                    nbjob.report.notes.append(f"{type(exc).__name__}: {exc}"[:300])
                    self.log(f"grader error on {student}/{nbjob.notebook}:\n"
                             + traceback.format_exc())
            dest = self.course.autograded(student, self.options.assignment)
            # CALL SITE (submission_files): as `nbgrader autograde --force`, autograded/ holds
            # only what this run wrote (when every notebook was graded), with nbgrader's
            # file permissions.
            kept = writer.kept.pop(student, set()) | {f"{j.notebook}.ipynb" for j in jobs} \
                | {SECRET}
            if len(jobs) == len(writer.steps.record.notebooks):
                submission_files.prune(dest, kept)
            submission_files.apply_permissions(dest, self.course)
            row = writer.row(student, jobs, notes)
            # Nothing of this student stays in the batch's gradebook session.
            writer.gb.db.expunge_all()
        if on_row:
            on_row(row)
        return row

"""`calcgrad autograde`: nbgrader's autograde pipeline with a sandbox and trusted verdicts.

For each submitted notebook:
1. read it without trusting it (`submission`), then nbgrader's own sanitize
   preprocessors (clear outputs, dedupe ids, kernelspec, restore locked and
   missing test cells from the gradebook, check metadata);
2. instead of nbgrader's `Execute`: run the code cells in the sandbox, test
   cells with their trusted halves stripped (`split`, `supervise`);
3. decide every check-based test cell in this process from the gradebook's
   copy of its source (`trusted`) and write its outputs so nbgrader's own
   rule scores it; other cells keep their sandboxed outputs;
4. nbgrader's own autograde preprocessors after `Execute` (limit output,
   save grades to the gradebook, late penalties), with Ctrl-C held back
   until the student's grades and autograded notebook are complete.
Sandboxes run in parallel (`jobs`); steps 1, 3 and 4 run in this thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from calcgrad import variants
from calcgrad.grading import outputs as out
from calcgrad.grading import nbgrader_selection, pool, split, submission_files, trusted
from calcgrad.grading.nbgrader_steps import AssignmentRecord, Steps, notebook_text, save_grades
from calcgrad.grading.limits import Limits
from calcgrad.grading.run_table import NotebookReport, Row
from calcgrad.grading.sandbox import LOCAL_SLOTS, Sandbox, SandboxUnavailable, claim_slot
from calcgrad.grading.submission import Unreadable, find_notebooks, inside, read_notebook, \
    read_regular, read_timestamp
from calcgrad.grading.supervise import RunResult, kill_all, run_job

# Run after the blank release notebook to warm a worker up: the first use of what an honest
# answer reaches but a blank one does not (autograd in both float types and its functional
# forms, a plot with a tangent, a recorded check) costs up to half a second in torch and
# matplotlib, once per worker instead of once per notebook. Our own code, never the source.
WARMUP_STANDIN = [
    "import math\nimport torch\nimport numpy as np\nfrom calcgrad import checks, plotting",
    """def _warm(t):
    return torch.stack([t[0] * t[1] ** 2, torch.exp(t[2]) * t[0] + torch.sin(t[1])])

for _dtype in (torch.float32, torch.float64):
    _x = torch.arange(1.0, 4.0, dtype=_dtype, requires_grad=True)
    _warm(_x).backward(torch.ones(2, dtype=_dtype))
    torch.autograd.grad(_warm(_x).sum(), _x)
    torch.autograd.functional.jacobian(_warm, _x.detach())
    torch.autograd.functional.vjp(_warm, _x.detach(), torch.ones(2, dtype=_dtype))
    torch.func.jvp(_warm, (_x.detach(),), (torch.ones(3, dtype=_dtype),))
_x.grad""",
    """plotting.use_svg_display()
_t = torch.arange(0.0, 3.0, 0.1)
plotting.plot(_t, [torch.sin(_t), torch.cos(_t)], "x", "f(x)", legend=["sin", "cos"])
plotting.plot_tangent(np.sin, 1.0)""",
    """_y = torch.arange(4.0, requires_grad=True)
(_y * _y).sum().backward()
checks.close("warm-up", student=lambda: _y.grad, expected=lambda: 2 * _y.detach())""",
]

MAX_RETRIES = 2  # re-runs after a crash, each skipping the cell that crashed

NOT_TAMPER = {"output truncated", "memory", "timeout"}


class ConfigurationError(RuntimeError):
    """The course, the assignment or the sandbox is not usable: nothing was graded."""


# ---------------------------------------------------------------- the course

def find_course_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding nbgrader_config.py."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    raise ConfigurationError(f"no nbgrader_config.py in {here} or above; pass --course-dir")


@dataclass
class Course:
    root: Path
    config: object
    coursedir: object

    @classmethod
    def load(cls, root: Path) -> Course:
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        root = Path(root).resolve()
        if not (root / "nbgrader_config.py").is_file():
            raise ConfigurationError(f"{root} has no nbgrader_config.py")
        config = Config()
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
        config.CourseDirectory.root = str(root)
        config.Exporter.default_preprocessors = []
        # Deleted test cells always come back (nbgrader's default leaves them out).
        config.OverwriteCells.add_missing_cells = True
        return cls(root, config, CourseDirectory(config=config))

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    def db_path(self) -> Path | None:
        url = self.db_url
        return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.coursedir.course_id)

    def sources(self) -> list[str]:
        """The assignments in source/ (nbgrader's source directory)."""
        base = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", "."))
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def require_assignment(self, assignment: str) -> None:
        """Raise a ConfigurationError unless the gradebook holds `assignment`: the same
        words for every subcommand, naming the assignments there are."""
        db = self.db_path()
        if db is not None and not db.exists():
            raise unknown_assignment(None, assignment, self)
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                raise unknown_assignment(gb, assignment, self) from None


    def submitted(self, student: str, assignment: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                               assignment))

    def autograded(self, student: str, assignment: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.autograded_directory, student,
                                               assignment))

    def students(self, assignment: str) -> list[str]:
        base = Path(self.coursedir.format_path(self.coursedir.submitted_directory, ".", "."))
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        found = []
        if base.is_dir():
            for entry in sorted(base.iterdir()):
                if entry.is_dir() and (entry / assignment).exists() and entry.name not in excluded:
                    found.append(entry.name)
        return found


def unknown_assignment(gb, assignment: str, course: Course | None = None) -> ConfigurationError:
    """The error for an assignment the gradebook does not hold: what is known, and the one
    command that fixes it when the assignment is in source/ but not yet in the gradebook."""
    graded = sorted(a.name for a in gb.assignments) if gb is not None else []
    sources = course.sources() if course is not None else []
    if assignment in sources:
        return ConfigurationError(
            f"assignment {assignment} is in source/ but not in the gradebook: run "
            f"`nbgrader generate_assignment {assignment} --force` (it writes "
            f"release/{assignment}/ again, the same files when source/ is unchanged)")
    known = sorted(set(graded) | set(sources))
    return ConfigurationError(f"no assignment {assignment}; known: "
                              f"{', '.join(known) or 'none'}")


# ----------------------------------------------------------- nbgrader's logs

class _Notes(logging.Handler):
    """nbgrader's warnings while one notebook is processed, kept as report notes."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.lines is not None:
            self.lines.append(record.getMessage()[:300])


_NOTES = _Notes()


@contextlib.contextmanager
def _collect_notes(into: list[str]):
    from traitlets.log import get_logger

    logger = get_logger()
    if _NOTES not in logger.handlers:
        logger.addHandler(_NOTES)
        logger.propagate = False
    _NOTES.lines = into
    try:
        yield
    finally:
        _NOTES.lines = None


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


# ------------------------------------------------------------------ the jobs

@dataclass
class TestCell:
    grade_id: str
    source: str  # from the gradebook: the instructor's, never the student's
    checks: bool  # decided in the trusted process
    why_not: str = ""  # why a cell with checks is not


@dataclass
class NotebookJob:
    student: str
    notebook: str  # the notebook id (file name without .ipynb)
    nb: NotebookNode | None = None
    resources: dict = field(default_factory=dict)
    job: dict = field(default_factory=dict)
    tests: dict[int, TestCell] = field(default_factory=dict)
    report: NotebookReport = None
    run: RunResult | None = None
    budget: out.Budget | None = None


@dataclass
class Options:
    assignment: str
    students: list[str] | None = None
    jobs: int = 1
    limits: Limits = field(default_factory=Limits)
    sandbox: bool = True
    # Pre-warmed workers that fork a child per notebook (sandboxed grading only).
    warm: bool = True
    # Run the sandboxes on a Dask cluster's workers instead of here (cluster.py).
    dask_scheduler: str | None = None


class Grader:
    def __init__(self, course: Course, options: Options, log=print):
        self.course = course
        self.options = options
        self.log = log
        self.sandbox = Sandbox(enabled=options.sandbox)
        self.steps: Steps | None = None  # once the gradebook is known to hold the assignment
        self.gb = None  # the gradebook session of a batch (written in the main thread only)
        self._trusted_cache: dict[tuple[str, str], dict[str, str]] = {}
        self._workers: dict[int, pool.WarmWorker | None] = {}
        self._workers_lock = threading.Lock()
        self.warm_note = ""
        self._analysis_cache: dict = {}
        self._released_cache: dict[str, set[str]] = {}
        # Per student being graded: the files next to the notebooks (submission_files).
        self._inputs: dict[str, submission_files.Inputs] = {}
        # Per student being saved: what this run wrote into autograded/ (the rest is pruned).
        self._kept: dict[str, set[str]] = {}
        self._hidden_cache: dict[str, set[int]] = {}
        # Per notebook and variant signature: the checks' expected values (calcgrad.variants).
        self._expected: dict[tuple, dict] = {}
        self.variants_enabled = variants.enabled_in(course.config)

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
        self.steps = Steps(self.course.config, self.course.coursedir, record)
        if self.options.dask_scheduler:  # the sandboxes start on the cluster's workers
            from calcgrad.grading import cluster

            cluster.connect(self.options.dask_scheduler, self.log).check(self.sandbox)
        else:
            self.sandbox.check()
        return names

    def _gradebook_sources(self, notebook: str) -> dict[str, str]:
        key = (self.options.assignment, notebook)
        if key not in self._trusted_cache:
            record = self.steps.notebook(notebook)
            self._trusted_cache[key] = {c.name: c.source for c in record.source_cells}
        return self._trusted_cache[key]

    # -- step 1: read and sanitize
    def prepare(self, student: str, names: list[str]) -> list[NotebookJob]:
        folder = self.course.submitted(student, self.options.assignment)
        exists = os.path.lexists(folder)
        # A submission folder that is (or passes through) a symbolic link is not read.
        safe_folder = not exists or (folder.is_dir() and inside(folder, self.course.root))
        found = find_notebooks(folder, names) if safe_folder and exists else {}
        # CALL SITE (submission_files): the files nbgrader would copy next to the notebooks
        # (the student's own, then source/'s released ones); written to autograded/ in
        # _complete, shipped into each notebook's sandbox below.
        inputs = submission_files.gather(self.course, self.options.assignment,
                                         folder if safe_folder and exists else None)
        self._inputs[student] = inputs
        jobs = []
        for name in names:
            nbjob = NotebookJob(student, name, report=NotebookReport(name))
            if inputs.notes and not jobs:
                nbjob.report.notes.extend(inputs.notes[:5])
            jobs.append(nbjob)
            hit = found.get(name)
            if not safe_folder:
                nbjob.report.status = "corrupt"
                nbjob.report.notes.append("the submission folder is a symbolic link or not a "
                                          "folder")
                continue
            if hit is None or hit.path is None:
                nbjob.report.status = "missing"
                nbjob.report.notes.append(f"no {name}.ipynb submitted")
                continue
            if hit.note:
                nbjob.report.notes.append(hit.note)
            try:
                nb = read_notebook(hit.path)
            except Unreadable as exc:
                nbjob.report.status = "corrupt"
                nbjob.report.notes.append(f"{hit.path.name} {exc}")
                continue
            try:
                self._sanitize(nbjob, nb)
            except Exception as exc:  # noqa: BLE001 - nbgrader rejects a malformed notebook
                nbjob.report.status = "corrupt"
                nbjob.report.notes.append(f"nbgrader could not read its cells: "
                                          f"{type(exc).__name__}: {str(exc)[:200]}")
                continue
            # CALL SITE (nbgrader_selection): a notebook for another kernel is not run.
            refusal = nbgrader_selection.kernel_refusal(nbjob.nb)
            if refusal:
                nbjob.report.status = "corrupt"
                nbjob.report.notes.append(f"{hit.path.name} not run: {refusal}")
                continue
            # CALL SITE (submission_files): the files go into the sandbox's scratch folder.
            nbjob.job["files"] = inputs.for_sandbox()
        return jobs

    def _analyse(self, source: str, known: set[str]) -> tuple:
        """What split.py says of a trusted test cell: the same for every student, so it is
        worked out once per assignment (it parses the cell several times)."""
        key = (source, frozenset(known))
        hit = self._analysis_cache.get(key)
        if hit is None:
            uses = split.uses_checks(source)
            outside = split.outside_names(source, known) if uses else []
            stripped = split.strip_trusted(source) if uses and not outside else ""
            hit = self._analysis_cache[key] = (uses, outside, split.bound_names(source),
                                               stripped)
        return hit

    def _released(self, source: str) -> set[str]:
        """A test cell's text as the student may have it: with or without hidden tests."""
        if source not in self._released_cache:
            self._released_cache[source] = self._released_uncached(source)
        return self._released_cache[source]

    def _released_uncached(self, source: str) -> set[str]:
        from nbgrader.preprocessors import ClearHiddenTests

        cell = nbformat.v4.new_code_cell(source)
        try:
            ClearHiddenTests(config=self.course.config)._remove_hidden_test_region(cell)
        except RuntimeError:  # unbalanced markers: only the full text counts
            pass
        return {source.strip(), cell.source.strip()}

    def _resources(self, student: str, notebook: str) -> dict:
        return {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                "nbgrader": {"student": student, "assignment": self.options.assignment,
                             "notebook": notebook, "db_url": self.course.db_url}}

    def _sanitize(self, nbjob: NotebookJob, nb: NotebookNode) -> None:
        submitted_tests = {}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if isinstance(meta, dict) and meta.get("grade_id"):
                submitted_tests[meta["grade_id"]] = cell.get("source", "")
        resources = self._resources(nbjob.student, nbjob.notebook)
        with _collect_notes(nbjob.report.notes):
            nb, resources = self.steps.sanitize(nb, resources)
        nbjob.resources = resources
        self.plan(nbjob, nb, submitted_tests)

    def plan(self, nbjob: NotebookJob, nb: NotebookNode, submitted_tests: dict) -> None:
        """The sandbox's job for a sanitized notebook: its code cells, test cells stripped of
        their trusted halves (decided here afterwards, from the gradebook's source)."""
        sources = self._gradebook_sources(nbjob.notebook)
        cells = []
        shown: dict[int, str] = {}  # the notebook file the sandbox sees: test cells stripped
        known = set(trusted.TRUSTED_NAMES)  # grows with what earlier test cells define
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            source = cell.source
            spec = {"index": index}
            if meta.get("grade") and not meta.get("solution") and meta.get("grade_id") in sources:
                gid = meta["grade_id"]
                trusted_source = sources[gid]
                uses, outside, bound, stripped = self._analyse(trusted_source, known)
                known |= bound
                nbjob.tests[index] = TestCell(gid, trusted_source, uses and not outside,
                                              f"uses {', '.join(outside[:3])} outside student="
                                              if outside else "")
                if uses and not outside:
                    source = stripped
                elif uses:
                    spec["local"] = True  # checks decide in the sandbox, as in plain nbgrader
                if gid not in submitted_tests:
                    nbjob.report.restored.append(gid)
                elif submitted_tests[gid].strip() not in self._released(trusted_source):
                    nbjob.report.edited.append(gid)
            shown[index] = source
            cells.append(dict(spec, source=source))
        nbjob.nb = nb
        sandbox_nb = dict(nb, cells=[dict(c, source=shown[i]) if i in shown else c
                                     for i, c in enumerate(nb.cells)])
        nbjob.job = {"cells": cells, "notebook_name": f"{nbjob.notebook}.ipynb",
                     "notebook_text": json.dumps(sandbox_nb, ensure_ascii=False),
                     "variants": {"student": nbjob.student, "enabled": self.variants_enabled}}

    # -- step 2: the sandbox (worker threads)
    def warmup_cells(self) -> list[dict]:
        """The code cells of the assignment's BLANK release notebooks (never the source:
        a forked child inherits the warm worker's memory), then WARMUP_STANDIN."""
        cd = self.course.coursedir
        folder = Path(cd.format_path(cd.release_directory, ".", self.options.assignment))
        cells: list[dict] = []
        for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001 - a warm-up only costs speed
                continue
            cells += [{"index": len(cells) + i, "source": c.source}
                      for i, c in enumerate(c for c in nb.cells if c.cell_type == "code")]
        return cells + [{"index": len(cells) + i, "source": src}
                        for i, src in enumerate(WARMUP_STANDIN)]

    def _worker(self, slot: int) -> pool.WarmWorker | None:
        """The slot's warm worker, started on first use; None: grade with one sandbox each."""
        if not (self.options.warm and self.sandbox.enabled):
            return None
        with self._workers_lock:
            if slot not in self._workers:
                self._workers[slot] = pool.WarmWorker(self.sandbox, self.options.limits, slot,
                                                      self._warmup)
            worker = self._workers[slot]
        if worker is not None and not worker.alive:
            try:
                worker.close()
                worker.start()
            except pool.WorkerUnavailable as exc:
                with self._workers_lock:
                    self._workers[slot] = None
                self.warm_note = f"{exc}: graded with one sandbox per notebook"
                self.log(self.warm_note)
                return None
        return worker

    def _run_once(self, job: dict, slot: int, budget_seconds: float | None = None) -> RunResult:
        if self.options.dask_scheduler:
            from calcgrad.grading import cluster

            return cluster.connect(self.options.dask_scheduler, self.log).run(
                job, self.sandbox, self.options.limits, self.options.warm, self._warmup,
                budget_seconds)
        worker = self._worker(slot)
        if worker is None:
            return run_job(job, self.options.limits, self.sandbox, slot,
                           budget_seconds=budget_seconds)
        return worker.run(job, budget_seconds)

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

    def close_workers(self) -> None:
        with self._workers_lock:
            workers = [w for w in self._workers.values() if w is not None]
            self._workers.clear()
        for worker in workers:
            worker.close()
        if self.options.dask_scheduler:
            from calcgrad.grading import cluster

            cluster.disconnect(self.options.dask_scheduler)

    def execute(self, nbjob: NotebookJob, slot: int) -> RunResult:
        limits = self.options.limits
        started = time.monotonic()
        skip: list[int] = []
        run = self._run_once(nbjob.job, slot)
        crashes = []
        while (not run.ended and run.reason in ("crashed", "timeout", "output", "memory")
               and run.stopped_at is not None and len(skip) < MAX_RETRIES):
            left = limits.notebook_seconds - (time.monotonic() - started)
            if left < 5:
                break
            crashes.append((run.stopped_at, run.reason, run.detail, run.cells, run.flags))
            skip.append(run.stopped_at)
            retry = self._run_once(dict(nbjob.job, skip=skip), slot, budget_seconds=left)
            retry.flags |= run.flags
            run = retry
        run.crashes = crashes
        run.seconds = round(time.monotonic() - started, 3)
        return run

    # -- step 3 and 4: trusted verdicts, then nbgrader's own grading (main thread)
    def fill_outputs(self, nbjob: NotebookJob) -> None:
        """Every code cell's outputs: the sandbox's, and the trusted verdicts of test cells.
        Expected values are for the gradebook's student id, never one the submission claims."""
        with variants.graded_as(nbjob.student, self.variants_enabled):
            variant = variants.signature(self.options.assignment, nbjob.student)
            replay = trusted.NotebookReplay(
                self._expected.setdefault((nbjob.notebook, variant), {}))
            self._fill_outputs(nbjob, replay)

    def _fill_outputs(self, nbjob: NotebookJob, replay: trusted.NotebookReplay) -> None:
        report, run = nbjob.report, nbjob.run
        nbjob.budget = out.Budget(2 * self.options.limits.output_notebook_bytes)
        earlier = {}
        for stopped, reason, detail, cells, _ in run.crashes:
            earlier[stopped] = (reason, detail, cells.get(stopped))
        count = 0
        above: list[str] = []  # the student's code cells so far: what `method` checks read
        for index, cell in enumerate(nbjob.nb.cells):
            if cell.cell_type != "code":
                continue
            res = run.cells.get(index)
            if res is not None and index not in earlier:
                count += 1
                cell.execution_count = count
            else:
                cell.execution_count = None
            for flag in (res.flags if res else []):
                report.flags.add(flag)
            test = nbjob.tests.get(index)
            if test is None and index not in earlier:  # a dropped cell defined nothing
                above.append(cell.source)
            if test is not None and test.checks:
                outputs, meta = self._trusted_outputs(nbjob, test, res, replay, tuple(above))
            else:
                outputs = out.clean_outputs(res.outputs, nbjob.budget) if res else []
                why = (test.why_not if test else "") or "written without calcgrad.checks"
                meta = {"tamper_proof": False, "why": why}
                if test is not None:
                    report.cells.append((test.grade_id, f"nbgrader rule (not tamper-proof): "
                                                        f"{why}"))
            if test is not None:
                # What feedback shows (never the test's source), kept with the cell.
                cell.metadata["calcgrad"] = meta
            if index in earlier:
                reason, detail, _ = earlier[index]
                outputs = [out.error("SandboxStopped", f"{detail} (here; the notebook was "
                                                       "run again without this cell)")]
            elif res is None and index == run.stopped_at:
                outputs.append(out.error("SandboxStopped", run.detail))
            elif res is None and test is not None and not any(
                    o.output_type == "error" for o in outputs):
                outputs.append(out.error("NotRun", "the notebook stopped before this cell ran"))
            for o in outputs:
                if o.output_type == "execute_result":
                    o.execution_count = cell.execution_count
            cell.outputs = outputs
        report.flags |= run.flags
        if nbjob.budget.exceeded:
            report.flags.add("more output came back than the runner allows")
        report.seconds = run.seconds
        report.status = self._status(run, report)
        if run.reason and not run.ended:
            report.notes.append(run.detail)
        for _, _, detail, _, _ in run.crashes:
            report.notes.append(f"{detail}; graded the rest without that cell")

    def finalize(self, nbjob: NotebookJob) -> None:
        self.fill_outputs(nbjob)
        self._save(nbjob)

    def _trusted_outputs(self, nbjob: NotebookJob, test: TestCell, res,
                         replay: trusted.NotebookReplay, above: tuple = ()) -> list:
        report = nbjob.report
        records = res.records if res else []
        verdict = replay.judge(test.source, records, res is not None,
                               label=f"test cell {test.grade_id}", sources=above)
        if verdict.fallback:
            # The sandbox ran this cell split, so its outputs cannot stand in for a verdict.
            report.problems.append(f"{test.grade_id} could not be decided: {verdict.fallback}")
            return ([out.error("GraderError", f"this test could not be decided: "
                                              f"{verdict.fallback}")],
                    {"tamper_proof": True, "checks": [], "error": verdict.fallback})
        report.problems.extend(verdict.problems)
        sandboxed = out.clean_outputs(res.outputs, nbjob.budget) if res else []
        # What the cell printed and drew (a plot test draws the student's plot), in order.
        printed = [o for o in sandboxed if o.output_type == "display_data"
                   or (o.output_type == "stream" and o.name == "stdout")]
        # What the student's code wrote to stderr costs the cell, as under plain nbgrader.
        warned = [o for o in sandboxed if o.output_type == "stream" and o.name == "stderr"]
        hidden = self._hidden_lines(test.source)
        meta = {"tamper_proof": True,
                "checks": [{"name": o.name, "passed": o.passed, "message": o.message,
                            "hidden": o.line in hidden} for o in verdict.outcomes]}
        errors = [o for o in verdict.outputs if o.output_type == "error"]
        if errors and errors[0].ename != "CheckFailed":
            meta["error"] = f"{errors[0].ename}: {errors[0].evalue}"
        return printed + verdict.outputs + warned, meta

    def _hidden_lines(self, source: str) -> set[int]:
        """The lines (from 1) of a test cell's hidden-tests region: checks made there are
        hidden checks, whose feedback leaves out the values they were run on."""
        if source in self._hidden_cache:
            return self._hidden_cache[source]
        from nbgrader.preprocessors import ClearHiddenTests

        settings = ClearHiddenTests(config=self.course.config)
        begin, end = settings.begin_test_delimeter, settings.end_test_delimeter
        lines, inside_region = set(), False
        for number, line in enumerate(source.splitlines(), start=1):
            if begin in line:
                inside_region = True
            elif end in line:
                inside_region = False
            elif inside_region:
                lines.add(number)
        self._hidden_cache[source] = lines
        return lines

    @staticmethod
    def _status(run: RunResult, report: NotebookReport) -> str:
        tamper = {f for f in report.flags if f not in NOT_TAMPER}
        if tamper or report.problems or run.reason == "protocol":
            return "tampering suspected"
        reasons = {run.reason} | {crash[1] for crash in run.crashes}
        if "memory" in report.flags or "memory" in reasons:
            return "memory limit"
        if "timeout" in report.flags or "timeout" in reasons:
            return "timed out"
        if reasons - {""}:
            return "crashed"
        return "graded"

    def _save(self, nbjob: NotebookJob) -> None:
        with _collect_notes(nbjob.report.notes):
            nb = self.steps.after(nbjob.nb, nbjob.resources)
            save_grades(self.steps, self.gb, self.options.assignment, nbjob.student,
                        nbjob.notebook, nb)
            dest = self.course.autograded(nbjob.student, self.options.assignment)
            # CALL SITE (submission_files): the files the notebook wrote (side effects),
            # checked, kept next to it as nbgrader keeps them; the notebook is written last.
            written = submission_files.produced(nbjob.run.files if nbjob.run else [],
                                                nbjob.report.notes)
            self._kept.setdefault(nbjob.student, set()).update(
                submission_files.write_autograded(dest, written, nbjob.report.notes))
            _write(dest / f"{nbjob.notebook}.ipynb", notebook_text(nb))
        nbjob.nb = nbjob.job = None  # done with: memory stays flat across the class

    # -- a student's submission in the gradebook
    def open_submission(self, student: str) -> list[str]:
        notes = []
        folder = self.course.submitted(student, self.options.assignment)
        timestamp, note = read_timestamp(folder) if folder.is_dir() else (None, "")
        if note:
            notes.append(note)
        self.gb.update_or_create_student(student)
        if timestamp:
            self.gb.update_or_create_submission(self.options.assignment, student,
                                                timestamp=timestamp)
        else:
            self.gb.update_or_create_submission(self.options.assignment, student)
        dest = self.course.autograded(student, self.options.assignment)
        # CALL SITE (submission_files): the submitted files (timestamp.txt verbatim, as
        # nbgrader copies it), then source/'s released files over them, into autograded/.
        inputs = self._inputs.pop(student, None) or submission_files.Inputs()
        self._kept[student] = submission_files.write_autograded(dest, inputs.files, notes)
        # nbgrader's exchange names released feedback after this secret (release_feedback).
        if folder.is_dir() and os.path.lexists(folder / SECRET):
            try:
                secret = read_regular(folder / SECRET, 1024).decode("ascii").strip()
            except (Unreadable, UnicodeDecodeError) as exc:
                notes.append(f"{SECRET} ignored ({exc})")
            else:
                _write(dest / SECRET, secret)
        return notes

    def zero(self, nbjob: NotebookJob) -> None:
        """No notebook to grade: every grade of it is 0, as nbgrader does for a missing one."""
        sub = self.gb.find_submission_notebook(nbjob.notebook, self.options.assignment,
                                               nbjob.student)
        for grade in sub.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        self.gb.db.commit()
        dest = self.course.autograded(nbjob.student, self.options.assignment)
        _write(dest / f"{nbjob.notebook}.ipynb", notebook_text(self.placeholder(nbjob)))

    def placeholder(self, nbjob: NotebookJob) -> NotebookNode:
        """The autograded notebook of a submission with no readable notebook: a banner that
        says so, then the assignment's graded cells from the gradebook, each test cell with an
        error naming the problem. Formgrader lists it as autograded (score 0) and shows why,
        instead of "needs autograding"; its Autograde button has nothing left to run."""
        status = nbjob.report.status or "missing"
        banner = nbformat.v4.new_markdown_cell(
            f"**calcgrad autograde: not graded ({status}).** "
            + ("No notebook was submitted under this name." if status == "missing" else
               "The submitted file is not a notebook that can be read.")
            + " Every graded cell scores 0; what was wrong is in the test cells' errors below "
              "and in the autograde report. The student's file is unchanged in `submitted/`.")
        banner.metadata["calcgrad"] = {"placeholder": status}
        why = "; ".join(nbjob.report.notes[:3]) or status
        ename = "SubmissionMissing" if status == "missing" else "SubmissionUnreadable"
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
        sub = self.gb.find_submission(self.options.assignment, student)
        score, max_score = sub.score, sub.max_score
        penalty = sub.late_submission_penalty or 0.0
        pending = sum(g.max_score for nb in sub.notebooks for g in nb.grades
                      if g.auto_score is None and g.manual_score is None)
        return Row(student, score, max_score, [j.report for j in jobs], notes, penalty,
                   pending=pending)

    # -- the batch
    def run(self, on_row=None) -> list[Row]:
        names = self.check()
        # The trusted side's imports (torch, matplotlib) while the warm workers start.
        threading.Thread(target=trusted.namespace, daemon=True).start()
        self._warmup = self.warmup_cells()
        students = self.options.students or self.course.students(self.options.assignment)
        # CALL SITE (nbgrader_selection): nbgrader's CourseDirectory.student_id glob.
        students = nbgrader_selection.selected_students(self.course.coursedir, students)
        rows: list[Row] = []
        slots = list(range(max(1, self.options.jobs)))
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
                nbjob.report.status = "grader error"
                nbjob.report.notes.append(f"{type(exc).__name__}: {exc}"[:300])
                nbjob.run = RunResult(reason="error", detail=str(exc)[:300])
            finally:
                with lock:
                    slots.append(slot)
            return nbjob

        unknown = [s for s in students if not os.path.lexists(self.course.submitted(
            s, self.options.assignment).parent)]
        for student in unknown:  # a typo must not create a student in the gradebook
            report = NotebookReport(names[0], status="missing",
                                    notes=["no submitted folder: nothing written"])
            rows.append(Row(student, 0.0, 0.0, [report], recorded=False))
        # CALL SITE (nbgrader_selection): with Autograde.create_student = False, a student
        # the gradebook does not hold is not graded (nbgrader fails that submission).
        if not nbgrader_selection.creates_students(self.course.config):
            with self.course.gradebook() as gb:
                known = {s.id for s in gb.students}
            for student in [s for s in students if s not in unknown and s not in known]:
                unknown.append(student)
                report = NotebookReport(names[0], status="missing", notes=[
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
        self.gb = self.course.gradebook()
        try:
            while True:
                while not exhausted and len(pending) < window:
                    student = next(queue, None)
                    if student is None:
                        exhausted = True
                        break
                    jobs = pending[student] = self.prepare(student, names)
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
            pool.kill_all()
            raise
        finally:
            threads.shutdown(wait=True, cancel_futures=True)
            self.close_workers()
            self.gb.close()
            self.gb = None
            for _, lock in leases:
                os.close(lock)
        return rows

    def _complete(self, student: str, jobs: list[NotebookJob], on_row) -> Row:
        with _interrupts_held():
            notes = self.open_submission(student)
            for nbjob in jobs:
                if nbjob.report.status == "grader error":
                    continue
                if nbjob.report.status:
                    self.zero(nbjob)
                    continue
                try:
                    self.finalize(nbjob)
                except Exception as exc:  # noqa: BLE001 - a grader bug costs one notebook
                    self.gb.db.rollback()
                    nbjob.report.status = "grader error"
                    nbjob.report.notes.append(f"{type(exc).__name__}: {exc}"[:300])
                    self.log(f"grader error on {student}/{nbjob.notebook}:\n"
                             + traceback.format_exc())
            dest = self.course.autograded(student, self.options.assignment)
            # CALL SITE (submission_files): as `nbgrader autograde --force`, autograded/ holds
            # only what this run wrote (when every notebook was graded), with nbgrader's
            # file permissions.
            kept = self._kept.pop(student, set()) | {f"{j.notebook}.ipynb" for j in jobs} \
                | {SECRET}
            if len(jobs) == len(self.steps.record.notebooks):
                submission_files.prune(dest, kept)
            submission_files.apply_permissions(dest, self.course)
            row = self.row(student, jobs, notes)
            # Nothing of this student stays in the batch's gradebook session.
            self.gb.db.expunge_all()
        if on_row:
            on_row(row)
        return row


SECRET = "submission_secret.txt"


def _write(path: Path, text: str) -> None:
    """Replace a file atomically (a reader sees the old or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)

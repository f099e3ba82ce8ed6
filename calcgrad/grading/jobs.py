"""Submissions to sandbox jobs: step 1 of `calcgrad autograde`.

A student's folder is read without trusting it (`submission`), each notebook goes
through nbgrader's own sanitize preprocessors (clear outputs, dedupe ids,
kernelspec, restore locked and missing test cells from the gradebook), and
becomes a `NotebookJob`: the code cells the sandbox runs, with every test cell
written with `calcgrad.checks` stripped of its trusted half (`split`). The
trusted halves stay here, keyed by cell, from the gradebook's copy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import nbformat
from nbformat.notebooknode import NotebookNode

from calcgrad.grading import nbgrader_selection, split, submission_files, trusted
from calcgrad.grading.config import Course
from calcgrad.grading.nbgrader_steps import Steps, collect_notes
from calcgrad.grading.protocol import Budget
from calcgrad.grading.run_table import NotebookReport
from calcgrad.grading.submission import Unreadable, find_notebooks, inside, read_notebook
from calcgrad.grading.supervise import RunResult
from calcgrad.grading.vocabulary import Status

# nbgrader's exchange names released feedback after this secret (release_feedback).
SECRET = "submission_secret.txt"


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
    # The files next to the notebooks (submission_files), shared by a student's jobs.
    inputs: submission_files.Inputs | None = None
    run: RunResult | None = None
    budget: Budget | None = None  # output the autograded notebook may still take


class JobBuilder:
    """Builds the sandbox jobs of one assignment (its trusted sources read once)."""

    def __init__(self, course: Course, assignment: str, variants_enabled: bool):
        self.course, self.assignment = course, assignment
        self.variants_enabled = variants_enabled
        self.steps: Steps | None = None  # once the gradebook is known to hold the assignment
        self._trusted_cache: dict[str, dict[str, str]] = {}
        self._analysis_cache: dict = {}
        self._released_cache: dict[str, set[str]] = {}

    def gradebook_sources(self, notebook: str) -> dict[str, str]:
        if notebook not in self._trusted_cache:
            record = self.steps.notebook(notebook)
            self._trusted_cache[notebook] = {c.name: c.source for c in record.source_cells}
        return self._trusted_cache[notebook]

    def prepare(self, student: str, names: list[str]) -> list[NotebookJob]:
        """Read and sanitize a student's notebooks; a job that cannot run has a status."""
        folder = self.course.submitted(student, self.assignment)
        exists = os.path.lexists(folder)
        # A submission folder that is (or passes through) a symbolic link is not read.
        safe_folder = not exists or (folder.is_dir() and inside(folder, self.course.root))
        found = find_notebooks(folder, names) if safe_folder and exists else {}
        # CALL SITE (submission_files): the files nbgrader would copy next to the notebooks
        # (the student's own, then source/'s, release/'s for the sandbox); written to
        # autograded/ by GradebookWriter.open_submission, shipped into each sandbox below.
        inputs = submission_files.gather(self.course, self.assignment,
                                         folder if safe_folder and exists else None)
        jobs = []
        for name in names:
            nbjob = NotebookJob(student, name, report=NotebookReport(name), inputs=inputs)
            if inputs.notes and not jobs:
                nbjob.report.notes.extend(inputs.notes[:5])
            jobs.append(nbjob)
            hit = found.get(name)
            if not safe_folder:
                nbjob.report.status = Status.CORRUPT
                nbjob.report.notes.append("the submission folder is a symbolic link or not a "
                                          "folder")
                continue
            if hit is None or hit.path is None:
                nbjob.report.status = Status.MISSING
                nbjob.report.notes.append(f"no {name}.ipynb submitted")
                continue
            if hit.note:
                nbjob.report.notes.append(hit.note)
            try:
                nb = read_notebook(hit.path)
            except Unreadable as exc:
                nbjob.report.status = Status.CORRUPT
                nbjob.report.notes.append(f"{hit.path.name} {exc}")
                continue
            try:
                self._sanitize(nbjob, nb)
            except Exception as exc:  # noqa: BLE001 - nbgrader rejects a malformed notebook
                nbjob.report.status = Status.CORRUPT
                nbjob.report.notes.append(f"nbgrader could not read its cells: "
                                          f"{type(exc).__name__}: {str(exc)[:200]}")
                continue
            # CALL SITE (nbgrader_selection): a notebook for another kernel is not run.
            refusal = nbgrader_selection.kernel_refusal(nbjob.nb)
            if refusal:
                nbjob.report.status = Status.CORRUPT
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
            from nbgrader.preprocessors import ClearHiddenTests

            cell = nbformat.v4.new_code_cell(source)
            try:
                ClearHiddenTests(config=self.course.config)._remove_hidden_test_region(cell)
            except RuntimeError:  # unbalanced markers: only the full text counts
                pass
            self._released_cache[source] = {source.strip(), cell.source.strip()}
        return self._released_cache[source]

    def _resources(self, student: str, notebook: str) -> dict:
        return {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                "nbgrader": {"student": student, "assignment": self.assignment,
                             "notebook": notebook, "db_url": self.course.db_url}}

    def _sanitize(self, nbjob: NotebookJob, nb: NotebookNode) -> None:
        submitted_tests = {}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if isinstance(meta, dict) and meta.get("grade_id"):
                submitted_tests[meta["grade_id"]] = cell.get("source", "")
        resources = self._resources(nbjob.student, nbjob.notebook)
        with collect_notes(nbjob.report.notes):
            nb, resources = self.steps.sanitize(nb, resources)
        nbjob.resources = resources
        self.plan(nbjob, nb, submitted_tests)

    def plan(self, nbjob: NotebookJob, nb: NotebookNode, submitted_tests: dict) -> None:
        """The sandbox's job for a sanitized notebook: its code cells, test cells stripped of
        their trusted halves (decided here afterwards, from the gradebook's source)."""
        sources = self.gradebook_sources(nbjob.notebook)
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



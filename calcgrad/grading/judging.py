"""Trusted verdicts into the autograded notebook: step 3 of `calcgrad autograde`.

Runs in the grader's process, never in the sandbox. For every code cell it
rebuilds the outputs from what the sandbox sent back (`outputs`: known types,
capped, inert); for a test cell written with `calcgrad.checks` it replays the
gradebook's copy of the cell against the student values the sandbox recorded
(`trusted`) and writes the verdict as that cell's outputs, so that nbgrader's
own rule (an error output scores 0) scores it. Then the notebook's status.
"""

from __future__ import annotations

from calcgrad import variants
from calcgrad.grading import outputs as out
from calcgrad.grading import trusted
from calcgrad.grading.jobs import NotebookJob, TestCell
from calcgrad.grading.limits import Limits
from calcgrad.grading.run_table import NotebookReport
from calcgrad.grading.supervise import RunResult
from calcgrad.grading.vocabulary import LIMIT_FLAGS, Reason, Status


class Judge:
    """Decides the test cells of one assignment (expected values worked out once)."""

    def __init__(self, config, assignment: str, limits: Limits, variants_enabled: bool):
        self.config, self.assignment, self.limits = config, assignment, limits
        self.variants_enabled = variants_enabled
        self._hidden_cache: dict[str, set[int]] = {}
        # Per notebook and variant signature: the checks' expected values (calcgrad.variants).
        self._expected: dict[tuple, dict] = {}

    def fill_outputs(self, nbjob: NotebookJob) -> None:
        """Every code cell's outputs: the sandbox's, and the trusted verdicts of test cells.
        Expected values are for the gradebook's student id, never one the submission claims."""
        with variants.graded_as(nbjob.student, self.variants_enabled):
            variant = variants.signature(self.assignment, nbjob.student)
            replay = trusted.NotebookReplay(
                self._expected.setdefault((nbjob.notebook, variant), {}))
            self._fill_outputs(nbjob, replay)

    def _fill_outputs(self, nbjob: NotebookJob, replay: trusted.NotebookReplay) -> None:
        report, run = nbjob.report, nbjob.run
        nbjob.budget = out.notebook_budget(2 * self.limits.output_notebook_bytes)
        earlier = {crash.cell: crash for crash in run.crashes}
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
                outputs = [out.error("SandboxStopped", f"{earlier[index].detail} (here; the "
                                                       "notebook was run again without this "
                                                       "cell)")]
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
        if nbjob.budget.truncated:
            report.flags.add("more output came back than the runner allows")
        report.seconds = run.seconds
        report.status = status(run, report)
        if run.reason and not run.ended:
            report.notes.append(run.detail)
        for crash in run.crashes:
            report.notes.append(f"{crash.detail}; graded the rest without that cell")

    def _trusted_outputs(self, nbjob: NotebookJob, test: TestCell, res,
                         replay: trusted.NotebookReplay, above: tuple = ()) -> tuple:
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

        settings = ClearHiddenTests(config=self.config)
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


def status(run: RunResult, report: NotebookReport) -> str:
    """A judged notebook's status: tampering first, then the limits it reached, then crashes."""
    tamper = {f for f in report.flags if f not in LIMIT_FLAGS}
    if tamper or report.problems or run.reason == Reason.PROTOCOL:
        return Status.TAMPERING
    reasons = {run.reason} | {crash.reason for crash in run.crashes}
    if "memory" in report.flags:
        return Status.MEMORY
    if "timeout" in report.flags or Reason.TIMEOUT in reasons:
        return Status.TIMED_OUT
    if reasons - {Reason.NONE}:
        return Status.CRASHED
    return Status.GRADED

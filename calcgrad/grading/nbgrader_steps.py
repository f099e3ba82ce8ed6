"""nbgrader's autograde steps on a notebook in memory, with the gradebook read once.

Plain nbgrader runs its preprocessors through an nbconvert exporter per
notebook (a deep copy, then the notebook written out, validated and read back)
and its OverwriteCells, OverwriteKernelspec and SaveAutoGrades open the
gradebook and query it once per cell, the largest cost of grading a notebook.
Here:

- nbgrader's own preprocessor classes run directly on the notebook, in the
  order its Autograde converter lists them (configuration included);
- OverwriteCells and OverwriteKernelspec read the assignment's definition from
  an `AssignmentRecord`, taken from the gradebook once per batch: the same
  code, a different gradebook object;
- SaveAutoGrades and AssignLatePenalties are replaced by `save_grades`, which
  does what they do (nbgrader's `determine_grade`, `compute_checksum` and late
  submission plugin) in the caller's gradebook session, one commit per
  notebook instead of one per cell.

`tests/test_grading_batch.py` compares the result with plain nbgrader's.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace

from nbformat.notebooknode import NotebookNode


@dataclass
class NotebookRecord:
    """One notebook of the assignment as the gradebook defines it."""

    name: str
    kernelspec: str | None
    source_cells: list = field(default_factory=list)  # name, cell_type, locked, checksum, source
    grade_cells: list = field(default_factory=list)  # name, cell_type, max_score
    solution_cells: list = field(default_factory=list)  # name
    task_cells: list = field(default_factory=list)  # name, max_score
    cell_names: dict = field(default_factory=dict)  # gradebook id -> name, for grades, comments


class AssignmentRecord:
    """The gradebook's definition of one assignment, read once, answering the lookups
    nbgrader's OverwriteCells and OverwriteKernelspec make (`find_notebook`,
    `find_source_cell`, `find_graded_cell`) without a query each."""

    def __init__(self, assignment: str, notebooks: dict[str, NotebookRecord]):
        self.assignment = assignment
        self.notebooks = notebooks

    @classmethod
    def read(cls, gb, assignment: str) -> AssignmentRecord:
        notebooks = {}
        for nb in gb.find_assignment(assignment).notebooks:
            notebooks[nb.name] = NotebookRecord(
                nb.name, nb.kernelspec,
                [SimpleNamespace(name=c.name, cell_type=c.cell_type, locked=c.locked,
                                 checksum=c.checksum, source=c.source) for c in nb.source_cells],
                [SimpleNamespace(name=c.name, cell_type=c.cell_type, max_score=c.max_score)
                 for c in nb.grade_cells],
                [SimpleNamespace(name=c.name) for c in nb.solution_cells],
                [SimpleNamespace(name=c.name, max_score=c.max_score) for c in nb.task_cells],
                {c.id: c.name for c in (*nb.grade_cells, *nb.solution_cells, *nb.task_cells)})
        return cls(assignment, notebooks)

    # -- the Gradebook methods the two preprocessors call
    def find_notebook(self, notebook: str, assignment: str) -> NotebookRecord:
        from nbgrader.api import MissingEntry

        if assignment != self.assignment or notebook not in self.notebooks:
            raise MissingEntry(f"No such notebook: {notebook}/{assignment}")
        return self.notebooks[notebook]

    def find_source_cell(self, name: str, notebook: str, assignment: str):
        from nbgrader.api import MissingEntry

        for cell in self.find_notebook(notebook, assignment).source_cells:
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such source cell: {name}")

    def find_graded_cell(self, name: str, notebook: str, assignment: str):
        from nbgrader.api import MissingEntry

        record = self.find_notebook(notebook, assignment)
        for cell in (*record.grade_cells, *record.task_cells):
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such graded cell: {name}")


def _recorded_swaps() -> dict[type, type]:
    """nbgrader's OverwriteCells and OverwriteKernelspec, each reading the `record` it is
    given instead of the gradebook it would open: {nbgrader's class: ours}."""
    from nbgrader.preprocessors import OverwriteCells, OverwriteKernelspec

    class RecordedOverwriteKernelspec(OverwriteKernelspec):
        record: AssignmentRecord

        def preprocess(self, nb, resources):
            info = resources["nbgrader"]
            kernelspec = self.record.find_notebook(info["notebook"], info["assignment"]).kernelspec
            kernelspec = json.loads(kernelspec) if kernelspec is not None else None
            if kernelspec:  # as nbgrader: a source without one ("{}") leaves the submission's
                nb.metadata["kernelspec"] = kernelspec
            return nb, resources

    class RecordedOverwriteCells(OverwriteCells):
        record: AssignmentRecord

        def preprocess(self, nb, resources):
            # OverwriteCells.preprocess, with the record as its gradebook.
            info = resources["nbgrader"]
            self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
            self.db_url = info["db_url"]
            self.gradebook = self.record
            nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
            return nb, resources

    return {OverwriteCells: RecordedOverwriteCells,
            OverwriteKernelspec: RecordedOverwriteKernelspec}


class Steps:
    """nbgrader's sanitize preprocessors, and the ones after Execute, as configured."""

    def __init__(self, config, coursedir, record: AssignmentRecord):
        from nbgrader.converters import Autograde
        from nbgrader.preprocessors import AssignLatePenalties, Execute, SaveAutoGrades

        _validate_schemas_once()
        self.record = record
        converter = Autograde(coursedir=coursedir, config=config)
        from calcgrad.grading.nbgrader_execute import SandboxedExecute

        after = list(converter.autograde_preprocessors)
        for runs_the_notebook in (Execute, SandboxedExecute):
            if runs_the_notebook in after:
                after = after[after.index(runs_the_notebook) + 1:]
                break
        # Done by save_grades in the grader's gradebook session.
        self.saves_grades = SaveAutoGrades in after
        self.late_penalties = AssignLatePenalties(config=config) \
            if AssignLatePenalties in after else None
        after = [pp for pp in after if pp not in (SaveAutoGrades, AssignLatePenalties)]
        swaps = _recorded_swaps()
        self.sanitize_pps = [swaps.get(pp, pp)(config=config)
                             for pp in converter.sanitize_preprocessors]
        for pp in self.sanitize_pps:
            if type(pp) in swaps.values():
                pp.record = record
        self.after_pps = [pp(config=config) for pp in after]

    def notebook(self, name: str) -> NotebookRecord:
        return self.record.find_notebook(name, self.record.assignment)

    @staticmethod
    def _run(pps: list, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        for pp in pps:
            nb, resources = pp(nb, resources)
        return nb, resources

    def sanitize(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        return self._run(self.sanitize_pps, nb, resources)

    def after(self, nb: NotebookNode, resources: dict) -> NotebookNode:
        nb, _ = self._run(self.after_pps, nb, resources)
        return nb


def notebook_text(nb: NotebookNode) -> str:
    """What `nbformat.writes` makes of `nb` (validated, invalid logged, lines split,
    transient metadata dropped, keys sorted), without its deep copy and written compact:
    `indent=1` sends `json.dumps` to its pure-Python encoder, 5x slower on notebooks with
    plots, and nbgrader's formgrader, feedback and export read either. `nb` is changed, so
    this is the last thing done with it."""
    import nbformat
    from nbformat.v4.nbjson import BytesEncoder
    from nbformat.v4.rwbase import split_lines, strip_transient
    from traitlets.log import get_logger

    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        get_logger().error("Notebook JSON is invalid: %s", exc)
    nb = strip_transient(split_lines(nb))
    return json.dumps(nb, cls=BytesEncoder, sort_keys=True, ensure_ascii=False)


def save_grades(steps: Steps, gb, assignment: str, student: str, notebook: str,
                nb: NotebookNode) -> None:
    """SaveAutoGrades and AssignLatePenalties for one autograded notebook, in `gb`'s
    session: the same fields set by the same rules, then one commit (nbgrader commits once
    per cell)."""
    from nbgrader import utils
    from traitlets.log import get_logger

    sub = gb.find_submission_notebook(notebook, assignment, student)
    if steps.saves_grades:
        names = steps.notebook(notebook).cell_names
        grades = {names.get(g.cell_id): g for g in sub.grades}
        comments = {names.get(c.cell_id): c for c in sub.comments}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell):
                grade = _entry(grades, grade_id, "grade")
                grade.auto_score, _ = utils.determine_grade(cell, get_logger())
                grade.needs_manual_grade = (grade.manual_score is not None
                                            or grade.auto_score is None)
            if utils.is_solution(cell) or utils.is_task(cell):
                comment = _entry(comments, grade_id, "comment")
                unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
                comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) \
                    else None
        gb.db.flush()
        gb.db.expire(sub, ["score"])  # the late penalty is computed from the new score
    late = steps.late_penalties
    if late is not None:
        late.init_plugin()
        submission = gb.find_submission(assignment, student)
        sub.late_submission_penalty = None
        seconds = submission.total_seconds_late
        if seconds > 0:
            late.log.warning(f"{submission} is {seconds} seconds late")
            penalty = late.plugin_inst.late_submission_penalty(student, sub.score, seconds)
            late.log.warning(f"Late submission penalty: {penalty}")
            if penalty is not None:
                sub.late_submission_penalty = late._check_late_penalty(sub, penalty)
    gb.db.commit()


def _entry(found: dict, name: str, kind: str):
    from nbgrader.api import MissingEntry

    if name not in found:
        raise MissingEntry(f"No such {kind}: {name}")
    return found[name]


class _CompiledSchemas:
    """`jsonschema.validate` as nbgrader's metadata check calls it: once per cell, with a
    schema dict freshly read from disk by every MetadataValidator it creates. Here each
    distinct schema is checked and compiled once (by content), valid metadata is confirmed
    by fastjsonschema (nbformat's own fast validator), and invalid metadata still gets
    jsonschema's error, the one nbgrader would raise."""

    def __init__(self):
        import jsonschema

        self._jsonschema = jsonschema
        self._last: tuple = (None, None)  # the schema object of the last call: one validator
        self._by_content: dict[str, tuple] = {}  # (not one per object: that kept them all)

    def __getattr__(self, name):
        return getattr(self._jsonschema, name)

    def _compiled(self, schema) -> tuple:
        if self._last[0] is schema:
            return self._last[1]
        key = json.dumps(schema, sort_keys=True)
        compiled = self._by_content.get(key)
        if compiled is None:
            import fastjsonschema

            cls = self._jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            compiled = self._by_content[key] = (cls(schema), fastjsonschema.compile(schema))
        self._last = (schema, compiled)
        return compiled

    def validate(self, instance, schema, *args, **kwargs):
        if args or kwargs:
            return self._jsonschema.validate(instance, schema, *args, **kwargs)
        slow, fast = self._compiled(schema)
        try:
            fast(instance)
            return None
        except Exception:  # noqa: BLE001 - invalid (or unusual): jsonschema decides and words it
            pass
        error = self._jsonschema.exceptions.best_match(slow.iter_errors(instance))
        if error is not None:
            raise error
        return None


def _validate_schemas_once() -> None:
    """A global side effect, and its one place: nbgrader's metadata check looks up
    `common.jsonschema` each time it validates, so replacing that module attribute is the one
    way to compile each schema once instead of once per cell (the largest cost of sanitizing
    a notebook). Done when the first `Steps` is built, never on import; the replacement
    raises the same errors, so nbgrader's own converters in this process are unchanged."""
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CompiledSchemas):
        common.jsonschema = _CompiledSchemas()


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
def collect_notes(into: list[str]):
    """nbgrader's warnings inside the block go to `into` (the notebook's report notes)."""
    from traitlets.log import get_logger

    logger = get_logger()
    if _NOTES not in logger.handlers:
        logger.addHandler(_NOTES)
        # A global side effect, and its one place: nbgrader's preprocessors log through
        # traitlets' logger, whose records would also reach the root logger and print on the
        # instructor's terminal once per notebook. What they say is in the report instead.
        logger.propagate = False
    _NOTES.lines = into
    try:
        yield
    finally:
        _NOTES.lines = None

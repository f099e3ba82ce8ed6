"""nbgrader's own `generate_feedback` (and formgrader's Generate Feedback button) without the
tests' code.

nbgrader renders the autograded notebook, and there every test cell holds its full source,
hidden tests included (restored from the gradebook at autograde), and the outputs of its
checks (a failed hidden check's message names the hidden input's values). The course's
`nbgrader_config.py` appends `HideTests` to `c.GenerateFeedback.preprocessors`: each test
cell's source is replaced by one comment line, and its outputs by the outcome of each check,
as `calcgrad feedback` words them (calcgrad.grading.feedback.outcome_lines).
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from nbformat.notebooknode import NotebookNode

from calcgrad.grading import outputs as out
from calcgrad.grading.feedback import hidden_details_of, outcome_lines

SHOWN_SOURCE = "# the checks of this exercise (their code is not shown)"


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


class HideTests(NbGraderPreprocessor):  # enabled by default, unlike nbconvert's
    """Test cells without their code: a comment line, then each check's outcome."""

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            lines = outcome_lines(cell, hidden_details_of(self.config))
            cell.source = SHOWN_SOURCE
            cell.outputs = [out.stream("stdout", "\n".join(lines) + "\n")]
            cell.metadata.pop("calcgrad", None)
        return cell, resources

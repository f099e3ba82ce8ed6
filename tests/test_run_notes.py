"""A report's notes say each thing once (issue 16): the engine's own note on deleted test
cells replaces nbgrader's one warning per cell it put back."""

from __future__ import annotations

from calcgrad.grading.run_table import NotebookReport, Row


def nbgrader_says(grade_id: str) -> str:
    return f"Missing grade cell {grade_id} encountered, adding to notebook"


def test_deleted_test_cells_are_one_note():
    report = NotebookReport("ps1", restored=[f"test_{i}" for i in range(19)],
                            notes=[nbgrader_says(f"test_{i}") for i in range(19)])
    assert report.summary() == [f"restored deleted test cells: "
                                f"{', '.join(f'test_{i}' for i in range(19))}"]


def test_other_restored_cells_are_named_once_and_other_notes_stay():
    report = NotebookReport("ps1", restored=["test_a"],
                            notes=[nbgrader_says("test_a"), nbgrader_says("answer_b"),
                                   nbgrader_says("answer_c"), "the timestamp is unreadable",
                                   "the timestamp is unreadable"])
    assert report.summary() == ["restored deleted test cells: test_a",
                                "restored deleted graded cells: answer_b, answer_c",
                                "the timestamp is unreadable"]
    row = Row("alice", 1.0, 2.0, [report])
    assert row.values()["notes"].count("answer_b") == 1

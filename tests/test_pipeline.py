"""The nbgrader pipeline, with plain nbgrader, in throwaway course folders.

For every assignment: release/ equals a fresh `nbgrader generate_assignment`;
the reference solution scores full marks; the blank release scores zero;
each graded cell fails on the blank release and passes on the reference;
the sample submissions in examples/ score what examples/<a>/expected.json says.
All of one assignment's submissions are autograded in one nbgrader run. Then
`calcgrad autograde` grades a copy of that course, and its gradebook and
autograded notebooks must be what plain nbgrader wrote.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from calcgrad import course
from calcgrad.demo import readable_notebook

ASSIGNMENTS = course.ASSIGNMENTS
EXAMPLES = course.REPO / "examples"


def _examples(assignment: str) -> list[Path]:
    """The readable sample submissions (a corrupt one is there on purpose, for the demo)."""
    return [p for p in sorted((EXAMPLES / assignment).glob("*.ipynb"))
            if readable_notebook(p) is None]


def _expected(assignment: str) -> dict:
    path = EXAMPLES / assignment / "expected.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """One course per assignment: generated, then reference, blank and examples autograded."""
    assignment = request.param
    root = course.new_course(tmp_path_factory.mktemp(assignment), (assignment,))
    released = course.generate(root, assignment)
    notebook = f"{assignment}.ipynb"
    course.submit(root, assignment, "reference", root / "source" / assignment / notebook)
    course.submit(root, assignment, "blank", released / notebook)
    for example in _examples(assignment):
        course.submit(root, assignment, example.stem, example, name=notebook)
    # A locked test cell edited: nbgrader puts the gradebook's source back.
    edited = root / "submitted" / "edited" / assignment
    course.submit(root, assignment, "edited", root / "source" / assignment / notebook)
    _edit_first_test_cell(edited / notebook)
    course.nbgrader(root, "autograde", assignment, "--force")
    return assignment, root, released, course.grades(root, assignment)


def _edit_first_test_cell(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
                and not c.metadata.nbgrader.get("solution") and c.cell_type == "code")
    cell.source = "print('all tests passed')"
    nbformat.write(nb, path)


def _gradebook_state(root: Path, assignment: str) -> dict:
    """Every field nbgrader's autograde writes: per grade, comment and notebook."""
    from nbgrader.api import Gradebook

    state = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(assignment):
            for nb in sub.notebooks:
                key = (sub.student.id, nb.name)
                state[key] = {
                    "grades": sorted((g.name, g.auto_score, g.manual_score,
                                      g.needs_manual_grade) for g in nb.grades),
                    "comments": sorted((c.name, c.auto_comment) for c in nb.comments),
                    "late_penalty": nb.late_submission_penalty,
                    "timestamp": sub.timestamp}
    return state


def _autograded_cells(root: Path, assignment: str) -> dict:
    """The autograded notebooks' cells without their outputs (calcgrad writes its own)."""
    import nbformat

    found = {}
    for path in sorted((root / "autograded").glob(f"*/{assignment}/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found[path.parent.parent.name] = (nb.metadata.get("kernelspec"), [
            (c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells])
    return found


def _auto_cells(assignment: str) -> dict[str, float]:
    """Graded cells that nbgrader scores automatically (test cells, not written answers)."""
    import nbformat

    nb = nbformat.read(course.REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader.get("points", 0))
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


def test_release_is_a_fresh_generation(graded):
    assignment, _, released, _ = graded
    committed = course.REPO / "release" / assignment
    cmp = filecmp.dircmp(released, committed)
    assert not (cmp.left_only or cmp.right_only), \
        f"release/{assignment} has different files: run `make release`"
    for name in cmp.common_files:
        assert (released / name).read_bytes() == (committed / name).read_bytes(), \
            f"release/{assignment}/{name} differs from a fresh generation: run `make release`"


def test_reference_scores_full_marks_on_every_test_cell(graded):
    assignment, _, _, grades = graded
    cells = _auto_cells(assignment)
    assert cells, f"{assignment} has no autograded cells"
    got = grades["reference"].cells
    failed = {gid: got.get(gid) for gid, pts in cells.items() if got.get(gid) != pts}
    assert not failed, f"reference loses points on {failed}"


def test_blank_release_fails_every_test_cell(graded):
    assignment, _, _, grades = graded
    cells = _auto_cells(assignment)
    got = grades["blank"].cells
    passed = {gid: got.get(gid) for gid in cells if got.get(gid) != 0}
    assert not passed, f"the blank release earns points on {passed}"
    assert grades["blank"].score == 0


def test_examples_score_as_expected(graded):
    assignment, _, _, grades = graded
    expected = _expected(assignment)
    for example in _examples(assignment):
        assert example.stem in expected, f"{example} has no entry in expected.json"
        want = expected[example.stem]["score"]
        assert grades[example.stem].score == pytest.approx(want), \
            f"{example.name}: scored {grades[example.stem].score}, expected {want}: " \
            f"{grades[example.stem].cells}"


def test_example_scores_are_between_blank_and_reference(graded):
    """The samples are realistic: neither all zero nor all full marks, overall."""
    assignment, _, _, grades = graded
    scores = [grades[e.stem].score for e in _examples(assignment)]
    if len(scores) < 2:
        pytest.skip(f"{assignment} has fewer than two sample submissions yet")
    assert min(scores) < grades["reference"].score
    assert max(scores) > 0


def test_corrupt_sample_is_named_in_one_line():
    problem = readable_notebook(EXAMPLES / "ps1_calculus" / "erin.ipynb")
    assert problem is not None and problem.startswith("not valid JSON")


def test_calcgrad_writes_what_plain_nbgrader_writes(graded, tmp_path):
    """Same gradebook fields (scores, needs-manual-grade flags, "No response." comments,
    late penalties) and same autograded cells as plain nbgrader, on a copy of its course."""
    assignment, root, _, _ = graded
    copy = shutil.copytree(root, tmp_path / "course", symlinks=True)
    before = _gradebook_state(copy, assignment), _autograded_cells(copy, assignment)
    shutil.rmtree(copy / "autograded")
    subprocess.run([sys.executable, "-m", "calcgrad", "autograde", assignment, "--quiet",
                    "--course-dir", str(copy)], check=True, capture_output=True, cwd=copy)
    after = _gradebook_state(copy, assignment), _autograded_cells(copy, assignment)
    assert set(after[0]) == set(before[0])
    for key, plain in before[0].items():
        assert after[0][key] == plain, f"{key}: calcgrad wrote {after[0][key]}, nbgrader {plain}"
    assert after[1] == before[1]
    assert before[0][("edited", assignment)] == before[0][("reference", assignment)]

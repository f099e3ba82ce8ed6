"""Students never meet, not even in memory (DESIGN.md principle 7).

A perfect submission is graded first in a warm slot (`--jobs 1`: one warm worker,
students in name order); then the memory leech of examples/hostile/ scans its own
process memory for the solution functions the perfect one submitted. Whatever it
finds, it must score what the blank release scores.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from calcgrad import course

REPO = Path(__file__).resolve().parent.parent
HOSTILE = REPO / "examples" / "hostile"

spec = importlib.util.spec_from_file_location("corpus", HOSTILE / "corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)


def _leech_class(root: Path, assignment: str) -> Path:
    root = course.new_course(root, (assignment,))
    release = course.generate(root, assignment) / f"{assignment}.ipynb"
    source = root / "source" / assignment / f"{assignment}.ipynb"
    course.submit(root, assignment, "a_perfect", source)
    course.submit(root, assignment, "c_blank", release)
    leech = corpus.assemble(HOSTILE / assignment / "memory_leech.ipynb", source, release)
    folder = root / "leech.ipynb"
    nbformat.write(leech, folder)
    course.submit(root, assignment, "b_leech", folder)
    return root


@pytest.mark.parametrize("assignment", course.ASSIGNMENTS)
def test_a_memory_leech_after_a_perfect_submission_scores_as_the_blank(assignment, tmp_path):
    root = _leech_class(tmp_path, assignment)
    proc = subprocess.run([sys.executable, "-m", "calcgrad", "autograde", assignment,
                           "--course-dir", str(root), "--jobs", "1", "--cell-timeout", "20"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["student"]: r for r in
            csv.DictReader((root / f"calcgrad-autograde-{assignment}.csv").open())}
    grades = course.grades(root, assignment)
    assert grades["a_perfect"].score > 0, rows["a_perfect"]
    assert grades["b_leech"].score == grades["c_blank"].score, rows["b_leech"]
    # The leech did run its scan, in the warm worker that had just graded the perfect one.
    leech = nbformat.read(root / "autograded" / "b_leech" / assignment / f"{assignment}.ipynb",
                          as_version=4)
    said = "".join(o.get("text", "") for c in leech.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "functions found in memory:" in said, (rows, said[:3000])

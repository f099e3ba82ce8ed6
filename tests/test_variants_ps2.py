"""ps2 Part B with per-student variants, in-process with calcgrad's checks (no kernel):
the reference scores full marks and the blank release zero for 1,000 random ids, and one
student's answers are wrong for another student's variant."""

from __future__ import annotations

import contextlib
import functools
import io
import random

import nbformat
import pytest

from nbexec import _compile, code_cells, grade_id, source_notebook
from calcgrad import variants
from calcgrad.checks import CheckFailed
from calcgrad.course import REPO

SOURCE = source_notebook("ps2_autograd")
RELEASE = REPO / "release" / "ps2_autograd" / "ps2_autograd.ipynb"
PART_B_TESTS = ("ex8_graph_tests", "ex9_chain_tests", "ex10_forward_tests",
                "ex10_backward_tests")


def _part_b(path) -> tuple[str, list]:
    """The setup cell, and the code cells of Part B's Exercises 8 to 10 in order."""
    cells = code_cells(path)
    setup = next(c.source for c in cells if grade_id(c) == "setup")
    ids = [grade_id(c) for c in cells]
    start, end = ids.index("given_f_part_b"), ids.index("ex10_backward_tests")
    return setup, cells[start:end + 1]


@functools.lru_cache(maxsize=64)
def _compiled(src: str, filename: str):
    return _compile(src, filename)


def passed_tests(path, student: str, replace: dict | None = None) -> set[str]:
    """The Part B test cells that pass for `student`, the notebook run as that student."""
    setup, cells = _part_b(path)
    replace = replace or {}
    ns: dict = {"__name__": "__main__", "_ih": [""]}
    passed = set()
    with variants.graded_as(student), contextlib.redirect_stdout(io.StringIO()):
        for cell in [nbformat.v4.new_code_cell(setup)] + cells:
            gid = grade_id(cell)
            src = replace.get(gid, cell.source)
            ns["_ih"].append(src)
            try:
                exec(_compiled(src, f"<cell {gid}>"), ns)
            except (CheckFailed, Exception):  # noqa: BLE001 - a blank cell raises anything
                continue
            if gid in PART_B_TESTS:
                passed.add(gid)
    return passed


@pytest.fixture(scope="module")
def ids() -> list[str]:
    rng = random.Random(14)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._-@"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 20)))
            for _ in range(1000)]


def test_the_ids_cover_every_variant(ids):
    numbers = {variants.number("ps2_autograd", "part_b", sid) for sid in ids}
    assert numbers == set(range(len(variants.PS2_PART_B)))


def test_the_reference_scores_full_marks_for_1000_ids(ids):
    failed = {sid: set(PART_B_TESTS) - passed_tests(SOURCE, sid) for sid in ids}
    assert not {sid: f for sid, f in failed.items() if f}


def test_the_blank_scores_zero_for_1000_ids(ids):
    scored = {sid: passed_tests(RELEASE, sid) for sid in ids}
    assert not {sid: p for sid, p in scored.items() if p}


def _model_cells(k: int) -> dict:
    """A student's own answers to Exercises 8 to 10 for variant k (no dispatch)."""
    import sys

    sys.path.insert(0, str(REPO))
    from tools import ps2_part_b_models as models

    return {"ex8_graph_solution": models.parents_source(k),
            "ex9_chain_solution": "def df_dx_by_hand(x):" + models.MODELS[k]["df"],
            "ex10_forward_solution": "def tangents_forward(x):" + models.MODELS[k]["forward"],
            "ex10_backward_solution": "def adjoints_backward(x):" + models.MODELS[k]["backward"]}


def test_answers_for_one_variant_fail_every_other_variant():
    pool = range(len(variants.PS2_PART_B))
    owners = {}
    for i in range(200):
        owners.setdefault(variants.number("ps2_autograd", "part_b", f"s{i}"), f"s{i}")
    for k in pool:
        for j in pool:
            got = passed_tests(RELEASE, owners[j], _model_cells(k))
            assert got == (set(PART_B_TESTS) if j == k else set()), (k, j, got)

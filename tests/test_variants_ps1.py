"""ps1 with per-student variants (Exercises 5, 6, 7, 9, 10), in-process with calcgrad's checks
(no kernel): every family is sound, the reference scores full marks and the blank release zero
for 1,000 random ids, and one variant's answers fail every other variant."""

from __future__ import annotations

import contextlib
import functools
import io
import random
import sys

import matplotlib
import pytest
import torch

from nbexec import _compile, code_cells, grade_id, source_notebook
from calcgrad import ps1_functions, variants
from calcgrad.course import REPO

matplotlib.use("Agg")
SOURCE = source_notebook("ps1_calculus")
RELEASE = REPO / "release" / "ps1_calculus" / "ps1_calculus.ipynb"
EXERCISES = ("ex5", "ex6", "ex7", "ex9", "ex10")
VARIANT_TESTS = ("ex5_flat_tests", "ex6_derivative_tests", "ex6_plot_tests",
                 "ex7_gradient_tests", "ex9_chain_tests", "ex10_inverse_tests")
# The cells the variant tests need: the setup, the given functions, the exercises' answers.
NEEDED = ("setup", "given_functions", "ex5_flat_solution", "ex6_tangent_solution",
          "ex6_plot_solution", "ex7_gradient_solution", "ex9_chain_solution",
          "ex10_inverse_solution") + VARIANT_TESTS


def _cells(path) -> list:
    return [c for c in code_cells(path) if grade_id(c) in NEEDED]


@functools.lru_cache(maxsize=64)
def _compiled(src: str, filename: str):
    return _compile(src, filename)


def passed_tests(path, student: str, replace: dict | None = None,
                 skip: tuple = ()) -> set[str]:
    """The variant test cells that pass for `student`, the notebook run as that student."""
    replace = replace or {}
    ns: dict = {"__name__": "__main__", "_ih": [""]}
    passed = set()
    with variants.graded_as(student), contextlib.redirect_stdout(io.StringIO()):
        for cell in _cells(path):
            gid = grade_id(cell)
            if gid in skip:
                continue
            src = replace.get(gid, cell.source)
            ns["_ih"].append(src)
            try:
                exec(_compiled(src, f"<cell {gid}>"), ns)
            except Exception:  # noqa: BLE001 - a blank cell or a failed check raises anything
                continue
            if gid in VARIANT_TESTS:
                passed.add(gid)
    from matplotlib import pyplot as plt

    plt.close("all")
    return passed


@pytest.fixture(scope="module")
def ids() -> list[str]:
    rng = random.Random(141)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._-@"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 20)))
            for _ in range(1000)]


def test_the_ids_cover_every_variant_of_every_exercise(ids):
    for name in EXERCISES:
        numbers = {variants.number("ps1_calculus", name, sid) for sid in ids}
        assert numbers == set(range(len(ps1_functions.POOLS[("ps1_calculus", name)]))), name


# The plot cell costs a figure per run: it is checked for one owner of each variant below.
FAST = tuple(t for t in VARIANT_TESTS if t != "ex6_plot_tests")


def test_the_reference_scores_full_marks_for_1000_ids(ids):
    failed = {sid: set(FAST) - passed_tests(SOURCE, sid, skip=("ex6_plot_solution",
                                                                "ex6_plot_tests"))
              for sid in ids}
    assert not {sid: f for sid, f in failed.items() if f}


def test_the_blank_scores_zero_for_1000_ids(ids):
    scored = {sid: passed_tests(RELEASE, sid, skip=("ex6_plot_solution", "ex6_plot_tests"))
              for sid in ids}
    assert not {sid: p for sid, p in scored.items() if p}


def _owners() -> dict[int, str]:
    """An id whose variants are all k, for each k (found by search: the hash is fixed)."""
    owners: dict[int, str] = {}
    i = 0
    while len(owners) < 4:
        sid = f"s{i}"
        numbers = {variants.number("ps1_calculus", name, sid) for name in EXERCISES}
        if len(numbers) == 1:
            owners.setdefault(numbers.pop(), sid)
        i += 1
    return owners


def _own_answers(k: int) -> dict[str, str]:
    """A student's answers to Exercises 5-10 for variant k (no dispatch), as they write them."""
    sys.path.insert(0, str(REPO))
    from tools import build_ps1_examples

    return build_ps1_examples.own_answers({name: k for name in EXERCISES})


def test_answers_for_one_variant_fail_every_other_variant():
    owners = _owners()
    for k in range(4):
        answers = _own_answers(k)
        for j in range(4):
            got = passed_tests(RELEASE, owners[j], answers)
            # the plot too: its tangent comes from the df6 of another variant
            assert got == (set(VARIANT_TESTS) if j == k else set()), (k, j, got)


# Where the checks use each family: visible and hidden points.
GRID = torch.cat([torch.linspace(-3.0, -0.3, 300, dtype=torch.float64),
                  torch.linspace(0.3, 3.0, 300, dtype=torch.float64)])


def _slope(f, x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x)
    return g


@pytest.mark.parametrize("k", range(4))
def test_every_family_is_sound_where_it_is_checked(k):
    # Exercise 5: one flat point in the interval, a clear sign change of f' around it
    f5 = ps1_functions.EX5[k]
    low, high = f5.interval
    slopes = _slope(f5.function, torch.linspace(low, high, 2001, dtype=torch.float64)[1:-1])
    signs = slopes[slopes != 0]
    assert int((signs[1:] * signs[:-1] < 0).sum()) == 1
    assert 0.1 < float(slopes.abs().max()) < 100
    # Exercises 6 and 7: finite, comparable numbers (the pole of f6 is at 0, off the grid)
    for values in (_slope(ps1_functions.EX6[k].function, GRID),
                   torch.stack([_slope(ps1_functions.EX7[k].function, torch.stack([p, q]))
                                for p, q in zip(GRID[::10], GRID.flip(0)[::10])])):
        assert torch.isfinite(values).all() and float(values.abs().max()) < 500
    # Exercise 9: u depends on a and b through each of x, y and z (three paths per partial)
    ex9 = ps1_functions.EX9[k]
    a = torch.linspace(-3, 3, 50, dtype=torch.float64)
    b = torch.linspace(3, -2.5, 50, dtype=torch.float64)
    ta, tb = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    ga, gb = torch.autograd.grad(ex9.function(ta, tb).sum(), (ta, tb))
    assert torch.isfinite(ga).all() and torch.isfinite(gb).all()
    assert float(torch.cat([ga, gb]).abs().max()) < 2000
    inner = ex9.python.split("; ")[1]
    assert inner.count(",") == 2 and all(v in part for part, v in
                                         zip(inner.split(", "), "xyz"))
    for part in inner.split(", "):
        assert "a" in part.split("=")[1] and "b" in part.split("=")[1], part
    # Exercise 10: increasing, and the bisection's bracket [-(|y| + 1), |y| + 1] holds the root
    f10 = ps1_functions.EX10[k].function
    y = torch.linspace(-45, 45, 4001, dtype=torch.float64)
    assert (_slope(f10, y) > 0).all()
    assert (f10(-(y.abs() + 1)) < y).all() and (f10(y.abs() + 1) > y).all()

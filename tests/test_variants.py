"""Per-student variants (calcgrad.variants): who the student is, which variant, the pools."""

from __future__ import annotations

import getpass
import math

import pytest
import torch

from calcgrad import variants

# Where the checks evaluate the functions: both signs, away from 0 (tests use 0.3 to 6).
GRID = torch.cat([torch.linspace(-4.0, -0.3, 400, dtype=torch.float64),
                  torch.linspace(0.3, 6.0, 400, dtype=torch.float64)])


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in (variants.ID_VARIABLE, variants.ENABLED_VARIABLE, "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    variants._enabled_by_files.cache_clear()
    yield tmp_path
    variants._enabled_by_files.cache_clear()


def test_id_falls_back_from_grader_to_folder_to_hub_to_user(clean_env, monkeypatch):
    assert variants.student_id("ps2_autograd").id == getpass.getuser()
    monkeypatch.setenv("JUPYTERHUB_USER", "hubuser")
    assert variants.student_id("ps2_autograd") == variants.Identity(
        "hubuser", "your JupyterHub user")
    folder = clean_env / "course" / "autograded" / "bob" / "ps2_autograd"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    assert variants.student_id("ps2_autograd").id == "bob"
    assert variants.student_id("ps1_calculus").id == "hubuser"  # another assignment's folder
    monkeypatch.setenv(variants.ID_VARIABLE, "carol")
    assert variants.student_id("ps1_calculus").id == "carol"
    # plain nbgrader's folder beats a variable the notebook itself may have set
    assert variants.student_id("ps2_autograd").id == "bob"
    with variants.graded_as("dave"):
        assert variants.student_id("ps2_autograd").id == "dave"
    assert variants.student_id("ps2_autograd").id == "bob"


def test_the_grader_context_beats_what_the_process_environment_claims(clean_env, monkeypatch):
    monkeypatch.setenv(variants.ID_VARIABLE, "alice")
    with variants.graded_as("bob"):
        mine = variants.exercise("ps2_autograd", "part_b")
    assert mine.student.id == "bob"
    assert mine.number == variants.number("ps2_autograd", "part_b", "bob")


def test_variant_numbers_are_deterministic_and_use_the_whole_pool(clean_env):
    pool = variants.POOLS[("ps2_autograd", "part_b")]
    seen = {variants.number("ps2_autograd", "part_b", f"student{i}") for i in range(200)}
    assert seen == set(range(len(pool)))
    assert [variants.number("ps2_autograd", "part_b", "alice") for _ in range(3)] == \
        [variants.number("ps2_autograd", "part_b", "alice")] * 3
    # the samples of examples/ps2_autograd rely on alice and bob differing
    assert variants.number("ps2_autograd", "part_b", "alice") != \
        variants.number("ps2_autograd", "part_b", "bob")


def test_the_course_setting_turns_variants_off_for_everyone(clean_env, monkeypatch):
    course = clean_env / "course"
    folder = course / "autograded" / "alice" / "ps2_autograd"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    assert variants.number("ps2_autograd", "part_b") == 1  # alice's variant
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CalcgradVariants.enabled = False\n")
    variants._enabled_by_files.cache_clear()
    assert not variants.enabled()
    assert variants.number("ps2_autograd", "part_b") == 0
    monkeypatch.setenv(variants.ENABLED_VARIABLE, "1")  # the grader's word for the sandbox
    assert variants.number("ps2_autograd", "part_b") == 1
    with variants.graded_as("alice", enabled=False):
        assert variants.exercise("ps2_autograd", "part_b").number == 0


def test_enabled_in_reads_a_loaded_config():
    from traitlets.config import Config

    assert variants.enabled_in(Config())
    off = Config()
    off.CalcgradVariants.enabled = False
    assert not variants.enabled_in(off)


def _paths(parents: dict, node: str = "f") -> int:
    return 1 if node == "x" else sum(_paths(parents, up) for up in parents[node])


def _derivative(family, x):
    x = x.detach().clone().requires_grad_(True)
    family.f(x).sum().backward()
    return x.grad


@pytest.mark.parametrize("index", range(len(variants.PS2_PART_B)))
def test_each_ps2_family_is_sound(index):
    family = variants.PS2_PART_B[index]
    nodes = family.nodes(GRID)
    assert list(nodes) == ["x", "a", "b", "c", "d", "e", "f"]
    assert sorted(family.parents) == ["a", "b", "c", "d", "e", "f"]
    assert _paths(family.parents) == 3, "every family has three chain-rule paths from x to f"
    for name, value in nodes.items():
        assert torch.isfinite(value).all(), f"node {name} is not finite on the grid"
        assert value.abs().max() < 100, f"node {name} is too large"
    # the Python formula the notebook shows is the function the checks use
    assert torch.allclose(eval(family.python, {"torch": torch, "x": GRID}), nodes["f"])
    slope = _derivative(family, GRID)
    assert torch.isfinite(slope).all()
    rms = math.sqrt(float((slope**2).mean()))
    assert 0.1 < rms < 10, f"family {index}: the derivative's size {rms} is out of line"


def test_families_differ_in_structure():
    pool = variants.PS2_PART_B
    graphs = {tuple(sorted((k, tuple(sorted(v))) for k, v in fam.parents.items()))
              for fam in pool}
    assert len(graphs) == len(pool), "two families have the same dependency graph"
    values = [fam.f(GRID) for fam in pool]
    for i in range(len(pool)):
        for j in range(i):
            assert not torch.allclose(values[i], values[j])


# ---------------------------------------------------------------------------------------
# The trusted side: expected values for the gradebook's id, whatever the submission claims
# ---------------------------------------------------------------------------------------

VARIANT_CELL = '''
from calcgrad import variants
mine = variants.exercise("ps2_autograd", "part_b")
x = torch.tensor([0.5, 1.25, 2.0, 3.0], dtype=torch.float64)
checks.close("your f at x", student=lambda: your_f(x), expected=lambda: mine.f(x), rtol=1e-12)
'''


def _record(value) -> dict:
    from calcgrad.plain import encode

    return {"name": "your f at x", "value": encode(value)}


def _judge(student: str, value, memos: dict) -> bool:
    from calcgrad.grading import trusted

    with variants.graded_as(student):
        key = variants.signature("ps2_autograd", student)
        replay = trusted.NotebookReplay(memos.setdefault(key, {}))
        cell = replay.judge(VARIANT_CELL, [_record(value)], True, "variant cell")
    return all(o.passed for o in cell.outcomes) and bool(cell.outcomes)


def test_a_copy_of_a_friends_answer_is_judged_on_your_own_variant(clean_env, monkeypatch):
    x = torch.tensor([0.5, 1.25, 2.0, 3.0], dtype=torch.float64)
    pool = variants.PS2_PART_B
    alice_f = pool[variants.number("ps2_autograd", "part_b", "alice")].f(x)
    bob_f = pool[variants.number("ps2_autograd", "part_b", "bob")].f(x)
    # bob's notebook claims to be alice: the sandbox computed alice's function ...
    monkeypatch.setenv(variants.ID_VARIABLE, "alice")
    memos: dict = {}
    assert _judge("alice", alice_f, memos)  # alice first: her expected values are memoised
    assert not _judge("bob", alice_f, memos), "bob's copy of alice's answer must fail"
    assert _judge("bob", bob_f, memos)
    assert _judge("alice", alice_f, memos)
    assert len(memos) == 2, "one memo per variant"


def test_the_sandbox_gets_the_gradebook_id_from_the_job(clean_env, monkeypatch):
    from calcgrad.grading import runner

    for name in ("HOME", "IPYTHONDIR", "MPLCONFIGDIR", variants.ID_VARIABLE,
                 variants.ENABLED_VARIABLE):
        monkeypatch.setenv(name, "before")
    runner.enter_workspace({"variants": {"student": "bob", "enabled": True}},
                           str(clean_env / "job"))
    assert variants.student_id("ps2_autograd") == variants.Identity("bob", "set by the grader")
    assert variants.enabled()
    runner.enter_workspace({"variants": {"student": "carol", "enabled": False}},
                           str(clean_env / "job2"))
    assert variants.student_id().id == "carol" and not variants.enabled()

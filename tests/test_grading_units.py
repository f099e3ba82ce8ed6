"""The grading engine's parts, without a class: split, trusted verdicts, outputs, files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from calcgrad.grading import outputs, split, trusted
from calcgrad.grading.submission import Unreadable, find_notebooks, read_notebook, \
    read_timestamp
from calcgrad.plain import encode

CELL = '''# checks f
x = checks.points(seed=1, n=4)
want = 3 * x**2
checks.close("f(x)", student=lambda: f(x), expected=lambda: want,
             wrong={"you returned x**3": lambda: x**3})
### BEGIN HIDDEN TESTS
for n in (2, 3):
    checks.close(f"g(x, {n})", lambda: g(x, n), lambda: n * x)
checks.holds("h", student=lambda: h(), predicate=lambda got: got > 0, message="positive")
### END HIDDEN TESTS
'''


def test_split_removes_every_trusted_half():
    stripped = split.strip_trusted(CELL)
    assert "3 * x" not in stripped and "want" not in stripped
    assert "x**3" not in stripped and "n * x" not in stripped and "got > 0" not in stripped
    assert "lambda: f(x)" in stripped and "lambda: g(x, n)" in stripped
    assert stripped.count("None") == 4
    assert split.check_calls(CELL) == 3 and split.uses_checks(CELL)
    assert not split.uses_checks("assert f(1) == 2")


def test_split_keeps_names_the_student_half_needs():
    src = "x = 2\nscale = 3\nchecks.equal('f', student=lambda: f(x * scale), expected=x)"
    assert "scale = 3" in split.strip_trusted(src)


def record(name, value):
    return {"name": name, "value": encode(value)}


def ns():
    return trusted.namespace()


def test_trusted_replay_passes_and_fails_like_the_kernel():
    import torch

    x = torch.arange(3.0)
    src = ("x = torch.arange(3.0)\n"
           "checks.close('a', student=lambda: f(x), expected=lambda: 2 * x)\n"
           "checks.close('b', student=lambda: f(x), expected=lambda: 3 * x)\n")
    ok = trusted.judge_cell(src, [record("a", 2 * x), record("b", 3 * x)], True, ns())
    assert [o.output_type for o in ok.outputs] == ["stream"]
    assert ok.outputs[0].text == "\u2714 a\n\u2714 b\n" and not ok.problems
    bad = trusted.judge_cell(src, [record("a", 2 * x), record("b", -3 * x)], True, ns())
    assert bad.outputs[-1].output_type == "error" and bad.outputs[-1].ename == "CheckFailed"
    assert "opposite sign" in bad.outputs[-1].evalue


def test_trusted_replay_never_trusts_the_record():
    src = "checks.equal('a', student=lambda: f(), expected=1)\n"
    renamed = trusted.judge_cell(src, [record("not a", 1)], True, ns())
    assert renamed.outputs[-1].ename == "CheckFailed" and renamed.problems
    garbage = trusted.judge_cell(src, [{"name": "a", "value": {"kind": "pickle"}}], True, ns())
    assert garbage.outputs[-1].ename == "CheckFailed" and garbage.problems
    missing = trusted.judge_cell(src, [], False, ns())
    assert "stopped before" in missing.outputs[-1].evalue
    extra = trusted.judge_cell(src, [record("a", 1), record("a", 1)], True, ns())
    assert extra.problems


def test_expected_values_are_worked_out_once_per_assignment():
    """The second student's replay takes the checks' expected values from the memo."""
    import torch

    calls = []
    src = ("x = torch.arange(3.0)\n"
           "checks.close('a', student=lambda: f(x), expected=lambda: calls.append(1) or 2 * x)\n")
    memo: dict = {}
    for _ in range(3):
        replay = trusted.NotebookReplay(memo)
        replay.ns["calls"] = calls
        cell = replay.judge(src, [record("a", 2 * torch.arange(3.0))], True, "test cell a")
        assert cell.outputs[0].text == "\u2714 a\n"
    assert len(calls) == 1


def test_after_a_test_cell_stops_expected_values_come_from_this_students_namespace():
    """Cell one defines y after its check; a student failing that check never gets y, so
    cell two cannot pass for them (in their kernel: a NameError), memo or not."""
    import torch

    one = ("checks.close('a', student=lambda: f(1.0), expected=1.0)\n"
           "y = torch.ones(2)\n")
    two = "checks.close('b', student=lambda: g(), expected=lambda: 2 * y)\n"
    memo: dict = {}
    good = trusted.NotebookReplay(memo)
    good.judge(one, [record("a", 1.0)], True, "test cell one")
    assert good.judge(two, [record("b", 2 * torch.ones(2))], True, "test cell two") \
        .outputs[0].text == "\u2714 b\n"
    failing = trusted.NotebookReplay(memo)
    assert failing.judge(one, [record("a", 5.0)], True, "test cell one") \
        .outputs[-1].ename == "CheckFailed"
    after = failing.judge(two, [record("b", 2 * torch.ones(2))], True, "test cell two")
    assert not after.outcomes and "'y'" in after.fallback


def test_trusted_side_falls_back_when_a_cell_needs_student_code():
    cell = trusted.judge_cell("assert f(1) == 2\ncheckx = 1", [], True, ns())
    assert cell.fallback


def test_outputs_from_the_sandbox_are_rebuilt_safely():
    assert outputs.clean_output({"output_type": "stream", "name": "stdin", "text": "x"}) is None
    assert outputs.clean_output({"output_type": "error", "ename": 1}) is None
    assert outputs.clean_output("text") is None
    rich = outputs.clean_output({"output_type": "display_data", "data": {
        "text/html": "<script>alert(1)</script>", "text/plain": "fig",
        "image/svg+xml": "<svg onload='alert(1)'/>"}})
    assert set(rich.data) == {"text/plain"}
    nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x", outputs=[rich, outputs.error("CheckFailed", "no")])]))


def test_submissions_are_read_without_trust(tmp_path):
    (tmp_path / "real.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    os.symlink(tmp_path / "real.ipynb", tmp_path / "link.ipynb")
    (tmp_path / "list.ipynb").write_text(json.dumps([1, 2]))
    (tmp_path / "bad.ipynb").write_text("{")
    assert read_notebook(tmp_path / "real.ipynb").nbformat == 4
    for name, why in [("link", "symbolic link"), ("list", "not a Jupyter"), ("bad", "JSON")]:
        with pytest.raises(Unreadable, match=why):
            read_notebook(tmp_path / f"{name}.ipynb")
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    assert read_timestamp(tmp_path)[0] is None and "ignored" in read_timestamp(tmp_path)[1]


def test_a_lone_renamed_notebook_stands_in(tmp_path):
    (tmp_path / "mine.ipynb").write_text("{}")
    found = find_notebooks(tmp_path, ["ps1"])
    assert found["ps1"].path.name == "mine.ipynb" and "renamed" in found["ps1"].note
    (tmp_path / "other.ipynb").write_text("{}")
    assert find_notebooks(tmp_path, ["ps1"])["ps1"].path is None


def test_a_cell_that_needs_student_code_outside_student_halves_is_found():
    known = {"math", "np", "torch", "checks"}
    assert split.outside_names(CELL, known) == []
    mixed = "assert f(1) == 2\nchecks.equal('f', student=lambda: f(5), expected=10)"
    assert split.outside_names(mixed, known) == ["f"]
    helper = "def ref(t):\n    return 2 * t\nchecks.close('g', lambda: g(1.0), lambda: ref(1.0))"
    assert split.outside_names(helper, known) == []
    assert split.outside_names("checks.close('g', lambda: g(1), lambda: ref(1))", known) == \
        ["ref"]
    assert split.outside_names("checks.close('g', lambda: g(1), lambda: ref(1))",
                               known | split.bound_names(helper)) == []


def test_an_environment_under_tmp_is_bound_on_top_of_the_scratch_folder(monkeypatch):
    """CI clones the course under /tmp: the scratch tmpfs must not hide the venv there."""
    from calcgrad.grading import sandbox as sb

    monkeypatch.setattr(sb, "_python_roots", lambda: [Path("/tmp/ci/clone/.venv")])
    monkeypatch.setattr(sb, "_calcgrad_dir", lambda: Path("/tmp/ci/clone/calcgrad"))
    box = sb.Sandbox(enabled=True, bwrap="/usr/bin/bwrap")
    argv = box.command(1 << 20)
    scratch = argv.index("--tmpfs")
    assert argv[scratch + 1] == sb.SCRATCH
    binds = [i for i, a in enumerate(argv) if a == "--ro-bind" and argv[i + 1].startswith("/tmp/")]
    assert {argv[i + 1] for i in binds} == {"/tmp/ci/clone/.venv", "/tmp/ci/clone/calcgrad"}
    assert all(i > scratch for i in binds), "the scratch tmpfs would hide the environment"


def test_the_warm_worker_wipe_spares_the_environment(monkeypatch):
    from calcgrad.grading import worker

    monkeypatch.setattr(worker.sys, "prefix", "/tmp/ci/clone/.venv")
    assert worker._holds_environment("/tmp/ci")
    assert worker._holds_environment("/tmp/ci/clone/.venv")
    assert not worker._holds_environment("/tmp/job-3")
    assert not worker._holds_environment("/tmp/c")  # a prefix of a name is not a parent


def test_the_warm_worker_never_wipes_the_machines_own_tmp(tmp_path, monkeypatch):
    """Outside bwrap, /tmp is the machine's: the wipe between children must do nothing."""
    import tempfile

    from calcgrad.grading import worker
    from calcgrad.grading.sandbox import SANDBOXED

    monkeypatch.delenv(SANDBOXED, raising=False)
    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="calcgrad-wipe-") as kept:
        worker._wipe_scratch()
        assert Path(kept.name).exists()


def test_the_sandbox_marks_itself_for_the_wipe():
    from calcgrad.grading import sandbox as sb

    argv = sb.Sandbox(enabled=True).command(16 * 1024 * 1024)
    at = [i for i, a in enumerate(argv) if a == "--setenv" and argv[i + 1] == sb.SANDBOXED]
    assert at and argv[at[0] + 2] == "1"


def test_the_warm_up_stand_in_runs_clean(tmp_path):
    """Every cell of the stand-in warm-up runs without an error (a failing one would leave
    torch's first-use costs to every child, silently)."""
    import subprocess
    import sys

    from calcgrad.grading.autograde import WARMUP_STANDIN

    script = (
        "import json, sys\n"
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "for source in json.load(sys.stdin):\n"
        "    result = shell.run_cell(source)\n"
        "    if not result.success:\n"
        "        sys.exit(f'failed: {source[:60]!r}: {result.error_in_exec!r}')\n")
    proc = subprocess.run([sys.executable, "-c", script], input=json.dumps(WARMUP_STANDIN),
                          capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "MPLCONFIGDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]

"""The files next to a submission (calcgrad.grading.submission_files): what is gathered, what
goes into the sandbox, what comes back, and what reaches autograded/, with hostile input."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from calcgrad.grading import submission_files as sf


def _course(root: Path, ignore=None):
    from nbgrader.coursedir import CourseDirectory

    config = Config()
    config.CourseDirectory.root = str(root)
    if ignore is not None:
        config.CourseDirectory.ignore = ignore
    cd = CourseDirectory(config=config)
    db = root / "gradebook.db"
    return SimpleNamespace(root=root, coursedir=cd, config=config, db_path=lambda: db)


def _write(path: Path, data: bytes | str = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_gather_takes_submitted_then_released_files_and_nothing_else(tmp_path):
    root = tmp_path / "course"
    sub = root / "submitted" / "ann" / "ps1"
    _write(sub / "ps1.ipynb", "{}")
    _write(sub / "timestamp.txt", "2024-01-01 10:00:00 Europe/Berlin")
    _write(sub / "helper.py", "def f(): return 1\n")
    _write(sub / "data.csv", "mine")
    _write(sub / "sub" / "deep.txt", "deep")
    _write(sub / "junk.pyc", "ignored by CourseDirectory.ignore")
    (sub / "link.txt").symlink_to(root / "gradebook.db")
    _write(root / "gradebook.db", "SECRET GRADEBOOK")
    src = root / "source" / "ps1"
    _write(src / "ps1.ipynb", "{\"hidden\": \"tests\"}")
    _write(src / "data.csv", "released")
    _write(src / "instructor-only.txt", "kept out of the release")
    _write(root / "release" / "ps1" / "data.csv", "released")
    _write(root / "release" / "ps1" / "ps1.ipynb", "{}")
    inputs = sf.gather(_course(root), "ps1", sub)
    assert inputs.files == {
        "instructor-only.txt": b"kept out of the release",  # autograded/ only, as nbgrader
        "data.csv": b"released",  # source/ over the student's copy, as nbgrader does
        "helper.py": b"def f(): return 1\n",
        "sub/deep.txt": b"deep",
        "timestamp.txt": b"2024-01-01 10:00:00 Europe/Berlin",
    }
    assert any("link.txt" in note and "symbolic link" in note for note in inputs.notes)
    shipped = {item["path"]: base64.b64decode(item["data"]) for item in inputs.for_sandbox()}
    # The sandbox: the student's files and the release, never source/ nor the records.
    assert shipped == {"data.csv": b"released", "helper.py": b"def f(): return 1\n",
                       "sub/deep.txt": b"deep"}


def test_gather_never_reads_the_gradebook_or_a_linked_folder(tmp_path):
    root = tmp_path / "course"
    sub = root / "submitted" / "ann" / "ps1"
    sub.mkdir(parents=True)
    (sub / "course").symlink_to(root, target_is_directory=True)
    course = _course(root)
    # The gradebook inside the submission folder (a careless configuration) stays out.
    course.db_path = lambda: sub / "gradebook.db"
    _write(sub / "gradebook.db", "SECRET")
    inputs = sf.gather(course, "ps1", sub)
    assert inputs.files == {}
    linked = tmp_path / "elsewhere"
    linked.mkdir()
    _write(linked / "a.txt", "a")
    (root / "submitted" / "bob").mkdir(parents=True)
    (root / "submitted" / "bob" / "ps1").symlink_to(linked, target_is_directory=True)
    assert sf.gather(course, "ps1", root / "submitted" / "bob" / "ps1").files == {}


def test_gather_caps_count_and_size(tmp_path, monkeypatch):
    root = tmp_path / "course"
    sub = root / "submitted" / "ann" / "ps1"
    for i in range(5):
        _write(sub / f"f{i}.txt", b"0123456789")
    monkeypatch.setattr(sf, "MAX_FILES", 3)
    inputs = sf.gather(_course(root), "ps1", sub)
    assert len(inputs.files) == 3 and any("more than 3 files" in n for n in inputs.notes)
    monkeypatch.setattr(sf, "MAX_FILES", 100)
    monkeypatch.setattr(sf, "MAX_TOTAL_BYTES", 25)
    inputs = sf.gather(_course(root), "ps1", sub)
    assert sum(map(len, inputs.files.values())) <= 25 and len(inputs.files) == 2


def test_place_and_collect_in_a_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = {"files": [{"path": "data/x.csv", "data": base64.b64encode(b"1,2").decode()},
                     {"path": "../escape.txt", "data": base64.b64encode(b"no").decode()},
                     {"path": "/etc/passwd", "data": base64.b64encode(b"no").decode()}]}
    placed = sf.place(job)
    assert set(placed) == {"data/x.csv"} and not (tmp_path.parent / "escape.txt").exists()
    _write(tmp_path / "side-effect.txt", "written by the notebook")
    _write(tmp_path / "nb.ipynb", "{}")
    (tmp_path / "link").symlink_to("/etc/hostname")
    kept = {f["path"]: base64.b64decode(f["data"]) for f in sf.collect(placed, {"nb.ipynb"})}
    assert kept == {"side-effect.txt": b"written by the notebook"}


@pytest.mark.parametrize("path", ["../x", "/abs", "a/../../b", "p1.ipynb", "timestamp.txt",
                                  "", "a\x00b"])
def test_produced_refuses_bad_names(path):
    notes: list[str] = []
    raw = [{"path": path, "data": base64.b64encode(b"x").decode()}]
    assert sf.produced(raw, notes) == {} and notes


def test_produced_caps_bytes_and_ignores_garbage(monkeypatch):
    monkeypatch.setattr(sf, "MAX_KEPT_BYTES", 4)
    notes: list[str] = []
    raw = [{"path": "a", "data": base64.b64encode(b"abc").decode()},
           {"path": "b", "data": base64.b64encode(b"de").decode()}, "junk", {"path": 3}]
    assert sf.produced(raw, notes) == {"a": b"abc"}
    assert sf.produced({"not": "a list"}, notes) == {}


def test_write_autograded_does_not_follow_links(tmp_path):
    dest = tmp_path / "autograded" / "ann" / "ps1"
    dest.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "out").symlink_to(outside, target_is_directory=True)
    (dest / "file-link").symlink_to(outside / "target.txt")
    notes: list[str] = []
    sf.write_autograded(dest, {"out/evil.txt": b"x", "file-link": b"y", "ok/fine.txt": b"z"},
                        notes)
    assert list(outside.iterdir()) == []
    assert (dest / "ok" / "fine.txt").read_bytes() == b"z"
    assert len(notes) == 2


def test_permissions_follow_nbgrader(tmp_path):
    root = tmp_path / "course"
    dest = root / "autograded" / "ann" / "ps1"
    _write(dest / "a.txt")
    _write(dest / "d" / "b.txt")
    course = _course(root)
    sf.apply_permissions(dest, course)
    assert oct(os.stat(dest / "d" / "b.txt").st_mode & 0o7777) == "0o444"
    course.config.CourseDirectory.groupshared = True
    from nbgrader.coursedir import CourseDirectory

    course.coursedir = CourseDirectory(config=course.config)
    sf.apply_permissions(dest, course)
    assert oct(os.stat(dest / "a.txt").st_mode & 0o7777) == "0o664"
    assert os.stat(dest).st_mode & 0o2770 == 0o2770
    course.config.Autograde.permissions = 640
    sf.apply_permissions(dest, course)
    assert oct(os.stat(dest / "a.txt").st_mode & 0o7777) == "0o640"


def test_prune_keeps_what_this_run_wrote_and_never_follows_links(tmp_path):
    dest = tmp_path / "autograded" / "ann" / "ps1"
    outside = tmp_path / "outside"
    _write(outside / "precious.txt", "keep me")
    _write(dest / "p1.ipynb", "{}")
    _write(dest / "data.csv", "this run")
    _write(dest / "old" / "side-effect.txt", "an earlier run")
    (dest / "linked").symlink_to(outside, target_is_directory=True)
    removed = sf.prune(dest, {"p1.ipynb", "data.csv"})
    assert sorted(removed) == ["linked", "old/side-effect.txt"]
    assert sorted(p.name for p in dest.iterdir()) == ["data.csv", "p1.ipynb"]
    assert (outside / "precious.txt").read_text() == "keep me"


# -- in the real sandbox: cold (one bwrap per notebook) and warm (a child forked per notebook)

@pytest.fixture(scope="module")
def sandbox():
    from calcgrad.grading.sandbox import Sandbox, SandboxUnavailable

    box = Sandbox()
    try:
        box.check()
    except SandboxUnavailable as exc:
        pytest.skip(f"no sandbox here: {exc}")
    return box


FILES_JOB = [
    "print(open('data.csv').read())",
    "import sys\nsys.path.insert(0, 'pkg')\nimport helper\nprint(helper.X + 1)",
    "import os\nopen('side-effect.txt', 'w').write('made here')\n"
    "os.makedirs('out', exist_ok=True)\nopen('out/table.csv', 'w').write('a,b')\n"
    "os.symlink('/etc/hostname', 'link')\nopen('data.csv', 'a').write(',4')",
]


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_files_reach_the_notebook_and_what_it_writes_comes_back(sandbox, warm):
    from calcgrad.grading import pool, supervise
    from calcgrad.grading.limits import Limits

    inputs = sf.Inputs(sandbox={"data.csv": b"1,2,3", "pkg/helper.py": b"X = 41\n",
                                "timestamp.txt": b"never shipped"})
    job = {"cells": [{"index": i, "source": s} for i, s in enumerate(FILES_JOB)],
           "notebook_name": "nb.ipynb", "notebook_text": "{}", "files": inputs.for_sandbox()}
    if warm:
        worker = pool.WarmWorker(sandbox, Limits(), slot=0, warmup_cells=[])
        worker.start()
        try:
            run = worker.run(job)
        finally:
            worker.close()
    else:
        run = supervise.run_job(job, Limits(), sandbox)
    assert run.ended, run.detail
    text = ["".join(o.get("text", "") for o in run.cells[i].outputs) for i in range(3)]
    assert text[0].strip() == "1,2,3" and text[1].strip() == "42"
    notes: list[str] = []
    # Written and changed files come back; the link, the notebook and unchanged files do not.
    assert sf.produced(run.files, notes) == {"side-effect.txt": b"made here",
                                             "out/table.csv": b"a,b", "data.csv": b"1,2,3,4"}
    assert notes == []

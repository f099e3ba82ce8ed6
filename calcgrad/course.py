"""Throwaway nbgrader course folders, for the tests and `make demo`.

Everything here works on a copy of the course (`nbgrader_config.py` and
`source/`) in a folder of its own, so the repository's own gradebook,
`release/` and `submitted/` are never touched.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("ps1_calculus", "ps2_autograd")


class NbgraderFailed(RuntimeError):
    """An nbgrader command exited non-zero; the message holds its log."""


PLAIN = "CALCGRAD_PLAIN_NBGRADER"  # nbgrader_config.py: nbgrader's own unsandboxed Execute


def _env(plain: bool = True) -> dict:
    env = dict(os.environ)
    # nbgrader runs `alembic` by name when it creates a gradebook.
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    env.pop(PLAIN, None)
    if plain:
        env[PLAIN] = "1"
    return env


def nbgrader(course: Path, *args: str, check: bool = True,
             plain: bool = True) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in a course folder (its config file makes it the root).
    `plain`: nbgrader's own `autograde`, the baseline the tests compare calcgrad with; False
    runs it as the course configures it (in calcgrad's sandbox)."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          env=_env(plain), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise NbgraderFailed(f"nbgrader {' '.join(args)} failed in {course}:\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def new_course(folder: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> Path:
    """A course folder with a copy of the config and the given assignments' sources."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    for name in assignments:
        shutil.copytree(REPO / "source" / name, folder / "source" / name, dirs_exist_ok=True)
    return folder


# Generations already made in this process, by what they were made from (see `generate`).
_GENERATED: dict[str, Path] = {}


def _inputs_digest(course: Path, assignment: str) -> str:
    """What a generation depends on: the course's config and the assignment's source files."""
    digest = hashlib.sha256((course / "nbgrader_config.py").read_bytes())
    digest.update(assignment.encode())
    for path in sorted((course / "source" / assignment).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(course)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def generate(course: Path, assignment: str) -> Path:
    """`nbgrader generate_assignment`; returns the release folder.

    In a fresh course folder (no gradebook yet), a generation this process already made from
    the same config and source is copied (its gradebook and release folder) instead of being
    made again: nbgrader takes seconds for what would be the same files."""
    course = Path(course)
    release = course / "release" / assignment
    fresh = not (course / "gradebook.db").exists() and not release.exists()
    key = _inputs_digest(course, assignment) if fresh else ""
    made = _GENERATED.get(key)
    if made is not None:
        shutil.copy(made / "gradebook.db", course / "gradebook.db")
        shutil.copytree(made / "release" / assignment, release)
        return release
    nbgrader(course, "generate_assignment", assignment, "--force")
    if fresh and (course / "gradebook.db").exists():  # not with a db_url of its own
        keep = Path(tempfile.mkdtemp(prefix="calcgrad-generated-"))
        atexit.register(shutil.rmtree, keep, True)
        shutil.copy(course / "gradebook.db", keep / "gradebook.db")
        shutil.copytree(release, keep / "release" / assignment)
        _GENERATED[key] = keep
    return release


def submit(course: Path, assignment: str, student: str, notebook: Path,
           name: str | None = None, timestamp: str = "2026-11-01 12:00:00 UTC") -> Path:
    """Place a notebook where `nbgrader autograde` looks for it."""
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or f"{assignment}.ipynb")
    shutil.copy(notebook, target)
    (folder / "timestamp.txt").write_text(timestamp)
    return target


@dataclass
class Grade:
    student: str
    score: float
    max_score: float
    cells: dict[str, float] = field(default_factory=dict)


def grades(course: Path, assignment: str) -> dict[str, Grade]:
    """Scores per student and per graded cell, read from the course's gradebook."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"
    out: dict[str, Grade] = {}
    with Gradebook(url) as gb:
        for sub in gb.assignment_submissions(assignment):
            grade = Grade(sub.student_id, sub.score, sub.max_score)
            for nb in sub.notebooks:
                for g in nb.grades:
                    grade.cells[g.name] = g.score
            out[sub.student_id] = grade
    return out


def graded_cells(notebook: Path) -> dict[str, float]:
    """The grade ids and points of a source notebook's graded cells."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cells[meta["grade_id"]] = float(meta.get("points", 0))
    return cells

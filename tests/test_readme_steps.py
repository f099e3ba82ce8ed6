"""The README's instructor steps, run as written, on a fresh copy of the course.

The copy holds what a clone holds (nbgrader_config.py, source/, the committed release/).
The commands are read from the README's first bash block under "## For instructors" and run
one by one in the course folder, unchanged. The only help they get is what a course's
machine provides: nbgrader's exchange folder, named in a Jupyter configuration folder
(JUPYTER_CONFIG_DIR), and two students who fetch and submit between `release_assignment`
and `collect`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import browser_support as student_work
from calcgrad import course

COURSE_ID = "calculus-autograd"


def readme_commands() -> list[list[str]]:
    text = (course.REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## For instructors", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no bash block in the README's instructor section"
    return [shlex.split(line, comments=True) for line in block[1].splitlines()
            if shlex.split(line, comments=True)]


def test_the_readme_names_an_assignment_of_the_course():
    commands = readme_commands()
    assert commands[0][:2] == ["nbgrader", "generate_assignment"]
    assert commands[0][2] in course.ASSIGNMENTS


@pytest.fixture(scope="module")
def followed(tmp_path_factory):
    base = tmp_path_factory.mktemp("readme")
    root = base / "course"
    root.mkdir()
    shutil.copy(course.REPO / "nbgrader_config.py", root)
    shutil.copytree(course.REPO / "source", root / "source")
    shutil.copytree(course.REPO / "release", root / "release")
    exchange = base / "exchange"
    exchange.mkdir()
    jupyter_config = base / "jupyter-config"
    jupyter_config.mkdir()
    (jupyter_config / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(jupyter_config),
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    env.pop("MPLBACKEND", None)

    def run(argv: list[str], cwd: Path = root) -> subprocess.CompletedProcess:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, (f"`{shlex.join(argv)}` failed ({proc.returncode}):\n"
                                      f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        return proc

    commands = readme_commands()
    assignment = commands[0][2]
    said = {}
    for argv in commands:
        said[shlex.join(argv)] = run(argv)
        if argv[:2] == ["nbgrader", "release_assignment"]:
            for student in ("ada", "ben"):
                home = base / "students" / student
                home.mkdir(parents=True)
                as_student = [f"--course={COURSE_ID}", f"--Exchange.cache={home / '.cache'}",
                              f"--CourseDirectory.student_id={student}"]
                run(["nbgrader", "fetch_assignment", assignment, *as_student], cwd=home)
                fetched = home / assignment / f"{assignment}.ipynb"
                if student == "ada":
                    nbformat.write(student_work.completed_notebook(fetched, assignment), fetched)
                run(["nbgrader", "submit", assignment, *as_student], cwd=home)
    return root, assignment, said


def test_generate_put_the_assignment_in_the_gradebook(followed):
    root, assignment, said = followed
    generate = next(text for command, text in said.items() if "generate_assignment" in command)
    assert "Skipping existing assignment" not in generate.stdout + generate.stderr
    assert (root / "gradebook.db").exists()


def test_every_student_is_graded_and_gets_feedback(followed):
    root, assignment, _ = followed
    grades = course.grades(root, assignment)
    assert set(grades) == {"ada", "ben"}
    assert grades["ada"].score > grades["ben"].score == 0
    for student in grades:
        assert (root / "feedback" / student / assignment / f"{assignment}.html").is_file()


def test_the_report_and_the_export_are_written(followed):
    root, assignment, _ = followed
    assert (root / "reports" / assignment / "index.html").is_file()
    exported = (root / "grades.csv").read_text()
    assert "ada" in exported and "ben" in exported


def test_release_is_unchanged_by_the_steps(followed):
    root, assignment, _ = followed
    for path in (course.REPO / "release" / assignment).rglob("*"):
        if path.is_file():
            copy = root / "release" / assignment / path.relative_to(
                course.REPO / "release" / assignment)
            assert copy.read_bytes() == path.read_bytes(), path.name

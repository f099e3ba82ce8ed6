"""Assemble the hostile submissions of examples/hostile/ into a course's submitted/ folder.

Each attack is a small notebook, examples/hostile/<assignment>/<id>.ipynb, whose
code cells are the attack. Its metadata says how it becomes a submission:
  base        "blank" (the release: every answer wrong) or "reference" (the solutions);
  where       where the attack cells go: "after_setup" or "after_first_test";
  solutions   a template that replaces every solution function (`{def}` is the
              stub's `def` line), to submit the same wrong answer everywhere;
  tests       "delete" or "edit": what happens to the test cells.
expected.json (next to this file) says, per assignment and id, what the attack
tries, what holds it, and the status and score `calcgrad autograde` must give
("reference" means: the same score as the reference solution in the batch).
Files that are not assembled (corrupt or non-notebook JSON) are submitted as
they are; `name`, `extra_files` and `symlink` in expected.json cover renamed
notebooks, files next to the notebook, and a notebook or a whole submission
folder that is a symbolic link.

Built from the current source/ and release/ at test time, so the corpus keeps
working while exercises are added.
"""

from __future__ import annotations

import ast
import errno
import http.server
import json
import shutil
import threading
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ANSWERS_PORT = 47613  # the network attack asks this port on the host's loopback for answers


def expected() -> dict:
    return json.loads((HERE / "expected.json").read_text())


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_test(cell) -> bool:
    m = _meta(cell)
    return cell.cell_type == "code" and m.get("grade") and not m.get("solution")


def _is_solution_code(cell) -> bool:
    return cell.cell_type == "code" and _meta(cell).get("solution")


def _def_lines(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    return [lines[n.lineno - 1] for n in tree.body if isinstance(n, ast.FunctionDef)]


def assemble(attack: Path, source_nb: Path, release_nb: Path):
    """The submission an attack notebook describes, as a notebook node."""
    spec = nbformat.read(attack, as_version=4)
    how = spec.metadata.get("calcgrad_hostile", {})
    base = nbformat.read(source_nb if how.get("base") == "reference" else release_nb,
                         as_version=4)
    template = how.get("solutions")
    if template:
        for cell in base.cells:
            if _is_solution_code(cell):
                defs = _def_lines(cell.source)
                if defs:
                    cell.source = "\n\n".join(template.replace("{def}", d) for d in defs)
    tests = how.get("tests")
    if tests == "delete":
        base.cells = [c for c in base.cells if not _is_test(c)]
    elif tests == "edit":
        for cell in base.cells:
            if _is_test(cell):
                cell.source = "# the test is gone\npass"
    attack_cells = [c for c in spec.cells if c.cell_type == "code"]
    where = how.get("where", "after_setup")
    at = 0
    for i, cell in enumerate(base.cells):
        if where == "after_setup" and cell.cell_type == "code":
            at = i + 1
            break
        if where == "after_first_test" and _is_test(cell):
            at = i + 1
            break
    base.cells[at:at] = [nbformat.v4.new_code_cell(c.source) for c in attack_cells]
    return base


def submit_all(course: Path, assignment: str, timestamp: str = "2026-11-01 12:00:00 UTC") -> dict:
    """Put every hostile submission of an assignment into course/submitted/h_<id>/."""
    course = Path(course)
    source_nb = course / "source" / assignment / f"{assignment}.ipynb"
    release_nb = course / "release" / assignment / f"{assignment}.ipynb"
    cases = expected()[assignment]
    for case_id, case in cases.items():
        folder = course / "submitted" / f"h_{case_id}" / assignment
        if case.get("symlink_folder"):  # the whole submission folder points at source/
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.symlink_to(course / "source" / assignment, target_is_directory=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "timestamp.txt").write_text(timestamp)
        name = case.get("name", f"{assignment}.ipynb")
        attack = HERE / assignment / f"{case_id}.ipynb"
        if case.get("symlink"):
            (folder / name).symlink_to(source_nb)
        elif case.get("raw"):
            shutil.copy(attack, folder / name)
        else:
            nbformat.write(assemble(attack, source_nb, release_nb), folder / name)
        extra = case.get("extra_files")
        if extra:
            shutil.copytree(HERE / assignment / extra, folder, dirs_exist_ok=True)
    return cases


def solutions_code(source_nb: Path) -> str:
    """The reference's solution cells, as one script (what the network attack fetches)."""
    nb = nbformat.read(source_nb, as_version=4)
    return "\n\n".join(c.source for c in nb.cells if _is_solution_code(c))


class AnswerServer:
    """An HTTP server on the host's loopback that hands out the reference solutions."""

    def __init__(self, source_nb: Path, port: int = ANSWERS_PORT):
        body = solutions_code(source_nb).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.requests = 0
        try:
            self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            # Another run of this suite on the machine serves the same answers there;
            # the attack must be blocked either way.
            self.server = None

    def __enter__(self):
        if self.server is not None:
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

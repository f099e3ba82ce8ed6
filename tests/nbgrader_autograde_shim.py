"""A pytest plugin that runs nbgrader's own autograde tests against `calcgrad autograde`.

Loaded with `-p nbgrader_autograde_shim` (tests/ on PYTHONPATH) by
tests/test_nbgrader_conformance.py, in a pytest of its own on nbgrader's
`nbgrader/tests/apps/test_nbgrader_autograde.py`. It replaces
`nbgrader.tests.run_nbgrader` before that file is imported (it imports the name), so every
`run_nbgrader(["autograde", ...])` runs calcgrad's command instead; every other nbgrader
command (db, generate_assignment, validate, ...) still runs nbgrader itself.

The translation: nbgrader's command line is parsed by nbgrader's own AutogradeApp (its
aliases and flags: --db, --notebook, --force/-f, --no-execute, --Class.trait=value), and what
it sets is appended, as `c.Class.trait = value` lines, to the test's nbgrader_config.py, copied
to the course root, where `calcgrad autograde ASSIGNMENT --course-dir ROOT` reads it. The copy
is removed afterwards, so nbgrader's own later commands see the test's files as they were.
Exit status: calcgrad's 2 (configuration error) stands for nbgrader's 1; a batch that
completes exits 0 in both.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import nbgrader.tests as nbgrader_tests

_ORIGINAL = nbgrader_tests.run_nbgrader
# More `calcgrad autograde` options, e.g. "--no-warm" (CALCGRAD_SHIM_OPTIONS, split on spaces).
EXTRA_OPTIONS = os.environ.get("CALCGRAD_SHIM_OPTIONS", "").split()
CALLS: list[list[str]] = []  # what was routed to calcgrad (the conformance test counts them)


def _value(value):
    """A command-line value as Python: traitlets keeps `--Class.trait=text` as a string that
    the trait parses when it is loaded (a literal for numbers, booleans, lists)."""
    import ast

    from traitlets.config.loader import DeferredConfigString

    if isinstance(value, DeferredConfigString):
        try:
            return ast.literal_eval(str(value))
        except (ValueError, SyntaxError):
            return str(value)
    return value


def _config_lines(config) -> list[str]:
    lines = []
    for section, values in config.items():
        # nbgrader's AutogradeApp moves its deprecated `AutogradeApp.x` settings to Autograde.
        target = "Autograde" if section == "AutogradeApp" else section
        for key, value in values.items():
            lines.append(f"c.{target}.{key} = {_value(value)!r}")
    return lines


def run_calcgrad(args: list[str], retcode: int = 0, env: dict | None = None,
                 stdout: bool = False) -> str:
    """`run_nbgrader(["autograde", ...])` with calcgrad's command, same contract."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    from calcgrad import cli

    app = AutogradeApp()
    app.parse_command_line(args[1:])
    if len(app.extra_args) != 1:
        raise AssertionError(f"the shim needs exactly one assignment: {args}")
    assignment = app.extra_args[0]
    cwd_config = Path("nbgrader_config.py")
    text = cwd_config.read_text() if cwd_config.is_file() else "c = get_config()\n"
    namespace: dict = {}
    # The test's own config names the course root (CourseDirectory.root).
    from traitlets.config import Config

    config = Config()
    namespace["get_config"] = lambda: config
    namespace["c"] = config
    exec(compile(text, str(cwd_config.resolve()), "exec"), namespace)  # the test's own config
    cli_config = app.config
    root = Path(cli_config.get("CourseDirectory", {}).get("root")
                or config.CourseDirectory.get("root") or os.getcwd())
    course_config = root / "nbgrader_config.py"
    if course_config.exists():
        raise AssertionError(f"{course_config} already exists: the shim would replace it")
    course_config.write_text(text + "\n# from the nbgrader command line (shim)\n"
                             + "\n".join(_config_lines(cli_config)) + "\n")
    CALLS.append(list(args))
    if os.environ.get("CALCGRAD_SHIM_CALLS"):  # the conformance test counts the calls
        with open(os.environ["CALCGRAD_SHIM_CALLS"], "a", encoding="utf-8") as fh:
            fh.write(" ".join(args) + "\n")
    out, err = io.StringIO(), io.StringIO()
    old_env = os.environ.copy()
    if env:
        os.environ.clear()
        os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["autograde", assignment, "--course-dir", str(root), "--quiet",
                             "--jobs", "1", *EXTRA_OPTIONS])
    finally:
        course_config.unlink()
        os.environ.clear()
        os.environ.update(old_env)
    code = 1 if code else 0
    output = out.getvalue() + err.getvalue()
    if code != retcode:
        raise AssertionError(f"calcgrad autograde {args[1:]} exited {code}, expected "
                             f"{retcode}:\n{output[-4000:]}")
    return output


def run_nbgrader(args: list[str], retcode: int = 0, env: dict | None = None,
                 stdout: bool = False) -> str:
    if args[:1] == ["autograde"] and not any(a.startswith("--help") for a in args):
        return run_calcgrad(args, retcode, env, stdout)
    return _ORIGINAL(args, retcode=retcode, env=env, stdout=stdout)


# ---------------------------------------------------------------- speed, nothing else
# Two costs that say nothing about autograding, paid once per session instead of per test:
# - nbgrader asks a subprocess (`alembic heads`) for its own schema version whenever it
#   creates a gradebook: a constant of the installed nbgrader;
# - calcgrad starts a warm sandbox worker (torch imported, warmed up) per run: here one is
#   kept per set of limits and reused by the next run, its uid slot held for the session
#   (within a batch calcgrad reuses workers the same way; every notebook still gets a child
#   forked for it alone, in a wiped scratch folder).
_KEPT: dict[tuple, object] = {}
_LEASE: list = []


def _speed_ups() -> None:
    import functools

    import nbgrader.api as api

    from calcgrad.grading import autograde, sandbox

    api.get_alembic_version = functools.lru_cache(maxsize=None)(api.get_alembic_version)
    grader = autograde.Grader
    if not hasattr(grader, "_worker"):  # the split engine: its backends start the sandboxes
        return
    original_worker, original_claim = grader._worker, grader._claim_slots

    def _claim_slots(self, n: int):
        if n != 1 or not (self.sandbox.enabled and self.sandbox.as_root):
            return original_claim(self, n)
        if not _LEASE:
            _LEASE.append(sandbox.claim_slot(sandbox.LOCAL_SLOTS))
        number, fd = _LEASE[0]
        return [(number, os.dup(fd))]  # closing the copy keeps the session's lock

    def _worker(self, slot: int):
        key = (slot, repr(self.options.limits), self.sandbox.enabled)
        with self._workers_lock:
            if slot not in self._workers and key in _KEPT:
                self._workers[slot] = _KEPT.pop(key)
        return original_worker(self, slot)

    def close_workers(self) -> None:
        with self._workers_lock:
            for slot, worker in self._workers.items():
                if worker is not None and worker.alive:
                    key = (slot, repr(self.options.limits), self.sandbox.enabled)
                    previous = _KEPT.pop(key, None)
                    if previous is not None:
                        previous.close()
                    _KEPT[key] = worker
                elif worker is not None:
                    worker.close()
            self._workers.clear()

    grader._claim_slots, grader._worker, grader.close_workers = _claim_slots, _worker, \
        close_workers


def pytest_configure(config) -> None:
    nbgrader_tests.run_nbgrader = run_nbgrader
    if os.environ.get("CALCGRAD_SHIM_FRESH") != "1":  # 1: every run as from the shell
        _speed_ups()


def pytest_collection_modifyitems(config, items) -> None:
    """Leave out the cases named in CALCGRAD_SHIM_DESELECT (comma-separated test names)."""
    names = set(filter(None, os.environ.get("CALCGRAD_SHIM_DESELECT", "").split(",")))
    if not names:
        return
    chosen = [item for item in items if getattr(item, "originalname", item.name) not in names]
    left_out = [item for item in items if item not in chosen]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = chosen


def pytest_unconfigure(config) -> None:
    for worker in _KEPT.values():
        worker.close()
    _KEPT.clear()
    for _, fd in _LEASE:
        os.close(fd)
    _LEASE.clear()

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


def _config_lines(config) -> list[str]:
    lines = []
    for section, values in config.items():
        # nbgrader's AutogradeApp moves its deprecated `AutogradeApp.x` settings to Autograde.
        target = "Autograde" if section == "AutogradeApp" else section
        for key, value in values.items():
            lines.append(f"c.{target}.{key} = {value!r}")
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
    exec(compile(text, str(cwd_config.resolve()), "exec"), namespace)  # noqa: S102 - test config
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
                             *EXTRA_OPTIONS])
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


def pytest_configure(config) -> None:
    nbgrader_tests.run_nbgrader = run_nbgrader

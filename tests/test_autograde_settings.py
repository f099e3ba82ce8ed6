"""`calcgrad autograde`'s limits, the nbgrader way: `c.CalcgradAutograde.<name>` in the course's
nbgrader_config.py, each overridden by its command-line flag."""

from __future__ import annotations

from calcgrad import cli
from calcgrad.grading.config import Course
from calcgrad.grading.limits import MiB, Limits


def course_with(tmp_path, *lines: str) -> Course:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n" + "\n".join(lines) + "\n")
    return Course.load(tmp_path)


def settings(course: Course, *flags: str):
    args = cli._parser().parse_args(["autograde", "a1", *flags])
    return cli.autograde_settings(args, course)


def test_the_config_file_sets_the_limits(tmp_path):
    course = course_with(tmp_path, "c.CalcgradAutograde.memory_mib = 4096",
                         "c.CalcgradAutograde.notebook_timeout = 90",
                         "c.CalcgradAutograde.jobs = 3", "c.CalcgradAutograde.warm = False",
                         "c.CalcgradAutograde.processes = 16", "c.Execute.timeout = 30")
    found = settings(course)
    limits = found.limits(course.config)
    assert (limits.memory_bytes, limits.notebook_seconds, limits.cell_seconds) == \
        (4096 * MiB, 90.0, 30.0)
    assert (limits.notebook_cpu_seconds, limits.processes) == (90, 16)
    assert (found.jobs, found.warm) == (3, False)


def test_a_flag_overrides_its_setting(tmp_path):
    course = course_with(tmp_path, "c.CalcgradAutograde.memory_mib = 4096",
                         "c.CalcgradAutograde.cell_timeout = 50", "c.Execute.timeout = 30")
    found = settings(course, "--memory", "1024", "--cell-timeout", "7", "--jobs", "2",
                     "--no-warm")
    limits = found.limits(course.config)
    assert (limits.memory_bytes, limits.cell_seconds) == (1024 * MiB, 7.0)
    assert (found.jobs, found.warm) == (2, False)


def test_without_settings_the_defaults_hold(tmp_path):
    course = course_with(tmp_path)
    assert settings(course).limits(course.config) == Limits()


def test_help_all_lists_every_setting(capsys):
    from calcgrad.grading.config import CalcgradAutograde

    try:
        cli._parser().parse_args(["autograde", "--help-all"])
    except SystemExit as stop:
        assert stop.code == 0
    shown = capsys.readouterr().out
    names = CalcgradAutograde.class_traits(config=True)
    assert names and all(f"c.CalcgradAutograde.{name} = " in shown for name in names)
    assert "--cell-timeout" in shown


def test_graders_without_flags_read_the_course_settings(tmp_path, monkeypatch):
    """`calcgrad serve` and SandboxedExecute (nbgrader's autograde, formgrader's button) have
    no flags: their limits are `course_limits`, the course's c.CalcgradAutograde settings."""
    from calcgrad.grading import autograde
    from calcgrad.grading.config import course_limits
    from calcgrad.serve import engine

    course = course_with(tmp_path, "c.CalcgradAutograde.memory_mib = 3072",
                         "c.CalcgradAutograde.cell_timeout = 45")
    limits = course_limits(course)
    assert (limits.memory_bytes, limits.cell_seconds) == (3072 * MiB, 45.0)
    seen = []
    monkeypatch.setattr(autograde.Grader, "__init__",
                        lambda self, c, options, log=print: seen.append(options.limits))
    engine.AssignmentEngine(course, "a1", jobs=1, log=print)
    assert seen == [limits]

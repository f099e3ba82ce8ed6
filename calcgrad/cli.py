"""The `calcgrad` command: `calcgrad autograde|feedback|report|variants ASSIGNMENT`.

Errors go to stderr as "calcgrad COMMAND: error: ...". Exit status: 0 when the
command did its work (a batch completed, whatever the students did), 2 for a
configuration error (no such course or assignment, no sandbox, no Dask
scheduler) or a Dask scheduler lost during the run, 1 when there was nothing to
do it on (no graded submission to report on or write feedback for), 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
import warnings
from pathlib import Path

from calcgrad import textsafe
from calcgrad.grading.limits import MiB, Limits

WARNING = """\
!!! WARNING: --no-sandbox: student code runs with YOUR permissions, on YOUR files,
!!! with network access. Limits on time, memory and output still apply, and verdicts of
!!! checks are still decided outside student code, but a hostile notebook can read
!!! source/, the gradebook and other submissions. Use only on trusted submissions.
"""


class _HelpAll(argparse.Action):
    """`calcgrad autograde --help-all`: the flags, then the settings nbgrader_config.py may
    hold (traitlets' own listing of them)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from calcgrad.grading.config import CalcgradAutograde

        parser.print_help()
        print("\nsettings in the course's nbgrader_config.py (a flag above overrides its "
              "setting):")
        for name, trait in sorted(CalcgradAutograde.class_traits(config=True).items()):
            print(f"\n  c.CalcgradAutograde.{name} = {trait.default_value!r}")
            print(textwrap.fill(trait.help, width=88, initial_indent="      ",
                                subsequent_indent="      "))
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calcgrad", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("autograde", help="grade every submission of an assignment in a "
                                             "sandbox, into nbgrader's gradebook")
    grade.add_argument("assignment")
    grade.add_argument("--course-dir", type=Path, default=None,
                       help="the course folder (default: the folder holding nbgrader_config.py)")
    grade.add_argument("--student", nargs="+", default=None, metavar="ID",
                       help="grade only these students")
    grade.add_argument("--jobs", "-j", type=int, default=None,
                       help="submissions graded at once (default: CPU cores, within memory; "
                            "with --dask-scheduler: the cluster's worker threads)")
    grade.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                       help="run the sandboxes on the workers of this Dask scheduler "
                            "(tcp://HOST:PORT); grades are still written here, by this process")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code without bubblewrap (unsafe; warns)")
    grade.add_argument("--no-warm", action="store_true",
                       help="start one sandbox per notebook instead of forking each from a "
                            "pre-warmed sandboxed worker (slower; the warm worker is the default)")
    d = Limits()
    grade.add_argument("--cell-timeout", type=float, default=None, metavar="SECONDS",
                       help="time per cell (default: nbgrader's Execute.timeout, else "
                            f"{d.cell_seconds:g})")
    grade.add_argument("--notebook-timeout", type=float, default=None,
                       metavar="SECONDS", help="wall-clock and CPU time per notebook "
                                               f"(default {d.notebook_seconds:g})")
    grade.add_argument("--memory", type=int, default=None, metavar="MIB",
                       help=f"address space per notebook (default {d.memory_bytes // MiB})")
    grade.add_argument("--output-limit", type=int, default=None,
                       metavar="BYTES", help="output kept per cell (default "
                                             f"{d.output_cell_bytes}); per notebook: 8x")
    grade.add_argument("--help-all", action=_HelpAll,
                       help="this help, then every setting of c.CalcgradAutograde in "
                            "nbgrader_config.py (the flags above override them)")
    grade.add_argument("--quiet", "-q", action="store_true", help="print only the table")
    grade.add_argument("--progress", action="store_true",
                       help="a line per student on stderr as each is done (for logs; on a "
                            "terminal the default is a progress bar)")

    feedback = sub.add_parser("feedback", help="write per-student HTML feedback (no hidden "
                                               "test source)")
    feedback.add_argument("assignment")
    feedback.add_argument("--course-dir", type=Path, default=None,
                          help="the course folder (default: the folder holding "
                               "nbgrader_config.py)")
    feedback.add_argument("--student", nargs="+", default=None, metavar="ID")

    # Listed for --help; main() hands `report ...` to calcgrad.report, which parses its own options.
    sub.add_parser("report", add_help=False,
                   help="HTML + PNG report of a graded assignment, from the gradebook "
                        "(calcgrad report --help)")
    # Listed for --help; main() hands `serve ...` to calcgrad.serve.cli.
    sub.add_parser("serve", add_help=False,
                   help="grade each submission as it arrives and release its feedback "
                        "(calcgrad serve --help)")
    # Listed for --help; main() hands `variants ...` to calcgrad.variants_table.
    sub.add_parser("variants", add_help=False,
                   help="CSV of every student's variant (calcgrad variants --help)")
    return parser


def _default_jobs(limits: Limits) -> int:
    cores = os.cpu_count() or 1
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        available = limits.memory_bytes * cores
    return max(1, min(cores, available // limits.memory_bytes))


# Flags that override a setting of CalcgradAutograde: flag's dest -> setting.
OVERRIDES = {"cell_timeout": "cell_timeout", "notebook_timeout": "notebook_timeout",
             "memory": "memory_mib", "output_limit": "output_limit", "jobs": "jobs",
             "dask_scheduler": "dask_scheduler"}


def autograde_settings(args, course):
    """The course's c.CalcgradAutograde settings, with the flags given on top."""
    from traitlets import TraitError

    from calcgrad.grading.config import CalcgradAutograde, ConfigurationError

    try:
        settings = CalcgradAutograde(config=course.config)
    except TraitError as exc:
        raise ConfigurationError(f"c.CalcgradAutograde in {course.root / 'nbgrader_config.py'}:"
                                 f" {exc}") from None
    for dest, name in OVERRIDES.items():
        if getattr(args, dest) is not None:
            setattr(settings, name, getattr(args, dest))
    if args.no_warm:
        settings.warm = False
    return settings


def autograde(args) -> int:
    from calcgrad.grading.config import Course, find_course_dir

    course = Course.load(args.course_dir or find_course_dir())
    settings = autograde_settings(args, course)
    args.dask_scheduler = settings.dask_scheduler or None
    args.jobs, args.no_warm = settings.jobs or None, not settings.warm
    limits = settings.limits(course.config)
    if args.no_sandbox:
        sys.stderr.write(WARNING)

    def log(text: str) -> None:
        print(textsafe.terminal(text), file=sys.stderr)

    if not args.dask_scheduler:
        return _autograde(args, course, limits, log, None)
    from calcgrad.grading import cluster

    dask = cluster.connect(args.dask_scheduler, log)
    previous = signal.signal(signal.SIGINT, _cancel_then_interrupt)
    try:
        return _autograde(args, course, limits, log, dask)
    finally:
        signal.signal(signal.SIGINT, previous)
        cluster.disconnect(args.dask_scheduler)  # when Grader.run stopped before it did


def _cancel_then_interrupt(signum, frame) -> None:
    """Ctrl-C with --dask-scheduler: cancel the notebooks still out on the cluster (the
    threads waiting for them return at once), then stop as without a cluster."""
    from calcgrad.grading import cluster

    cluster.cancel_all()
    raise KeyboardInterrupt


def _autograde(args, course, limits, log, dask) -> int:
    from calcgrad.grading import run_table
    from calcgrad.grading.autograde import Grader
    from calcgrad.grading.config import Options

    jobs = args.jobs or (dask.threads() if dask else _default_jobs(limits))
    options = Options(args.assignment, students=args.student, jobs=jobs, limits=limits,
                      sandbox=not args.no_sandbox, warm=not args.no_warm,
                      dask_scheduler=args.dask_scheduler)

    # Progress goes to stderr, and only to a terminal (a bar that goes away: the table on
    # stdout says the rest, once); --progress writes a line per student for logs instead.
    terminal = not args.quiet and not args.progress and sys.stderr.isatty()
    bar = None
    if terminal:
        from tqdm import tqdm

        total = len(args.student or course.students(args.assignment))
        bar = tqdm(total=total, unit="student", file=sys.stderr, dynamic_ncols=True,
                   leave=False)

    def on_row(row) -> None:
        if bar is not None:
            bar.update(1)
        elif args.progress:
            print(textsafe.inert(f"  {row.student}: {row.values()['score']} / "
                                 f"{row.values()['max_score']} ({row.status})"),
                  file=sys.stderr, flush=True)

    grader = Grader(course, options, log=log)
    if terminal or args.progress:
        where = f" on the Dask cluster at {args.dask_scheduler}" if dask else ""
        print(f"grading {args.assignment} in {course.root} ({options.jobs} at a time{where}, "
              f"{'sandboxed' if options.sandbox else 'NOT SANDBOXED'})", file=sys.stderr)
    try:
        rows = grader.run(on_row=on_row)
    finally:
        if bar is not None:
            bar.close()
    # A run over some students (--student) updates their rows and keeps everyone else's.
    path = run_table.write_csv(rows, run_table.csv_path(course, args.assignment),
                               merge=bool(args.student))
    print(run_table.table(rows))
    _warn_of_leaking_feedback(course, args.assignment)
    if dask is not None and not args.quiet:
        print(f"sandboxes ran {dask.summary()}", file=sys.stderr)
    print(f"report: {path}")
    if dask is not None and dask.lost:
        print(f"calcgrad autograde: error: lost the connection to the Dask scheduler at "
              f"{args.dask_scheduler} during the run; notebooks not sent back are marked "
              "'grader error' and were not graded. Run the command again to finish.",
              file=sys.stderr)
        return 2
    return 0


def _warn_of_leaking_feedback(course, assignment: str) -> None:
    from calcgrad.grading.feedback import leaking_pages

    pages = leaking_pages(course, assignment)
    if pages:
        shown = ", ".join(str(p.relative_to(course.root)) for p in pages[:3])
        print(f"calcgrad autograde: warning: {len(pages)} feedback page(s) show hidden tests "
              f"({shown}{', ...' if len(pages) > 3 else ''}); they were written by nbgrader's "
              f"own generate_feedback without calcgrad's HideTests. Run `calcgrad feedback "
              f"{assignment}` before `nbgrader release_feedback`.", file=sys.stderr)


def feedback(args) -> int:
    from calcgrad.grading.config import Course, find_course_dir
    from calcgrad.grading.feedback import write_feedback

    course = Course.load(args.course_dir or find_course_dir())
    course.require_assignment(args.assignment)
    skipped: list = []
    written = write_feedback(course, args.assignment, args.student, skipped)
    for path in written:
        print(path)
    print(f"{len(written)} feedback file(s) written")
    for student, notebook, why in skipped:
        print(f"calcgrad feedback: no feedback for {student} ({notebook}): {why}",
              file=sys.stderr)
    return 1 if skipped and not written else 0


def _skip_unused_imports() -> None:
    """A global side effect, and its one place (the `calcgrad` command only, never on
    import): jsonschema imports `rfc3987_syntax` when it is installed (Jupyter's event
    schemas pull it in), and that builds a large grammar at import; it only checks the "iri"
    string formats, which nbformat and nbgrader never ask for. Blocked, jsonschema leaves
    those two format checks out."""
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> int:
    _skip_unused_imports()
    from calcgrad.grading.config import ConfigurationError
    from calcgrad.grading.sandbox import SandboxUnavailable

    # nbgrader runs `alembic` by name: the environment's bin must be on PATH.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["report"]:
        from calcgrad.report import main as report_main

        return report_main(argv[1:])
    if argv[:1] == ["serve"]:
        from calcgrad.serve.cli import main as serve_main

        return serve_main(argv[1:])
    if argv[:1] == ["variants"]:
        from calcgrad.variants_table import main as variants_main

        return variants_main(argv[1:])
    args = _parser().parse_args(argv)
    # nbgrader's gradebook code trips SQLAlchemy warnings that say nothing about grades.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    try:
        return {"autograde": autograde, "feedback": feedback}[args.command](args)
    except (ConfigurationError, SandboxUnavailable) as exc:
        print(f"calcgrad {args.command}: error: {exc}", file=sys.stderr)
        if isinstance(exc, SandboxUnavailable):
            print("Refusing to grade without a sandbox. Install bubblewrap (`make setup`), or "
                  "pass --no-sandbox for trusted submissions only.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: students already reported are fully graded; the others were "
              "left as they were. Run the command again to finish.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

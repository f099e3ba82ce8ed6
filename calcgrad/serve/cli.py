"""`calcgrad serve [--course-dir DIR] [--assignment A ...]`: grade on submit.

Exit status 0 when stopped by Ctrl-C or SIGTERM, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="calcgrad serve", description=(
        "Grade each submission as it arrives (nbgrader's exchange inbound, or submitted/ "
        "without an exchange) in warm sandboxes, and release its feedback."))
    p.add_argument("--course-dir", type=Path, default=None,
                   help="the course folder (default: the folder holding nbgrader_config.py)")
    p.add_argument("--assignment", nargs="+", default=None, metavar="A",
                   help="serve only these assignments (default: every one in source/)")
    p.add_argument("--status-port", type=int, default=None, metavar="PORT",
                   help="port of the status page on 127.0.0.1 (default: "
                        "c.CalcgradServe.status_port, 0 = a free one)")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run the sandboxes on this Dask cluster, as `calcgrad autograde` does")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code without bubblewrap (unsafe; trusted work only)")
    return p


def main(argv: list[str]) -> int:
    from calcgrad.grading.autograde import ConfigurationError
    from calcgrad.grading.sandbox import SandboxUnavailable
    from calcgrad.serve.engine import Course, find_course_dir
    from calcgrad.serve.service import Service

    args = parser().parse_args(argv)
    # As `calcgrad autograde`: nbgrader's gradebook code trips SQLAlchemy warnings that say
    # nothing about grades.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    try:
        course = Course.load(args.course_dir or find_course_dir())
        service = Service(course, args.assignment, sandbox=not args.no_sandbox,
                          dask_scheduler=args.dask_scheduler, status_port=args.status_port)
        service.install_signal_handlers()
        service.run_forever()
    except (ConfigurationError, SandboxUnavailable) as exc:
        print(f"calcgrad serve: error: {exc}", file=sys.stderr)
        return 2
    return 0

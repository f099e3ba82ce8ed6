"""`make bench` (part 2): a burst of submissions, `calcgrad serve` against plain nbgrader.

N students submit the same assignment within about a second (written into the exchange's
inbound exactly as `nbgrader submit` writes an attempt: files, then timestamp.txt, then
submission_secret.txt). Measured per student: seconds from their submit to their feedback
being fetchable (the released page in the exchange's feedback folder).

- calcgrad serve: already running and warm when the burst comes; each student's time is
  when their own page appears.
- plain nbgrader: `nbgrader collect`, `autograde` (nbgrader's own unsandboxed Execute),
  `generate_feedback`, `release_feedback`, started at the burst; every page appears at the
  end, so each student's time is from their submit to the end of the four commands.

    python tools/bench_serve.py --n 50 [--no-plain]
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from calcgrad import course  # noqa: E402
from calcgrad.serve.status import percentile  # noqa: E402

ASSIGNMENT = course.ASSIGNMENTS[0]
COURSE_ID = "calculus-autograd"
WAIT_S = 1800


def make_course(base: Path) -> tuple[Path, Path]:
    root = course.new_course(base / "course", (ASSIGNMENT,))
    exchange = base / "exchange"
    exchange.mkdir()
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    course.generate(root, ASSIGNMENT)
    course.nbgrader(root, "release_assignment", ASSIGNMENT, f"--Exchange.root={exchange}")
    return root, exchange


def burst(exchange: Path, n: int) -> dict[str, tuple[float, str]]:
    """Submit the reference notebook as n students; student -> (submit time, secret)."""
    notebook = (REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
    inbound = exchange / COURSE_ID / "inbound"
    submitted = {}
    for i in range(n):
        student = f"s{i:03d}"
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        rand = base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")
        folder = inbound / f"{student}+{ASSIGNMENT}+{stamp}+{rand}"
        folder.mkdir()
        (folder / f"{ASSIGNMENT}.ipynb").write_bytes(notebook)
        (folder / "timestamp.txt").write_text(stamp)
        secret = os.urandom(64).hex()
        (folder / "submission_secret.txt").write_text(secret)
        submitted[student] = (time.time(), secret)
    return submitted


def page_of(exchange: Path, secret: str) -> Path:
    from nbgrader.utils import notebook_hash

    return exchange / COURSE_ID / "feedback" / f"{notebook_hash(secret=secret, notebook_id=ASSIGNMENT)}.html"


def wait_pages(exchange: Path, submitted: dict, proc=None) -> dict[str, float]:
    """student -> when their page appeared (its file's modification time)."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + WAIT_S
    while len(seen) < len(submitted) and time.monotonic() < deadline:
        for student, (_, secret) in submitted.items():
            page = page_of(exchange, secret)
            if student not in seen and page.exists():
                seen[student] = page.stat().st_mtime
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    return seen


def latencies(submitted: dict, ready: dict) -> list[float]:
    return [ready[s] - submitted[s][0] for s in submitted if s in ready]


def run_serve(n: int) -> tuple[list[float], int]:
    base = Path(tempfile.mkdtemp(prefix="calcgrad-bench-serve-"))
    try:
        root, exchange = make_course(base)
        log = open(base / "serve.log", "w+")
        proc = subprocess.Popen([sys.executable, "-m", "calcgrad", "serve", "--course-dir",
                                 str(root)], cwd=root, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600
            while "sandboxes warm" not in (base / "serve.log").read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("calcgrad serve did not start:\n"
                                     + (base / "serve.log").read_text()[-3000:])
                time.sleep(0.2)
            submitted = burst(exchange, n)
            ready = wait_pages(exchange, submitted, proc)
        finally:
            proc.send_signal(2)
            proc.wait(timeout=120)
        graded = len(re.findall(r"^graded ", (base / "serve.log").read_text(), re.M))
        return latencies(submitted, ready), graded
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_plain(n: int) -> list[float]:
    base = Path(tempfile.mkdtemp(prefix="calcgrad-bench-plain-"))
    try:
        root, exchange = make_course(base)
        ex = f"--Exchange.root={exchange}"
        submitted = burst(exchange, n)
        course.nbgrader(root, "collect", ASSIGNMENT, ex, "--CollectApp.check_owner=False",
                        plain=True)
        course.nbgrader(root, "autograde", ASSIGNMENT, plain=True)
        course.nbgrader(root, "generate_feedback", ASSIGNMENT, plain=True)
        course.nbgrader(root, "release_feedback", ASSIGNMENT, ex, plain=True)
        ready = wait_pages(exchange, submitted)
        return latencies(submitted, ready)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _seconds(x: float | None) -> str:
    return "        -" if x is None else f"{x:7.2f} s"


def line(name: str, values: list[float], n: int) -> str:
    p50, p95, most = percentile(values, 50), percentile(values, 95), max(values, default=None)
    return f"{name:<44} {len(values):>3}/{n:<3} {_seconds(p50)} {_seconds(p95)} {_seconds(most)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="students in the burst")
    parser.add_argument("--no-plain", action="store_true", help="skip plain nbgrader")
    args = parser.parse_args()
    serve, graded = run_serve(args.n)
    rows = [line("calcgrad serve (warm)", serve, args.n)]
    if not args.no_plain:
        rows.append(line("nbgrader collect+autograde+feedback+release", run_plain(args.n),
                         args.n))
    print(f"\nburst of {args.n} submissions of {ASSIGNMENT} within "
          f"{'a second' if args.n <= 100 else 'seconds'}; submit -> feedback fetchable")
    print(f"{'':<44} {'pages':>7} {'p50':>9} {'p95':>9} {'max':>9}")
    print("\n".join(rows))
    return 0 if len(serve) == args.n and graded >= 1 else 1


if __name__ == "__main__":
    sys.exit(main())

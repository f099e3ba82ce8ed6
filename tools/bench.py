"""`make bench`: plain `nbgrader autograde` against `calcgrad autograde`, side by side.

Both grade the same generated class: N honest submissions per assignment (the
reference and the sample submissions of examples/<assignment>/, cycled), each
in a course folder of its own. Prints seconds, submissions per second, the
ratio, ms per submission, the grader's peak memory (resident set of the whole
process tree, sampled), and whether every score is identical.

    python tools/bench.py --n 20 [--calcgrad-n 20 200] [--jobs J]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from calcgrad import course  # noqa: E402
from calcgrad.demo import readable_notebook  # noqa: E402


def make_class(root: Path, n: int) -> Path:
    root = course.new_course(root)
    for assignment in course.ASSIGNMENTS:
        course.generate(root, assignment)
        samples = [root / "source" / assignment / f"{assignment}.ipynb"]
        # Honest work only: examples/ also holds a deliberately corrupt notebook (for the demo).
        samples += [p for p in sorted((REPO / "examples" / assignment).glob("*.ipynb"))
                    if readable_notebook(p) is None]
        for i in range(n):
            course.submit(root, assignment, f"s{i:04d}", samples[i % len(samples)])
    return root


def measure(argv: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of the process tree."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        top = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                procs = [top, *top.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], total)
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err[-3000:]}")
    return time.monotonic() - started, peak[0]


def scores(root: Path) -> dict:
    return {(a, s): g.score for a in course.ASSIGNMENTS for s, g in course.grades(root, a).items()}


def grade_all(tool: str, root: Path, jobs: int | None) -> tuple[float, int]:
    seconds, peak = 0.0, 0
    for assignment in course.ASSIGNMENTS:
        if tool == "nbgrader":
            argv = [sys.executable, "-m", "nbgrader", "autograde", assignment]
        else:
            argv = [sys.executable, "-m", "calcgrad", "autograde", assignment, "--quiet"]
            if jobs:
                argv += ["--jobs", str(jobs)]
        s, p = measure(argv, root)
        seconds, peak = seconds + s, max(peak, p)
    return seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions per assignment")
    parser.add_argument("--calcgrad-n", type=int, nargs="*", default=[],
                        help="extra, larger classes graded by calcgrad only (peak memory)")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    total = args.n * len(course.ASSIGNMENTS)
    print(f"class: {args.n} honest submissions x {len(course.ASSIGNMENTS)} assignments = "
          f"{total} notebooks; {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="calcgrad-bench-") as tmp:
        base = make_class(Path(tmp) / "class", args.n)
        results = {}
        for tool in ("nbgrader", "calcgrad"):
            root = Path(tmp) / tool
            shutil.copytree(base, root)
            seconds, peak = grade_all(tool, root, args.jobs)
            results[tool] = (seconds, peak, scores(root))
            print(f"  {tool} done in {seconds:.1f} s", flush=True)
        extra = []
        for n in args.calcgrad_n:
            root = make_class(Path(tmp) / f"calcgrad-{n}", n)
            seconds, peak = grade_all("calcgrad", root, args.jobs)
            extra.append((n * len(course.ASSIGNMENTS), seconds, peak))
    print()
    print(f"{'grader':<10} {'notebooks':>9} {'seconds':>9} {'nb/s':>7} {'ms/nb':>7} "
          f"{'peak MiB':>9}")
    for tool, (seconds, peak, _) in results.items():
        print(f"{tool:<10} {total:>9} {seconds:>9.1f} {total / seconds:>7.2f} "
              f"{1000 * seconds / total:>7.0f} {peak / 2**20:>9.0f}")
    for n, seconds, peak in extra:
        print(f"{'calcgrad':<10} {n:>9} {seconds:>9.1f} {n / seconds:>7.2f} "
              f"{1000 * seconds / n:>7.0f} {peak / 2**20:>9.0f}")
    ratio = results["nbgrader"][0] / results["calcgrad"][0]
    same = results["nbgrader"][2] == results["calcgrad"][2]
    print(f"\nthroughput ratio calcgrad / nbgrader: {ratio:.1f}x")
    print(f"identical scores: {'yes' if same else 'NO'} ({len(results['nbgrader'][2])} submissions)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: plain `nbgrader autograde` against `calcgrad autograde`, side by side.

Both grade the same generated class: N honest submissions per assignment (the
reference and the sample submissions of examples/<assignment>/, cycled), each
in a course folder of its own, one assignment after the other, as an
instructor would run them. Prints seconds, notebooks per second, ms per
notebook, the ratio, the grader's peak memory, and whether every score of
every graded cell is identical. `--calcgrad-n` adds larger classes graded by
calcgrad only: its peak memory must not grow with the class.

Peak memory, sampled every 0.1 s: "grader" is the process the instructor
started (nbgrader's, or calcgrad's parent, which holds the gradebook session
and the trusted side); "all" is the proportional set size (PSS: shared pages
split between the processes sharing them) of it and every process under it:
nbgrader's kernels, calcgrad's sandboxes and their forked children.

    python tools/bench.py --n 100 [--calcgrad-n 1000] [--jobs J]
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


def _pss(proc: psutil.Process) -> int:
    try:
        return proc.memory_full_info().pss
    except (psutil.Error, AttributeError):
        try:
            return proc.memory_info().rss
        except psutil.Error:
            return 0


def measure(argv: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, the peak resident bytes of the started process, and the peak PSS of
    its whole process tree."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    env[course.PLAIN] = "1"  # plain nbgrader, not the course's sandboxed Autograde button
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    peak = [0, 0]

    def sample() -> None:
        top = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], top.memory_info().rss)
                procs = [top, *top.children(recursive=True)]
                peak[1] = max(peak[1], sum(_pss(p) for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err[-3000:]}")
    return time.monotonic() - started, peak[0], peak[1]


def scores(root: Path) -> dict:
    """Every student's score and the score of each graded cell, per assignment."""
    return {(a, s): (g.score, g.cells) for a in course.ASSIGNMENTS
            for s, g in course.grades(root, a).items()}


def grade_all(tool: str, root: Path, jobs: int | None) -> tuple[float, int, int]:
    seconds, grader, tree = 0.0, 0, 0
    for assignment in course.ASSIGNMENTS:
        if tool == "nbgrader":
            argv = [sys.executable, "-m", "nbgrader", "autograde", assignment]
        else:
            argv = [sys.executable, "-m", "calcgrad", "autograde", assignment, "--quiet"]
            if jobs:
                argv += ["--jobs", str(jobs)]
        s, g, t = measure(argv, root)
        seconds, grader, tree = seconds + s, max(grader, g), max(tree, t)
    return seconds, grader, tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="submissions per assignment")
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
            seconds, grader, tree = grade_all(tool, root, args.jobs)
            results[tool] = (seconds, grader, tree, scores(root))
            print(f"  {tool} done in {seconds:.1f} s", flush=True)
        extra = []
        for n in args.calcgrad_n:
            root = make_class(Path(tmp) / f"calcgrad-{n}", n)
            seconds, grader, tree = grade_all("calcgrad", root, args.jobs)
            extra.append((n * len(course.ASSIGNMENTS), seconds, grader, tree))
            print(f"  calcgrad ({n} per assignment) done in {seconds:.1f} s", flush=True)
            shutil.rmtree(root)
    mib = 2 ** 20
    print()
    print(f"{'grader':<10} {'notebooks':>9} {'seconds':>9} {'nb/s':>7} {'ms/nb':>7} "
          f"{'peak MiB: grader':>17} {'all':>6}")
    rows = [(tool, total, seconds, grader, tree)
            for tool, (seconds, grader, tree, _) in results.items()]
    rows += [("calcgrad", n, seconds, grader, tree) for n, seconds, grader, tree in extra]
    for tool, n, seconds, grader, tree in rows:
        print(f"{tool:<10} {n:>9} {seconds:>9.1f} {n / seconds:>7.2f} "
              f"{1000 * seconds / n:>7.0f} {grader / mib:>17.0f} {tree / mib:>6.0f}")
    ratio = results["nbgrader"][0] / results["calcgrad"][0]
    plain, ours = results["nbgrader"][3], results["calcgrad"][3]
    same = plain == ours
    cells = sum(len(c) for _, c in plain.values())
    print(f"\nthroughput ratio calcgrad / nbgrader: {ratio:.1f}x")
    print(f"identical scores: {'yes' if same else 'NO'} ({len(plain)} submissions, "
          f"{cells} graded cells)")
    if not same:
        for key in sorted(set(plain) | set(ours)):
            if plain.get(key) != ours.get(key):
                print(f"  {key}: nbgrader {plain.get(key)}, calcgrad {ours.get(key)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

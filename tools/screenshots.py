"""`make screenshots`: the README's pictures, taken in headless Chromium, written to docs/.

  docs/lecture.png        the first lecture notebook in JupyterLab, run, at its first plot
  docs/check_message.png  a problem set in JupyterLab: what a student reads when a check fails
  docs/report.png         `calcgrad report` on the sample submissions in examples/

Everything runs in throwaway folders (a copy of the course for JupyterLab, a throwaway
nbgrader course for the report); only docs/*.png are written in the repository.
Usage: python tools/screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import browser_support as bs  # noqa: E402
from calcgrad import course, demo, report  # noqa: E402


def lecture_and_check_message(tmp: Path, out: Path, chromium) -> list[Path]:
    root = bs.course_copy(tmp / "lab-course")
    lectures = sorted((root / "notebooks").glob("*.ipynb"))
    shots = []
    with bs.jupyter_lab(root, tmp / "lab-home") as server:
        lab = bs.Lab(server, chromium)
        try:
            lab.hide_side_panels()
            if lectures:
                path = f"notebooks/{lectures[0].name}"
                lab.open(path)
                lab.run_all()
                lab.scroll_to_first_plot()
                shots.append(lab.screenshot(out / "lecture.png"))
                lab.close_notebook(path)
            assignment = course.ASSIGNMENTS[0]
            path = f"release/{assignment}/{assignment}.ipynb"
            state = lab.open(path)
            cells = [c for c in state["cells"] if c["type"] == "code" and c["nbgrader"]]
            first_check = next(i for i, c in enumerate(cells) if c["nbgrader"].get("grade"))
            lab.run_cells([c["index"] for c in cells[:first_check + 1]])
            solution = max(c["index"] for c in cells[:first_check] if c["nbgrader"].get("solution"))
            lab.page.evaluate("(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
                              ".node.scrollIntoView({block: 'start'})", solution)
            shots.append(lab.screenshot(out / "check_message.png"))
            lab.close_notebook(path)
        finally:
            lab.close()
    return shots


def report_shot(tmp: Path, out: Path, chromium) -> Path:
    assignment = course.ASSIGNMENTS[0]
    root = course.new_course(tmp / "report-course", (assignment,))
    course.generate(root, assignment)
    if not demo.submit_examples(root, assignment):
        raise SystemExit(f"no sample submissions in examples/{assignment}/")
    demo.grade(root, assignment)
    index = report.write_report(root, assignment, tmp / "report")
    page = chromium.new_page(viewport={"width": 1240, "height": 1100})
    try:
        page.goto(index.as_uri(), wait_until="load")
        path = out / "report.png"
        page.screenshot(path=str(path))
        return path
    finally:
        page.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args(argv)
    problem = bs.chromium_missing()
    if problem:
        print(f"screenshots: {problem}")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="calcgrad-shots-") as tmp, bs.browser() as chromium:
        shots = lecture_and_check_message(Path(tmp), args.out, chromium)
        shots.append(report_shot(Path(tmp), args.out, chromium))
    for shot in shots:
        print(f"wrote {shot.relative_to(REPO) if shot.is_relative_to(REPO) else shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

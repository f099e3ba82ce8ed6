"""The course as students meet it: JupyterLab 4 with nbgrader's lab extension, in headless Chromium.

One JupyterLab (loopback, token) serves a throwaway copy of the course for the whole
module; one Chromium page drives it through JupyterLab's own commands. Every lecture
notebook in notebooks/ is run with *Run All Cells*; every release notebook is opened,
validated blank and completed with nbgrader's Validate button, and its check cells are
run one by one to see the message a student reads; ps1 is also validated as a student with
their own functions (per-student variants). Screenshots land in
artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import browser_support as bs
from calcgrad import course

LECTURES = sorted(p.name for p in (course.REPO / "notebooks").glob("*.ipynb"))
ASSIGNMENTS = course.ASSIGNMENTS
SCREENSHOTS = course.REPO / "artifacts" / "screenshots"

pytestmark = pytest.mark.skipif(bs.chromium_missing() is not None,
                                reason=bs.chromium_missing() or "")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a throwaway course copy, plus each assignment completed with the reference."""
    root = bs.course_copy(tmp_path_factory.mktemp("lab-course"))
    for assignment in ASSIGNMENTS:
        release = root / "release" / assignment / f"{assignment}.ipynb"
        done = root / "completed" / assignment / f"{assignment}.ipynb"
        done.parent.mkdir(parents=True)
        nbformat.write(bs.completed_notebook(release, assignment), done)
    with bs.jupyter_lab(root, tmp_path_factory.mktemp("lab-home")) as server, bs.browser() as chromium:
        page = bs.Lab(server, chromium)
        try:
            yield page
        finally:
            page.close()


def stored_plots(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(bs.plot_outputs(c) for c in nb.cells if c.cell_type == "code")


@pytest.mark.skipif(not LECTURES, reason="no lecture notebooks in notebooks/ yet")
@pytest.mark.parametrize("name", LECTURES)
def test_lecture_runs_clean_in_lab(lab, name):
    lab.open(f"notebooks/{name}")
    try:
        state = lab.run_all()
        lab.hide_side_panels()
        lab.scroll_to_first_plot()
        lab.screenshot(SCREENSHOTS / f"{Path(name).stem}.png")
        code = [c for c in state["cells"] if c["type"] == "code"]
        errors = {c["index"]: c["output_text"][-500:] for c in code if bs.outputs_of(c, "error")}
        assert not errors, f"{name}: cells with errors in JupyterLab: {errors}"
        stderr = {c["index"]: [o["text"] for o in bs.outputs_of(c, "stream") if o["name"] == "stderr"]
                  for c in code}
        stderr = {i: t for i, t in stderr.items() if t}
        assert not stderr, f"{name}: cells that write to stderr: {stderr}"
        not_run = [c["index"] for c in code if c["execution_count"] is None or "*" in c["prompt"]]
        assert not not_run, f"{name}: cells not run or still running: {not_run}"
        plots = sum(bs.plot_outputs(c) for c in code)
        drawn = sum(c["plots_drawn"] for c in code)
        assert plots == stored_plots(course.REPO / "notebooks" / name), \
            f"{name}: JupyterLab produced {plots} plots, the stored notebook has " \
            f"{stored_plots(course.REPO / 'notebooks' / name)}"
        assert drawn == plots, f"{name}: {plots} plots in the outputs, {drawn} drawn on the page"
    finally:
        lab.close_notebook()


def test_sliders_redraw_their_plots(lab):
    """01's explorers in JupyterLab: moving the h slider and the x0 slider with the keyboard
    redraws the text and the plot under each (same number of plots, new content)."""
    lab.open("notebooks/01_calculus.ipynb")
    try:
        state = lab.run_all()
        for marker, key, expected in (("h_slider = widgets", "ArrowLeft", "h = 0.01 "),
                                      ("x0_slider = widgets", "ArrowRight", "x0 = 1.25 ")):
            index = next(c["index"] for c in state["cells"] if marker in c["source"])
            before = lab.cell_view(index)
            assert before["sliders"] == 1, f"{marker}: no slider drawn (is jupyterlab_widgets installed?)"
            assert len(before["svgs"]) == 1 and before["texts"], f"{marker}: no default plot and text"
            lab.move_slider(index, key)
            after = lab.wait_for_view_change(index, before)
            assert after["texts"] != before["texts"], f"{marker}: the text did not change"
            assert expected in "\n".join(after["texts"]), after["texts"]
            assert len(after["svgs"]) == 1, f"{marker}: {len(after['svgs'])} plots after the move"
            assert after["svgs"] != before["svgs"], f"{marker}: the plot did not change"
        lab.hide_side_panels()
        lab.screenshot(SCREENSHOTS / "01_calculus_explorer.png")
    finally:
        lab.close_notebook()


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def release(lab, request):
    """One release notebook, opened once for the tests below (each brings its tab to the front)."""
    assignment = request.param
    path = f"release/{assignment}/{assignment}.ipynb"
    lab.open(path)
    try:
        yield assignment, path
    finally:
        lab.close_notebook(path)


def test_nbgrader_lab_extension_is_there(lab, release):
    _, path = release
    lab.open(path)
    ui = lab.ui()
    assert "Nbgrader" in ui["menus"], f"no Nbgrader menu in {ui['menus']}"
    assert "Validate" in ui["buttons"], f"no Validate button in the toolbar: {ui['buttons']}"
    assert any("Create Assignment" in t for t in ui["tabs"]), f"no Create Assignment panel: {ui['tabs']}"


def test_release_renders_with_stubs(lab, release):
    assignment, path = release
    state = lab.open(path)
    lab.hide_side_panels()
    lab.screenshot(SCREENSHOTS / f"release_{assignment}.png")
    stored = nbformat.read(course.REPO / path, as_version=4)
    assert len(state["cells"]) == len(stored.cells), "not every cell is on the page"
    stubs = [c for c in state["cells"] if c["type"] == "code" and (c["nbgrader"] or {}).get("solution")]
    assert stubs, f"{assignment}: no exercise cells on the page"
    for cell in stubs:
        shown = cell["editor_text"]
        assert "# YOUR CODE HERE" in shown and "raise NotImplementedError()" in shown, \
            f"{assignment}: cell {cell['index']} shows no stub:\n{shown}"


def test_validate_button_fails_the_blank_release(lab, release):
    assignment, path = release
    lab.open(path)
    outcome, text = lab.validate()
    lab.screenshot(SCREENSHOTS / f"validate_blank_{assignment}.png")
    lab.dismiss_dialog()
    assert outcome == "failed", f"Validate on the blank {assignment}: {outcome}\n{text[:2000]}"
    assert "failed" in text.lower()


def test_failed_check_reads_as_words(lab, release):
    """Run the blank release's setup, exercise and check cells one by one (as a student going
    through it with Shift+Enter, skipping the demo cells): every check shows its message in
    words, and nothing else (no traceback)."""
    assignment, path = release
    state = lab.open(path)
    state = lab.run_cells([c["index"] for c in state["cells"] if c["type"] == "code" and c["nbgrader"]])
    checks = [c for c in state["cells"] if c["type"] == "code" and (c["nbgrader"] or {}).get("grade")]
    assert checks, f"{assignment}: no check cells"
    for cell in checks:
        errors = bs.outputs_of(cell, "error")
        gid = cell["nbgrader"]["grade_id"]
        assert len(errors) == 1, f"{assignment}/{gid}: a blank exercise should fail its check"
        error = errors[0]
        assert error["ename"] == "CheckFailed", \
            f"{assignment}/{gid}: {error['ename']} instead of a check's message: {error['evalue']}"
        message = error["evalue"].strip()
        assert len(re.findall(r"[A-Za-z]{2,}", message)) >= 3, f"{gid}: not words: {message!r}"
        assert "Traceback" not in message and "File " not in message, f"{gid}: {message!r}"
        shown = cell["output_text"]
        # calcgrad.checks.CheckFailed renders as its message alone: no traceback to wade through
        assert shown.split() == f"CheckFailed: {message}".split(), \
            f"{assignment}/{gid}: the output area shows more than the check's message:\n{shown}"
    lab.hide_side_panels()
    lab.page.evaluate("(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
                      ".node.scrollIntoView({block: 'start'})", checks[0]["index"])
    lab.screenshot(SCREENSHOTS / f"check_message_{assignment}.png")


def test_validate_button_passes_the_reference_answers(lab, release):
    assignment, _ = release
    path = f"completed/{assignment}/{assignment}.ipynb"
    lab.open(path)
    try:
        outcome, text = lab.validate()
        lab.screenshot(SCREENSHOTS / f"validate_completed_{assignment}.png")
        lab.dismiss_dialog()
        assert outcome == "success", f"Validate on the completed {assignment}: {outcome}\n{text[:2000]}"
        assert "passes all the tests" in text
    finally:
        lab.close_notebook(path)


def test_validate_uses_the_students_own_functions(lab):
    """Per-student variants in JupyterLab: the kernel takes the student's functions from their
    id (here the OS user, as on a student's own machine); the setup cell names them and each
    exercise shows its formula (LaTeX); nbgrader's Validate button passes on answers written
    for those functions alone (no reference dispatch), and fails on a classmate's answers."""
    import sys

    from calcgrad import variants

    sys.path.insert(0, str(course.REPO))
    from tools import build_ps1_examples as samples

    who = variants.student_id("ps1_calculus").id  # what the kernel will find: same environment
    numbers = samples.numbers_of(who)
    classmate = {name: (k + 1) % 4 for name, k in numbers.items()}  # every variant differs
    for folder, mine in (("own", numbers), ("classmate", classmate)):
        target = lab.server.root / folder / "ps1_calculus" / "ps1_calculus.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(samples._student(samples.own_answers(mine), samples.WRITTEN), target)
    path = "own/ps1_calculus/ps1_calculus.ipynb"
    state = lab.open(path)
    try:
        shown = [c["index"] for c in state["cells"] if c["type"] == "code" and (
            (c["nbgrader"] or {}).get("grade_id") in ("setup", "given_functions")
            or ".show()  #" in c["source"])]
        state = lab.run_cells(shown)
        printed = "\n".join(state["cells"][i]["output_text"] for i in shown)
        latex = "\n".join(o["data"]["text/latex"] for i in shown
                          for o in state["cells"][i]["outputs"] if "text/latex" in o.get("data", {}))
        assert f"Your id: {who}" in printed, printed
        for name, k in numbers.items():
            family = variants.POOLS[("ps1_calculus", name)][k]
            assert f"{name}: variant {k}, {variants.shown(family)}" in printed, printed
            assert family.formula in latex, (name, latex)
        lab.hide_side_panels()
        lab.screenshot(SCREENSHOTS / "own_functions_ps1_calculus.png")
        outcome, text = lab.validate()
        lab.dismiss_dialog()
        assert outcome == "success", f"Validate on the student's own work: {outcome}\n{text[:2000]}"
    finally:
        lab.close_notebook(path)
    path = "classmate/ps1_calculus/ps1_calculus.ipynb"
    lab.open(path)
    try:
        outcome, text = lab.validate()
        lab.dismiss_dialog()
        assert outcome == "failed", f"Validate on a classmate's answers: {outcome}\n{text[:2000]}"
        assert "df6(x)" in text and "grad_f7" in text, text[:2000]
    finally:
        lab.close_notebook(path)


def test_harness_sees_errors_and_plots(lab, tmp_path):
    """The checks above can fail: a notebook with an error and a plot is seen as such."""
    nb = nbformat.v4.new_notebook(metadata=nbformat.read(
        course.REPO / "release" / ASSIGNMENTS[0] / f"{ASSIGNMENTS[0]}.ipynb", as_version=4).metadata)
    nb.cells = [nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfrom calcgrad import plotting\n"
                                          "plotting.use_svg_display()"),
                nbformat.v4.new_code_cell("plt.plot([0, 1, 2], [0, 1, 4]);"),
                nbformat.v4.new_code_cell("1 / 0"),
                nbformat.v4.new_code_cell("'never runs'")]
    nbformat.write(nb, lab.server.root / "harness.ipynb")
    lab.open("harness.ipynb")
    try:
        state = lab.run_all()
        code = state["cells"]
        assert [len(bs.outputs_of(c, "error")) for c in code] == [0, 0, 1, 0]
        assert code[2]["outputs"][0]["ename"] == "ZeroDivisionError"
        assert [bs.plot_outputs(c) for c in code] == [0, 1, 0, 0]
        assert code[1]["plots_drawn"] == 1
        assert code[3]["execution_count"] is None, "Run All should stop at the error"
    finally:
        lab.close_notebook()

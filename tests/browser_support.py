"""JupyterLab in headless Chromium, for the browser tests and `make screenshots`.

`jupyter_lab(root)` starts JupyterLab on loopback with a token in `root` (a
throwaway copy of the course), with its own settings, workspaces and runtime
folders so nothing of the user's leaks in or out, and stops it (and every
kernel it started) on exit. `browser()` launches Debian's Chromium through
Playwright: `executable_path=/usr/bin/chromium`, never a downloaded browser.
`Lab` drives one page through JupyterLab's own commands
(`--LabApp.expose_app_in_browser=True` exposes `window.jupyterapp`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
# The machine is shared and small: be generous.
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 300
VIEWPORT = {"width": 1280, "height": 900}

# User settings for the throwaway JupyterLab: no news or update pop-ups, and every
# cell kept in the page (no virtual scrolling), so what is asserted is what is drawn.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Light"},
}


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed (/usr/bin/chromium); run `make setup`"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed; run `make setup`"
    return None


def course_copy(target: Path, *, notebooks: bool = True, release: bool = True) -> Path:
    """A throwaway copy of what students open: lecture notebooks, release/, the config."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    if notebooks and (REPO / "notebooks").is_dir():
        shutil.copytree(REPO / "notebooks", target / "notebooks", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if release and (REPO / "release").is_dir():
        shutil.copytree(REPO / "release", target / "release", dirs_exist_ok=True)
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_env(home: Path) -> dict:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    for name, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                      ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl")]:
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    env.pop("MPLBACKEND", None)  # the kernel picks the inline backend, as for a student
    return env


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    log: Path

    def lab_url(self, path: str = "") -> str:
        return f"{self.url}lab{('/tree/' + path) if path else ''}?token={self.token}&reset"

    def api(self, path: str) -> object:
        req = urllib.request.Request(f"{self.url}api/{path}",
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())


@contextlib.contextmanager
def jupyter_lab(root: Path, home: Path) -> Iterator[LabServer]:
    """JupyterLab serving `root`, its state under `home`; stopped (with its kernels) on exit."""
    root, home = Path(root), Path(home)
    env = _lab_env(home)
    for name, value in LAB_SETTINGS.items():
        plugin, _, leaf = name.rpartition("/")
        folder = home / "settings" / plugin
        folder.mkdir(parents=True, exist_ok=True)
        (folder / leaf).write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    log = home / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--ServerApp.open_browser=False", "--LanguageServerManager.autodetect=False"]
    if os.getuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    with log.open("w") as out:
        # Its own process group, so that stopping it also stops the kernels it started.
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}/", token, root, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                server.api("status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start in {START_TIMEOUT_S} s:\n"
                                       f"{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield server
    finally:
        _stop(proc)
        _stop_kernels_of(home / "runtime")


def _stop_kernels_of(runtime: Path) -> None:
    """Kill any kernel still running with a connection file in this server's runtime folder
    (JupyterLab shuts its kernels down on SIGTERM; this is for a server that was killed)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(runtime) + "/" in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM JupyterLab's process group (it shuts its kernels down), then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@contextlib.contextmanager
def browser() -> Iterator[object]:
    """Headless Debian Chromium through Playwright (no browser download, ever)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


# JavaScript run in the page. `app` is window.jupyterapp.
_JS_OPEN = """async (path) => {
  const app = window.jupyterapp;
  const widget = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await widget.context.ready;
  await widget.sessionContext.ready;
  app.shell.activateById(widget.id);
  return widget.id;
}"""

_JS_CLOSE_LAUNCHERS = """() => {
  // JupyterLab opens a Launcher whenever the last tab closes: close it, the notebook gets the width.
  const app = window.jupyterapp;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.hasClass('jp-Launcher') || w.node.querySelector('.jp-Launcher')) { w.close(); }
  }
}"""

_JS_STATE = """() => {
  const app = window.jupyterapp;
  const widget = app.shell.currentWidget;
  const nb = widget.content;
  const kernel = widget.sessionContext.session && widget.sessionContext.session.kernel;
  const cells = [];
  nb.widgets.forEach((cell, i) => {
    const model = cell.model;
    const info = {index: i, type: model.type, nbgrader: model.getMetadata('nbgrader') || null,
                  source: model.sharedModel.getSource()};
    if (model.type === 'code') {
      info.execution_count = model.executionCount;
      info.outputs = model.outputs.toJSON();
      const prompt = cell.node.querySelector('.jp-InputArea-prompt');
      info.prompt = prompt ? prompt.textContent : '';
      // A plot is drawn when its SVG or PNG renderer holds an <svg> or a loaded <img>.
      const plots = Array.from(cell.node.querySelectorAll(
          '.jp-OutputArea .jp-RenderedSVG, .jp-OutputArea .jp-RenderedImage'));
      info.plots = plots.length;
      info.plots_drawn = plots.filter(p => {
        const img = p.querySelector('img');
        if (img) { return img.complete && img.naturalWidth > 0 && img.naturalHeight > 0; }
        const svg = p.querySelector('svg');
        return !!svg && svg.getBoundingClientRect().width > 0;
      }).length;
      info.output_text = Array.from(cell.node.querySelectorAll('.jp-OutputArea-output'))
          .map(o => o.innerText).join('\\n');
      const editor = cell.node.querySelector('.cm-content');
      info.editor_text = editor ? editor.innerText : '';
    }
    cells.push(info);
  });
  return {path: widget.context.path, kernel: kernel ? kernel.status : null,
          busy: !!(kernel && kernel.status === 'busy'), cells};
}"""

_JS_RUN_ALL = """async () => {
  const app = window.jupyterapp;
  await app.commands.execute('notebook:run-all-cells');
}"""

_JS_RUN_CELLS = """async (indices) => {
  // Shift+Enter on each cell in turn, each after the previous one finished (the command's
  // promise resolves when the kernel replied), so an error does not cancel the next ones.
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  for (const index of indices) {
    nb.activeCellIndex = index;
    nb.deselectAll();
    await app.commands.execute('notebook:run-cell');
  }
}"""

_JS_ACTIVATE = """(path) => {
  const app = window.jupyterapp;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path) { app.shell.activateById(widget.id); return true; }
  }
  return false;
}"""

_JS_CLOSE = """async (path) => {
  // Shut the kernel down and close the tab without saving (the file on disk is kept as it was).
  const app = window.jupyterapp;
  let widget = app.shell.currentWidget;
  for (const w of app.shell.widgets('main')) {
    if (path && w.context && w.context.path === path) { widget = w; }
  }
  if (!widget || !widget.sessionContext) { return; }
  await widget.sessionContext.shutdown();
  widget.context.model.dirty = false;
  widget.dispose();
}"""

_JS_CELL_VIEW = """(index) => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cell = panel.querySelectorAll('.jp-Notebook .jp-Cell')[index];
  // JupyterLab draws an SVG output inline (<svg>) or as an <img> with a data URI.
  const svgs = Array.from(cell.querySelectorAll('.jp-OutputArea .jp-RenderedSVG')).map(r => {
    const img = r.querySelector('img');
    const svg = r.querySelector('svg');
    return img ? img.src : (svg ? svg.outerHTML : '');
  });
  const texts = Array.from(cell.querySelectorAll('.jp-OutputArea .jp-RenderedText')).map(t => t.innerText);
  return {svgs, texts, sliders: cell.querySelectorAll('.widget-slider .noUi-handle').length};
}"""

_JS_UI = """() => {
  // What nbgrader's lab extension adds: its menu, the Validate button, the Create Assignment panel.
  const menus = Array.from(document.querySelectorAll('.lm-MenuBar-itemLabel')).map(e => e.textContent);
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const buttons = panel ? Array.from(panel.querySelectorAll('.jp-Toolbar-item')).map(e => e.innerText.trim())
                        : [];
  const tabs = Array.from(document.querySelectorAll('.lm-TabBar-tab')).map(
      e => e.getAttribute('title') || e.innerText.trim());
  return {menus, buttons, tabs,
          commands: window.jupyterapp.commands.listCommands().filter(c => c.includes('nbgrader'))};
}"""


class Lab:
    """One browser page on a running JupyterLab."""

    def __init__(self, server: LabServer, chromium) -> None:
        self.server = server
        self.context = chromium.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.goto(server.lab_url(), wait_until="domcontentloaded", timeout=START_TIMEOUT_S * 1000)
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started",
                                    timeout=START_TIMEOUT_S * 1000)
        self.page.evaluate("() => window.jupyterapp.restored")
        self.page.wait_for_selector("#jp-main-dock-panel", timeout=START_TIMEOUT_S * 1000)

    def close(self) -> None:
        self.context.close()

    def open(self, path: str) -> dict:
        """Open a notebook (path relative to the server root), or bring its tab to the front
        when it is open already; returns its state once rendered and idle."""
        if not self.page.evaluate(_JS_ACTIVATE, path):
            self.page.evaluate(_JS_OPEN, path)
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell",
                                    timeout=START_TIMEOUT_S * 1000)
        self.wait_idle()
        self.page.evaluate(_JS_CLOSE_LAUNCHERS)
        self.page.evaluate(_JS_ACTIVATE, path)
        return self.state()

    def state(self) -> dict:
        return self.page.evaluate(_JS_STATE)

    def wait_idle(self, timeout_s: float = RUN_TIMEOUT_S) -> dict:
        """Wait until the kernel is idle and no cell shows [*], twice in a row."""
        deadline = time.monotonic() + timeout_s
        calm = 0
        while True:
            state = self.state()
            running = [c for c in state["cells"] if "*" in c.get("prompt", "")]
            if state["kernel"] == "idle" and not running:
                calm += 1
                if calm >= 2:
                    return state
            else:
                calm = 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"{state['path']}: still running after {timeout_s} s "
                                   f"(kernel {state['kernel']}, cells {[c['index'] for c in running]})")
            time.sleep(0.5)

    def run_all(self) -> dict:
        """Run all cells through JupyterLab's own command; returns the state when done."""
        self.wait_idle()
        self.page.evaluate(_JS_RUN_ALL)
        return self.wait_idle()

    def run_cells(self, indices: list[int]) -> dict:
        """Run these cells one after the other (as Shift+Enter on each would), errors or not."""
        self.wait_idle()
        self.page.evaluate(_JS_RUN_CELLS, indices)
        return self.wait_idle()

    def validate(self, timeout_s: float = RUN_TIMEOUT_S) -> tuple[str, str]:
        """Click nbgrader's Validate button; returns ("success"|"failed"|"error", dialog text)."""
        panel = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Toolbar").get_by_role("button", name="Validate").click()
        dialog = self.page.locator(".jp-Dialog").filter(has_text="Validation Results")
        dialog.wait_for(timeout=timeout_s * 1000)
        body = dialog.locator(".jp-Dialog-body")
        text = body.inner_text()
        # nbgrader marks the dialog body itself with its outcome.
        if dialog.locator(".validation-success").count():
            outcome = "success"
        elif dialog.locator(".validation-failed").count():
            outcome = "failed"
        else:
            outcome = "error"
        return outcome, text

    def dismiss_dialog(self) -> None:
        dialog = self.page.locator(".jp-Dialog")
        dialog.get_by_role("button", name="Ok").click()
        dialog.wait_for(state="detached", timeout=30_000)

    def ui(self) -> dict:
        """Menus, toolbar buttons of the open notebook, side-panel tabs, nbgrader commands."""
        return self.page.evaluate(_JS_UI)

    def scroll_to_first_plot(self) -> None:
        self.page.evaluate("""() => {
          const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
          const plot = panel && panel.querySelector('.jp-OutputArea .jp-RenderedSVG, '
                                                    + '.jp-OutputArea .jp-RenderedImage');
          if (plot) { plot.closest('.jp-Cell').scrollIntoView({block: 'start'}); }
        }""")

    def hide_side_panels(self) -> None:
        self.page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); "
                           "window.jupyterapp.shell.collapseRight(); }")

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.evaluate(_JS_CLOSE_LAUNCHERS)
        self.page.wait_for_timeout(300)  # let the tab bar settle
        self.page.screenshot(path=str(path))
        return path

    def cell_view(self, index: int) -> dict:
        """What cell `index` of the current notebook shows: its SVG plots (markup), its text
        outputs, and how many ipywidgets sliders are drawn in it."""
        return self.page.evaluate(_JS_CELL_VIEW, index)

    def move_slider(self, index: int, key: str, presses: int = 1) -> None:
        """Focus the slider handle drawn in cell `index` and press an arrow key, as a student
        moving it with the keyboard would."""
        handle = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(
            index).locator(".widget-slider .noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(presses):
            handle.press(key)

    def wait_for_view_change(self, index: int, before: dict, timeout_s: float = 60) -> dict:
        """The cell's view once its plots and text differ from `before` (the kernel redrew them)."""
        deadline = time.monotonic() + timeout_s
        while True:
            view = self.cell_view(index)
            if view["svgs"] != before["svgs"] and view["texts"] != before["texts"]:
                return view
            if time.monotonic() > deadline:
                return view
            time.sleep(0.25)

    def close_notebook(self, path: str | None = None) -> None:
        """Shut the kernel down and close the tab (default: the current one) without saving."""
        self.page.evaluate(_JS_CLOSE, path)


def outputs_of(cell: dict, output_type: str) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == output_type]


def plot_outputs(cell: dict) -> int:
    """How many image outputs (SVG or PNG) the notebook model holds for a cell."""
    n = 0
    for o in cell.get("outputs", []):
        data = o.get("data", {})
        if "image/svg+xml" in data or "image/png" in data:
            n += 1
    return n


# --- Student work: release notebooks filled in with the reference answers -----------------------

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "BEGIN SOLUTION", "END SOLUTION")


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def _without_markers(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS]
    return "\n".join(lines)


def solution_cells(assignment: str) -> list[str]:
    """Grade ids of the assignment's solution cells, in notebook order (code and written)."""
    import nbformat

    nb = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return [_grade_id(c) for c in nb.cells if _is_solution(c)]


def code_solution_cells(assignment: str) -> list[str]:
    import nbformat

    nb = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return [_grade_id(c) for c in nb.cells if _is_solution(c) and c.cell_type == "code"]


def completed_notebook(release_nb: Path, assignment: str, leave_blank: tuple[str, ...] = ()):
    """The release notebook with the reference answers typed into its solution cells,
    as a student would (test cells untouched); cells in `leave_blank` keep their stubs."""
    import nbformat

    source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {_grade_id(c): _without_markers(c.source) for c in source.cells if _is_solution(c)}
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        gid = _grade_id(cell)
        if _is_solution(cell) and gid in answers and gid not in leave_blank:
            cell.source = answers[gid]
    return nb


def partial_notebook(release_nb: Path, assignment: str):
    """Reference answers for every exercise but the last code one (the student ran out of time)."""
    last = code_solution_cells(assignment)[-1:]
    return completed_notebook(release_nb, assignment, leave_blank=tuple(last))


def test_cells_before(assignment: str, grade_id: str) -> dict[str, float]:
    """Autograded test cells (grade id -> points) that come before cell `grade_id` in the source."""
    import nbformat

    nb = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == grade_id:
            break
        if meta.get("grade") and cell.cell_type == "code":
            out[meta["grade_id"]] = float(meta.get("points", 0))
    return out


def autograded_cells(assignment: str) -> dict[str, float]:
    """Every autograded test cell of the assignment: grade id -> points."""
    return test_cells_before(assignment, grade_id="\0none")

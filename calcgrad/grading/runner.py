"""The cell executor that runs inside the sandbox: `python -m calcgrad.grading.runner`.

Protocol (`protocol.py`, the seam a pre-forked worker reuses): the job arrives
as one JSON document on stdin; results leave as JSON lines on stdout, one
event per line: `ready`, then for each code cell `start` and `cell` (its
outputs, the student values its checks recorded, flags), then `end`. What a
cell produced is captured by `capture`; `tamper` looks for signs of tampering.

Before any student code runs this process applies the job's limits
(`setrlimit`), drops root to the job's uid when it has one, sends fds 0-2 to
/dev/null (student output is captured per cell, byte-capped) and keeps the
result channel on a private fd. Everything after that is untrusted: the
grader treats what comes back as claims, never as verdicts.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import types

from calcgrad import variants
from calcgrad.grading import capture, protocol, submission_files, tamper
from calcgrad.grading.capture import CapturedStream, Cell
from calcgrad.grading.protocol import MAX_JOB_BYTES, Budget, Channel
from calcgrad.grading.tamper import Machinery, tamper_flags, watch_snapshot
from calcgrad.textsafe import safe_str


# This module's own name (`__main__` when run with -m), kept before a notebook's own
# `__main__` takes its place in sys.modules.
_MODULE_NAME = __name__ if __name__ != "__main__" else "calcgrad.grading.runner"
if __name__ == "__main__":
    sys.modules.setdefault(_MODULE_NAME, sys.modules[__name__])


class CellTimeout(BaseException):
    """Raised into a cell that ran past its time limit (like a kernel interrupt)."""


def apply_limits(limits: dict) -> None:
    """setrlimit: hard limits the student cannot raise again."""
    def cap(which: int, value: int, hard: int | None = None) -> None:
        resource.setrlimit(which, (value, value if hard is None else hard))

    cpu = int(limits["notebook_cpu_seconds"])
    cap(resource.RLIMIT_CPU, cpu, cpu + 5)
    cap(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    cap(resource.RLIMIT_NPROC, int(limits["processes"]))
    cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    cap(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
    cap(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit fails, not kills


def drop_privileges(uid: int | None) -> None:
    if uid is None or os.geteuid() != 0:
        return
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise SystemExit("could not drop root")


def make_shell(current: list):
    """An IPython shell whose display, results and tracebacks land in the current cell."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Hook(DisplayHook):
        def write_output_prompt(self) -> None:
            return None

        def write_format_data(self, format_dict, md_dict=None) -> None:
            cell = current[0]
            if cell is not None:
                cell.rich("execute_result", format_dict)

        def finish_displayhook(self) -> None:
            self._is_active = False

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None,
                    update=False, **kwargs) -> None:
            cell = current[0]
            if cell is not None and isinstance(data, dict):
                cell.rich("display_data", data)

        def clear_output(self, wait=False) -> None:
            cell = current[0]
            if cell is not None:
                cell.outputs = [o for o in cell.outputs if o["output_type"] == "error"]

    class Shell(InteractiveShell):
        displayhook_class = Hook
        display_pub_class = Publisher

        def _showtraceback(self, etype, evalue, stb) -> None:
            cell = current[0]
            if cell is None:
                return
            name = getattr(etype, "__name__", "Error")
            cell.error(str(name), safe_str(evalue), [str(s) for s in stb])
            if isinstance(evalue, MemoryError) or "can't allocate memory" in safe_str(evalue):
                cell.flags.add("memory")
            if isinstance(evalue, CellTimeout):
                cell.flags.add("timeout")

        def init_history(self) -> None:
            from IPython.core.history import HistoryManager
            self.history_manager = HistoryManager(shell=self, parent=self, enabled=False)

    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    # Plain tracebacks ("Cell In[3], line 2 in f" and the line) rather than Context ones:
    # the same frames and lines without the source context around them, which IPython
    # finds through inspect.getmodule, slowly, for every error.
    config.InteractiveShell.xmode = "Plain"
    config.InteractiveShell.autocall = 0
    # The notebook's globals live in a module of their own, as in a kernel: not in the
    # runner's (or the warm worker's) `__main__`, whose functions a bare assignment in a
    # cell would otherwise replace.
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    return Shell.instance(config=config, user_module=main)


def show_plots_inline(shell) -> None:
    """What ipykernel does with the inline backend: after each cell, the figures it drew
    become display_data outputs of that cell (then closed), as in the student's kernel and
    in plain nbgrader's autograded notebook. Without it, the figures stay open and unseen."""
    import matplotlib

    backend = matplotlib.rcParams._get("backend")
    if backend not in ("inline", "module://matplotlib_inline.backend_inline"):
        return
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib_inline.backend_inline import InlineBackend

    settings = InlineBackend.instance(parent=shell)
    select_figure_formats(shell, settings.figure_formats, **settings.print_figure_kwargs)

    def show_open_figures() -> None:
        """ipykernel's flush_figures, without its state: nothing to do (no allocation, which
        matters after a MemoryError) unless a figure is open."""
        from matplotlib._pylab_helpers import Gcf

        managers = Gcf.get_all_fig_managers()
        if not managers:
            return
        from IPython.display import display
        import matplotlib.pyplot as plt

        try:
            for manager in managers:
                display(manager.canvas.figure)
        finally:
            plt.close("all")

    shell.events.register("post_execute", show_open_figures)


class RecordingRunner:
    """The sandbox half of every check: compute the student's value, record it as plain data."""

    def __init__(self, current: list):
        self._current = current

    def run(self, check) -> None:
        from calcgrad.plain import capture

        value = capture(check.student) if callable(check.student) else {"kind": "none"}
        cell = self._current[0]
        if cell is not None:
            cell.records.append({"name": str(check.name)[:1000], "value": value})


def _error_from_result(cell: Cell, outcome) -> None:
    """A cell failed when its execution result says so, whatever the student's shell chose
    to display: with `showtraceback` silenced, the error is added here (as nbgrader scores
    that cell 0)."""
    failure = (getattr(outcome, "error_before_exec", None)
               or getattr(outcome, "error_in_exec", None))
    if failure is None or any(o["output_type"] == "error" for o in cell.outputs):
        return
    name = getattr(type(failure), "__name__", "Error")
    cell.error(str(name), safe_str(failure), [f"{name}: {safe_str(failure)}"])
    cell.flags.add("an error was hidden from the notebook's display")


def _set_timers(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_PROF, seconds)


def _on_timer(signum, frame) -> None:
    raise CellTimeout("the cell ran past its time limit and was interrupted")


def run_job(job: dict, channel: Channel) -> None:
    limits = job["limits"]
    current: list = [None]
    budget = Budget(int(limits["output_cell_bytes"]), int(limits["output_notebook_bytes"]))

    import numpy  # noqa: F401 - imported before student code, like the setup cell does
    import torch  # noqa: F401

    from calcgrad import checks

    shell = make_shell(current)
    show_plots_inline(shell)
    runner = RecordingRunner(current)
    checks.use_runner(runner)
    sys.stdout = CapturedStream("stdout", current)
    sys.stderr = CapturedStream("stderr", current)
    manager = shell.input_transformer_manager
    transforms = (len(shell.input_transformers_post), len(manager.cleanup_transforms),
                  len(manager.line_transforms), len(manager.token_transformers))
    watched = watch_snapshot()
    signal.signal(signal.SIGALRM, _on_timer)
    signal.signal(signal.SIGPROF, _on_timer)
    skip = set(job.get("skip", []))
    # The runner's own code, and what it relies on, as it is before any student code runs.
    machinery = Machinery(shell, [sys.modules[_MODULE_NAME], protocol, capture, tamper])
    send, run_cell, restore = channel.send, shell.run_cell, machinery.restore
    send({"event": "ready"})
    for spec in job["cells"]:
        index = int(spec["index"])
        send({"event": "start", "index": index})
        cell = Cell(budget)
        budget.new_cell()
        started = time.monotonic()
        if index in skip:
            cell.error("CellSkipped", "this cell crashed the notebook's process in an "
                       "earlier run and was skipped", [])
        else:
            current[0] = cell
            if spec.get("local"):  # a test cell graded by nbgrader's rule: checks raise here
                checks.use_runner(checks.LocalRunner())
            outcome, stopped = None, None
            try:
                _set_timers(float(limits["cell_seconds"]))
                outcome = run_cell(spec["source"], store_history=True)
            except BaseException as exc:  # noqa: BLE001 - a timer or exit outside user code
                stopped = exc
            finally:
                _set_timers(0)
                current[0] = None
            cell.flags |= restore()
            if spec.get("local"):
                checks.use_runner(runner)
            if stopped is not None:
                cell.error(type(stopped).__name__, safe_str(stopped), [])
                if isinstance(stopped, CellTimeout):
                    cell.flags.add("timeout")
            else:
                _error_from_result(cell, outcome)
        cell.flags |= tamper_flags(shell, runner, watched, transforms)
        send({"event": "cell", "index": index, "outputs": cell.outputs,
              "records": cell.records, "flags": sorted(cell.flags),
              "seconds": round(time.monotonic() - started, 3)})
    # The files the notebook wrote or changed next to it (kept in autograded/, as nbgrader
    # keeps them); checked again by the grader, which never trusts this list.
    name = os.path.basename(str(job.get("notebook_name") or "notebook.ipynb"))
    send({"event": "end", "files": submission_files.collect(job.get("_placed") or {}, {name},
                                                              job.get("_workdir"))})


def enter_workspace(job: dict, home: str) -> None:
    """Make a HOME and a working folder under `home`, point IPython and matplotlib there,
    go to the working folder and write the job's notebook into it."""
    for sub in ("home", "work"):
        os.makedirs(os.path.join(home, sub), exist_ok=True)
    os.environ["HOME"] = os.path.join(home, "home")
    os.environ["IPYTHONDIR"] = os.path.join(home, "home", ".ipython")
    os.environ["MPLCONFIGDIR"] = os.path.join(home, "home", ".matplotlib")
    os.chdir(os.path.join(home, "work"))
    # Who the notebook belongs to (calcgrad.variants): the gradebook's id, from the grader.
    who = job.get("variants") if isinstance(job.get("variants"), dict) else {}
    os.environ.pop(variants.ID_VARIABLE, None)
    if who.get("student"):
        os.environ[variants.ID_VARIABLE] = str(who["student"])
    os.environ[variants.ENABLED_VARIABLE] = "0" if who.get("enabled") is False else "1"
    name = os.path.basename(str(job.get("notebook_name") or "notebook.ipynb"))
    # The released data files and the student's own files, next to the notebook
    # (calcgrad.grading.submission_files; `collect` at the end sends back what changed).
    job["_workdir"] = os.getcwd()
    job["_placed"] = submission_files.place(job)
    if job.get("notebook_text"):
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(job["notebook_text"])


def main() -> None:
    raw = sys.stdin.buffer.read(MAX_JOB_BYTES + 1)
    if len(raw) > MAX_JOB_BYTES:
        raise SystemExit("job too large")
    job = json.loads(raw)
    channel = Channel(os.dup(1))
    protocol.quiet_standard_fds()
    apply_limits(job["limits"])
    drop_privileges(job.get("uid"))
    enter_workspace(job, job.get("home") or os.getcwd())
    code = 0
    try:
        run_job(job, channel)
    except BaseException:  # noqa: BLE001 - whatever happened, leave at once
        code = 70
    # Threads or children the submission left behind do not keep us alive.
    os._exit(code)


if __name__ == "__main__":
    main()

"""The cell executor that runs inside the sandbox: `python -m calcgrad.grading.runner`.

Protocol (the seam a pre-forked worker can reuse): the job arrives as one
JSON document on stdin; results leave as JSON lines on stdout, one event
per line: `ready`, then for each code cell `start` and `cell` (its outputs,
the student values its checks recorded, flags), then `end`.

Before any student code runs this process applies the job's limits
(`setrlimit`), drops root to the job's uid when it has one, sends fds 0-2 to
/dev/null (student output is captured per cell, byte-capped) and keeps the
result channel on a private fd. Everything after that is untrusted: the
grader treats what comes back as claims, never as verdicts.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import sys
import time
import types

from calcgrad import variants
from calcgrad.grading import submission_files

MAX_JOB_BYTES = 64 * 1024 * 1024
TRUNCATED = "\n... output truncated: this cell printed more than {} bytes ...\n"
# Attributes a submission has no honest reason to replace; a change is reported.
WATCHED = [("torch", "allclose"), ("torch", "isclose"), ("torch", "equal"),
           ("torch", "tensor"), ("torch", "Tensor"), ("numpy", "allclose"),
           ("numpy", "isclose"), ("numpy", "array_equal"), ("builtins", "isinstance"),
           ("builtins", "float"), ("builtins", "print"), ("builtins", "__import__"),
           ("json", "dumps"), ("calcgrad.plain", "encode"), ("calcgrad.plain", "capture"),
           ("calcgrad.checks", "close"), ("calcgrad.checks", "equal"),
           ("calcgrad.checks", "holds"), ("calcgrad.checks", "_run"),
           ("calcgrad.checks", "use_runner"), ("calcgrad.checks", "judge"),
           ("calcgrad.checks", "compare_close"), ("calcgrad.checks", "compare_equal"),
           ("calcgrad.checks", "compare_holds"), ("calcgrad.verdicts", "compare_close"),
           ("calcgrad.verdicts", "compare_equal"), ("calcgrad.verdicts", "compare_holds")]
# The shell methods that decide and display a cell's error (nbgrader's showtraceback exploit
# replaces one of them); a change is reported, and undone before the next cell.
SHELL_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell",
                 "run_cell_async", "run_ast_nodes", "run_code")


# This module's own name (`__main__` when run with -m), kept before a notebook's own
# `__main__` takes its place in sys.modules.
_MODULE_NAME = __name__ if __name__ != "__main__" else "calcgrad.grading.runner"
if __name__ == "__main__":
    sys.modules.setdefault(_MODULE_NAME, sys.modules[__name__])


class CellTimeout(BaseException):
    """Raised into a cell that ran past its time limit (like a kernel interrupt)."""


class Channel:
    """JSON lines to the grader, on a private copy of the original stdout."""

    def __init__(self, fd: int):
        self.fd = fd
        self.pid = os.getpid()
        self._dumps, self._write, self._getpid = json.dumps, os.write, os.getpid

    def send(self, event: dict) -> None:
        if self._getpid() != self.pid:  # a forked child never speaks for the notebook
            return
        data = (self._dumps(event, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")
        view = memoryview(data)
        while view:
            n = self._write(self.fd, view)
            view = view[n:]


class Budget:
    """Bytes of output left, for the cell and for the notebook."""

    def __init__(self, cell: int, notebook: int):
        self.cell_limit, self.notebook_left = cell, notebook
        self.cell_left = cell
        self.truncated = False

    def new_cell(self) -> None:
        self.cell_left = min(self.cell_limit, self.notebook_left)
        self.truncated = False

    def take(self, n: int) -> int:
        """How many of n bytes may still be kept."""
        k = max(0, min(n, self.cell_left))
        self.cell_left -= k
        self.notebook_left -= k
        return k


class Cell:
    """What one cell produced, in order."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.outputs: list[dict] = []
        self.records: list[dict] = []
        self.flags: set[str] = set()

    def stream(self, name: str, text: str) -> None:
        if self.budget.truncated:
            return
        keep = self.budget.take(len(text))
        if keep < len(text):
            text = text[:keep] + TRUNCATED.format(self.budget.cell_limit)
            self.budget.truncated = True
            self.flags.add("output truncated")
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, output_type: str, data: dict) -> None:
        plain = {}
        for mime, value in data.items():
            if not isinstance(mime, str) or not isinstance(value, str):
                continue
            if self.budget.take(len(value)) < len(value):
                self.flags.add("output truncated")
                self.budget.truncated = True
                continue
            plain[mime] = value
        if plain:
            self.outputs.append({"output_type": output_type, "data": plain, "metadata": {}})

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        tb = [t[:4000] for t in traceback[:200]]
        self.budget.take(sum(len(t) for t in tb))
        self.outputs.append({"output_type": "error", "ename": ename[:200],
                             "evalue": evalue[:4000], "traceback": tb})


class CapturedStream(io.TextIOBase):
    """sys.stdout / sys.stderr while a cell runs: text goes to the current cell."""

    def __init__(self, name: str, current: list):
        self.name, self._current = name, current

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"

    def write(self, text) -> int:
        if not isinstance(text, str):
            text = str(text)
        cell = self._current[0]
        if cell is not None:
            cell.stream(self.name, text)
        return len(text)

    def flush(self) -> None:
        return None


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


def _watch_snapshot() -> dict:
    snap = {}
    for module, attr in WATCHED:
        mod = sys.modules.get(module)
        if mod is not None:
            snap[(module, attr)] = id(getattr(mod, attr, None))
    return snap


class Machinery:
    """The runner's own code (this module, its classes, the shell's classes and IPython's
    error-handling methods) as it was before student code ran. A submission that replaces
    any of it is reported once per cell, and what it replaced is put back before the runner
    uses it again, so the tampering shows as tampering rather than as a crash."""

    def __init__(self, shell):
        from IPython.core.interactiveshell import InteractiveShell

        module = sys.modules[_MODULE_NAME]
        owners: list = [module]
        owners += [v for v in vars(module).values()
                   if isinstance(v, type) and v.__module__ == __name__]
        owners += [type(shell), type(shell.displayhook), type(shell.display_pub)]
        self.owners = [(o, dict(vars(o))) for o in dict.fromkeys(owners)]
        self.shell_methods = {name: InteractiveShell.__dict__.get(name) for name in SHELL_METHODS}
        self.codes = {}
        for _, members in self.owners:
            for value in members.values():
                func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                if isinstance(func, types.FunctionType):
                    self.codes[func] = func.__code__
        self.base = InteractiveShell

    def restore(self) -> set[str]:
        """Put back what was replaced since the snapshot; the flags that say what."""
        flags: set[str] = set()
        for owner, members in self.owners:
            now = vars(owner)
            label = getattr(owner, "__name__", "?")
            for name in [n for n in now if n not in members]:
                if not name.startswith("__"):
                    flags.add(f"calcgrad.grading.runner modified ({label}.{name})")
                    delattr(owner, name)
            for name, value in members.items():
                if now.get(name) is not value:
                    flags.add(f"calcgrad.grading.runner modified ({label}.{name})")
                    if isinstance(owner, types.ModuleType):
                        setattr(owner, name, value)
                    else:
                        type.__setattr__(owner, name, value)
        for func, code in self.codes.items():
            if func.__code__ is not code:
                flags.add(f"calcgrad.grading.runner modified ({func.__qualname__})")
                func.__code__ = code
        for name, value in self.shell_methods.items():
            if self.base.__dict__.get(name) is not value:
                flags.add(f"IPython InteractiveShell.{name} replaced")
                if value is None:
                    delattr(self.base, name)
                else:
                    setattr(self.base, name, value)
        return flags


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
            cell.error(str(name), _safe_str(evalue), [str(s) for s in stb])
            if isinstance(evalue, MemoryError) or "can't allocate memory" in _safe_str(evalue):
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
    # finds through inspect.getmodule at 7-20 ms per error instead of under 1 ms.
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


def _safe_str(value) -> str:
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a student's __str__ may raise anything
        return "<unprintable>"
    return text[:4000] if isinstance(text, str) else "<unprintable>"


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


def _tamper_flags(shell, runner, watched: dict, transforms: tuple) -> set[str]:
    flags = set()
    if shell.ast_transformers:
        flags.add("AST transformer installed")
    manager = shell.input_transformer_manager
    now = (len(shell.input_transformers_post), len(manager.cleanup_transforms),
           len(manager.line_transforms), len(manager.token_transformers))
    if now != transforms:
        flags.add("input transformer installed")
    checks = sys.modules.get("calcgrad.checks")
    if checks is None or getattr(checks, "_runner", None) is not runner:
        flags.add("calcgrad.checks runner replaced")
    for key, ident in watched.items():
        mod = sys.modules.get(key[0])
        if mod is None or id(getattr(mod, key[1], None)) != ident:
            flags.add(f"{key[0]}.{key[1]} replaced")
    return flags


def _error_from_result(cell: Cell, outcome) -> None:
    """A cell failed when its execution result says so, whatever the student's shell chose
    to display: with `showtraceback` silenced, the error is added here (as nbgrader scores
    that cell 0)."""
    failure = (getattr(outcome, "error_before_exec", None)
               or getattr(outcome, "error_in_exec", None))
    if failure is None or any(o["output_type"] == "error" for o in cell.outputs):
        return
    name = getattr(type(failure), "__name__", "Error")
    cell.error(str(name), _safe_str(failure), [f"{name}: {_safe_str(failure)}"])
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
    watched = _watch_snapshot()
    signal.signal(signal.SIGALRM, _on_timer)
    signal.signal(signal.SIGPROF, _on_timer)
    skip = set(job.get("skip", []))
    machinery = Machinery(shell)
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
                cell.error(type(stopped).__name__, _safe_str(stopped), [])
                if isinstance(stopped, CellTimeout):
                    cell.flags.add("timeout")
            else:
                _error_from_result(cell, outcome)
        cell.flags |= _tamper_flags(shell, runner, watched, transforms)
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
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
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

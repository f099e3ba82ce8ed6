"""Run one notebook's job in the sandbox and watch it from outside.

The grader enforces what the runner cannot be trusted to: a wall clock per
cell and per notebook (then the whole sandbox is killed), a cap on the bytes
that come back, and a strict reading of the event stream (anything out of
order is reported as tampering, and nothing after it is believed).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

from calcgrad.grading import protocol
from calcgrad.grading.limits import Limits
from calcgrad.grading.sandbox import SCRATCH, Sandbox
from calcgrad.grading.vocabulary import Reason

GRACE_SECONDS = 5.0  # after a cell's own limit, before the sandbox is killed
SIGNALS = {int(s): s.name for s in signal.Signals}


@dataclass
class CellResult:
    index: int
    outputs: list = field(default_factory=list)
    records: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Crash:
    """An earlier run of the notebook that stopped at `cell`; the next run skipped it."""

    cell: int
    reason: str  # a vocabulary.Reason
    detail: str
    cells: dict[int, CellResult]
    flags: set[str]


@dataclass
class RunResult:
    cells: dict[int, CellResult] = field(default_factory=dict)
    ended: bool = False  # the runner reached the end of the notebook
    stopped_at: int | None = None  # the cell running when the process died or was killed
    reason: str = Reason.NONE  # a vocabulary.Reason
    detail: str = ""
    flags: set[str] = field(default_factory=set)
    seconds: float = 0.0
    returncode: int | None = None
    crashes: list[Crash] = field(default_factory=list)  # earlier runs that stopped
    # What the notebook wrote next to it, as the runner's last event lists it (untrusted:
    # calcgrad.grading.submission_files.produced checks it before anything is written).
    files: list = field(default_factory=list)


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def track(proc: subprocess.Popen) -> None:
    """A sandbox (one-shot or warm worker) that `kill_all` must reach."""
    with _LIVE_LOCK:
        _LIVE.add(proc)


def untrack(proc: subprocess.Popen) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(proc)


def kill_all() -> None:
    """Kill every sandbox still running, one-shot and warm alike (Ctrl-C)."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        kill(proc)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "killed"
    if code < 0:
        return f"signal {SIGNALS.get(-code, -code)}"
    if code > 128 and code - 128 in SIGNALS:  # bwrap reports a signal as 128 + n
        return f"signal {SIGNALS[code - 128]}"
    return f"exit status {code}"


def _exit_signal(code: int | None) -> int | None:
    if code is None:
        return None
    if code < 0:
        return -code
    if code > 128 and code - 128 in SIGNALS:
        return code - 128
    return None


class _Reader:
    """Parse the runner's event lines, checking each against what may come next."""

    def __init__(self, result: RunResult, order: list[int]):
        self.result = result
        self.order = order
        self.position = 0
        self.current: int | None = None
        self.ready = False
        self.broken = False

    def _protocol(self, why: str) -> None:
        self.broken = True
        self.result.flags.add(f"malformed result stream ({why})")

    def line(self, raw: bytes) -> None:
        if self.broken:
            return
        try:
            event = json.loads(raw)
        except (ValueError, RecursionError):
            return self._protocol("not JSON")
        if not isinstance(event, dict):
            return self._protocol("not an object")
        kind = event.get("event")
        if kind == "ready" and not self.ready:
            self.ready = True
        elif kind == "start" and self.ready and self.current is None:
            if self.position >= len(self.order) or event.get("index") != self.order[self.position]:
                return self._protocol("cell out of order")
            self.current = self.order[self.position]
        elif kind == "cell" and self.current is not None and event.get("index") == self.current:
            outputs, records, flags = (event.get("outputs"), event.get("records"),
                                       event.get("flags"))
            if not (isinstance(outputs, list) and isinstance(records, list)
                    and isinstance(flags, list)):
                return self._protocol("bad cell event")
            seconds = event.get("seconds")
            self.result.cells[self.current] = CellResult(
                self.current, outputs, records, [str(f)[:200] for f in flags[:50]],
                float(seconds) if isinstance(seconds, (int, float)) else 0.0)
            self.current = None
            self.position += 1
        elif kind == "end" and self.ready and self.current is None \
                and self.position == len(self.order):
            self.result.ended = True
            files = event.get("files")  # submission_files.collect's list (checked later)
            self.result.files = files if isinstance(files, list) else []
        else:
            return self._protocol(f"unexpected {str(kind)[:40]!r} event")


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass


def run_job(job: dict, limits: Limits, sandbox: Sandbox, slot: int = 0,
            budget_seconds: float | None = None) -> RunResult:
    """Run a notebook job; never raises for anything the notebook does."""
    result = RunResult()
    order = [int(c["index"]) for c in job["cells"]]
    job = dict(job, limits=limits.as_job(), uid=sandbox.uid_for(slot))
    started = time.monotonic()
    notebook_deadline = started + (budget_seconds if budget_seconds is not None
                                   else limits.notebook_seconds)
    with tempfile.TemporaryDirectory(prefix="calcgrad-scratch-") as scratch:
        job["home"] = SCRATCH if sandbox.enabled else scratch
        payload = json.dumps(job).encode("utf-8")
        try:
            proc = subprocess.Popen(sandbox.command(limits.scratch_bytes), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    cwd=scratch, env=sandbox.environment(scratch),
                                    start_new_session=True)
        except OSError as exc:
            result.reason, result.detail = Reason.START, f"could not start the sandbox: {exc}"
            return result
        track(proc)
        try:
            feeder = threading.Thread(target=_feed, args=(proc, payload), daemon=True)
            feeder.start()
            _watch(proc.stdout, proc.stderr, result, order, limits, notebook_deadline,
                   lambda timeout: _wait_or_kill(proc, timeout))
        finally:
            kill(proc)
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                stream.close()
            untrack(proc)
    result.returncode = proc.returncode
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _feed(proc: subprocess.Popen, payload: bytes) -> None:
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except OSError:  # the runner died before reading its job
        pass


def _wait_or_kill(proc: subprocess.Popen, timeout: float) -> int | None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        proc.wait()
    return proc.returncode


def _watch(out, errs, result: RunResult, order: list[int], limits: Limits,
           notebook_deadline: float, wait_exit) -> None:
    """Read the event stream from `out` (and the runner's stderr, `errs`, when there is
    one) until it ends or a limit is hit; `wait_exit(timeout)` gives the exit status."""
    reader = _Reader(result, order)
    sel = selectors.DefaultSelector()
    sel.register(out, selectors.EVENT_READ, "out")
    if errs is not None:
        sel.register(errs, selectors.EVENT_READ, "err")
    buf, err, total = b"", b"", 0
    max_line = protocol.max_event_line(limits.output_cell_bytes)
    cell_started = time.monotonic()
    last_current = None
    open_streams = 2 if errs is not None else 1
    end_seen_at = None
    while open_streams:
        now = time.monotonic()
        if reader.current != last_current:
            last_current, cell_started = reader.current, now
        cell_deadline = (cell_started + limits.cell_seconds + GRACE_SECONDS
                         if reader.current is not None else notebook_deadline)
        deadline = min(cell_deadline, notebook_deadline)
        if end_seen_at is not None:
            deadline = min(deadline, end_seen_at + 5.0)
        if now >= deadline:
            if end_seen_at is None:
                result.reason = Reason.TIMEOUT
                result.detail = ("a cell ran past its time limit and could not be interrupted"
                                 if reader.current is not None and now >= cell_deadline
                                 else "the notebook ran past its time limit")
            break
        for key, _ in sel.select(timeout=min(1.0, deadline - now)):
            chunk = os.read(key.fileobj.fileno(), 1 << 16)
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            if key.data == "err":
                err = (err + chunk)[-8192:]
                continue
            total += len(chunk)
            if total > limits.channel_bytes:
                result.reason, result.detail = Reason.OUTPUT, "the notebook sent back too much data"
                result.flags.add("result stream over its size limit")
                open_streams = 0
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                reader.line(line)
            if len(buf) > max_line:
                reader._protocol("line too long")
                buf = b""
            if result.ended and end_seen_at is None:
                end_seen_at = time.monotonic()
            if reader.broken:
                open_streams = 0
                break
    sel.close()
    if not result.ended and not result.reason:
        code = wait_exit(5.0)
        sig = _exit_signal(code)
        if reader.broken:
            result.reason = Reason.PROTOCOL
            result.detail = "the notebook's process sent back data the grader could not read"
        elif sig in (signal.SIGXCPU, signal.SIGKILL) and reader.current is not None:
            result.reason = Reason.TIMEOUT
            result.detail = f"the notebook used up its CPU time ({_describe_exit(code)})"
        elif not reader.ready:
            result.reason = Reason.START
            result.detail = (f"the sandbox did not start ({_describe_exit(code)}): "
                             f"{err.decode('utf-8', 'replace').strip()[-500:]}")
        else:
            result.reason = Reason.CRASHED
            result.detail = f"the notebook's process ended early ({_describe_exit(code)})"
    if not result.ended:
        result.stopped_at = reader.current

"""The grader's side of a pre-warmed sandboxed worker (see `worker.py`).

One `WarmWorker` per parallel slot: a bwrap sandbox (the same command and
mounts as the one-shot runner) whose Python has imported torch and friends
and run the blank release notebook once. Each notebook then costs a fork
inside the sandbox instead of a new sandbox and a new interpreter.

The grader watches a warm run exactly as a cold one (`supervise._watch`:
per-cell and per-notebook wall clocks, byte caps, a strict event stream).
When anything goes wrong (a timeout, too much output, a garbled stream, no
exit report) the whole sandbox is killed and the next notebook starts a new
one; if a worker cannot start at all, the slot falls back to one sandbox per
notebook (`supervise.run_job`).
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import socket
import subprocess
import time

from calcgrad.grading import protocol, supervise
from calcgrad.grading.protocol import GO, send, send_bytes
from calcgrad.grading.limits import Limits
from calcgrad.grading.sandbox import SCRATCH, Sandbox
from calcgrad.grading.supervise import RunResult
from calcgrad.grading.vocabulary import Reason

WORKER_MODULE = "calcgrad.grading.worker"
START_SECONDS = 120.0  # imports and the warm-up, on a loaded machine
EXIT_REPORT_SECONDS = 5.0

class WorkerUnavailable(RuntimeError):
    """The warm worker did not start (the slot grades with one sandbox per notebook)."""


class WarmWorker:
    def __init__(self, sandbox: Sandbox, limits: Limits, slot: int, warmup_cells: list[dict]):
        self.sandbox, self.limits, self.slot = sandbox, limits, slot
        self.warmup_cells = warmup_cells
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._lines = b""
        self.started = 0  # sandboxes started (1 + restarts)

    # -- life cycle
    def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = self.sandbox.command(self.limits.scratch_bytes, module=WORKER_MODULE)
        cwd = None if self.sandbox.enabled else SCRATCH
        try:
            self.proc = subprocess.Popen(argv, stdin=theirs, stdout=theirs,
                                         stderr=subprocess.DEVNULL, cwd=cwd,
                                         env=self.sandbox.environment(SCRATCH),
                                         start_new_session=True)
        except OSError as exc:
            ours.close()
            raise WorkerUnavailable(str(exc)) from exc
        finally:
            theirs.close()
        self.sock, self._lines = ours, b""
        self.started += 1
        supervise.track(self.proc)  # Ctrl-C reaches it (supervise.kill_all)
        job_limits = self.limits.as_job()
        try:
            send(self.sock, {"cells": self.warmup_cells, "limits": job_limits})
            reply = self._message(time.monotonic() + START_SECONDS)
        except OSError as exc:
            reply = None
            why = str(exc)
        else:
            why = "no answer"
        if not reply or not reply.get("ready"):
            self.close()
            raise WorkerUnavailable(f"the warm worker did not start ({why})")

    def close(self) -> None:
        proc, sock = self.proc, self.sock
        self.proc = self.sock = None
        if proc is not None:
            supervise.kill(proc)
            proc.wait()
            supervise.untrack(proc)
        if sock is not None:
            sock.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- messages from the worker
    def _message(self, deadline: float) -> dict | None:
        """The worker's next JSON line, or None (closed, garbled or too late)."""
        while b"\n" not in self._lines:
            left = deadline - time.monotonic()
            if left <= 0 or self.sock is None:
                return None
            with selectors.DefaultSelector() as sel:
                sel.register(self.sock, selectors.EVENT_READ)
                if not sel.select(timeout=min(left, 1.0)):
                    continue
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self._lines += chunk
            if len(self._lines) > protocol.MAX_CONTROL_LINE:
                return None
        line, self._lines = self._lines.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    # -- one notebook
    def run(self, job: dict, budget_seconds: float | None = None) -> RunResult:
        """Like `supervise.run_job`, in a child forked from the warm worker."""
        if not self.alive:
            self.close()
            self.start()
        limits = self.limits
        result = RunResult()
        order = [int(c["index"]) for c in job["cells"]]
        job = dict(job, limits=limits.as_job(), uid=self.sandbox.uid_for(self.slot))
        started = time.monotonic()
        deadline = started + (budget_seconds if budget_seconds is not None
                              else limits.notebook_seconds)
        read_end, write_end = os.pipe()
        # The worker only passes the child its two channels; the job goes to the child
        # alone, after the fork, so no student's job ever sits in the worker's memory.
        job_ours, job_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            send_bytes(self.sock, GO, fd=[job_theirs.fileno(), write_end])
            job_theirs.close()
            job_ours.settimeout(max(1.0, min(deadline - time.monotonic(), START_SECONDS)))
            send(job_ours, job)
        except OSError as exc:
            os.close(read_end)
            os.close(write_end)
            self.close()
            result.reason, result.detail = Reason.START, f"the warm worker went away: {exc}"
            return result
        finally:
            job_theirs.close()
            job_ours.close()
        os.close(write_end)
        reported: list = []

        def wait_exit(timeout: float) -> int | None:
            message = self._message(time.monotonic() + timeout)
            if message is None or not isinstance(message.get("exit"), int):
                self.close()
                return None
            reported.append(message["exit"])
            return message["exit"]

        with os.fdopen(read_end, "rb", buffering=0) as stream:
            supervise._watch(stream, None, result, order, limits, deadline, wait_exit)
        if not reported:
            if result.ended and not result.reason:
                code = wait_exit(EXIT_REPORT_SECONDS)
            else:  # stopped by the grader: the whole sandbox goes, a new one comes next time
                self.close()
                code = None
        else:
            code = reported[0]
        result.returncode = code
        result.seconds = round(time.monotonic() - started, 3)
        return result


class WarmSlot:
    """One sandbox slot's warm worker, for a local slot and a Dask worker thread alike:
    started on first use, started again when it died, built anew when the sandbox setting,
    the limits or the warm-up change, and given up (one sandbox per notebook, `supervise`)
    when it cannot start."""

    def __init__(self, number: int):
        self.number = number
        self.worker: WarmWorker | None = None
        self.cold = False  # the warm worker did not start: one sandbox per notebook
        self._key = ""
        self._inputs: tuple = ()

    def _warm_worker(self, sandbox: Sandbox, limits: Limits,
                     warmup: list[dict]) -> tuple[WarmWorker | None, str]:
        """(the warm worker or None, a note the first time it could not start)."""
        same = self._inputs and self._inputs[0] is sandbox and self._inputs[1] == limits \
            and self._inputs[2] is warmup  # the usual case: no need to hash the warm-up again
        if not same:
            key = hashlib.sha256(json.dumps([sandbox.enabled, limits.as_job(), warmup],
                                            sort_keys=True).encode()).hexdigest()
            self._inputs = (sandbox, limits, warmup)
            if key != self._key:
                self.close()
                self._key, self.cold = key, False
                self.worker = WarmWorker(sandbox, limits, self.number, warmup)
        if self.cold:
            return None, ""
        if not self.worker.alive:
            try:
                self.worker.close()
                self.worker.start()
            except WorkerUnavailable as exc:
                self.cold = True
                return None, f"{exc}: graded with one sandbox per notebook"
        return self.worker, ""

    def run(self, job: dict, sandbox: Sandbox, limits: Limits, warm: bool, warmup: list[dict],
            budget_seconds: float | None = None) -> tuple[RunResult, str]:
        """One notebook's run in this slot: (its result, a note when the slot went cold)."""
        worker, note = None, ""
        if warm and sandbox.enabled:
            worker, note = self._warm_worker(sandbox, limits, warmup)
        if worker is None:
            return supervise.run_job(job, limits, sandbox, self.number,
                                     budget_seconds=budget_seconds), note
        return worker.run(job, budget_seconds), note

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
        self.worker, self._key, self._inputs = None, "", ()

"""Grading on a Dask distributed cluster: `calcgrad autograde A --dask-scheduler ADDRESS`.

The grader's process stays where it is: it reads and sanitizes submissions,
strips the trusted halves of the test cells, decides verdicts and writes the
gradebook and `autograded/`. Only step 2 (running a notebook in a sandbox)
moves: `Cluster.run` takes the place of a local slot's warm worker and
submits `run_notebook` to the cluster. On a Dask worker thread that function
runs the job as a local slot does (`pool.WarmSlot`: a warm worker per worker
thread, rebuilt when the warm-up cells, the limits or the sandbox setting
change, and one sandbox per notebook when it cannot start), with the
bubblewrap `Sandbox` built on that host.

What travels: to the workers, the sandbox job (the notebook with its test
cells already stripped, the cell list, skips on a re-run), the limits, the
blank release's cells for the warm-up and a fingerprint of the software;
back, the `RunResult` (plain data from the sandbox, read by the worker's
trusted code) and the worker's address. The gradebook and the trusted test
sources never leave the grader's machine, and nothing but the grader writes
results. Dask pickles what it sends, so the scheduler must be reachable by
the instructor only (a private network, an SSH tunnel or Dask's TLS).

Every worker host needs this repository's environment (same calcgrad, torch
and friends: checked on connect) and bubblewrap (checked on connect too).
When root, each worker thread claims a host-wide sandbox slot (its uid, so
per-uid limits are never shared) with a lock file, numbered from 128 so a
local grader on the same host keeps its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
from collections import Counter
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path

from calcgrad.grading import pool
from calcgrad.grading.config import ConfigurationError
from calcgrad.grading.limits import Limits
from calcgrad.grading.sandbox import Sandbox, SandboxUnavailable, claim_slot
from calcgrad.grading.supervise import RunResult

CONNECT_SECONDS = 15.0  # to reach the scheduler, and then to see a first worker
FIRST_SLOT, LAST_SLOT = 128, 255  # sandbox.FIRST_UID + slot, when the worker is root
PACKAGES = ("torch", "numpy", "ipython", "matplotlib", "matplotlib-inline")


class ClusterLost(RuntimeError):
    """The client gave up on the scheduler (it reconnects for a while first)."""


class WorkerMismatch(RuntimeError):
    """A worker's software differs from the grader's (it could grade differently)."""


def fingerprint() -> dict[str, str]:
    """What must be the same on the grader and on every worker for both to grade alike."""
    from importlib import metadata

    import calcgrad

    root = Path(calcgrad.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(f"{path.relative_to(root)}\0".encode() + path.read_bytes() + b"\0")
    found = {"python": "{}.{}".format(*sys.version_info[:2]), "calcgrad": digest.hexdigest()[:16]}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


_FINGERPRINT: dict[str, str] = {}


def _own_fingerprint() -> dict[str, str]:
    if not _FINGERPRINT:
        _FINGERPRINT.update(fingerprint())
    return _FINGERPRINT


def _differences(worker: dict, grader: dict) -> str:
    return ", ".join(f"{k} {worker.get(k)} on the worker, {v} on the grader"
                     for k, v in grader.items() if worker.get(k) != v)


# ------------------------------------------------------------ on a Dask worker

@dataclass
class _Slot:
    """One Dask worker thread's host-wide sandbox slot (its lock file) and warm worker."""

    lock_fd: int
    warm: pool.WarmSlot
    busy: threading.Lock = field(default_factory=threading.Lock)


_LOCAL = threading.local()
_SLOTS: list[_Slot] = []
_SLOTS_LOCK = threading.Lock()
_CHECKED: dict[bool, str] = {}  # sandbox enabled? -> why it cannot start ("" when it can)


def _claim_slot() -> _Slot:
    number, fd = claim_slot(range(FIRST_SLOT, LAST_SLOT + 1))
    return _Slot(fd, pool.WarmSlot(number))


def _thread_slot() -> _Slot:
    slot = getattr(_LOCAL, "slot", None)
    if slot is None:
        slot = _LOCAL.slot = _claim_slot()
        with _SLOTS_LOCK:
            _SLOTS.append(slot)
    return slot


def _address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:  # not on a worker (called directly)
        return "local"


def check_worker(sandbox_enabled: bool) -> dict:
    """Run on every worker on connect: its fingerprint and whether its sandbox starts."""
    if sandbox_enabled not in _CHECKED:
        try:
            Sandbox(enabled=sandbox_enabled).check()
        except SandboxUnavailable as exc:
            _CHECKED[sandbox_enabled] = str(exc)
        else:
            _CHECKED[sandbox_enabled] = ""
    return {"fingerprint": _own_fingerprint(), "sandbox": _CHECKED[sandbox_enabled]}


def run_notebook(job: dict, settings: dict, budget_seconds: float | None):
    """A notebook's sandboxed run on a Dask worker thread: (worker address, note, RunResult).

    `settings`: limits (a dict), sandbox and warm (bools), warmup (cells), fingerprint."""
    if settings["fingerprint"] != _own_fingerprint():  # a worker that joined after the check
        raise WorkerMismatch(f"worker {_address()} runs other software: "
                             f"{_differences(_own_fingerprint(), settings['fingerprint'])}")
    sandbox = Sandbox(enabled=settings["sandbox"])
    why = check_worker(sandbox.enabled)["sandbox"]
    if why:
        raise SandboxUnavailable(f"worker {_address()}: {why}")
    limits = Limits(**settings["limits"])
    slot = _thread_slot()
    with slot.busy:
        result, note = slot.warm.run(job, sandbox, limits, settings["warm"],
                                     settings["warmup"], budget_seconds)
    return _address(), note, result


def release_idle() -> int:
    """Run on every worker when a grader is done: close the warm workers no job is using."""
    closed = 0
    with _SLOTS_LOCK:
        slots = list(_SLOTS)
    for slot in slots:
        if slot.busy.acquire(blocking=False):
            try:
                if slot.warm.worker is not None:
                    slot.warm.close()
                    closed += 1
            finally:
                slot.busy.release()
    return closed


# ------------------------------------------------------------ on the grader

class Cluster:
    """A connection to a Dask scheduler that runs the grader's sandbox jobs."""

    def __init__(self, address: str, log=print):
        self.address, self.log = address, log
        self.ran: Counter[str] = Counter()  # notebooks run, per worker address
        self._futures: set = set()
        self._lock = threading.Lock()
        self._cancelled = False
        self.lost = False  # the scheduler went away during the run: work was dropped
        self._notes: set[str] = set()
        self._checked: set[bool] = set()
        self._fingerprint = _own_fingerprint()
        from distributed import Client
        from distributed.comm.addressing import get_address_host_port

        try:
            get_address_host_port(address)
        except ValueError as exc:  # before a Client exists: a broken one hangs at exit
            raise ConfigurationError(f"{address!r} is not a Dask scheduler address "
                                     f"(tcp://HOST:PORT): {exc}") from None
        try:
            self.client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigurationError(f"cannot reach the Dask scheduler at {address} "
                                     f"within {CONNECT_SECONDS:g} s: {exc}") from None
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except TimeoutError:
            self.client.close()
            raise ConfigurationError(f"the Dask scheduler at {address} has no workers "
                                     f"(waited {CONNECT_SECONDS:g} s); start some with "
                                     f"`dask worker {address}`") from None

    def threads(self) -> int:
        """The cluster's worker threads, all together (the grader's default --jobs)."""
        return sum(self.client.nthreads().values())

    def check(self, sandbox: Sandbox) -> None:
        """Every worker runs our software and can start the sandbox; else ConfigurationError."""
        if sandbox.enabled in self._checked:
            return
        try:
            answers = self.client.run(check_worker, sandbox.enabled)
        except Exception as exc:  # noqa: BLE001 - whatever a worker raises, it cannot grade
            raise ConfigurationError(f"the workers of {self.address} cannot run calcgrad "
                                     f"(is this repository's environment installed there?): "
                                     f"{type(exc).__name__}: {str(exc)[:300]}") from None
        wrong = []
        for worker, answer in sorted(answers.items()):
            if answer["fingerprint"] != self._fingerprint:
                wrong.append(f"{worker} runs other software "
                             f"({_differences(answer['fingerprint'], self._fingerprint)})")
            elif answer["sandbox"]:
                wrong.append(f"{worker} cannot start the sandbox: {answer['sandbox']}")
        if wrong:
            raise ConfigurationError(f"workers of {self.address} that cannot grade: "
                                     + "; ".join(wrong))
        self._checked.add(sandbox.enabled)

    def run(self, job: dict, sandbox: Sandbox, limits: Limits, warm: bool,
            warmup: list[dict], budget_seconds: float | None = None) -> RunResult:
        """One notebook's sandboxed run on some worker; blocks until it is back."""
        settings = {"limits": limits.as_job(), "sandbox": sandbox.enabled, "warm": warm,
                    "warmup": warmup, "fingerprint": self._fingerprint}
        with self._lock:
            if self._cancelled:
                raise RuntimeError("grading on the cluster was cancelled")
            if self.client.status in ("closing", "closed"):
                raise self._lost()
            future = self.client.submit(run_notebook, job, settings, budget_seconds, pure=False)
            self._futures.add(future)
        try:
            worker, note, result = self._wait(future)
        finally:
            with self._lock:
                self._futures.discard(future)
        with self._lock:
            self.ran[worker] += 1
            fresh = note and note not in self._notes
            self._notes.add(note)
        if fresh:
            self.log(f"{worker}: {note}")
        return result

    def _wait(self, future):
        # A future never resolves once the client has given up on a lost scheduler, and one
        # is cancelled when the connection drops: either way this notebook was not graded.
        while True:
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                if future.done():  # it came back just after the wait ran out
                    return future.result()
                if self.client.status not in ("closing", "closed"):
                    continue
            except CancelledError:
                if self._cancelled:
                    raise
            raise self._lost()

    def _lost(self) -> ClusterLost:
        self.lost = True
        return ClusterLost(f"lost the connection to the Dask scheduler at {self.address}: "
                           "this notebook was not graded")

    def cancel(self) -> None:
        """Ctrl-C: drop every notebook not back yet (a running one still ends on its worker,
        within its limits: Dask does not stop a running task)."""
        with self._lock:
            self._cancelled = True
            futures = list(self._futures)
        if futures:
            self.client.cancel(futures)

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            if not self._cancelled and self.client.status == "running":
                self.client.run(release_idle)  # idle sandboxes hold torch's memory there
        with contextlib.suppress(OSError, TimeoutError):
            self.client.close()

    def summary(self) -> str:
        shown = ", ".join(f"{w}: {n}" for w, n in sorted(self.ran.items()))
        return f"on {self.address}: {sum(self.ran.values())} notebook run(s) on " \
               f"{len(self.ran)} worker(s) ({shown})"


_CLUSTERS: dict[str, Cluster] = {}
_CLUSTERS_LOCK = threading.Lock()


def connect(address: str, log=print) -> Cluster:
    """The grader's connection to `address`, made on first use (ConfigurationError if none)."""
    with _CLUSTERS_LOCK:
        if address not in _CLUSTERS:
            _CLUSTERS[address] = Cluster(address, log)
        return _CLUSTERS[address]


def disconnect(address: str) -> None:
    with _CLUSTERS_LOCK:
        cluster = _CLUSTERS.pop(address, None)
    if cluster is not None:
        cluster.close()


def cancel_all() -> None:
    with _CLUSTERS_LOCK:
        clusters = list(_CLUSTERS.values())
    for cluster in clusters:
        cluster.cancel()

"""A pre-warmed sandboxed worker: `python -m calcgrad.grading.worker`, inside bwrap.

Starting Python and importing torch, numpy, matplotlib and IPython costs far
more than running one of the course's notebooks. This process pays the imports once per sandbox, warms up by
running the BLANK release notebook (what every student already has, never
the source: a forked child inherits this memory), resets what the warm-up
left behind, and then forks one fresh child per notebook. The child is the
runner of `runner.py` in all but its start: it applies the job's limits,
drops root to the slot's uid, gets a scratch folder of its own, and writes
its JSON-line events to the pipe the grader handed over with the job.

Protocol on fd 0 (a Unix stream socket; stdout and stderr go to /dev/null):
- grader -> worker: `init` (one JSON line, length-prefixed like a job) with the
  warm-up cells (the blank release: what every student already has); then for
  each notebook a `go` message (a fixed, empty JSON object) with two file
  descriptors passed as SCM_RIGHTS: the child's own job channel (one end of a
  socket pair) and the write end of the result pipe;
- worker -> grader: JSON lines: `{"ready": true}` after the warm-up, then
  one `{"exit": status}` per job after its child ended and every process it
  left behind was killed and the scratch folder wiped.

The worker never reads a job (principle 7: students never meet, not even in
memory). A forked child inherits its parent's heap, freed pages included, so
a worker that had read and parsed earlier students' jobs would hand their
text to every later child. Instead the worker forks first, and only the child
reads its job, from its own channel, into its own memory that dies with it.
The clean-up between children (killing leftovers, wiping /tmp and /dev/shm,
whose file names a student chose) runs in a forked janitor too, so nothing a
child left behind passes through the worker's heap.

Between jobs only one child exists in this sandbox, so siblings never meet;
the worker is not dumpable (a child cannot ptrace it), and anything a child
leaves behind (processes, files in /tmp or /dev/shm) is gone before the
next child starts. The grader kills the whole sandbox on a timeout.
"""

from __future__ import annotations

import ctypes
import gc
import json
import linecache
import os
import shutil
import signal
import socket
import sys

from calcgrad.grading import protocol, runner
from calcgrad.grading.protocol import receive, receive_go
from calcgrad.grading.sandbox import SANDBOXED

PR_SET_DUMPABLE = 4
CLONE_NEWIPC = 0x08000000
IPC_RMID = 0
# System V IPC objects a child may leave in the sandbox's IPC namespace: /proc file, remover.
SYSV_IPC = (("/proc/sysvipc/shm", "shmctl"), ("/proc/sysvipc/msg", "msgctl"),
            ("/proc/sysvipc/sem", "semctl"))
SCRATCH_ROOTS = ("/tmp", "/dev/shm")


def _not_dumpable() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class _Discard(protocol.Channel):
    def send(self, event: dict) -> None:
        return None


def warm_up(cells: list[dict], limits: dict) -> None:
    """Run the blank release notebook here once (first-use set-up in torch and matplotlib),
    then put back what it changed."""
    import matplotlib
    import torch
    from IPython.core.interactiveshell import InteractiveShell

    from calcgrad import checks

    seed = torch.initial_seed()
    rc = dict(matplotlib.rcParams)
    saved = (sys.stdout, sys.stderr, signal.getsignal(signal.SIGALRM),
             signal.getsignal(signal.SIGPROF), os.getcwd(), checks._runner)
    folder = "/tmp/warm-up" if os.path.isdir("/tmp") else os.getcwd()
    os.makedirs(folder, exist_ok=True)
    os.chdir(folder)
    try:
        runner.run_job({"cells": cells, "limits": limits}, _Discard(-1))
    except BaseException:  # noqa: BLE001 - a failed warm-up only costs speed
        pass
    finally:
        sys.stdout, sys.stderr = saved[0], saved[1]
        signal.signal(signal.SIGALRM, saved[2])
        signal.signal(signal.SIGPROF, saved[3])
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        os.chdir(saved[4])
        checks.use_runner(saved[5])
    if InteractiveShell.initialized():
        shell = InteractiveShell.instance()
        shell.reset(new_session=True)
        type(shell).clear_instance()
    import matplotlib.pyplot as plt

    plt.close("all")
    matplotlib.rcParams.update(rc)
    torch.manual_seed(seed)
    linecache.clearcache()
    gc.collect()
    _wipe_scratch()


def _holds_environment(path: str) -> bool:
    """Whether `path` leads to the read-only Python environment or calcgrad (bound there
    when they live under /tmp): the wipe must leave those alone."""
    import calcgrad

    kept = (sys.prefix, sys.base_prefix, os.path.dirname(os.path.abspath(calcgrad.__file__)))
    return any(k == path or k.startswith(path + os.sep) for k in kept)


def _wipe_scratch() -> None:
    if os.environ.get(SANDBOXED) != "1":  # never the machine's own /tmp
        return
    for root in SCRATCH_ROOTS:
        if not os.path.isdir(root):
            continue
        for name in os.listdir(root):
            path = os.path.join(root, name)
            if _holds_environment(path):
                continue
            _make_writable(path)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def _make_writable(path: str) -> None:
    if os.path.islink(path) or not os.path.isdir(path):
        return
    for top, dirs, _ in os.walk(path):
        for d in dirs:
            try:
                os.chmod(os.path.join(top, d), 0o700)
            except OSError:
                pass
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass


def _sweep(keep: tuple[int, ...] = ()) -> int:
    """Kill every process in this sandbox but bwrap's init, this one and `keep`; how many."""
    me, killed = os.getpid(), 0
    spared = {1, me, *keep}
    for _ in range(50):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in spared]
        if not others:
            break
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        while True:  # reap what was ours
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
    return killed


def _child(channels: list[int], sock: socket.socket, number: int) -> None:
    """In the forked child: read this notebook's job from its own channel, become the
    runner for it, then exit."""
    code = 70
    try:
        sock.close()
        os.setsid()
        _own_ipc_namespace()
        job_fd, result_fd = channels
        with socket.socket(fileno=job_fd) as job_channel:
            job, _ = receive(job_channel)
        channel = protocol.Channel(result_fd)
        runner.apply_limits(job["limits"])
        runner.drop_privileges(job.get("uid"))
        runner.enter_workspace(job, os.path.join("/tmp", f"job-{number}"))
        runner.run_job(job, channel)
        code = 0
    except BaseException:  # noqa: BLE001 - whatever happened, leave at once
        code = 70
    os._exit(code)


def _own_ipc_namespace() -> None:
    """A child of its own System V IPC and POSIX message queues (possible while root in the
    sandbox; otherwise the janitor removes what a child left)."""
    try:
        ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWIPC)
    except (OSError, AttributeError):
        pass


def _remove_ipc() -> None:
    """Remove every System V shared memory segment, message queue and semaphore set."""
    libc = ctypes.CDLL(None, use_errno=True)
    for path, remover in SYSV_IPC:
        try:
            with open(path, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                getattr(libc, remover)(int(fields[1]), IPC_RMID, 0)


def _clean_up() -> None:
    """Kill what the last child left behind and wipe the scratch folders, in a forked
    janitor: the names it reads are a student's, and they must not stay in this heap."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _sweep(keep=(os.getppid(),))
            _wipe_scratch()
            _remove_ipc()
        except BaseException:  # noqa: BLE001 - the janitor leaves at once, whatever happened
            code = 70
        os._exit(code)
    os.waitpid(pid, 0)


def main() -> None:
    sock = socket.socket(fileno=os.dup(0))
    protocol.quiet_standard_fds()
    _not_dumpable()
    init, _ = receive(sock)
    import matplotlib  # noqa: F401 - imported once, here, for every child
    import numpy  # noqa: F401
    import torch  # noqa: F401

    from calcgrad import checks, plain  # noqa: F401

    warm_up(init.get("cells", []), init["limits"])
    del init
    gc.collect()
    # What the children inherit stays out of their garbage collector's scans, so its pages
    # stay shared instead of being copied into every child.
    gc.freeze()
    sock.sendall(b'{"ready": true}\n')
    number = 0
    while True:
        try:
            channels = receive_go(sock)
        except (EOFError, OSError, ValueError):
            os._exit(0)
        number += 1
        if len(channels) != 2:
            os._exit(3)
        pid = os.fork()
        if pid == 0:
            _child(channels, sock, number)
        for fd in channels:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        _clean_up()
        sock.sendall((json.dumps({"exit": code}) + "\n").encode())


if __name__ == "__main__":
    main()

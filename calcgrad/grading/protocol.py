"""What crosses the sandbox boundary, how, and how much of it.

Both sides import this module: the grader (`supervise`, `pool`) and the code in
the sandbox (`runner`, `worker`). Only plain JSON crosses, never pickle.

- grader -> sandbox: a job, one JSON document (on the runner's stdin, or as a
  length-prefixed message `HEADER` + body on a warm worker's socket, with file
  descriptors passed alongside: `send`, `receive`, `receive_go`);
- sandbox -> grader: JSON lines, one event each (`Channel`): `ready`, then per
  cell `start` and `cell`, then `end`; a warm worker adds `{"exit": status}`
  after each child.

The caps: `MAX_JOB_BYTES` per job, `Budget` for the output kept per cell and per
notebook (the runner cuts, and the grader cuts again: a submission can write to
the channel directly), `max_event_line` for one event line, `MAX_CONTROL_LINE`
for a warm worker's own lines, and `textsafe.MAX_MESSAGE` for one message.
"""

from __future__ import annotations

import json
import os
import socket
import struct

HEADER = struct.Struct("!Q")
MAX_JOB_BYTES = 64 * 1024 * 1024
MAX_CONTROL_LINE = 65536  # a warm worker's `ready` and `exit` lines
MAX_NAME = 200  # characters of an error's name, a flag, a dict key
MAX_TRACEBACK_LINES = 200
GO = b"{}"  # what a warm worker reads per job: nothing of the job itself


def max_event_line(output_cell_bytes: int) -> int:
    """The longest event line the grader reads: a cell's outputs and recorded values."""
    return output_cell_bytes * 2 + 17 * 1024 * 1024


def quiet_standard_fds() -> None:
    """fds 0-2 to /dev/null: what the sandboxed process prints goes nowhere (its results
    travel on a private channel, and student output is captured per cell)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


# ------------------------------------------------- sandbox -> grader: JSON lines

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
    """Output left to keep, for the cell and for the notebook (bytes in the runner,
    characters in the grader); `truncated` once something did not fit."""

    def __init__(self, cell: int, notebook: int):
        self.cell_limit, self.notebook_left = cell, notebook
        self.cell_left = cell
        self.truncated = False

    def new_cell(self) -> None:
        self.cell_left = min(self.cell_limit, self.notebook_left)
        self.truncated = False

    def take(self, n: int) -> int:
        """How many of n may still be kept."""
        k = max(0, min(n, self.cell_left))
        self.cell_left -= k
        self.notebook_left -= k
        return k


# ------------------------------------ grader -> warm worker: length-prefixed messages

def send(sock: socket.socket, message: dict, fd: int | list[int] | None = None) -> None:
    """Grader side: one length-prefixed JSON message, with file descriptors."""
    send_bytes(sock, json.dumps(message, separators=(",", ":")).encode("utf-8"), fd)


def send_bytes(sock: socket.socket, body: bytes, fd: int | list[int] | None = None) -> None:
    head = HEADER.pack(len(body))
    fds = [fd] if isinstance(fd, int) else list(fd or [])
    if not fds:
        sock.sendall(head)
    else:
        socket.send_fds(sock, [head], fds)
    sock.sendall(body)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive_message(sock: socket.socket, max_fds: int) -> tuple[bytes, list[int]]:
    data, fds, _, _ = socket.recv_fds(sock, HEADER.size, max_fds)
    if not data:
        for fd in fds:
            os.close(fd)
        raise EOFError
    data += _recv_exact(sock, HEADER.size - len(data)) if len(data) < HEADER.size else b""
    (size,) = HEADER.unpack(data)
    if size > MAX_JOB_BYTES:
        raise SystemExit("job too large")
    return _recv_exact(sock, size), list(fds)


def receive(sock: socket.socket) -> tuple[dict, int | None]:
    """One message: its JSON and the file descriptor that came with it (or None). The
    worker reads only `init` this way (the blank release); a child reads its own job."""
    body, fds = _receive_message(sock, 1)
    return json.loads(body), (fds[0] if fds else None)


def receive_go(sock: socket.socket) -> list[int]:
    """The worker's per-job message: the file descriptors of the next child (its job
    channel and its result pipe). The body is a fixed empty object."""
    body, fds = _receive_message(sock, 2)
    if body != GO:
        for fd in fds:
            os.close(fd)
        raise ValueError("unexpected message")
    return fds

"""Run a command and report the processes it left behind, tracked by descent.

`python tests/descendants.py REPORT GRACE COMMAND...` runs COMMAND as a child of
a child subreaper (prctl PR_SET_CHILD_SUBREAPER): whatever COMMAND starts and
abandons, at any depth, becomes a child of this process instead of init's.
When COMMAND has exited, this waits up to GRACE seconds for those orphans to
end, then writes JSON to REPORT: COMMAND's exit code and the orphans still
alive (their command lines), and kills them. SIGINT is passed on to COMMAND.
Its stdin, stdout and stderr are COMMAND's.

No scan of the host's processes or uids: only this command's own descendants
count, so other runs on the machine neither hide a leak nor cause one.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
SCRIPT = Path(__file__).resolve()


def command(report: Path, argv: list[str], grace: float = 15.0) -> list[str]:
    """The argv that runs `argv` under the tracker (for subprocess.run / Popen)."""
    return [sys.executable, str(SCRIPT), str(report), str(grace), *argv]


def read_report(report: Path) -> dict:
    return json.loads(Path(report).read_text())


def _children(parent: int) -> dict[int, str]:
    """Live (not zombie) processes whose parent is `parent`: pid -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> int:
    report, grace, argv = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("cannot become a child subreaper")
    proc = subprocess.Popen(argv)
    signal.signal(signal.SIGINT, lambda signum, frame: proc.send_signal(signal.SIGINT))
    code = proc.wait()
    deadline = time.monotonic() + grace
    me = os.getpid()
    while True:
        _reap()
        left = _children(me)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    report.write_text(json.dumps({"returncode": code, "leftovers": sorted(left.values())}))
    for _ in range(20):  # clean up, including what a killed leftover orphans in turn
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        _reap()
        left = _children(me)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())

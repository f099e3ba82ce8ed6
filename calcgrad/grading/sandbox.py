"""The sandbox: a bubblewrap (`bwrap`) command that sees only what a notebook needs.

Inside: /usr read-only, the Python installation, the virtual environment and
the `calcgrad` package read-only, a fresh /proc and /dev, and a size-capped
tmpfs at /tmp for the scratch folder. Once everything is bound, "/" and /dev are
remounted read-only (the device nodes still work), so that the only writable
places are /tmp and a small size-capped /dev/shm, both wiped between two
children of a warm worker. This matters most for a grader that is not root:
bwrap's root tmpfs is then owned by the sandbox's uid and would otherwise be
writable, unbounded and shared by every child of a warm worker. No course directory (no `source/`, no
gradebook, no other submission), new PID, network, IPC and UTS namespaces
(the network namespace has only its own loopback: the host's is out of
reach), a new session, and the sandbox dies with the grader. The runner
inside applies `setrlimit` and, when the grader runs as root, drops to an
unprivileged uid of its own (so RLIMIT_NPROC counts).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

RUNNER_MODULE = "calcgrad.grading.runner"
SCRATCH = "/tmp"
FIRST_UID = 61000  # one uid per parallel slot when the grader runs as root
# Slot numbers (uid = FIRST_UID + slot): local batches take 0-127, Dask workers 128-255. A
# slot is held with a lock file for as long as its batch runs, so two batches on one host
# never share a uid (nor its RLIMIT_NPROC count, nor its processes).
LOCAL_SLOTS = range(0, 128)
SHM_BYTES = 64 * 1024 * 1024  # /dev/shm's cap (it lives in memory, like /tmp)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the namespaces it needs."""


def claim_slot(numbers: range, folder: str | None = None) -> tuple[int, int]:
    """A slot no other batch on this host holds: (its number, the lock's fd, held until
    closed). Only a root grader needs one (slots are uids then). The locks live in `folder`
    (the machine's temporary folder, shared by every batch)."""
    folder = folder or tempfile.gettempdir()
    for number in numbers:
        fd = os.open(os.path.join(folder, f"calcgrad-slot-{number}.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return number, fd
    raise SandboxUnavailable(f"no free sandbox slot on this host ({len(numbers)} in use by "
                             "other batches)")


def _calcgrad_dir() -> Path:
    import calcgrad

    return Path(calcgrad.__file__).resolve().parent


def _python_roots() -> list[Path]:
    """The folders the Python interpreter, its stdlib and the environment live in."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(sys.executable).resolve().parent.parent}
    return sorted(roots)


def _is_under(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


# Set inside bwrap only: what lets the warm worker wipe the scratch folders (/tmp, /dev/shm)
# between children. Outside a sandbox those are the machine's own.
SANDBOXED = "CALCGRAD_SANDBOXED"


def _env(limits_home: str) -> dict:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": f"{limits_home}/home",
        "IPYTHONDIR": f"{limits_home}/home/.ipython",
        "MPLCONFIGDIR": f"{limits_home}/home/.matplotlib",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "LANG": "C.UTF-8",
        "USER": "student",
        "LOGNAME": "student",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "NBGRADER_EXECUTION": "autograde",  # as nbgrader's Execute sets it
    }
    if "PYTHONWARNINGS" in os.environ:  # the kernel nbgrader starts inherits it too
        env["PYTHONWARNINGS"] = os.environ["PYTHONWARNINGS"]
    return env


@dataclass
class Sandbox:
    """How to start the runner: inside bwrap, or (refused unless asked) without it."""

    enabled: bool = True
    bwrap: str = field(default_factory=lambda: shutil.which("bwrap") or "")

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def uid_for(self, slot: int) -> int | None:
        """The unprivileged uid a slot's runner drops to (only when the grader is root)."""
        return FIRST_UID + slot if self.enabled and self.as_root else None

    def binds(self) -> list[str]:
        args: list[str] = []
        for top in ("/usr",):
            args += ["--ro-bind", top, top]
        for name in ("bin", "lib", "lib32", "lib64", "sbin"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for name in ("ld.so.cache", "ld.so.conf", "localtime"):
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        roots = _python_roots()
        pkg = _calcgrad_dir()
        mounts = [r for r in roots if not _is_under(r, [Path("/usr")])]
        if not _is_under(pkg, roots):
            mounts.append(pkg)
        made: set[Path] = set()
        for path in mounts:
            for parent in reversed(path.parents):
                if parent == Path("/") or parent in made:
                    continue
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", str(path), str(path)]
        return args

    def command(self, limits_scratch_bytes: int, module: str = RUNNER_MODULE) -> list[str]:
        """The argv that starts the runner (stdin: job JSON, stdout: JSON lines), or
        another module of the engine (the warm worker) in the same sandbox."""
        runner = [sys.executable, "-I", "-m", module]
        if not self.enabled:
            return runner
        args = [self.bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc",
                "--unshare-uts", "--unshare-cgroup-try"]
        if not self.as_root:  # no nested user namespaces for the notebook either
            args += ["--unshare-user", "--disable-userns"]
        args += ["--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox"]
        for key, value in _env(SCRATCH).items():
            args += ["--setenv", key, value]
        args += ["--setenv", SANDBOXED, "1"]  # the warm worker wipes /tmp only in here
        # The scratch tmpfs first: an environment that lives under /tmp (a CI checkout, say)
        # is then bound read-only on top of it instead of being hidden by it.
        args += ["--perms", "1777", "--size", str(int(limits_scratch_bytes)), "--tmpfs", SCRATCH]
        args += self.binds()
        args += ["--proc", "/proc", "--dev", "/dev"]
        shm = min(SHM_BYTES, int(limits_scratch_bytes))
        args += ["--perms", "1777", "--size", str(shm), "--tmpfs", "/dev/shm"]
        # Read-only from here on (not recursive: /tmp, /dev/shm, /proc keep their own flags).
        args += ["--remount-ro", "/dev", "--remount-ro", "/"]
        args += ["--chdir", SCRATCH, "--"]
        return args + runner

    def environment(self, scratch: str) -> dict | None:
        """The environment for Popen: None inside bwrap (it sets its own)."""
        if self.enabled:
            return None
        env = dict(os.environ)
        env.update(_env(scratch))
        return env

    def check(self) -> None:
        """Start a sandbox once: raise SandboxUnavailable with the reason when it fails."""
        if not self.enabled:
            return
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed; `make setup` installs "
                                     "it (Debian package `bubblewrap`)")
        argv = self.command(16 * 1024 * 1024)
        probe = argv[:argv.index("--") + 1] + [
            sys.executable, "-I", "-c",
            "import calcgrad, os, socket\n"
            "s = socket.socket()\n"
            "s.settimeout(1)\n"
            "try:\n"
            "    s.connect(('8.8.8.8', 53))\n"
            "    raise SystemExit('network reachable')\n"
            "except OSError:\n"
            "    pass\n"]
        try:
            proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailable(f"bwrap could not start: {exc}") from exc
        if proc.returncode != 0:
            raise SandboxUnavailable(f"bwrap could not start a sandbox (exit {proc.returncode}): "
                                     f"{(proc.stderr or proc.stdout).strip()[-800:]}")

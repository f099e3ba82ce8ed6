"""The limits a submission runs under, with the defaults `calcgrad autograde` uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MiB = 1024 * 1024


@dataclass
class Limits:
    # Per cell: wall clock and CPU time, then the cell is interrupted (nbgrader: Execute.timeout).
    cell_seconds: float = 120.0
    # Per notebook: wall clock (the grader kills the sandbox) and CPU time (RLIMIT_CPU).
    notebook_seconds: float = 600.0
    notebook_cpu_seconds: int = 600
    # Address space of the notebook's process (RLIMIT_AS); torch alone maps about 0.7 GiB.
    memory_bytes: int = 2048 * MiB
    # Processes and threads of the sandbox user (RLIMIT_NPROC), open files (RLIMIT_NOFILE).
    processes: int = 64
    open_files: int = 256
    # Largest file the notebook may write (RLIMIT_FSIZE), and its scratch folder (tmpfs).
    file_bytes: int = 64 * MiB
    scratch_bytes: int = 256 * MiB
    # Output kept per cell and per notebook; the rest is cut with a note.
    output_cell_bytes: int = 1 * MiB
    output_notebook_bytes: int = 8 * MiB

    def as_job(self) -> dict:
        return asdict(self)

    @property
    def channel_bytes(self) -> int:
        """The most a notebook's result channel may carry (outputs plus recorded values)."""
        return self.output_notebook_bytes * 2 + 64 * MiB

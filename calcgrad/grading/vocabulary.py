"""The words a grading run reports in: why a sandboxed run stopped, and a notebook's status.

One list each, used by the engine (`supervise`, `judging`, `run_table`) and by
`calcgrad report`. Plain strings, so they are written to the CSV and read back
as they are.
"""

from __future__ import annotations

from typing import Final


class Reason:
    """Why a notebook's sandboxed run stopped before its end (`RunResult.reason`)."""

    NONE: Final = ""  # it ran to its end
    CRASHED: Final = "crashed"  # the notebook's process ended early
    TIMEOUT: Final = "timeout"  # a cell or the notebook ran past its time (wall or CPU)
    OUTPUT: Final = "output"  # the result stream went over its size cap
    PROTOCOL: Final = "protocol"  # the result stream could not be read: tampering
    START: Final = "start"  # the sandbox (or the warm worker's child) did not start
    ERROR: Final = "error"  # the grader itself failed on this notebook


# Runs stopped for one of these are run again without the cell that stopped them.
RETRIED = (Reason.CRASHED, Reason.TIMEOUT, Reason.OUTPUT)


class Status:
    """A notebook's status in the report (a student's is the worst of theirs)."""

    GRADER_ERROR: Final = "grader error"
    TAMPERING: Final = "tampering suspected"
    CORRUPT: Final = "corrupt"
    MEMORY: Final = "memory limit"
    TIMED_OUT: Final = "timed out"
    CRASHED: Final = "crashed"
    MISSING: Final = "missing"
    GRADED: Final = "graded"


WORST_FIRST = (Status.GRADER_ERROR, Status.TAMPERING, Status.CORRUPT, Status.MEMORY,
               Status.TIMED_OUT, Status.CRASHED, Status.MISSING, Status.GRADED)
# No notebook of the submission could be run: kept out of every mean and pass rate.
UNREADABLE = (Status.CORRUPT, Status.MISSING)
# Sandbox flags that are limits reached, not signs of tampering.
LIMIT_FLAGS = ("output truncated", "memory", "timeout")

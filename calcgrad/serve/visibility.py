"""What a student sees before the due date (`c.CalcgradServe.show`).

Applied to a copy of the autograded notebook before `calcgrad feedback` renders it; the
page's own rules still hold (no test cell's source, a hidden check's message without
numbers). "all": every check, a hidden one whose name holds a number (often one of its
inputs) under a plain name; "hidden_counted": the hidden checks of a cell become one line
saying how many passed; "visible_only": hidden checks are left out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

DIGIT = re.compile(r"\d")
COUNTED_MESSAGE = "their messages are shown after the due date"


def before_due(duedate: datetime | None, now: datetime | None = None) -> bool:
    """True while the due date (nbgrader's: naive UTC) has not passed; no due date counts
    as before it, so the instructor's choice holds all term."""
    if duedate is None:
        return True
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if duedate.tzinfo is not None:
        duedate = duedate.astimezone(UTC).replace(tzinfo=None)
    return now < duedate


def _unnamed(check: dict, number: int) -> dict:
    """A hidden check whose name holds a number (often an input: "f(x, -2.5) at hidden
    points") is shown under a plain name instead."""
    if DIGIT.search(str(check.get("name", ""))):
        return dict(check, name=f"hidden check {number}")
    return check


def adjuster(show: str):
    """The notebook change for a setting: hidden checks counted or left out, and in every
    setting no hidden check named after its inputs."""

    def adjust(nb):
        for cell in nb.cells:
            meta = cell.metadata.get("calcgrad")
            if not isinstance(meta, dict) or not isinstance(meta.get("checks"), list):
                continue
            hidden = [c for c in meta["checks"] if isinstance(c, dict) and c.get("hidden")]
            if not hidden:
                continue
            if show == "all":
                numbers = iter(range(1, len(hidden) + 1))
                meta["checks"] = [_unnamed(c, next(numbers))
                                  if isinstance(c, dict) and c.get("hidden") else c
                                  for c in meta["checks"]]
                continue
            kept = [c for c in meta["checks"] if not (isinstance(c, dict) and c.get("hidden"))]
            if show == "hidden_counted":
                passed = sum(1 for c in hidden if c.get("passed"))
                kept.append({"name": f"hidden checks: {passed} of {len(hidden)} passed",
                             "passed": passed == len(hidden), "message": COUNTED_MESSAGE})
            meta["checks"] = kept
        return nb

    return adjust

"""What `calcgrad serve` has finished, kept on disk so a restart loses nothing.

One small JSON file, replaced atomically (written beside, flushed, renamed): a reader sees the
old state or the new one. A submission counts as done only once its grades, its feedback and
its release (or the release's hold, under the rate limit) are all written; a service killed
before that grades it again when it starts.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

FOLDER = ".calcgrad-serve"


def key(assignment: str, student: str) -> str:
    return f"{assignment}/{student}"


class Journal:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.graded: dict[str, str] = {}  # key -> the attempt graded last
        self.released: dict[str, float] = {}  # key -> when its feedback was released (epoch)
        self.held: dict[str, float] = {}  # key -> when its held feedback may be released
        if self.path.is_file():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.graded = dict(data.get("graded", {}))
            self.released = {k: float(v) for k, v in data.get("released", {}).items()}
            self.held = {k: float(v) for k, v in data.get("held", {}).items()}

    @classmethod
    def in_course(cls, root: Path) -> Journal:
        return cls(Path(root) / FOLDER / "journal.json")

    def done(self, assignment: str, student: str, attempt: str, released_at: float | None,
             held_until: float | None) -> None:
        """Record a submission graded, with its feedback released now or held."""
        k = key(assignment, student)
        with self._lock:
            self.graded[k] = attempt
            if released_at is not None:
                self.released[k] = released_at
                self.held.pop(k, None)
            if held_until is not None:
                self.held[k] = held_until
            self._save()

    def release_done(self, assignment: str, student: str, at: float) -> None:
        k = key(assignment, student)
        with self._lock:
            self.released[k] = at
            self.held.pop(k, None)
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        text = json.dumps({"graded": self.graded, "released": self.released,
                           "held": self.held}, indent=1, sort_keys=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

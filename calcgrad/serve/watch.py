"""File events that wake `calcgrad serve` (watchdog: inotify on Linux).

An event is only a wake-up: the service then scans the folder and compares it with its
journal, so a missed or repeated event never loses or doubles a submission (and a scan at
start covers whatever arrived while it was down).
"""

from __future__ import annotations

import os
import time

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer


class _Wake(FileSystemEventHandler):
    def __init__(self, wake, only_name: str | None):
        self.wake, self.only_name = wake, only_name
        self.last_event = 0.0  # monotonic time of the last event that woke the service

    def on_any_event(self, event) -> None:
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        if self.only_name and not any(os.path.basename(p) == self.only_name for p in paths
                                      if isinstance(p, str)):
            return
        self.last_event = time.monotonic()
        self.wake()


class Watcher:
    """Calls `wake()` on events under `folder` (only for files named `only_name`, if given)."""

    def __init__(self, folder, wake, only_name: str | None = None):
        self.handler = _Wake(wake, only_name)
        self.observer = Observer()
        self.observer.schedule(self.handler, str(folder), recursive=True)

    @property
    def last_event(self) -> float:
        return self.handler.last_event

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=10)

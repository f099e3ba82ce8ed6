"""Submissions as nbgrader's exchange holds them: find, collect, release feedback.

`nbgrader submit` writes each attempt to its own folder
`<exchange>/<course>/inbound/<student>+<assignment>+<timestamp>[+<random>]`, the files
first, then `timestamp.txt`, then `submission_secret.txt`: an attempt is complete once its
secret is there. Every attempt stays in inbound/ (nothing here deletes one); the latest
complete attempt is the one collected into submitted/, with nbgrader's own copy rules
(`Exchange.do_copy`: ignored files, size limits) and replacing the previous one, as
`nbgrader collect --update` does. Feedback is released with nbgrader's own
`ExchangeReleaseFeedback`, so `nbgrader fetch_feedback` finds it.

Without an exchange (no inbound folder), `Submitted` treats each folder
`submitted/<student>/<assignment>/` as the submission, as the instructor put it there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

SECRET = "submission_secret.txt"
TIMESTAMP = "timestamp.txt"


@dataclass(frozen=True)
class Attempt:
    student: str
    assignment: str
    name: str  # the attempt's key: its inbound folder name, or a fingerprint of submitted/
    timestamp: str  # as nbgrader wrote it ("" when unknown)


def _coursedir(config, student: str = "", assignment: str = ""):
    from nbgrader.coursedir import CourseDirectory

    cd = CourseDirectory(config=config)
    cd.student_id, cd.assignment_id = student, assignment
    return cd


def _exchange(config, action: str, student: str, assignment: str, log: logging.Logger):
    """One of nbgrader's exchange actions (`Collect`, `ReleaseFeedback`) for one student."""
    from nbgrader.auth import Authenticator
    from nbgrader.exchange import ExchangeFactory

    factory = ExchangeFactory(config=config)
    return getattr(factory, action)(coursedir=_coursedir(config, student, assignment),
                                    authenticator=Authenticator(config=config), config=config,
                                    log=log)


def parse_name(name: str) -> tuple[str, str, str] | None:
    """(student, assignment, timestamp) of an inbound folder name, as nbgrader's collect
    splits it (user names may hold '+'), or None."""
    parts = name.rsplit("+", 3)
    if len(parts) == 4:
        return parts[0], parts[1], parts[2]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return None


def _symlinks(folder: Path) -> list[str]:
    """Symbolic links at or under `folder` (inbound/ is writable by every student)."""
    if folder.is_symlink():
        return [folder.name]
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            if os.path.islink(os.path.join(dirpath, name)):
                found.append(os.path.relpath(os.path.join(dirpath, name), folder))
    return found


class _Watched:
    """Where submissions arrive: `folder`, watched for file events."""

    folder: Path

    @property
    def watched(self) -> Path:
        return self.folder

    def exists(self) -> bool:
        return self.folder.is_dir()

    def _parts(self, path: Path) -> tuple[str, ...]:
        """The parts of an event's path below `folder` (none when it is not below it)."""
        try:
            return Path(path).relative_to(self.folder).parts
        except ValueError:
            return ()


class Inbound(_Watched):
    """nbgrader's exchange inbound folder of one course."""

    def __init__(self, course, log: logging.Logger):
        self.course, self.config, self.log = course, course.config, log
        probe = _exchange(self.config, "Collect", "", "", log)
        self.root = Path(probe.root)
        self.folder = self.root / course.coursedir.course_id / "inbound"

    def attempt_of(self, path: Path) -> tuple[str, str] | None:
        """(student, assignment) of a file event's path inside inbound/, or None."""
        parts = self._parts(path)
        parsed = parse_name(parts[0]) if parts else None
        return (parsed[0], parsed[1]) if parsed else None

    def latest(self, assignments: set[str] | None = None) -> dict[tuple[str, str], Attempt]:
        """The latest complete attempt of each (student, assignment) in inbound/."""
        from nbgrader.utils import parse_utc

        found: dict[tuple[str, str], tuple] = {}
        for entry in os.scandir(self.folder):
            parsed = parse_name(entry.name)
            if parsed is None or not entry.is_dir(follow_symlinks=False):
                continue
            student, assignment, stamp = parsed
            if assignments and assignment not in assignments:
                continue
            if not os.path.isfile(os.path.join(entry.path, SECRET)):
                continue  # still being written by `nbgrader submit`
            try:
                when = parse_utc(stamp)
            except ValueError:
                continue
            k = (student, assignment)
            if k not in found or when > found[k][0]:
                found[k] = (when, Attempt(student, assignment, entry.name, stamp))
        return {k: v[1] for k, v in found.items()}

    def collect(self, attempt: Attempt) -> None:
        """Copy the attempt into submitted/, replacing what is there (the latest wins)."""
        src = self.folder / attempt.name
        links = _symlinks(src)
        if links:  # the grader would read whatever they point at (another student's work...)
            raise RuntimeError(f"not collected: symbolic link(s) in the submission: "
                               f"{', '.join(links[:3])}")
        collector = _exchange(self.config, "Collect", attempt.student, attempt.assignment,
                              self.log)
        dest = Path(self.course.submitted(attempt.student, attempt.assignment))
        dest.parent.mkdir(parents=True, exist_ok=True)
        fresh = dest.with_name(f".{dest.name}.collecting")
        old = dest.with_name(f".{dest.name}.replaced")
        for leftover in (fresh, old):
            if leftover.exists():
                shutil.rmtree(leftover)
        collector.do_copy(str(src), str(fresh))
        if dest.exists():
            os.replace(dest, old)
        os.replace(fresh, dest)
        if old.exists():
            shutil.rmtree(old)

    def release(self, student: str, assignment: str) -> None:
        """`nbgrader release_feedback` for one student: feedback/ into the exchange."""
        _exchange(self.config, "ReleaseFeedback", student, assignment, self.log).start()


class Submitted(_Watched):
    """No exchange: submitted/<student>/<assignment>/ as the instructor fills it."""

    def __init__(self, course, log: logging.Logger):
        self.course, self.log = course, log
        cd = course.coursedir
        self.folder = Path(cd.format_path(cd.submitted_directory, ".", ".")).resolve()

    def attempt_of(self, path: Path) -> tuple[str, str] | None:
        parts = self._parts(path)
        return (parts[0], parts[1]) if len(parts) >= 2 else None

    def fingerprint(self, student: str, assignment: str) -> Attempt | None:
        folder = self.folder / student / assignment
        if not folder.is_dir():
            return None
        digest = hashlib.sha256()
        for path in sorted(folder.rglob("*")):
            try:
                st = path.lstat()
            except OSError:
                continue
            digest.update(f"{path.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n"
                          .encode("utf-8", "surrogateescape"))
        stamp = folder / TIMESTAMP
        text = stamp.read_text(errors="replace").strip()[:64] if stamp.is_file() else ""
        return Attempt(student, assignment, digest.hexdigest()[:20], text)

    def latest(self, assignments: set[str] | None = None) -> dict[tuple[str, str], Attempt]:
        found = {}
        for student_dir in sorted(p for p in self.folder.iterdir() if p.is_dir()):
            for folder in sorted(p for p in student_dir.iterdir() if p.is_dir()):
                if assignments and folder.name not in assignments:
                    continue
                attempt = self.fingerprint(student_dir.name, folder.name)
                if attempt:
                    found[(student_dir.name, folder.name)] = attempt
        return found

    def collect(self, attempt: Attempt) -> None:
        """Already in submitted/: nothing to copy."""

    def release(self, student: str, assignment: str) -> None:
        """No exchange: the feedback stays in feedback/, where the instructor hands it out."""

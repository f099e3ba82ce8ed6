"""The files next to a submission's notebooks, handled as nbgrader's autograde handles them,
without trusting any of them.

nbgrader's autograde copies into `autograded/<student>/<assignment>/`: every file the
student submitted next to the notebooks (not `.ipynb`, not `CourseDirectory.ignore`), then
every such file of `source/<assignment>/` over them (the data files the instructor
released; `Autograde.exclude_overwriting` keeps the student's version), and runs the
notebooks there, so that they can read those files and whatever they write stays.

calcgrad does the same in three steps:
- `gather` (grader): the files, read with the safe readers of `submission` (regular files
  only, no symbolic links anywhere on the way, size and count limits, never the gradebook,
  never a notebook: hidden tests live only in source notebooks and the gradebook);
- `place` and `collect` (runner, in the sandbox's scratch folder): the files are written
  next to the notebook before its first cell, and what the notebook wrote or changed is
  sent back with the run's last event, capped;
- `write_autograded` (grader): the gathered files, then the notebook's own files (checked
  again: names, sizes, never over a notebook or the submission's records), into
  autograded/, then nbgrader's permissions (`apply_permissions`).

The sandbox gets the released files from `release/<assignment>/` (what every student was
given), not from `source/`: an instructor's file kept out of the release never enters it.
autograded/ gets `source/`'s, as under nbgrader (the instructor's folder, never shown to a
student's code).
"""

from __future__ import annotations

import base64
import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MiB = 1024 * 1024
MAX_FILES = 200  # files shipped into the sandbox (submitted and released together)
MAX_FILE_BYTES = 16 * MiB
MAX_TOTAL_BYTES = 32 * MiB  # base64 in the job: well under the runner's 64 MiB job limit
MAX_DEPTH = 8
# What a notebook may leave behind in autograded/ (side-effect files).
MAX_KEPT_FILES = 50
MAX_KEPT_BYTES = 8 * MiB
# The submission's records: copied verbatim, never shipped into the sandbox, never replaced
# by a file the notebook wrote.
RECORDS = ("timestamp.txt", "submission_secret.txt")
NOT_KEPT_FOLDERS = ("__pycache__", ".ipynb_checkpoints")


@dataclass
class Inputs:
    """What goes next to the notebooks, relative POSIX path -> bytes, in nbgrader's order:
    `files` for autograded/ (the submitted files, source/'s over them, as nbgrader copies),
    `sandbox` for the notebook's run (the submitted files, release/'s over them: what the
    students were given, so nothing the instructor kept out of the release)."""

    files: dict[str, bytes] = field(default_factory=dict)
    sandbox: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def for_sandbox(self) -> list[dict]:
        """The job's `files`: the sandbox's, without the submission's records."""
        return [{"path": rel, "data": base64.b64encode(data).decode("ascii")}
                for rel, data in self.sandbox.items() if rel not in RECORDS]


def _ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _walk(folder: Path, patterns: list[str], skip: set[Path], notes: list[str],
          depth: int = 0, prefix: str = ""):
    """(relative path, absolute path) of the regular files under `folder`, sorted, without
    following a symbolic link or entering an ignored folder."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        notes.append(f"{prefix or '.'}: cannot be listed ({exc.strerror})")
        return
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        if _ignored(entry.name, patterns):
            continue
        if entry.is_symlink():
            notes.append(f"{rel} ignored (a symbolic link)")
            continue
        path = Path(entry.path)
        if path in skip:
            continue
        if entry.is_dir(follow_symlinks=False):
            if depth >= MAX_DEPTH:
                notes.append(f"{rel}/ ignored (folders nested too deep)")
                continue
            yield from _walk(path, patterns, skip, notes, depth + 1, rel + "/")
        elif entry.is_file(follow_symlinks=False):
            if not entry.name.endswith(".ipynb"):
                yield rel, path
        else:
            notes.append(f"{rel} ignored (not a regular file)")


def _layer(base: dict[str, bytes], files, notes: list[str]) -> dict[str, bytes]:
    """`base` with `files` ((relative path, absolute path) pairs) read over it, within the
    count and size limits."""
    from calcgrad.grading.submission import Unreadable, read_regular

    layered = dict(base)
    total = sum(map(len, layered.values()))
    for rel, path in files:
        if rel not in layered and len(layered) >= MAX_FILES:
            notes.append(f"{rel} ignored (more than {MAX_FILES} files)")
            continue
        try:
            data = read_regular(path, MAX_FILE_BYTES)
        except Unreadable as exc:
            notes.append(f"{rel} ignored ({exc})")
            continue
        previous = len(layered.get(rel, b""))
        if total - previous + len(data) > MAX_TOTAL_BYTES:
            notes.append(f"{rel} ignored (the files add up to more than "
                         f"{MAX_TOTAL_BYTES // MiB} MiB)")
            continue
        total += len(data) - previous
        layered[rel] = data
    return layered


def gather(course, assignment: str, submitted: Path | None) -> Inputs:
    """The files nbgrader would copy next to the notebooks: the submitted folder's (when it
    is a real folder inside the course), then source/'s over them (release/'s for the
    sandbox). Notes are about the student's files only."""
    from calcgrad.grading.submission import inside

    cd = course.coursedir
    patterns = list(cd.ignore)
    inputs = Inputs()
    skip = set()
    db = course.db_path()
    if db is not None:
        skip.add(Path(os.path.abspath(db)))  # never the gradebook, wherever it lives
    own: dict[str, bytes] = {}
    if submitted is not None and submitted.is_dir() and not submitted.is_symlink() \
            and inside(submitted, course.root):
        own = _layer({}, list(_walk(submitted, patterns, skip, inputs.notes)), inputs.notes)
    exclude = set(_exclude_overwriting(course.config, assignment))
    instructor_notes: list[str] = []  # about the course's own files: not the student's

    def released(directory: str) -> list:
        folder = Path(cd.format_path(directory, ".", assignment))
        if not folder.is_dir() or not inside(folder, course.root):
            return []
        return [(rel, path) for rel, path in _walk(folder, patterns, skip, instructor_notes)
                if rel not in exclude and rel not in RECORDS]

    inputs.files = _layer(own, released(cd.source_directory), instructor_notes)
    inputs.sandbox = _layer({k: v for k, v in own.items() if k not in RECORDS},
                            released(cd.release_directory), instructor_notes)
    return inputs


def _exclude_overwriting(config, assignment: str) -> list[str]:
    value = config.get("Autograde", {}).get("exclude_overwriting", {})
    names = value.get(assignment, []) if isinstance(value, dict) else []
    return [str(PurePosixPath(n)) for n in names]


# ------------------------------------------------------------ in the sandbox (runner)

def _safe_relative(rel) -> str | None:
    """A relative POSIX path with no `..`, no absolute part and no empty or hidden-parent
    tricks; None when it is not one."""
    if not isinstance(rel, str) or not rel or len(rel) > 1024 or "\x00" in rel:
        return None
    parts = PurePosixPath(rel).parts
    if rel.startswith("/") or not parts or any(p in ("..", ".", "") for p in parts):
        return None
    if len(parts) > MAX_DEPTH + 1:
        return None
    return "/".join(parts)


def place(job: dict) -> dict[str, tuple[int, int]]:
    """Write the job's files into the working folder (the cwd); return what was written,
    {relative path: (size, mtime_ns)}, for `collect` to tell new files from shipped ones."""
    placed = {}
    for item in job.get("files") or []:
        rel = _safe_relative(item.get("path") if isinstance(item, dict) else None)
        if rel is None:
            continue
        data = base64.b64decode(item.get("data", ""))
        parent = os.path.dirname(rel)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(rel, "wb") as fh:
            fh.write(data)
        st = os.stat(rel)
        placed[rel] = (st.st_size, st.st_mtime_ns)
    return placed


def collect(placed: dict[str, tuple[int, int]], skip: set[str], workdir: str | None = None
            ) -> list[dict]:
    """The files the notebook wrote or changed in the working folder (not the notebook
    file, not a symbolic link), capped; as the job's `files` are."""
    kept, total = [], 0
    if workdir:
        try:
            os.chdir(workdir)  # the notebook may have moved away
        except OSError:
            return kept
    for dirname, dirnames, filenames in os.walk("."):
        # Python's bytecode caches and Jupyter's checkpoints are not the notebook's work.
        dirnames[:] = sorted(d for d in dirnames if d not in NOT_KEPT_FOLDERS)
        for name in sorted(filenames):
            rel = os.path.normpath(os.path.join(dirname, name)).replace(os.sep, "/")
            if rel in skip or rel.endswith((".ipynb", ".pyc")) or _safe_relative(rel) is None:
                continue
            try:
                st = os.lstat(rel)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if placed.get(rel) == (st.st_size, st.st_mtime_ns):
                continue
            if len(kept) >= MAX_KEPT_FILES or total + st.st_size > MAX_KEPT_BYTES:
                return kept
            try:
                with open(rel, "rb") as fh:
                    data = fh.read(MAX_KEPT_BYTES - total + 1)
            except OSError:
                continue
            if total + len(data) > MAX_KEPT_BYTES:
                return kept
            total += len(data)
            kept.append({"path": rel, "data": base64.b64encode(data).decode("ascii")})
    return kept


# ------------------------------------------------------------------ the grader

def produced(raw, notes: list[str]) -> dict[str, bytes]:
    """The files a notebook's run sent back (untrusted: from inside the sandbox), checked:
    names, count, sizes, base64; never a notebook or a submission record."""
    kept: dict[str, bytes] = {}
    if not isinstance(raw, list):
        return kept
    total = 0
    for item in raw[:MAX_KEPT_FILES]:
        rel = _safe_relative(item.get("path") if isinstance(item, dict) else None)
        data = item.get("data") if isinstance(item, dict) else None
        if rel is None or not isinstance(data, str) or rel.endswith(".ipynb") \
                or rel in RECORDS or len(data) > 2 * MAX_KEPT_BYTES:
            notes.append("a file the notebook wrote was not kept (bad name or size)")
            continue
        try:
            body = base64.b64decode(data, validate=True)
        except ValueError:
            notes.append(f"{rel}: not kept (unreadable)")
            continue
        if total + len(body) > MAX_KEPT_BYTES:
            notes.append(f"{rel}: not kept (the notebook's files add up to more than "
                         f"{MAX_KEPT_BYTES // MiB} MiB)")
            break
        total += len(body)
        kept[rel] = body
    return kept


def write_autograded(dest: Path, files: dict[str, bytes], notes: list[str]) -> set[str]:
    """Write `files` (relative path -> bytes) under `dest`, creating real folders only:
    a path that meets a symbolic link or a non-folder on the way is skipped. Returns the
    relative paths written."""
    written: set[str] = set()
    root = Path(os.path.abspath(dest))
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        rel = _safe_relative(rel)
        if rel is None:
            continue
        target = root / rel
        if not _real_folders(root, target.parent):
            notes.append(f"{rel}: not written (its folder is not a plain folder)")
            continue
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if os.path.islink(target) or os.path.isdir(target):
            os.unlink(tmp)
            notes.append(f"{rel}: not written (a folder or link is in its place)")
            continue
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
        written.add(rel)
    return written


def _real_folders(root: Path, folder: Path) -> bool:
    """Make `folder` (below `root`) out of plain folders; False when a part of the way is a
    symbolic link or a file."""
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        if os.path.islink(current) or (current.exists() and not current.is_dir()):
            return False
        current.mkdir(exist_ok=True)
    return True


def apply_permissions(dest: Path, course) -> None:
    """nbgrader's BaseConverter.set_permissions on one autograded submission: every file
    gets `permissions` (nbgrader's setting: 664 when the course is groupshared, else 444),
    and with groupshared, every folder (and autograded/ itself) gets group rwx and setgid."""
    from nbgrader.converters import Autograde

    cd = course.coursedir
    mode = int(str(Autograde(coursedir=cd, config=course.config).permissions), 8)
    dest = Path(dest)
    if not dest.is_dir() or dest.is_symlink():
        return
    for dirname, _, filenames in os.walk(dest):
        for name in filenames:
            path = os.path.join(dirname, name)
            if not os.path.islink(path):
                os.chmod(path, mode)
        if cd.groupshared:
            _groupshared(Path(dirname))
    if cd.groupshared:
        _groupshared(Path(cd.format_path(cd.autograded_directory, ".", ".")))


def _groupshared(folder: Path) -> None:
    if not folder.is_dir():
        return
    mode = folder.stat().st_mode
    if mode & 0o2770 != 0o2770:
        try:
            os.chmod(folder, (mode | 0o2770) & 0o2777)
        except PermissionError:
            pass


def prune(dest: Path, keep: set[str]) -> list[str]:
    """Remove from `dest` the files this run did not write (what an earlier run copied or a
    notebook wrote then), as `nbgrader autograde --force` starts from an empty folder; then
    the folders left empty. Links are removed, never followed. Returns what was removed."""
    root = Path(os.path.abspath(dest))
    removed: list[str] = []
    if not root.is_dir() or root.is_symlink():
        return removed
    for dirname, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirname, d))]:
            path = os.path.join(dirname, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if rel not in keep:
                os.unlink(path)
                removed.append(rel)
        if dirname != str(root):
            try:
                os.rmdir(dirname)  # only when empty
            except OSError:
                pass
    return removed

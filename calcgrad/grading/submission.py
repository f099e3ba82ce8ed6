"""Reading what a student submitted, without trusting any of it.

Symbolic links, non-notebook JSON, oversized files and invalid timestamps
are refused with a reason instead of raising; only regular files inside the
student's own submission folder are read.
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
MAX_TIMESTAMP_BYTES = 200


class Unreadable(ValueError):
    """The file is not something the grader will read (the message says why)."""


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file that is not a symbolic link, at most `limit` of them."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror})") from exc
    if stat.S_ISLNK(st.st_mode):
        raise Unreadable("is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise Unreadable("is not a regular file")
    if st.st_size > limit:
        raise Unreadable(f"is larger than {limit} bytes")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise Unreadable(f"is larger than {limit} bytes")
    return data


def read_notebook(path: Path) -> NotebookNode:
    """A submitted notebook as nbformat v4, or Unreadable with the reason."""
    data = read_regular(path, MAX_NOTEBOOK_BYTES)
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"is not valid JSON ({str(exc)[:120]})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) \
            or raw.get("nbformat") != 4:
        raise Unreadable("is JSON but not a Jupyter notebook (format 4)")
    try:
        with warnings.catch_warnings():  # cells without ids are normal in older notebooks
            warnings.simplefilter("ignore")
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
    except (nbformat.ValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unreadable(f"is not a valid notebook ({str(exc).splitlines()[0][:160]})") from exc
    return nb


def read_timestamp(folder: Path):
    """The submission's timestamp (datetime, UTC) and a note; (None, note) when unusable."""
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if not os.path.lexists(path):
        return None, ""
    try:
        text = read_regular(path, MAX_TIMESTAMP_BYTES).decode("utf-8").strip()
        return (parse_utc(text), "") if text else (None, "empty timestamp.txt")
    except (Unreadable, UnicodeDecodeError, ValueError, OverflowError) as exc:
        return None, f"timestamp.txt ignored ({exc})"


def inside(folder: Path, root: Path) -> bool:
    """Whether `folder` really is below `root` (no symbolic link on the way there)."""
    folder, root = Path(os.path.abspath(folder)), Path(os.path.abspath(root))
    try:
        relative = folder.relative_to(root)
    except ValueError:
        return False
    return Path(os.path.realpath(folder)) == Path(os.path.realpath(root)) / relative


@dataclass
class Found:
    path: Path | None
    note: str = ""


def find_notebooks(folder: Path, names: list[str]) -> dict[str, Found]:
    """The file to grade for each expected notebook name; a lone renamed notebook stands in."""
    present = {}
    if folder.is_dir() and not folder.is_symlink():
        for entry in sorted(folder.iterdir()):
            if entry.suffix == ".ipynb" and not entry.name.startswith("."):
                present[entry.stem] = entry
    found = {name: Found(present.get(name)) for name in names}
    missing = [n for n in names if found[n].path is None]
    unknown = [p for stem, p in present.items() if stem not in names]
    if len(missing) == 1 and len(unknown) == 1:
        found[missing[0]] = Found(unknown[0], f"graded {unknown[0].name} as {missing[0]}.ipynb "
                                              "(renamed)")
    return found

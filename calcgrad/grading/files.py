"""Files the grader writes: each one replaced whole, never seen half-written."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, text: str, read_only: bool = False) -> Path:
    """Replace `path` with `text` (UTF-8) atomically: a reader sees the old file or the new
    one, never half of it. `read_only`: the new file is 0444 (an autograded notebook)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    if read_only:
        os.chmod(tmp, 0o444)
    os.replace(tmp, path)
    return path

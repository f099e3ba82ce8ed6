"""Regenerate release/<assignment>/ from source/ with nbgrader, in a throwaway course.

Usage: python tools/regenerate_release.py [ASSIGNMENT ...]   (default: all)
Never hand-edit release/: edit source/ and run this (or `make release`).
"""

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calcgrad.course import ASSIGNMENTS, REPO, generate, new_course


def main(names: list[str]) -> None:
    for name in names or ASSIGNMENTS:
        with tempfile.TemporaryDirectory() as tmp:
            released = generate(new_course(Path(tmp), (name,)), name)
            target = REPO / "release" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(released, target)
        print(f"release/{name} regenerated from source/{name}")


if __name__ == "__main__":
    main(sys.argv[1:])

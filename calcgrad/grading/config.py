"""The course, its options and limits: what every `calcgrad` subcommand loads first.

`Course.load` reads the course's `nbgrader_config.py` the way nbgrader does (its
`db_url`, its folders, its excluded students); `find_course_dir` finds that file
from any folder inside the course. Nothing here grades: this module sits below
every other part of the engine, so each of them may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from calcgrad.grading.limits import Limits


class ConfigurationError(RuntimeError):
    """The course, the assignment or the sandbox is not usable: nothing was graded."""


def find_course_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding nbgrader_config.py."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    raise ConfigurationError(f"no nbgrader_config.py in {here} or above; pass --course-dir")


@dataclass
class Course:
    root: Path
    config: object
    coursedir: object

    @classmethod
    def load(cls, root: Path) -> Course:
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        root = Path(root).resolve()
        if not (root / "nbgrader_config.py").is_file():
            raise ConfigurationError(f"{root} has no nbgrader_config.py")
        config = Config()
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
        config.CourseDirectory.root = str(root)
        config.Exporter.default_preprocessors = []
        # Deleted test cells always come back (nbgrader's default leaves them out).
        config.OverwriteCells.add_missing_cells = True
        return cls(root, config, CourseDirectory(config=config))

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    def db_path(self) -> Path | None:
        url = self.db_url
        return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.coursedir.course_id)

    def sources(self) -> list[str]:
        """The assignments in source/ (nbgrader's source directory)."""
        base = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", "."))
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def require_assignment(self, assignment: str) -> None:
        """Raise a ConfigurationError unless the gradebook holds `assignment`: the same
        words for every subcommand, naming the assignments there are."""
        db = self.db_path()
        if db is not None and not db.exists():
            raise unknown_assignment(None, assignment, self)
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                raise unknown_assignment(gb, assignment, self) from None


    def submitted(self, student: str, assignment: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                               assignment))

    def autograded(self, student: str, assignment: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.autograded_directory, student,
                                               assignment))

    def students(self, assignment: str) -> list[str]:
        base = Path(self.coursedir.format_path(self.coursedir.submitted_directory, ".", "."))
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        found = []
        if base.is_dir():
            for entry in sorted(base.iterdir()):
                if entry.is_dir() and (entry / assignment).exists() and entry.name not in excluded:
                    found.append(entry.name)
        return found


def unknown_assignment(gb, assignment: str, course: Course | None = None) -> ConfigurationError:
    """The error for an assignment the gradebook does not hold: what is known, and the one
    command that fixes it when the assignment is in source/ but not yet in the gradebook."""
    graded = sorted(a.name for a in gb.assignments) if gb is not None else []
    sources = course.sources() if course is not None else []
    if assignment in sources:
        return ConfigurationError(
            f"assignment {assignment} is in source/ but not in the gradebook: run "
            f"`nbgrader generate_assignment {assignment} --force` (it writes "
            f"release/{assignment}/ again, the same files when source/ is unchanged)")
    known = sorted(set(graded) | set(sources))
    return ConfigurationError(f"no assignment {assignment}; known: "
                              f"{', '.join(known) or 'none'}")



@dataclass
class Options:
    assignment: str
    students: list[str] | None = None
    jobs: int = 1
    limits: Limits = field(default_factory=Limits)
    sandbox: bool = True
    # Pre-warmed workers that fork a child per notebook (sandboxed grading only).
    warm: bool = True
    # Run the sandboxes on a Dask cluster's workers instead of here (cluster.py).
    dask_scheduler: str | None = None

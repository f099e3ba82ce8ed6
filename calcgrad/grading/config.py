"""The course, its options and limits: what every `calcgrad` subcommand loads first.

`Course.load` reads the course's `nbgrader_config.py` the way nbgrader does (its
`db_url`, its folders, its excluded students); `find_course_dir` finds that file
from any folder inside the course. `CalcgradAutograde` holds the limits and
options of `calcgrad autograde`, configured there the nbgrader way
(`c.CalcgradAutograde.memory_mib = 4096`); its command-line flags override them.
Nothing here grades: this module sits below every other part of the engine, so
each of them may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Bool, Float, Integer, Unicode
from traitlets.config import Configurable

from calcgrad.grading.limits import MiB, Limits


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
    # Keep the warm workers (and, as root, their slots) after run() until close_workers():
    # `calcgrad serve` grades each new submission with workers already warm.
    keep_workers: bool = False


_D = Limits()


class CalcgradAutograde(Configurable):
    """`calcgrad autograde`'s limits and options: `c.CalcgradAutograde.<name> = value` in the
    course's nbgrader_config.py; a command-line flag overrides its setting."""

    cell_timeout = Float(
        None, allow_none=True,
        help="Seconds per cell (wall clock and CPU), then the cell is interrupted. "
             f"Default: nbgrader's Execute.timeout, else {_D.cell_seconds:g}. "
             "Flag: --cell-timeout.").tag(config=True)
    notebook_timeout = Float(
        _D.notebook_seconds, help="Seconds per notebook, wall clock and CPU. "
                                  "Flag: --notebook-timeout.").tag(config=True)
    memory_mib = Integer(
        _D.memory_bytes // MiB, help="Address space per notebook, in MiB. "
                                     "Flag: --memory.").tag(config=True)
    output_limit = Integer(
        _D.output_cell_bytes, help="Output kept per cell, in bytes; per notebook: 8 times "
                                   "this. Flag: --output-limit.").tag(config=True)
    processes = Integer(_D.processes, help="Processes and threads of the sandbox user "
                                           "(RLIMIT_NPROC).").tag(config=True)
    open_files = Integer(_D.open_files, help="Open files per notebook (RLIMIT_NOFILE).") \
        .tag(config=True)
    file_mib = Integer(_D.file_bytes // MiB, help="Largest file a notebook may write, in "
                                                  "MiB (RLIMIT_FSIZE).").tag(config=True)
    scratch_mib = Integer(_D.scratch_bytes // MiB, help="The notebook's scratch folder "
                                                        "(tmpfs), in MiB.").tag(config=True)
    jobs = Integer(
        0, help="Submissions graded at once; 0: the CPU cores, within memory (with a Dask "
                "scheduler: the cluster's worker threads). Flag: --jobs.").tag(config=True)
    warm = Bool(
        True, help="Fork each notebook's sandbox from a pre-warmed sandboxed worker; False: "
                   "start one sandbox per notebook (slower). Flag: --no-warm.").tag(config=True)
    dask_scheduler = Unicode(
        "", help="Run the sandboxes on the workers of this Dask scheduler (tcp://HOST:PORT). "
                 "Flag: --dask-scheduler.").tag(config=True)

    def limits(self, config) -> Limits:
        """The limits, with the cell timeout taken from nbgrader's Execute.timeout in
        `config` when it is set neither here nor on the command line."""
        cell = self.cell_timeout
        if cell is None:
            configured = config.get("Execute", {}).get("timeout")
            cell = float(configured) if isinstance(configured, (int, float)) and configured \
                else _D.cell_seconds
        return Limits(cell_seconds=cell, notebook_seconds=self.notebook_timeout,
                      notebook_cpu_seconds=int(self.notebook_timeout),
                      memory_bytes=self.memory_mib * MiB, processes=self.processes,
                      open_files=self.open_files, file_bytes=self.file_mib * MiB,
                      scratch_bytes=self.scratch_mib * MiB,
                      output_cell_bytes=self.output_limit,
                      output_notebook_bytes=self.output_limit * 8)


def course_limits(course: Course) -> Limits:
    """The course's limits (c.CalcgradAutograde, and nbgrader's Execute.timeout for the cell
    time when that is not set), for graders without command-line flags: formgrader's button
    through SandboxedExecute, and `calcgrad serve`."""
    return CalcgradAutograde(config=course.config).limits(course.config)

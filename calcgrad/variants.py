"""Per-student variants: every student differentiates their own function (issue 14).

An exercise whose answer is specific (a dependency graph, a derivative worked out by hand)
takes its function from a *pool of families*: functions that differ in structure (another
graph, other rules), not only in constants, so that a neighbour's answer is wrong for you
even with the constants renamed. Each family in a pool is equally hard: the same number of
nodes and of chain-rule paths from x to f, no singularity on the points the checks use,
comparable magnitudes (tests/test_variants.py checks each one).

Who the student is (`student_id`), in this order:

1. an id the grader sets:
   - in calcgrad's trusted process, a context the Grader sets to the gradebook's student id
     around each notebook (`graded_as`), never anything the submission says;
   - the folder `autograded/<id>/<assignment>/`, where plain `nbgrader autograde` runs the
     kernel (checked before the variable below, so that a notebook that sets the variable
     does not change what plain nbgrader expects; calcgrad's sandbox never runs there);
   - in calcgrad's sandbox, the environment variable `CALCGRAD_STUDENT_ID` the grader puts
     there (a submission that changes it only changes its own computed values, which the
     trusted process compares with the expected values of the gradebook's id);
2. `JUPYTERHUB_USER`;
3. the OS user name, which nbgrader's exchange files a submission under.

Plain nbgrader runs the checks in the student's kernel, so there a determined submission can
still fool them (as it can fool any nbgrader test); `calcgrad autograde` cannot be fooled.

The variant number of (assignment, exercise, id) is a SHA-256 of the three, modulo the pool
size: deterministic, so regrading gives the same variant.

Turning variants off. The course-level setting is `c.CalcgradVariants.enabled = False` in
`nbgrader_config.py`; then everyone gets variant 0 (the problem set as it was written).
It reaches every process the way nbgrader's own settings do, so there is one place to set
it: calcgrad's grader reads it with the rest of the course config and hands it to the
trusted context and, as `CALCGRAD_VARIANTS=0`, to the sandbox; a kernel (the student's,
`nbgrader validate`, plain `nbgrader autograde`) reads the `nbgrader_config.py` files
nbgrader itself would read: the Jupyter config path (`/etc/jupyter`, `~/.jupyter`, ...,
where a hub keeps the course's exchange settings) and the working folder and its parents
(the course root, above `autograded/<id>/<assignment>/`). `CALCGRAD_VARIANTS=0` in a
kernel's environment (a hub spawner's `environment`) also turns them off. A student who
turns them off for themselves only gets variant 0 in their own kernel: grading uses the
course's setting.

Nothing here computes a derivative: a family gives its function and its intermediate nodes
(what the exercise text states anyway); the derivatives are the students' work, and the
model answers per variant live with the instructor (tools/, source/), never in this package.

Introduced by: source/ps2_autograd (Part B, Exercises 8 to 10); ps1's pools (Exercises 5, 6,
7, 9 and 10) are in calcgrad.ps1_functions.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import os
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path

from calcgrad import ps1_functions

ID_VARIABLE = "CALCGRAD_STUDENT_ID"
ENABLED_VARIABLE = "CALCGRAD_VARIANTS"
AUTOGRADED_FOLDER = "autograded"

# (student id, variants enabled) while the trusted process grades one notebook.
_graded: ContextVar[tuple[str, bool] | None] = ContextVar("calcgrad_graded", default=None)


@dataclass(frozen=True)
class Identity:
    id: str
    source: str  # how it was found, in words


@contextlib.contextmanager
def graded_as(student: str, enabled: bool = True):
    """The grader's trusted process: expected values are for `student` (the gradebook's id)."""
    token = _graded.set((str(student), bool(enabled)))
    try:
        yield
    finally:
        _graded.reset(token)


def _folder_id(assignment: str | None, cwd: Path | None = None) -> str | None:
    parts = (cwd or Path.cwd()).parts
    if len(parts) >= 3 and parts[-3] == AUTOGRADED_FOLDER and (
            assignment is None or parts[-1] == assignment):
        return parts[-2]
    return None


def student_id(assignment: str | None = None) -> Identity:
    """Who the student is, in the order of the module docstring."""
    graded = _graded.get()
    if graded is not None:
        return Identity(graded[0], "set by the grader")
    folder = _folder_id(assignment)
    if folder:
        return Identity(folder, "the autograded folder")
    if os.environ.get(ID_VARIABLE):
        return Identity(os.environ[ID_VARIABLE], "set by the grader")
    if os.environ.get("JUPYTERHUB_USER"):
        return Identity(os.environ["JUPYTERHUB_USER"], "your JupyterHub user")
    return Identity(getpass.getuser(), "your user name")


def _config_files(cwd: Path | None = None) -> list[Path]:
    """The nbgrader_config.py files nbgrader would read, lowest priority first."""
    try:
        from jupyter_core.paths import jupyter_config_path
    except ImportError:
        system = []
    else:
        system = [Path(p) for p in reversed(jupyter_config_path())]
    here = (cwd or Path.cwd()).resolve()
    folders = system + list(reversed([here, *here.parents]))
    seen, files = set(), []
    for folder in folders:
        path = folder / "nbgrader_config.py"
        if path not in seen and path.is_file():
            seen.add(path)
            files.append(path)
    return files


def enabled_in(config) -> bool:
    """The course's setting in a loaded traitlets Config (True when it says nothing)."""
    section = config.get("CalcgradVariants") if hasattr(config, "get") else None
    if section is None or not hasattr(section, "get"):
        return True
    value = section.get("enabled", True)
    return value if isinstance(value, bool) else True


@functools.lru_cache(maxsize=16)
def _enabled_by_files(files: tuple[Path, ...]) -> bool:
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    enabled = True
    for path in files:
        try:
            config = PyFileConfigLoader(path.name, str(path.parent)).load_config()
        except (ConfigFileNotFound, SyntaxError, OSError):
            continue
        section = config.get("CalcgradVariants")
        if section is not None and "enabled" in section:
            enabled = enabled_in(config)
    return enabled


def enabled() -> bool:
    """Whether this course gives per-student variants (see the module docstring)."""
    graded = _graded.get()
    if graded is not None:
        return graded[1]
    flag = os.environ.get(ENABLED_VARIABLE, "").strip().lower()
    if flag in ("0", "off", "false", "no"):
        return False
    if flag in ("1", "on", "true", "yes"):
        return True
    return _enabled_by_files(tuple(_config_files()))


# ---------------------------------------------------------------------------------------
# Pools of function families
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """One function of a pool: its formula, its intermediate nodes and their graph."""

    formula: str  # LaTeX, "f(x) = ..."
    nodes_tex: str  # LaTeX of the intermediate results, in order
    python: str  # f in Python, as the student would write it
    parents: dict  # node -> the names it is computed from directly
    nodes: Callable  # x -> {"x": x, "a": ..., ..., "f": ...} (tensors)

    def f(self, x):
        return self.nodes(x)["f"]


def _torch():
    import torch

    return torch


def _nodes_0(x):
    t = _torch()
    n = {"x": x, "a": x**2, "c": t.sin(x), "e": 1 / x}
    n["b"] = t.log(n["a"])
    n["d"] = n["b"] * n["c"]
    n["f"] = n["d"] + n["e"]
    return n


def _nodes_1(x):
    t = _torch()
    n = {"x": x, "a": t.cos(x), "e": t.sin(x)}
    n["b"] = x * n["a"]
    n["c"] = 1 + n["b"] ** 2
    n["d"] = t.log(n["c"])
    n["f"] = n["d"] * n["e"]
    return n


def _nodes_2(x):
    t = _torch()
    n = {"x": x, "a": 1 + x**2, "e": t.cos(x)}
    n["b"] = t.sqrt(n["a"])
    n["c"] = x / n["b"]
    n["d"] = t.exp(n["c"])
    n["f"] = n["d"] * n["e"]
    return n


def _nodes_3(x):
    t = _torch()
    n = {"x": x, "a": t.sin(x), "b": t.cos(x), "e": 1 / (1 + x**2)}
    n["c"] = n["a"] * n["b"]
    n["d"] = t.exp(n["c"])
    n["f"] = n["d"] * n["e"]
    return n


def _ordered(nodes: Callable) -> Callable:
    def ordered(x):
        n = nodes(x)
        return {k: n[k] for k in ("x", "a", "b", "c", "d", "e", "f")}
    return ordered


PS2_PART_B = (
    Family(r"f(x) = \log(x^2)\,\sin x + \frac{1}{x}",
           r"a = x^2,\quad b = \log a,\quad c = \sin x,\quad d = b\,c,\quad e = 1/x,"
           r"\quad f = d + e.",
           "torch.log(x**2) * torch.sin(x) + 1 / x",
           {"a": ["x"], "b": ["a"], "c": ["x"], "d": ["b", "c"], "e": ["x"], "f": ["d", "e"]},
           _ordered(_nodes_0)),
    Family(r"f(x) = \log\left(1 + x^2 \cos^2 x\right)\,\sin x",
           r"a = \cos x,\quad b = x\,a,\quad c = 1 + b^2,\quad d = \log c,\quad e = \sin x,"
           r"\quad f = d\,e.",
           "torch.log(1 + (x * torch.cos(x))**2) * torch.sin(x)",
           {"a": ["x"], "b": ["a", "x"], "c": ["b"], "d": ["c"], "e": ["x"], "f": ["d", "e"]},
           _ordered(_nodes_1)),
    Family(r"f(x) = \exp\left(\frac{x}{\sqrt{1 + x^2}}\right)\cos x",
           r"a = 1 + x^2,\quad b = \sqrt{a},\quad c = x / b,\quad d = e^{c},\quad e = \cos x,"
           r"\quad f = d\,e.",
           "torch.exp(x / torch.sqrt(1 + x**2)) * torch.cos(x)",
           {"a": ["x"], "b": ["a"], "c": ["b", "x"], "d": ["c"], "e": ["x"], "f": ["d", "e"]},
           _ordered(_nodes_2)),
    Family(r"f(x) = \frac{\exp(\sin x \cos x)}{1 + x^2}",
           r"a = \sin x,\quad b = \cos x,\quad c = a\,b,\quad d = e^{c},"
           r"\quad e = \frac{1}{1 + x^2},\quad f = d\,e.",
           "torch.exp(torch.sin(x) * torch.cos(x)) / (1 + x**2)",
           {"a": ["x"], "b": ["x"], "c": ["a", "b"], "d": ["c"], "e": ["x"], "f": ["d", "e"]},
           _ordered(_nodes_3)),
)

POOLS: dict[tuple[str, str], tuple] = {
    ("ps2_autograd", "part_b"): PS2_PART_B,
    **ps1_functions.POOLS,  # ps1's Exercises 5, 6, 7, 9 and 10 (calcgrad.ps1_functions)
}


def exercises(assignment: str) -> list[str]:
    """The exercises of `assignment` that have a pool, in the notebook's order (ex5 < ex10)."""
    names = [name for (a, name) in POOLS if a == assignment]
    return sorted(names, key=lambda n: [int(t) if t.isdigit() else t
                                        for t in re.split(r"(\d+)", n)])


def shown(family) -> str:
    """A family's function in one line of Python, named as the notebook names it."""
    return family.python if family.python.startswith("u = ") else f"f(x) = {family.python}"


def number(assignment: str, exercise: str, student: str | None = None) -> int:
    """The variant (an index into the pool) of `student` (default: `student_id`)."""
    pool = POOLS[(assignment, exercise)]
    if not enabled():
        return 0
    sid = student if student is not None else student_id(assignment).id
    digest = hashlib.sha256(f"{assignment}\0{exercise}\0{sid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % len(pool)


def signature(assignment: str, student: str) -> tuple:
    """Every variant number of `student` in `assignment`: students with the same signature
    have the same expected values (the grader's memo is keyed by it)."""
    return tuple(number(assignment, ex, student) for ex in exercises(assignment))


@dataclass(frozen=True)
class Assigned:
    """A student's function for one exercise: what the notebook shows and calls."""

    assignment: str
    exercise: str
    student: Identity
    number: int
    family: Family = field(repr=False)

    def f(self, *args):
        return self.family.f(*args)

    def nodes(self, x):
        return self.family.nodes(x)

    @property
    def parents(self) -> dict:
        return {k: list(v) for k, v in self.family.parents.items()}

    def _repr_latex_(self) -> str:
        return f"$${self.family.formula}$$"

    def show(self) -> None:
        """Your function and its intermediate results, as formulas."""
        from IPython.display import Math, display

        display(Math(self.family.formula))
        if self.family.nodes_tex:
            display(Math(self.family.nodes_tex))


def exercise(assignment: str, name: str) -> Assigned:
    """The function of exercise `name` for the student this process grades or runs for."""
    who = student_id(assignment)
    k = number(assignment, name, who.id) if enabled() else 0
    return Assigned(assignment, name, who, k, POOLS[(assignment, name)][k])


def summary(assignment: str, student: str, enabled: bool = True) -> str:
    """One line naming `student`'s variants of `assignment` ("" when it has none)."""
    parts = []
    with graded_as(student, enabled):
        for name in exercises(assignment):
            mine = exercise(assignment, name)
            parts.append(f"{name}: variant {mine.number}, {shown(mine.family)}")
    return (" Your variants: " + "; ".join(parts) + ".") if parts else ""


def label(assignment: str, student: str, enabled: bool = True) -> str:
    """A short name of `student`'s variants of `assignment`, e.g. "part_b 1" ("" if none)."""
    with graded_as(student, enabled):
        return ", ".join(f"{name} {number(assignment, name)}" for name in exercises(assignment))


def enabled_for_course(root) -> bool:
    """The setting in the nbgrader_config.py of the course folder `root`."""
    path = Path(root) / "nbgrader_config.py"
    return _enabled_by_files((path,)) if path.is_file() else True


def introduce(assignment: str) -> None:
    """Print who the student is and their variant of each exercise (the setup cell)."""
    who = student_id(assignment)
    state = "" if enabled() else " (variants are off for this course: everyone has variant 0)"
    print(f"Your id: {who.id} ({who.source}){state}")
    for name in exercises(assignment):
        mine = exercise(assignment, name)
        print(f"  {name}: variant {mine.number}, {shown(mine.family)}")

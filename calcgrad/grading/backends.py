"""Where a sandbox job runs: step 2 of `calcgrad autograde`, behind one interface.

- `ColdBackend`: one new sandbox per notebook (`supervise.run_job`);
- `WarmBackend`: a pre-warmed sandboxed worker per slot that forks a child per
  notebook (`pool.WarmSlot`, which falls back to one sandbox per notebook when
  its worker cannot start);
- `DaskBackend`: the same slots on the workers of a Dask cluster (`cluster`).

Each takes a job (plain data: cells, the notebook's text without trusted
halves) and gives back a `RunResult` (plain data, untrusted). `execute` is
the one run loop around them: a run that crashed is run again without the
cell that crashed it, within the notebook's time.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import nbformat

from calcgrad.grading import cluster, pool, supervise
from calcgrad.grading.config import Course, Options
from calcgrad.grading.limits import Limits
from calcgrad.grading.sandbox import Sandbox
from calcgrad.grading.supervise import Crash, RunResult
from calcgrad.grading.vocabulary import RETRIED

# Run after the blank release notebook to warm a worker up: the first use of what an honest
# answer reaches but a blank one does not (autograd in both float types and its functional
# forms, a plot with a tangent, a recorded check) costs time in torch and matplotlib, once
# per worker instead of once per notebook. Our own code, never the source.
WARMUP_STANDIN = [
    "import math\nimport torch\nimport numpy as np\nfrom calcgrad import checks, plotting",
    """def _warm(t):
    return torch.stack([t[0] * t[1] ** 2, torch.exp(t[2]) * t[0] + torch.sin(t[1])])

for _dtype in (torch.float32, torch.float64):
    _x = torch.arange(1.0, 4.0, dtype=_dtype, requires_grad=True)
    _warm(_x).backward(torch.ones(2, dtype=_dtype))
    torch.autograd.grad(_warm(_x).sum(), _x)
    torch.autograd.functional.jacobian(_warm, _x.detach())
    torch.autograd.functional.vjp(_warm, _x.detach(), torch.ones(2, dtype=_dtype))
    torch.func.jvp(_warm, (_x.detach(),), (torch.ones(3, dtype=_dtype),))
_x.grad""",
    """plotting.use_svg_display()
_t = torch.arange(0.0, 3.0, 0.1)
plotting.plot(_t, [torch.sin(_t), torch.cos(_t)], "x", "f(x)", legend=["sin", "cos"])
plotting.plot_tangent(np.sin, 1.0)""",
    """_y = torch.arange(4.0, requires_grad=True)
(_y * _y).sum().backward()
checks.close("warm-up", student=lambda: _y.grad, expected=lambda: 2 * _y.detach())""",
]

MAX_RETRIES = 2  # re-runs after a crash, each skipping the cell that crashed
# A batch of at most this many notebooks runs each in a sandbox of its own: a warm worker
# first runs the whole blank release, which costs more than it saves on one or two notebooks.
COLD_BATCH = 2


def warmup_cells(course: Course, assignment: str) -> list[dict]:
    """The code cells of the assignment's BLANK release notebooks (never the source:
    a forked child inherits the warm worker's memory), then WARMUP_STANDIN."""
    cd = course.coursedir
    folder = Path(cd.format_path(cd.release_directory, ".", assignment))
    cells: list[dict] = []
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - a warm-up only costs speed
            continue
        cells += [{"index": len(cells) + i, "source": c.source}
                  for i, c in enumerate(c for c in nb.cells if c.cell_type == "code")]
    return cells + [{"index": len(cells) + i, "source": src}
                    for i, src in enumerate(WARMUP_STANDIN)]


class Backend:
    """Runs sandbox jobs. `check()` before a batch (ConfigurationError or SandboxUnavailable
    when it cannot), `run(job, slot)` from any thread, `close()` after the batch."""

    def __init__(self, sandbox: Sandbox, limits: Limits, log=print):
        self.sandbox, self.limits, self.log = sandbox, limits, log
        self.warmup: list[dict] = []  # cells a warm worker runs first (`warmup_cells`)

    def check(self) -> None:
        self.sandbox.check()

    def run(self, job: dict, slot: int, budget_seconds: float | None = None) -> RunResult:
        raise NotImplementedError

    def close(self) -> None:
        return None


class ColdBackend(Backend):
    """One sandbox per notebook, started for it (`--no-warm`, or without a sandbox)."""

    def run(self, job: dict, slot: int, budget_seconds: float | None = None) -> RunResult:
        return supervise.run_job(job, self.limits, self.sandbox, slot,
                                 budget_seconds=budget_seconds)


class WarmBackend(Backend):
    """A warm worker per local slot, started on first use."""

    def __init__(self, sandbox: Sandbox, limits: Limits, log=print):
        super().__init__(sandbox, limits, log)
        self._slots: dict[int, pool.WarmSlot] = {}
        self._lock = threading.Lock()

    def run(self, job: dict, slot: int, budget_seconds: float | None = None) -> RunResult:
        with self._lock:
            warm = self._slots.setdefault(slot, pool.WarmSlot(slot))
        result, note = warm.run(job, self.sandbox, self.limits, True, self.warmup,
                                budget_seconds)
        if note:
            self.log(note)
        return result

    def warm(self, slots: list[int]) -> None:
        """Start (or restart) these slots' warm workers now, in the calling thread."""
        for number in slots:
            with self._lock:
                warm = self._slots.setdefault(number, pool.WarmSlot(number))
            _, note = warm._warm_worker(self.sandbox, self.limits, self.warmup)
            if note:
                self.log(note)

    def close(self) -> None:
        with self._lock:
            slots = list(self._slots.values())
            self._slots.clear()
        for warm in slots:
            warm.close()


class DaskBackend(Backend):
    """The sandboxes run on the workers of a Dask scheduler; the rest stays here."""

    def __init__(self, sandbox: Sandbox, limits: Limits, address: str, warm: bool, log=print):
        super().__init__(sandbox, limits, log)
        self.address, self.warm = address, warm

    def check(self) -> None:  # the sandboxes start on the cluster's workers
        cluster.connect(self.address, self.log).check(self.sandbox)

    def run(self, job: dict, slot: int, budget_seconds: float | None = None) -> RunResult:
        return cluster.connect(self.address, self.log).run(
            job, self.sandbox, self.limits, self.warm, self.warmup, budget_seconds)

    def close(self) -> None:
        cluster.disconnect(self.address)


def backend_for(options: Options, sandbox: Sandbox, log=print) -> Backend:
    if options.dask_scheduler:
        return DaskBackend(sandbox, options.limits, options.dask_scheduler, options.warm, log)
    if options.warm and sandbox.enabled:
        return WarmBackend(sandbox, options.limits, log)
    return ColdBackend(sandbox, options.limits, log)


def sized(backend: Backend, notebooks: int) -> Backend:
    """The backend for a one-off batch of `notebooks` notebooks: local warm workers not yet
    started give way to one sandbox per notebook when there are at most COLD_BATCH."""
    if type(backend) is WarmBackend and notebooks <= COLD_BATCH:
        return ColdBackend(backend.sandbox, backend.limits, backend.log)
    return backend


def execute(backend: Backend, job: dict, slot: int) -> RunResult:
    """Run a notebook's job; after a crash, run it again without the cell that crashed (at
    most MAX_RETRIES times, while the notebook has time left). Never raises for anything
    the notebook does."""
    limits = backend.limits
    started = time.monotonic()
    skip: list[int] = []
    run = backend.run(job, slot)
    crashes = []
    while (not run.ended and run.reason in RETRIED and run.stopped_at is not None
           and len(skip) < MAX_RETRIES):
        left = limits.notebook_seconds - (time.monotonic() - started)
        if left < 5:
            break
        crashes.append(Crash(run.stopped_at, run.reason, run.detail, run.cells, run.flags))
        skip.append(run.stopped_at)
        retry = backend.run(dict(job, skip=skip), slot, budget_seconds=left)
        retry.flags |= run.flags
        run = retry
    run.crashes = crashes
    run.seconds = round(time.monotonic() - started, 3)
    return run

"""`calcgrad autograde --dask-scheduler`: the sandboxes on a real Dask cluster.

A scheduler and two single-threaded workers run on loopback (the venv's `dask`
command, as an instructor starts them). One class of ps2_autograd (the
reference, the blank release, the samples of examples/ps2_autograd and the
hostile corpus) is graded twice, in two copies of the same course: locally and
on the cluster. Scores and statuses must be identical, the samples must score
what examples/ps2_autograd/expected.json says, and the scheduler must have run
notebooks on both workers.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from calcgrad import course

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
ASSIGNMENT = "ps2_autograd"
BIN = Path(sys.executable).parent

spec = importlib.util.spec_from_file_location("corpus", EXAMPLES / "hostile" / "corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)


def _env() -> dict:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                PYTHONWARNINGS="ignore::DeprecationWarning")


def autograde(course_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "calcgrad", "autograde", ASSIGNMENT,
                             "--course-dir", str(course_dir), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())


def _finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def bad_address(tmp_path_factory):
    """A scheduler address where nothing listens. The client retries for its whole connect
    timeout, so this run starts first and its wait overlaps the rest of the module."""
    root = course.new_course(tmp_path_factory.mktemp("bad"), (ASSIGNMENT,))
    address = f"tcp://127.0.0.1:{_closed_port()}"
    proc = autograde(root, "--dask-scheduler", address)
    yield address, proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def _descendants(pids: list[int]) -> list[int]:
    """Every live process below these (the workers' sandboxes, their children)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], set(pids)
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier}
        found += sorted(frontier)
    return found


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if pid in _descendants([0])]


class DaskCluster:
    def __init__(self, address: str, client, folder: Path, worker_pids: list[int]):
        self.address, self.client, self.folder = address, client, folder
        self.worker_pids = worker_pids
        self.workers = sorted(client.nthreads())


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory, bad_address):
    """A scheduler and two single-threaded workers on loopback, started with the venv's `dask`
    command in process groups of their own, all killed after the module."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    procs: list[subprocess.Popen] = []
    logs = []

    def start(name: str, *args: str) -> None:
        log = open(folder / f"{name}.log", "w")  # closed in teardown
        logs.append(log)
        procs.append(subprocess.Popen([str(BIN / "dask"), *args], stdout=log,
                                      stderr=subprocess.STDOUT, cwd=folder, env=_env(),
                                      start_new_session=True))

    client = None
    try:
        # Port 0: the scheduler takes a free port and writes its address to the file.
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0",
              "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
              "--scheduler-file", str(scheduler_file))
        for n in (1, 2):
            start(f"worker{n}", "worker", "--scheduler-file", str(scheduler_file),
                  "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--name", f"w{n}",
                  "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                  "--local-directory", str(folder / f"w{n}"))
        deadline = time.monotonic() + 60
        address = None
        while address is None:
            assert time.monotonic() < deadline, (folder / "scheduler.log").read_text()
            assert procs[0].poll() is None, (folder / "scheduler.log").read_text()
            with contextlib.suppress(OSError, ValueError, KeyError):
                address = json.loads(scheduler_file.read_text())["address"]
            time.sleep(0.2)
        client = Client(address, timeout=30, set_as_default=False)
        client.wait_for_workers(2, timeout=60)
        client.get_task_stream()  # the scheduler records tasks from now on
        yield DaskCluster(address, client, folder, [p.pid for p in procs[1:]])
    finally:
        if client is not None:
            client.close()
        sandboxes = _descendants([p.pid for p in procs[1:]])
        # Workers first, then the scheduler (a worker stopping while the scheduler does can
        # hang in its own shutdown): a graceful stop, then SIGKILL after a few seconds.
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in logs:
            log.close()
        # The workers' sandboxes die with them (bwrap --die-with-parent).
        deadline = time.monotonic() + 10
        while _alive(sandboxes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(sandboxes)


def _class(root: Path) -> dict:
    """The students of one ps2_autograd class; returns the hostile cases."""
    release = course.generate(root, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    course.submit(root, ASSIGNMENT, "reference", root / "source" / ASSIGNMENT /
                  f"{ASSIGNMENT}.ipynb")
    course.submit(root, ASSIGNMENT, "blank", release)
    for student in json.loads((EXAMPLES / ASSIGNMENT / "expected.json").read_text()):
        course.submit(root, ASSIGNMENT, student, EXAMPLES / ASSIGNMENT / f"{student}.ipynb")
    return corpus.submit_all(root, ASSIGNMENT)


class Graded:
    def __init__(self, tmp: Path, address: str):
        self.local_root = course.new_course(tmp / "local", (ASSIGNMENT,))
        self.hostile = _class(self.local_root)
        self.cluster_root = tmp / "cluster"
        shutil.copytree(self.local_root, self.cluster_root, symlinks=True)
        started = time.monotonic()
        self.local = _finish(autograde(self.local_root, "--jobs", "2"))
        self.local_seconds = time.monotonic() - started
        started = time.monotonic()
        self.cluster = _finish(autograde(self.cluster_root, "--dask-scheduler", address))
        self.cluster_seconds = time.monotonic() - started

    @staticmethod
    def rows(root: Path) -> dict[str, dict]:
        path = root / f"calcgrad-autograde-{ASSIGNMENT}.csv"
        return {r["student"]: r for r in csv.DictReader(path.open())}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, dask_cluster) -> Graded:
    graded = Graded(tmp_path_factory.mktemp("classes"), dask_cluster.address)
    # Once the grader is done, its idle warm sandboxes on the workers are closed.
    graded.left_on_workers = _descendants(dask_cluster.worker_pids)
    return graded


def test_cluster_grades_exactly_as_the_local_grader(graded):
    assert graded.local.returncode == 0, graded.local.stderr[-3000:]
    assert graded.cluster.returncode == 0, graded.cluster.stderr[-3000:]
    # the run's own account of where its sandboxes ran (the header line is terminal-only now)
    assert "sandboxes ran on tcp://127.0.0.1:" in graded.cluster.stderr
    local = course.grades(graded.local_root, ASSIGNMENT)
    remote = course.grades(graded.cluster_root, ASSIGNMENT)
    assert set(local) == set(remote) and len(local) == 6 + len(graded.hostile)
    for student in local:
        assert (remote[student].score, remote[student].cells) == \
            (local[student].score, local[student].cells), student
    local_rows, remote_rows = Graded.rows(graded.local_root), Graded.rows(graded.cluster_root)
    for student, row in local_rows.items():
        assert (remote_rows[student]["score"], remote_rows[student]["status"]) == \
            (row["score"], row["status"]), (student, row, remote_rows[student])


def test_cluster_scores_are_the_expected_ones(graded):
    remote = course.grades(graded.cluster_root, ASSIGNMENT)
    rows = Graded.rows(graded.cluster_root)
    expected = json.loads((EXAMPLES / ASSIGNMENT / "expected.json").read_text())
    for student, want in expected.items():
        assert remote[student].score == want["score"], (student, rows[student])
        assert rows[student]["status"] == "graded", rows[student]
    source = nbformat.read(graded.cluster_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                           as_version=4)
    auto_points = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in source.cells
                      if c.metadata.get("nbgrader", {}).get("grade")
                      and not c.metadata["nbgrader"].get("solution"))
    assert remote["reference"].score == auto_points > 0
    assert rows["reference"]["status"] == rows["blank"]["status"] == "graded"
    assert remote["blank"].score == 0
    reference = remote["reference"].score
    for case_id, want in graded.hostile.items():  # the sandbox on the workers holds too
        score = reference if want["score"] == "reference" else want["score"]
        row = rows[f"h_{case_id}"]
        assert (float(row["score"]), row["status"]) == (score, want["status"]), row


def test_both_workers_ran_notebooks(graded, dask_cluster):
    # The scheduler's own record of the tasks, not what the grader says of itself.
    tasks = [t for t in dask_cluster.client.get_task_stream()
             if str(t["key"]).startswith("run_notebook-")]
    ran_on = {t["worker"] for t in tasks}
    assert ran_on == set(dask_cluster.workers), (ran_on, dask_cluster.workers)
    notebooks = len(Graded.rows(graded.cluster_root))
    assert len(tasks) >= notebooks  # one run per notebook, more for re-runs after a crash
    assert "2 worker(s)" in graded.cluster.stderr, graded.cluster.stderr[-2000:]


def test_results_are_written_by_the_grader_only(graded, dask_cluster):
    # The autograded notebooks are in the instructor's course; the workers' folders hold none.
    graded_notebooks = list((graded.cluster_root / "autograded").rglob("*.ipynb"))
    assert len(graded_notebooks) == len(Graded.rows(graded.cluster_root))
    stray = [p for p in dask_cluster.folder.rglob("*") if p.suffix in (".ipynb", ".db", ".csv")]
    assert not stray, stray


def test_idle_sandboxes_on_the_workers_are_closed_after_the_run(graded):
    assert graded.left_on_workers == []


def test_an_unreachable_scheduler_is_a_configuration_error(bad_address):
    address, proc = bad_address
    done = _finish(proc)
    assert done.returncode == 2, done.stderr[-2000:]
    assert address in done.stderr and "cannot reach the Dask scheduler" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_worker_with_other_software_refuses_the_job():
    from calcgrad.grading import cluster
    from calcgrad.grading.limits import Limits

    settings = {"limits": Limits().as_job(), "sandbox": True, "warm": True, "warmup": [],
                "fingerprint": dict(cluster.fingerprint(), torch="0.0.1")}
    with pytest.raises(cluster.WorkerMismatch, match="torch"):
        cluster.run_notebook({"cells": []}, settings, None)


def test_a_result_back_just_as_the_wait_runs_out_is_taken():
    """The grader waits on each notebook's future one second at a time. A notebook that comes
    back between the wait's time-out and the next look is a result, not a grader error."""
    from calcgrad.grading import cluster

    class Future:
        def result(self, timeout=None):
            if timeout is not None:
                raise TimeoutError(f"timed out after {timeout:g} s")
            return ("tcp://worker", "", "the result")

        def done(self):
            return True

    waiting = cluster.Cluster.__new__(cluster.Cluster)  # no scheduler needed for the wait
    waiting._cancelled = False
    assert waiting._wait(Future()) == ("tcp://worker", "", "the result")

"""The sandbox and the runner in it, attacked directly (issue 13), as root and not.

Each test runs real notebooks' cells through the engine's own seams: the one-shot
sandbox (`supervise.run_job`) and a warm worker (`pool.WarmWorker`) that forks one
child per job. `.ci/run` runs this file again as an unprivileged user.
"""

from __future__ import annotations

import json
import os

import pytest

from calcgrad.grading import pool, supervise
from calcgrad.grading.limits import MiB, Limits
from calcgrad.grading.sandbox import SHM_BYTES, Sandbox, SandboxUnavailable

LIMITS = Limits(cell_seconds=30, notebook_seconds=120)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox()
    try:
        box.check()
    except SandboxUnavailable as exc:
        pytest.skip(f"no sandbox here: {exc}")
    return box


@pytest.fixture(scope="module")
def warm(sandbox):
    worker = pool.WarmWorker(sandbox, LIMITS, slot=0, warmup_cells=[])
    worker.start()
    yield worker
    worker.close()


def job(*sources: str, local: tuple[int, ...] = ()) -> dict:
    return {"cells": [{"index": i, "source": s, "local": i in local}
                      for i, s in enumerate(sources)], "notebook_name": "nb.ipynb"}


def printed(result: supervise.RunResult, index: int) -> str:
    return "".join(o.get("text", "") for o in result.cells[index].outputs
                   if o.get("output_type") == "stream")


def errors(result: supervise.RunResult, index: int) -> list[str]:
    return [o["ename"] for o in result.cells[index].outputs if o.get("output_type") == "error"]


# -- nbgrader's showtraceback exploit (nbgrader/tests/apps/files/ test_showtraceback_exploit)

SILENCE = ("from IPython.core.interactiveshell import InteractiveShell\n"
           "InteractiveShell.showtraceback = lambda *args, **kwargs: None")


def test_a_silenced_traceback_still_fails_the_cell(sandbox):
    result = supervise.run_job(job(SILENCE, "assert 1 == 2, 'wrong'", "print('after')",
                                   local=(1,)), LIMITS, sandbox)
    assert result.ended, result.detail
    assert errors(result, 1) == ["AssertionError"]
    assert any("InteractiveShell.showtraceback replaced" in f for f in result.cells[0].flags)


def test_a_traceback_silenced_in_the_failing_cell_itself_still_fails_it(sandbox):
    result = supervise.run_job(job(SILENCE + "\nassert False", local=(0,)), LIMITS, sandbox)
    assert errors(result, 0) == ["AssertionError"]
    assert "an error was hidden from the notebook's display" in result.cells[0].flags


def test_an_honest_error_shows_once_and_flags_nothing(sandbox):
    result = supervise.run_job(job("x = 1", "assert x == 2"), LIMITS, sandbox)
    assert errors(result, 1) == ["AssertionError"]
    assert result.cells[0].flags == [] and result.cells[1].flags == []


# -- the runner's own functions replaced from inside

def test_replacing_the_runners_functions_is_reported_not_a_crash(sandbox):
    attack = ("import calcgrad.grading.runner as r\n"
              "r.Cell.error = lambda *a, **k: 1 / 0\n"
              "r.Cell.stream = lambda *a, **k: 1 / 0\n"
              "r.Channel.send = lambda *a, **k: None\n"
              "r.safe_str.__code__ = (lambda v: 1 / 0).__code__")
    result = supervise.run_job(job(attack, "print('next')", "1 / 0"), LIMITS, sandbox)
    assert result.ended and not result.reason, (result.reason, result.detail)
    assert any(f.startswith("calcgrad.grading.runner modified") for f in result.cells[0].flags)
    assert printed(result, 1) == "next\n"
    assert errors(result, 2) == ["ZeroDivisionError"]


# -- what one child writes, the next never sees (warm worker: same sandbox, new child)

WRITE = r'''
import os
wrote = []
for path in ["/leak", "/etc/leak", "/dev/leak", "/usr/leak", "/proc/leak", "/dev/shm/leak",
             "/tmp/leak", os.path.expanduser("~/leak"), "leak"]:
    try:
        with open(path, "w") as fh:
            fh.write("secret")
        wrote.append(path)
    except OSError:
        pass
print(json.dumps(wrote))
'''

READ = r'''
import os
seen = []
for top in ["/", "/etc", "/dev", "/dev/shm", "/tmp"]:
    for dirpath, dirnames, filenames in os.walk(top):
        if dirpath.startswith(("/proc", "/sys", "/usr")):
            dirnames[:] = []
            continue
        seen += [os.path.join(dirpath, f) for f in filenames if f == "leak"]
print(json.dumps(sorted(set(seen))))
'''


def test_only_scratch_is_writable_and_nothing_passes_to_the_next_child(warm):
    first = warm.run(job("import json", WRITE))
    assert first.ended, first.detail
    wrote = json.loads(printed(first, 1))
    assert all(p.startswith(("/tmp/", "/dev/shm/")) or not p.startswith("/") for p in wrote), \
        wrote
    assert "/dev/leak" not in wrote and "/leak" not in wrote and "/etc/leak" not in wrote
    second = warm.run(job("import json", READ))
    assert second.ended, second.detail
    assert json.loads(printed(second, 1)) == []


def test_dev_shm_is_capped(warm):
    """Files of 1 MiB each (one file is capped by RLIMIT_FSIZE anyway) until /dev/shm is full;
    past its cap plus 32 MiB the probe stops by itself."""
    most = SHM_BYTES // MiB + 32
    fill = ("import os\n"
            "total = 0\n"
            "try:\n"
            f"    for i in range({most}):\n"
            "        with open(f'/dev/shm/fill-{i}', 'wb') as fh:\n"
            "            fh.write(b'x' * (1 << 20))\n"
            "        total += 1\n"
            "except OSError:\n"
            "    pass\n"
            "print(total)")
    result = warm.run(job(fill))
    assert result.ended, result.detail
    assert int(printed(result, 0)) <= SHM_BYTES // MiB


def test_device_nodes_still_work(warm):
    result = warm.run(job("with open('/dev/null', 'w') as fh:\n    fh.write('x')\n"
                          "print(len(open('/dev/urandom', 'rb').read(8)))"))
    assert printed(result, 0) == "8\n"


def test_uid_is_the_grader_s_own_or_the_slot_s(warm, sandbox):
    result = warm.run(job("import os\nprint(os.getuid())"))
    uid = int(printed(result, 0))
    if sandbox.as_root:
        assert uid == sandbox.uid_for(0)
    else:
        assert uid == os.getuid()


# -- students never meet in memory (principle 7): a warm worker never holds a job

SCAN = r'''
import ctypes, re
marker = re.compile(re.escape(bytes.fromhex({hex!r})))
found = 0
for line in open("/proc/self/maps"):
    fields = line.split()
    if not fields[1].startswith("r") or (len(fields) > 5 and fields[5].startswith("[v")):
        continue
    low, high = (int(x, 16) for x in fields[0].split("-"))
    found += len(marker.findall((ctypes.c_char * (high - low)).from_address(low)))
print(found)
'''


def test_no_byte_of_an_earlier_job_is_in_the_next_childs_memory(warm):
    secret = "def d_power(x, n):  # " + os.urandom(16).hex()
    solution = f"{secret}\n    return n * x ** (n - 1)\n" + "# padding\n" * 200
    first = warm.run(dict(job(solution, "print(d_power(2.0, 3))"),
                          notebook_text=json.dumps({"source": solution})))
    assert printed(first, 1) == "12.0\n"
    # The probe itself holds the marker only hex-encoded, so it never finds itself.
    second = warm.run(job(SCAN.format(hex=secret.encode().hex())))
    assert second.ended, second.detail
    assert printed(second, 0) == "0\n"


# -- two batches on one host never share a slot (its uid, when the grader is root)

def test_a_slot_is_held_until_released(tmp_path):
    from calcgrad.grading.sandbox import claim_slot

    numbers, folder = range(120, 122), str(tmp_path)
    first, second = claim_slot(numbers, folder), claim_slot(numbers, folder)
    try:
        assert first[0] != second[0]
        with pytest.raises(SandboxUnavailable):
            claim_slot(numbers, folder)
    finally:
        os.close(second[1])
    third = claim_slot(numbers, folder)  # released: free again
    assert third[0] == second[0]
    for _, fd in (first, third):
        os.close(fd)

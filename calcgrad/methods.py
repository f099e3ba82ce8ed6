"""How a student's function is written, read from the notebook's source (never run).

`checks.method` asks whether a function uses a technique (autograd, forward mode, a full
Jacobian, symbolic or numeric differentiation, another notebook function) or must not.
The answer comes from the code the student wrote, parsed with `ast`: in grading, the trusted
process reads the submitted notebook's cells; in the student's kernel, the cells they ran.
Nothing here imports or calls student code, so a decoy (`f.__wrapped__ = innocent`, a
replaced `inspect.getsource`) has nothing to fool.

What is read: the last binding of the function's name in the cells above the check (a `def`,
a `lambda`, or an alias of another name), then, transitively, every top-level name it reads
(other functions, classes, module-level values and their definitions, imports). What counts
is what the code calls and touches (API attributes such as `.backward`, imports such as
`from torch.autograd import grad`), never the student's own variable names. Code whose calls
cannot be read from its text (`exec`, `getattr`, `globals()`, a module of the student's own)
is "unverifiable" and fails, with the reason.

Introduced by: source/ps1_calculus and source/ps2_autograd (the method checks).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field

# Technique -> the API names (attributes, import paths' parts) that use it.
TECHNIQUES: dict[str, frozenset[str]] = {
    "autograd": frozenset({
        "backward", "grad", "requires_grad", "requires_grad_", "retain_grad", "grad_fn",
        "autograd", "func", "functorch", "forward_ad", "jacobian", "hessian", "vjp", "jvp",
        "jacrev", "jacfwd", "hvp", "vhp", "make_dual", "unpack_dual", "dual_level",
        "gradcheck", "gradgradcheck"}),
    "reverse_mode": frozenset({"backward", "grad", "vjp", "jacrev", "vhp"}),
    "forward_mode": frozenset({"jvp", "forward_ad", "make_dual", "unpack_dual", "dual_level",
                               "jacfwd"}),
    "jacobian": frozenset({"jacobian", "hessian", "jacrev", "jacfwd"}),
    "symbolic": frozenset({"sympy", "diff", "derivative", "Derivative"}),
    # difference quotients cannot be seen in code (precision rules them out); these can:
    # numpy/torch/scipy differences, and the complex-step trick (f(x + ih).imag / h)
    "numeric": frozenset({"gradient", "diff", "approx_fprime", "derivative", "imag", "1j",
                          "complex", "complex64", "complex128", "cfloat", "cdouble",
                          "view_as_real"}),
    "calcgrad": frozenset({"calculus"}),
}
# What "worked out by hand" rules out.
BY_HAND = ("autograd", "symbolic", "numeric", "calcgrad")
NAMES_OF = {
    "autograd": "autograd", "reverse_mode": "reverse-mode autograd (backward, autograd.grad)",
    "forward_mode": "forward mode (torch.func.jvp or dual numbers)",
    "jacobian": "a full Jacobian", "symbolic": "symbolic differentiation",
    "numeric": "a numerical derivative", "calcgrad": "the course's own helpers",
}

# Names whose use hides what the code calls.
OPAQUE_CALLS = frozenset({
    "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "__import__", "__builtins__", "breakpoint", "get_ipython"})
# Modules whose functions can call anything by name, run other programs, or load code the
# grader cannot read.
OPAQUE_MODULES = frozenset({
    "importlib", "operator", "ctypes", "inspect", "types", "builtins", "sys", "gc", "marshal",
    "pickle", "dill", "code", "codeop", "runpy", "subprocess", "os", "IPython", "ast",
    "multiprocessing", "concurrent"})
# IPython line magics that cannot define or rebind a name (`%matplotlib inline`).
SAFE_MAGICS = frozenset({"matplotlib", "config", "precision", "xmode", "pprint", "who",
                         "whos", "pwd", "ls"})
# Modules whose code is known: calling into them is judged by the attributes used.
KNOWN_MODULES = frozenset({
    "torch", "numpy", "math", "cmath", "calcgrad", "matplotlib", "scipy", "sympy", "functorch",
    "itertools", "collections", "dataclasses", "typing", "numbers", "random", "statistics",
    "fractions", "decimal", "warnings", "time", "__future__"})


class Unverifiable(Exception):
    """The code's calls cannot be read from its text."""


@dataclass
class Reading:
    """What a function (with everything it reaches in the notebook) uses."""

    root: str = ""
    found: bool = True
    tokens: set[str] = field(default_factory=set)     # API names touched
    functions: set[str] = field(default_factory=set)  # top-level notebook names reached
    opaque: list[str] = field(default_factory=list)   # why it cannot be verified


@functools.lru_cache(maxsize=1024)
def parse_cell(source: str) -> ast.Module | None:
    """A code cell as Python (IPython magics transformed the way the kernel would); None
    when it does not parse, and so defined nothing when it ran. Cached: a notebook's cells
    are read once for all of its method checks."""
    if "%" in source or "!" in source:
        try:
            from IPython.core.inputtransformer2 import TransformerManager
            source = TransformerManager().transform_cell(source)
        except (ImportError, SyntaxError, ValueError, IndexError, TypeError):
            pass
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _top_level(stmts: list[ast.stmt]):
    """Module-level statements, looking into module-level if/try/with/for blocks."""
    for stmt in stmts:
        yield stmt
        for attr in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(stmt, attr, None)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                break
            if isinstance(inner, list):
                blocks = [h.body for h in inner] if attr == "handlers" else [inner]
                for block in blocks:
                    yield from _top_level(block)


def _bound_by(stmt: ast.stmt) -> list[tuple[str, ast.AST]]:
    """(name, what defines it) for each module-level name a statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [(stmt.name, stmt)]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [((a.asname or a.name).split(".")[0], stmt) for a in stmt.names]
    targets = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
        targets = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.With)):
        targets = [stmt.target] if isinstance(stmt, ast.For) else \
            [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    names = []
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.append((node.id, stmt))
    return names


class Notebook:
    """The module-level bindings of a notebook's code cells, in the order they ran."""

    def __init__(self, sources: list[str]):
        self.bindings: dict[str, list[ast.AST]] = {}
        module_level: list[ast.stmt] = []
        for source in sources:
            tree = parse_cell(source)
            if tree is None:
                continue
            for stmt in _top_level(tree.body):
                for name, node in _bound_by(stmt):
                    self.bindings.setdefault(name, []).append(node)
                if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                                         ast.ClassDef)):
                    module_level.append(stmt)
        # Module-level code that can rebind a name without a visible binding.
        self.rebinds = [why for stmt in module_level for why in _rebinding(stmt, self.bindings)]

    def read(self, name: str) -> Reading:
        if name not in self.bindings:
            return Reading(root=name, found=False)
        reading = Reading(root=name)
        reading.opaque += self.rebinds
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            reading.functions.add(current)
            for node in self.bindings.get(current, [])[-1:]:
                for child in _read_node(node, current, reading):
                    if child in self.bindings and child not in seen:
                        todo.append(child)
        return reading


def _origin_tokens(stmt: ast.Import | ast.ImportFrom, name: str) -> tuple[str, set[str]]:
    """The module an import of `name` comes from, and the parts of its dotted path."""
    for alias in stmt.names:
        if (alias.asname or alias.name).split(".")[0] != name:
            continue
        if isinstance(stmt, ast.ImportFrom):
            dotted = f"{stmt.module or ''}.{alias.name}"
        else:
            dotted = alias.name
        return dotted.split(".")[0], set(dotted.split("."))
    return "", set()


def _rebinding(stmt: ast.stmt, bindings: dict) -> list[str]:
    """Why a module-level statement may rebind a name unseen: a dynamic-code call
    (`exec`, `globals()`, a magic such as `%run`), an import of `__main__`, `builtins` or
    `importlib`, or an assignment to an attribute named like a dunder or a notebook name
    (`f.__code__ = ...`, `sys.modules["__main__"].f = ...`). Plain imports (`import os`)
    and calls are fine: they bind only the names they show."""
    why = []
    nodes: list[ast.AST] = [stmt]
    while nodes:
        node = nodes.pop()
        if _safe_magic(node) or (node is not stmt and isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))):
            continue
        nodes.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Name) and node.id in OPAQUE_CALLS - {"getattr"}:
            why.append(f"the notebook uses `{node.id}` outside a function")
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)) \
                and (node.attr.startswith("__") or node.attr in bindings):
            why.append(f"the notebook assigns `.{node.attr}` outside a function")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) \
                else [a.name for a in node.names]
            why += [f"the notebook imports `{m}`" for m in modules
                    if m.split(".")[0] in ("__main__", "builtins", "importlib")]
    return why


def _opaque_in(node: ast.AST) -> list[str]:
    """Why the code under `node` hides what it calls (empty when it does not)."""
    why = []
    nodes = [node]
    while nodes:
        current = nodes.pop()
        if _safe_magic(current):
            continue
        if isinstance(current, ast.Name) and current.id in OPAQUE_CALLS:
            why.append(f"it uses `{current.id}`")
        elif isinstance(current, ast.Attribute) and current.attr.startswith("__") \
                and current.attr.endswith("__"):
            why.append(f"it uses `.{current.attr}`")
        elif isinstance(current, (ast.Import, ast.ImportFrom)):
            modules = [current.module or ""] if isinstance(current, ast.ImportFrom) \
                else [a.name for a in current.names]
            for module in modules:
                top = module.split(".")[0]
                if top in OPAQUE_MODULES or top not in KNOWN_MODULES:
                    why.append(f"it imports `{module}`")
        nodes.extend(ast.iter_child_nodes(current))
    return why


def _safe_magic(node: ast.AST) -> bool:
    """`get_ipython().run_line_magic('matplotlib', ...)`: a magic that binds nothing."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run_line_magic" and bool(node.args)
            and isinstance(node.args[0], ast.Constant) and node.args[0].value in SAFE_MAGICS)


def _read_node(node: ast.AST, name: str, reading: Reading) -> set[str]:
    """Record what one definition uses; returns the free names it reads (to follow)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        module, tokens = _origin_tokens(node, name)
        reading.tokens |= tokens
        if module not in KNOWN_MODULES:
            reading.opaque.append(f"`{name}` comes from module `{module}`, which the grader "
                                  "cannot read")
        return set()
    reading.opaque += _opaque_in(node)
    local: set[str] = set()
    loads: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            reading.tokens.add(child.attr)
        elif isinstance(child, ast.Constant) and isinstance(child.value, complex):
            reading.tokens.add("1j")  # a complex step
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            for alias in child.names:
                local.add((alias.asname or alias.name).split(".")[0])
                dotted = (f"{child.module or ''}.{alias.name}"
                          if isinstance(child, ast.ImportFrom) else alias.name)
                reading.tokens |= set(dotted.split("."))
        elif isinstance(child, ast.Name):
            if isinstance(child.ctx, ast.Load):
                loads.add(child.id)
            else:
                local.add(child.id)
        elif isinstance(child, ast.arg):
            local.add(child.arg)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and child is not node:
            local.add(child.name)
    return loads - (local - {name})


@dataclass
class Judgement:
    passed: bool
    message: str


@functools.lru_cache(maxsize=64)
def _notebook(sources: tuple[str, ...]) -> Notebook:
    return Notebook(list(sources))


def judge(name: str, function: str, sources: list[str], forbid: tuple = (),
          require: tuple = ()) -> Judgement:
    """Whether `function`, as the notebook's cells define it, uses every technique in
    `require` and none in `forbid`. A word that is not a technique names a top-level
    notebook function (a call of it) or, in `forbid`, an API attribute such as "cos"."""
    notebook = _notebook(tuple(sources))
    reading = notebook.read(function)
    if not reading.found:
        return Judgement(False, f"{name}: no `def {function}` was found in the cells above "
                                "this check; define it with `def` in a code cell and run it.")
    if reading.opaque:
        found = ", ".join(dict.fromkeys(reading.opaque))
        return Judgement(False, f"{name}: the grader cannot tell from the code how "
                                f"`{function}` works ({found}). Write it with plain calls, "
                                "so that what it uses can be read.")
    for word in forbid:
        used = _uses(word, reading)
        if used:
            return Judgement(False, f"{name}: your `{function}` uses {_say(word)} "
                                    f"({', '.join(f'`{u}`' for u in sorted(used))}), which "
                                    "this exercise rules out.")
    for word in require:
        if not _uses(word, reading):
            return Judgement(False, f"{name}: your `{function}` does not use {_say(word)}, "
                                    "which this exercise asks for.")
    return Judgement(True, f"{name}: correct.")


def _uses(word: str, reading: Reading) -> set[str]:
    if word in TECHNIQUES:
        return reading.tokens & TECHNIQUES[word]
    return {word} & (reading.tokens | (reading.functions - {reading.root}))


def _say(word: str) -> str:
    return NAMES_OF.get(word, f"`{word}`")

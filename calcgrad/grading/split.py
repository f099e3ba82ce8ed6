"""Split a test cell: what may enter the sandbox, and what must stay trusted.

`calcgrad.checks` calls name a student half (`student=`) and trusted halves
(`expected=`, `wrong=`, `predicate=`). Before a test cell goes into the
sandbox, `strip_trusted` replaces the trusted halves with `None`, then drops
assignments whose value nothing else in the cell reads any more (so
`want = 3 * x**2` used only by `expected=` does not leak the answer to
student code that inspects its caller's frame).
"""

from __future__ import annotations

import ast

CHECK_KINDS = ("close", "equal", "holds", "method")
VALUE_KINDS = ("close", "equal", "holds")  # the checks with a student half (`method` has none)
# The trusted arguments, and where each check takes them positionally.
TRUSTED_KEYWORDS = ("expected", "wrong", "predicate")
TRUSTED_POSITION = 2  # close(name, student, expected), holds(name, student, predicate)


def _check_kind(call: ast.Call) -> str | None:
    """'close', 'equal' or 'holds' when `call` is a calcgrad check, else None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    has_student = any(k.arg == "student" for k in call.keywords)
    if name not in CHECK_KINDS:
        # A check added to calcgrad.checks later: recognised by its student half.
        return name if has_student and isinstance(func, ast.Attribute) and \
            getattr(func.value, "id", "") == "checks" else None
    if isinstance(func, ast.Attribute):
        base = func.value
        base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if base_name == "checks":
            return name
    # `from calcgrad.checks import close` style: recognise it by its student half.
    if has_student:
        return name
    return None


def check_calls(source: str) -> int:
    """How many calcgrad check calls a cell's source contains (0 when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    return sum(1 for node in ast.walk(tree)
               if isinstance(node, ast.Call) and _check_kind(node))


def uses_checks(source: str) -> bool:
    """Whether a test cell is written with calcgrad checks (and can be decided trusted)."""
    return check_calls(source) > 0


class _StripTrusted(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not _check_kind(node):
            return node
        for kw in node.keywords:
            if kw.arg in TRUSTED_KEYWORDS:
                kw.value = ast.Constant(value=None)
        if _check_kind(node) in VALUE_KINDS and len(node.args) > TRUSTED_POSITION:
            node.args[TRUSTED_POSITION] = ast.Constant(value=None)
        return node


def _loaded_names(tree: ast.AST, skip: ast.AST | None = None) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if node is skip:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
    return names


def _assigned_names(stmt: ast.stmt) -> list[str] | None:
    """The names a plain `a = ...` / `a, b = ...` / `def a` binds; None for anything else."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and not stmt.decorator_list:
        return [stmt.name]
    if not isinstance(stmt, ast.Assign):
        return None
    names = []
    for target in stmt.targets:
        elts = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        for elt in elts:
            if not isinstance(elt, ast.Name):
                return None
            names.append(elt.id)
    return names


def _drop_dead_assignments(tree: ast.Module) -> None:
    """Remove assignments to names nothing reads, until none is left."""
    while True:
        loaded = _loaded_names(tree)
        removed = False
        for node in ast.walk(tree):
            for attr in ("body", "orelse", "finalbody"):
                stmts = getattr(node, attr, None)
                if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], ast.stmt):
                    continue
                kept = []
                for stmt in stmts:
                    names = _assigned_names(stmt)
                    if names and not (set(names) & loaded):
                        removed = True
                        continue
                    kept.append(stmt)
                if not kept:
                    kept = [ast.Pass()]
                setattr(node, attr, kept)
        if not removed:
            return


def strip_trusted(source: str) -> str:
    """The test cell as it may run in the sandbox: trusted halves replaced by None.

    A cell that does not parse is returned unchanged (it fails the same way
    in the sandbox and in the trusted process).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    tree = _StripTrusted().visit(tree)
    _drop_dead_assignments(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def _student_halves(tree: ast.AST) -> set[int]:
    """ids of the nodes that are student halves (student=... or the 2nd positional argument)."""
    halves = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _check_kind(node):
            for kw in node.keywords:
                if kw.arg == "student":
                    halves.add(id(kw.value))
            if _check_kind(node) in VALUE_KINDS and len(node.args) > 1:
                halves.add(id(node.args[1]))
    return halves


def bound_names(source: str) -> set[str]:
    """Every name a cell binds anywhere (assignments, defs, imports, loop and lambda variables)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def outside_names(source: str, known: set[str]) -> list[str]:
    """Names a test cell reads outside its student halves that it neither binds nor may rely on.

    Non-empty means the trusted side cannot run the cell without student code (for example
    `assert f(1) == 2` next to a check): such a cell is graded by nbgrader's rule instead.
    """
    import builtins

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    halves = _student_halves(tree)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in halves:
            skip.update(id(n) for n in ast.walk(node))
    bound = bound_names(source) | known | set(dir(builtins))
    free = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                and id(node) not in skip and node.id not in bound and node.id not in free:
            free.append(node.id)
    return free

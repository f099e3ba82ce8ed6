"""Signs of tampering the runner looks for after each cell, in the sandbox.

These are reports, never defences: verdicts are decided outside the sandbox
(principle 1). What they buy is a clear status ("tampering suspected") instead
of a confusing crash, and the runner's own code put back before it is used
again.
"""

from __future__ import annotations

import sys
import types

# Attributes a submission has no honest reason to replace; a change is reported.
WATCHED = [("torch", "allclose"), ("torch", "isclose"), ("torch", "equal"),
           ("torch", "tensor"), ("torch", "Tensor"), ("numpy", "allclose"),
           ("numpy", "isclose"), ("numpy", "array_equal"), ("builtins", "isinstance"),
           ("builtins", "float"), ("builtins", "print"), ("builtins", "__import__"),
           ("json", "dumps"), ("calcgrad.plain", "encode"), ("calcgrad.plain", "capture"),
           ("calcgrad.checks", "close"), ("calcgrad.checks", "equal"),
           ("calcgrad.checks", "holds"), ("calcgrad.checks", "_run"),
           ("calcgrad.checks", "use_runner"), ("calcgrad.checks", "judge"),
           ("calcgrad.checks", "compare_close"), ("calcgrad.checks", "compare_equal"),
           ("calcgrad.checks", "compare_holds"), ("calcgrad.verdicts", "compare_close"),
           ("calcgrad.verdicts", "compare_equal"), ("calcgrad.verdicts", "compare_holds")]
# The shell methods that decide and display a cell's error (nbgrader's showtraceback exploit
# replaces one of them); a change is reported, and undone before the next cell.
SHELL_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell",
                 "run_cell_async", "run_ast_nodes", "run_code")


def watch_snapshot() -> dict:
    """Which object each WATCHED attribute is now (by id)."""
    snap = {}
    for module, attr in WATCHED:
        mod = sys.modules.get(module)
        if mod is not None:
            snap[(module, attr)] = id(getattr(mod, attr, None))
    return snap


class Machinery:
    """The runner's own code (its modules, their classes, the shell's classes and IPython's
    error-handling methods) as it was before student code ran. A submission that replaces
    any of it is reported once per cell, and what it replaced is put back before the runner
    uses it again, so the tampering shows as tampering rather than as a crash."""

    def __init__(self, shell, modules: list[types.ModuleType]):
        from IPython.core.interactiveshell import InteractiveShell

        owners: list = []
        for module in modules:
            owners.append(module)
            owners += [v for v in vars(module).values()
                       if isinstance(v, type) and v.__module__ == module.__name__]
        owners += [type(shell), type(shell.displayhook), type(shell.display_pub)]
        self.owners = [(o, dict(vars(o))) for o in dict.fromkeys(owners)]
        self.shell_methods = {name: InteractiveShell.__dict__.get(name) for name in SHELL_METHODS}
        self.codes = {}
        for _, members in self.owners:
            for value in members.values():
                func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                if isinstance(func, types.FunctionType):
                    self.codes[func] = func.__code__
        self.base = InteractiveShell

    def restore(self) -> set[str]:
        """Put back what was replaced since the snapshot; the flags that say what."""
        flags: set[str] = set()
        for owner, members in self.owners:
            now = vars(owner)
            label = getattr(owner, "__name__", "?")
            for name in [n for n in now if n not in members]:
                if not name.startswith("__"):
                    flags.add(f"calcgrad.grading.runner modified ({label}.{name})")
                    delattr(owner, name)
            for name, value in members.items():
                if now.get(name) is not value:
                    flags.add(f"calcgrad.grading.runner modified ({label}.{name})")
                    if isinstance(owner, types.ModuleType):
                        setattr(owner, name, value)
                    else:
                        type.__setattr__(owner, name, value)
        for func, code in self.codes.items():
            if func.__code__ is not code:
                flags.add(f"calcgrad.grading.runner modified ({func.__qualname__})")
                func.__code__ = code
        for name, value in self.shell_methods.items():
            if self.base.__dict__.get(name) is not value:
                flags.add(f"IPython InteractiveShell.{name} replaced")
                if value is None:
                    delattr(self.base, name)
                else:
                    setattr(self.base, name, value)
        return flags


def tamper_flags(shell, runner, watched: dict, transforms: tuple) -> set[str]:
    """What changed since the cell started that no honest cell changes."""
    flags = set()
    if shell.ast_transformers:
        flags.add("AST transformer installed")
    manager = shell.input_transformer_manager
    now = (len(shell.input_transformers_post), len(manager.cleanup_transforms),
           len(manager.line_transforms), len(manager.token_transformers))
    if now != transforms:
        flags.add("input transformer installed")
    checks = sys.modules.get("calcgrad.checks")
    if checks is None or getattr(checks, "_runner", None) is not runner:
        flags.add("calcgrad.checks runner replaced")
    for key, ident in watched.items():
        mod = sys.modules.get(key[0])
        if mod is None or id(getattr(mod, key[1], None)) != ident:
            flags.add(f"{key[0]}.{key[1]} replaced")
    return flags

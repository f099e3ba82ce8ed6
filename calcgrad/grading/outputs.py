"""Cell outputs for the autograded notebook, built from untrusted data.

Whatever the sandbox sends back is rebuilt field by field into valid
nbformat outputs: known output types only, strings only, size-capped, and
only MIME types that cannot run script in the instructor's browser
(formgrader renders autograded notebooks as HTML).
"""

from __future__ import annotations

import re

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output

SAFE_MIME = ("text/plain", "image/png", "image/jpeg", "image/svg+xml", "text/latex")
UNSAFE_SVG = re.compile(r"<\s*script|<\s*foreignobject|\bon[a-z]+\s*=|javascript:|<\s*iframe",
                        re.IGNORECASE)
MAX_TEXT = 4 * 1024 * 1024


def _text(value, limit: int = MAX_TEXT) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def clean_output(raw) -> NotebookNode | None:
    """One output from the sandbox as an nbformat output, or None when it is not one."""
    if not isinstance(raw, dict):
        return None
    kind = raw.get("output_type")
    if kind == "stream":
        name, text = raw.get("name"), _text(raw.get("text"))
        if name not in ("stdout", "stderr") or text is None:
            return None
        return new_output("stream", name=name, text=text)
    if kind in ("display_data", "execute_result"):
        data = raw.get("data")
        if not isinstance(data, dict):
            return None
        kept = {}
        for mime in SAFE_MIME:
            value = _text(data.get(mime))
            if value is None or (mime == "image/svg+xml" and UNSAFE_SVG.search(value)):
                continue
            kept[mime] = value
        if not kept:
            return None
        if kind == "execute_result":
            return new_output("execute_result", data=kept, execution_count=None)
        return new_output("display_data", data=kept)
    if kind == "error":
        ename, evalue = _text(raw.get("ename"), 200), _text(raw.get("evalue"), 4000)
        tb = raw.get("traceback")
        if ename is None or evalue is None or not isinstance(tb, list):
            return None
        lines = [t[:4000] for t in tb[:200] if isinstance(t, str)]
        return new_output("error", ename=ename, evalue=evalue, traceback=lines)
    return None


def clean_outputs(raws) -> list[NotebookNode]:
    if not isinstance(raws, list):
        return []
    return [o for o in (clean_output(r) for r in raws) if o is not None]


def error(ename: str, evalue: str) -> NotebookNode:
    """An error output written by the grader (scores the cell 0 under nbgrader's rule)."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def stream(name: str, text: str) -> NotebookNode:
    return new_output("stream", name=name, text=text)

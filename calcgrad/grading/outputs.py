"""Cell outputs for the autograded notebook, built from untrusted data.

Whatever the sandbox sends back is rebuilt field by field into valid
nbformat outputs: known output types only, strings only, size-capped, and
only MIME types that cannot run script in the instructor's browser
(formgrader renders autograded notebooks as HTML).
"""

from __future__ import annotations

import html
import re

from nbformat.notebooknode import NotebookNode, from_dict

from calcgrad.grading.protocol import MAX_NAME, MAX_TRACEBACK_LINES, Budget
from calcgrad.textsafe import MAX_MESSAGE

SAFE_MIME = ("text/plain", "image/png", "image/jpeg", "image/svg+xml", "text/latex")
# Matched against the SVG with its character references decoded and its control characters
# (tab, newline) removed or made spaces, so that an encoding cannot hide a scriptable
# construct (`jav&#x61;script:`, `java&#9;script:`, `&lt;` decoded twice). Links that leave
# the document (anything but `#id` or an embedded raster image) go too.
UNSAFE_SVG = re.compile(r"<\s*(script|foreignobject|iframe|embed|object|handler|set\b|animate)"
                        r"|\bon[a-z]+\s*=|(java|vb)script\s*:|data\s*:(?!image/(png|jpeg|gif);)"
                        r"|<!\s*entity|\bhref\s*=\s*['\"]?\s*(?![#'\"\s]|data:image/)",
                        re.IGNORECASE)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
# Characters kept of one output's text or one MIME value (a plot's SVG is large); an error's
# name and text are kept to protocol.MAX_NAME and textsafe.MAX_MESSAGE.
MAX_OUTPUT_TEXT = 4 * 1024 * 1024


def unsafe_svg(svg: str) -> bool:
    """Whether an SVG could run script or load something in the instructor's browser."""
    text = svg
    for _ in range(3):  # `&amp;#x61;` is `&#x61;` is `a`
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return any(UNSAFE_SVG.search(_CONTROLS.sub(sep, text)) for sep in ("", " "))


def new_output(output_type: str, **fields) -> NotebookNode:
    """`nbformat.v4.new_output` without its per-output schema check (the
    largest cost of rebuilding a notebook's outputs): the fields here are built to the
    schema, and the autograded notebook is validated as a whole when it is written."""
    output = NotebookNode(output_type=output_type)
    if output_type in ("display_data", "execute_result"):
        output.metadata = NotebookNode()
        output.data = NotebookNode()
    if output_type == "execute_result":
        output.execution_count = None
    output.update(from_dict(fields))
    if output_type == "error":
        output.setdefault("traceback", [])
    return output


def _text(value, limit: int = MAX_OUTPUT_TEXT) -> str | None:
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
            if value is None or (mime == "image/svg+xml" and unsafe_svg(value)):
                continue
            kept[mime] = value
        if not kept:
            return None
        if kind == "execute_result":
            return new_output("execute_result", data=kept, execution_count=None)
        return new_output("display_data", data=kept)
    if kind == "error":
        ename, evalue = _text(raw.get("ename"), MAX_NAME), _text(raw.get("evalue"), MAX_MESSAGE)
        tb = raw.get("traceback")
        if ename is None or evalue is None or not isinstance(tb, list):
            return None
        lines = [t[:MAX_MESSAGE] for t in tb[:MAX_TRACEBACK_LINES] if isinstance(t, str)]
        return new_output("error", ename=ename, evalue=evalue, traceback=lines)
    return None


def notebook_budget(chars: int) -> Budget:
    """Characters of output the autograded notebook may still take (the runner's cap, enforced
    again here, since a submission can write to the result channel directly)."""
    return Budget(chars, chars)


def fits(budget: Budget, output: NotebookNode) -> bool:
    """Whether to keep an output; errors and stderr always stay (they only lower a score).
    Once one output did not fit, no later one does (`budget.truncated`)."""
    if output.output_type == "error" or output.get("name") == "stderr":
        return True
    size = len(output.get("text", "")) + sum(len(v) for v in output.get("data", {}).values()) \
        + len(output.get("evalue", "")) + sum(len(t) for t in output.get("traceback", []))
    if budget.truncated or budget.take(size) < size:
        budget.truncated = True
        return False
    return True


def clean_outputs(raws, budget: Budget | None = None) -> list[NotebookNode]:
    if not isinstance(raws, list):
        return []
    kept = []
    for raw in raws[:1000]:
        output = clean_output(raw)
        if output is not None and (budget is None or fits(budget, output)):
            kept.append(output)
    return kept


def error(ename: str, evalue: str) -> NotebookNode:
    """An error output written by the grader (scores the cell 0 under nbgrader's rule)."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def stream(name: str, text: str) -> NotebookNode:
    return new_output("stream", name=name, text=text)

"""Student-derived text made inert wherever it is shown (DESIGN.md principle 8).

File names, notes, flags, student ids and messages can come from a submission
(a notebook's name, a flag a submission added from inside the sandbox, an
exception's message). Before they reach the instructor's terminal, a CSV or an
HTML page they pass through one of these:

- `inert(text)`: control characters (C0, DEL, C1: escape sequences, carriage
  returns, backspaces), Unicode direction overrides and line separators are
  written as visible escapes (`\\x1b`, `\\u202e`), so text can neither move
  the cursor, recolour the terminal, nor reorder what is shown around it;
- `terminal(text)`: the same, for a line printed to a terminal (newlines
  kept where the grader put them, in `keep_newlines` mode);
- `csv_cell(text)`: inert, and a cell that a spreadsheet would read as a
  formula (it starts with `=`, `+`, `-`, `@`) is prefixed with `'`;
  `from_csv_cell` undoes only that prefix when the CSV is read back;
- `html(text)`: inert (newlines kept), then HTML-escaped (quotes too, for attributes);
- `safe_str(obj)`: the text of an object a submission made, in the sandbox or the
  grader: its `str()`, cut to `MAX_MESSAGE`, or "<unprintable>" when that raises or
  gives something other than a plain string.
"""

from __future__ import annotations

import html as _html
import re

# C0 controls, DEL and C1 controls; bidirectional overrides and isolates, the Arabic letter
# mark, zero-width joiners and marks; line and paragraph separators; the BOM.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_UNSAFE_KEEP_NEWLINES = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
FORMULA_START = ("=", "+", "-", "@")
MAX_MESSAGE = 4_000  # characters kept of a message, an error's text, a recorded string


def _escape(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: object, keep_newlines: bool = False) -> str:
    """`text` as a string with every control or direction character made visible."""
    text = text if isinstance(text, str) else str(text)
    return (_UNSAFE_KEEP_NEWLINES if keep_newlines else _UNSAFE).sub(_escape, text)


def terminal(text: object) -> str:
    """A message for the terminal: inert, newlines kept (the grader's own line breaks)."""
    return inert(text, keep_newlines=True)


def csv_cell(text: object) -> str:
    """A CSV cell that no spreadsheet reads as a formula and that holds no control text."""
    text = inert(text)
    return "'" + text if text.startswith(FORMULA_START) else text


def from_csv_cell(text: str) -> str:
    """A cell read back from a CSV written with `csv_cell` (its `'` prefix removed)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def html(text: object) -> str:
    """Text for an HTML page or attribute: inert (newlines kept: they are inert there) and
    escaped, quotes included."""
    return _html.escape(inert(text, keep_newlines=True), quote=True)


def safe_str(obj: object, limit: int = MAX_MESSAGE) -> str:
    """`str(obj)` cut to `limit`, never raising (a student's `__str__` may do anything)."""
    try:
        text = str(obj)
    except Exception:  # noqa: BLE001 - a student's __str__ may raise anything
        return "<unprintable>"
    return text[:limit] if type(text) is str else "<unprintable>"

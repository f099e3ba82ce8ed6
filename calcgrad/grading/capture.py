"""What one cell produced, captured in the sandbox: its outputs in order, the student values
its checks recorded, and the flags the runner raised, within the output `Budget`."""

from __future__ import annotations

import io

from calcgrad.grading.protocol import MAX_NAME, MAX_TRACEBACK_LINES, Budget
from calcgrad.textsafe import MAX_MESSAGE

TRUNCATED = "\n... output truncated: this cell printed more than {} bytes ...\n"


class Cell:
    """What one cell produced, in order."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.outputs: list[dict] = []
        self.records: list[dict] = []
        self.flags: set[str] = set()

    def stream(self, name: str, text: str) -> None:
        if self.budget.truncated:
            return
        keep = self.budget.take(len(text))
        if keep < len(text):
            text = text[:keep] + TRUNCATED.format(self.budget.cell_limit)
            self.budget.truncated = True
            self.flags.add("output truncated")
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, output_type: str, data: dict) -> None:
        plain = {}
        for mime, value in data.items():
            if not isinstance(mime, str) or not isinstance(value, str):
                continue
            if self.budget.take(len(value)) < len(value):
                self.flags.add("output truncated")
                self.budget.truncated = True
                continue
            plain[mime] = value
        if plain:
            self.outputs.append({"output_type": output_type, "data": plain, "metadata": {}})

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        tb = [t[:MAX_MESSAGE] for t in traceback[:MAX_TRACEBACK_LINES]]
        self.budget.take(sum(len(t) for t in tb))
        self.outputs.append({"output_type": "error", "ename": ename[:MAX_NAME],
                             "evalue": evalue[:MAX_MESSAGE], "traceback": tb})


class CapturedStream(io.TextIOBase):
    """sys.stdout / sys.stderr while a cell runs: text goes to the current cell."""

    def __init__(self, name: str, current: list):
        self.name, self._current = name, current

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"

    def write(self, text) -> int:
        if not isinstance(text, str):
            text = str(text)
        cell = self._current[0]
        if cell is not None:
            cell.stream(self.name, text)
        return len(text)

    def flush(self) -> None:
        return None

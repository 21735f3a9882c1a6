"""Stage 1a: read a model file (Python or notebook) into checked text."""

from __future__ import annotations

import hashlib
import io
import tokenize
from dataclasses import dataclass

from ..diagnostics import Diagnostic, error
from ..text.lines import split_lines


@dataclass(frozen=True)
class Source:
    """The model file as text. `sha256` is of the bytes as read."""

    path: str
    text: str
    sha256: str
    # A notebook's code cells (notebook.Cell), so diagnostics can name the cell,
    # and notes on the IPython lines dropped from them.
    cells: tuple = ()
    notes: tuple = ()

    @property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    def render(self, diagnostic: Diagnostic) -> str:
        """The diagnostic as the user reads it: against the file, or a notebook's cell."""
        from ..text.notebook import render_located

        return render_located(self.path, self.lines, self.cells, diagnostic)

    def location(self, line: int, column: int) -> str:
        """`LINE:COL`, or `cell_N:LINE:COL` in a notebook."""
        if self.cells:
            from ..text.notebook import label, locate

            cell, moved = locate(self.cells, Diagnostic(line, column, ""))
            if cell is not None:
                return f"{label(cell.number)}:{moved.line}:{moved.column}"
        return f"{line}:{column}"


def read_source(path: str, data: bytes) -> Source:
    """Decode `data` read from `path`; notebooks become their code cells."""
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise error(
            1, 1, "the model file is empty", "write a data() and a model function"
        )
    if b"\x00" in data:
        raise error(1, 1, "the model file is binary, not Python source")
    if path.endswith(".ipynb"):
        from ..text.notebook import read_notebook

        text, cells, notes = read_notebook(data)
        return Source(path, text, digest, cells, notes)
    return Source(path, _decode(data), digest)


def _decode(data: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise error(1, 1, f"bad encoding declaration: {exc}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line, column = _byte_position(data, getattr(exc, "start", 0))
        raise error(
            line, column, f"the model file is not valid {encoding} text"
        ) from None
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return line, column

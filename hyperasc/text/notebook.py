"""Notebooks as model files: their code cells as one Python text, and diagnostics told by cell.

Cells are numbered from 1, markdown cells included, and a diagnostic names
its cell the way nbQA does: `nb.ipynb:cell_4:2:7: error: ...`. IPython lines
that are not Python (magics, shell commands and captures, `obj?` help, whole
`%%` cell magics) become comments, each with a note: hyperas exported the
notebook with nbconvert, which turned them into get_ipython() calls that a
tuning script cannot make.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
import warnings
from dataclasses import dataclass

from ..diagnostics import Diagnostic, error, render
from .lines import split_lines

# `files = !ls`, `a[0] = %time f()`; not `x != y`, `x == y` or `x %= 2`.
_SHELL_CAPTURE = re.compile(r"^\s*([^=#'\"\n(){}]*?[^=!<>%\s])\s*=\s*[!%](?!=)")
# `%time`, not `% n)` (a continued `"%d" % n`); `!ls`, not `!= 0` (a continued comparison).
_MAGIC = re.compile(r"^\s*%%?[A-Za-z]")
_SHELL = re.compile(r"^\s*!(?!=)")
# `?obj`, `obj?`, `obj??`, `x = obj?`: a help request (Python never ends a line with `?`).
_HELP = re.compile(r"^(\s*\?{1,2}[A-Za-z_][\w.]*\s*|[^#]*[\w)\]]\?{1,2}\s*)$")


@dataclass(frozen=True)
class Cell:
    number: int  # counted from 1, markdown cells included
    first_line: int  # where the cell's first line stands in the joined text
    lines: tuple[str, ...]  # the cell as written


def label(number: int) -> str:
    """How a cell is named in messages (upgrade's notebook warnings use the same)."""
    return f"cell_{number}"


def read_notebook(data: bytes) -> tuple[str, tuple[Cell, ...], tuple[Diagnostic, ...]]:
    """The code cells joined into one text, where each cell starts, and notes on dropped lines."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(1, 1, "not a notebook: a .ipynb file is UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise error(
            exc.lineno,
            exc.colno,
            f"not a notebook: the file is not JSON ({exc.msg})",
            "a notebook is the JSON file Jupyter saves; a Python model file needs the .py suffix",
        ) from None
    if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
        raise error(1, 1, "not a notebook: JSON without a 'cells' list")
    problem = bad_cell(raw)
    if problem is not None:
        number, why = problem
        line, column = _source_position(data.decode("utf-8"), raw, number)
        raise error(
            line,
            column,
            f"{label(number)}: {why}" if number else why,
            "a notebook cell's source is a string or a list of strings; "
            "save the notebook again from Jupyter",
        )
    try:
        import nbformat
    except ImportError:
        raise error(
            1, 1, "reading notebooks needs nbformat", "pip install 'hyperasc[notebook]'"
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # nbformat's own warnings (a missing cell id) are not the user's
            notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        cells = list(notebook.cells)
    except Exception as exc:  # nbformat raises several validation error types
        raise error(
            1,
            1,
            f"not a readable notebook: {str(exc).splitlines()[0] if str(exc) else exc}",
        ) from None
    parts: list[str] = []
    found: list[Cell] = []
    notes: list[Diagnostic] = []
    line = 1
    for number, cell in enumerate(cells, start=1):
        if cell.cell_type != "code":
            continue
        written = split_lines(cell.source)
        body, dropped = _python_lines(written)
        parts.append(f"# In[{number}]:")
        found.append(Cell(number, line + 1, tuple(written)))
        notes.extend(dataclasses.replace(d, line=d.line + line) for d in dropped)
        parts.extend(body)
        parts.append("")
        line += len(body) + 2
    if not found:
        raise error(
            1,
            1,
            "the notebook has no code cells",
            "write data() and the model function in code cells",
        )
    return "\n".join(parts) + "\n", tuple(found), tuple(notes)


def _what(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list holding " + _what(
            next(v for v in value if not isinstance(v, str))
        )
    return {type(None): "null", dict: "an object"}.get(type(value), "not text")


def bad_cell(raw: dict) -> tuple[int, str] | None:
    """The first cell of a notebook's JSON (numbered from 1; 0: the list itself)
    that no reader can take, and why; None when every cell is well formed.

    nbformat reads a cell whose source is a number (`"source": 5`) without a
    word, and its text is then not text. `hyperasc upgrade` can check the same.
    """
    if "cells" not in raw:
        return None  # nbformat 3 (worksheets): nbformat converts and checks it
    cells = raw["cells"]
    if not isinstance(cells, list):
        return 0, "not a notebook: 'cells' is not a list"
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            return number, f"the cell is {_what(cell)}, not a JSON object"
        if not isinstance(cell.get("cell_type"), str):
            return number, "the cell has no cell_type"
        source = cell.get("source", "")
        if not isinstance(source, (str, list)) or not all(
            isinstance(part, str)
            for part in (source if isinstance(source, list) else [])
        ):
            return number, f"the cell's source is {_what(source)}, not text"
    return None


def _source_position(text: str, raw: dict, number: int) -> tuple[int, int]:
    """Where cell `number`'s "source" key stands in the file (1, 1 when unsure)."""
    cells = raw.get("cells")
    if not number or not isinstance(cells, list):
        return 1, 1
    cell = cells[number - 1]
    if not isinstance(cell, dict) or "source" not in cell:
        return 1, 1
    before = sum(isinstance(c, dict) and "source" in c for c in cells[: number - 1])
    # A "source" followed by a colon is a key (a string value is followed by , ] or }):
    # the cells' own keys, in order, unless a metadata object has one too.
    keys = list(re.finditer(r'"source"\s*:', text))
    if before >= len(keys):
        return 1, 1
    offset = keys[before].start()
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def ipython_kinds(lines: list[str]) -> list[str | None]:
    """ipython_kind of each line of a cell; lines inside a triple-quoted string are Python."""
    kinds = []
    inside = None  # the quotes of the triple-quoted string open at the line's start
    for line in lines:
        kind = ipython_kind(line) if inside is None else None
        inside = _string_state(line, inside)
        kinds.append(
            None if kind == "help" and inside is not None else kind
        )  # `"""Why?`
    return kinds


def _string_state(line: str, inside: str | None) -> str | None:
    """The triple-quoted string still open after `line`, given the one open before it."""
    i = 0
    while i < len(line):
        if inside is not None:
            end = line.find(inside, i)
            while (
                end > 0
                and line[end - 1] == "\\"
                and (end - len(line[:end].rstrip("\\"))) % 2
            ):
                end = line.find(inside, end + 1)
            if end < 0:
                return inside
            i, inside = end + 3, None
            continue
        char = line[i]
        if char == "#":
            return None
        if char in "'\"":
            if line.startswith(char * 3, i):
                inside, i = char * 3, i + 3
                continue
            i += 1
            while i < len(line) and line[i] != char:  # a one-line string
                i += 2 if line[i] == "\\" else 1
        i += 1
    return inside


def _python_lines(lines: list[str]) -> tuple[list[str], list[Diagnostic]]:
    """The cell's lines with IPython-only lines commented out; a note (cell-relative) for each."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        magic = first.split()[0]
        at = next(i for i, line in enumerate(lines) if line.strip())
        note = Diagnostic(
            at + 1,
            lines[at].index("%") + 1,
            f"dropped the whole cell: {magic} makes it a cell magic, not Python",
            None,
            "note",
        )
        return ["# " + line for line in lines], [note]
    out, notes = [], []
    for number, (line, kind) in enumerate(zip(lines, ipython_kinds(lines)), start=1):
        if kind is None:
            out.append(line)
            continue
        stripped = line.lstrip()
        if kind == "capture":
            target = _SHELL_CAPTURE.match(line).group(1)
            message = (
                f"dropped: an IPython shell capture; {target} is not set in the script"
            )
        elif kind == "shell":
            message = "dropped: a shell command, not Python"
        elif kind == "magic":
            message = f"dropped: the IPython magic {stripped.split()[0]}, not Python"
        else:
            message = "dropped: an IPython help request, not Python"
        out.append("# " + line)
        notes.append(
            Diagnostic(number, len(line) - len(stripped) + 1, message, None, "note")
        )
    return out, notes


def capture_sign(line: str) -> int:
    """Where the `!` (or `%`) of a shell capture line stands."""
    return _SHELL_CAPTURE.match(line).end() - 1


def ipython_kind(line: str) -> str | None:
    """What IPython-only syntax a line of a code cell is: "capture" (`x = !ls`), "shell" (`!ls`),
    "magic" (`%time f()`), "help" (`obj?`, `?obj`), or None for Python.

    `hyperasc upgrade` masks the same lines (upgrade._mask_ipython)."""
    if _SHELL_CAPTURE.match(line):
        return "capture"
    if _SHELL.match(line):
        return "shell"
    if _MAGIC.match(line):
        return "magic"
    if _HELP.match(line):
        return "help"
    return None


def locate(
    cells: tuple[Cell, ...], diagnostic: Diagnostic
) -> tuple[Cell | None, Diagnostic]:
    """The cell a diagnostic in the joined text stands in, and the diagnostic told against that cell."""
    starts = [c.first_line for c in cells]
    index = bisect.bisect_right(starts, diagnostic.line) - 1
    if index < 0:
        return None, diagnostic
    cell = cells[index]
    line = diagnostic.line - cell.first_line + 1
    if line > len(cell.lines):
        return None, diagnostic  # the blank line between cells
    return cell, dataclasses.replace(diagnostic, line=line)


def render_located(
    path: str, text_lines: list[str], cells: tuple[Cell, ...], diagnostic: Diagnostic
) -> str:
    """Render a diagnostic against its cell (`nb.ipynb:cell_4:2:7: ...`), or the file for a .py."""
    if not cells:
        return render(diagnostic, path, text_lines)
    cell, moved = locate(cells, diagnostic)
    if cell is None:
        # Not in a cell (a message about the whole file): no line to point at.
        out = [f"{path}: {diagnostic.severity}: {diagnostic.message}"]
        if diagnostic.hint:
            out.append(f"  hint: {diagnostic.hint}")
        return "\n".join(out)
    return render(moved, f"{path}:{label(cell.number)}", list(cell.lines))

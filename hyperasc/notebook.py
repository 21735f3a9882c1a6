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
from dataclasses import dataclass

from .diagnostics import Diagnostic, error, render
from .source import split_lines

_SHELL_CAPTURE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[!%]")
# `%time`, not `% n)` (a continued `"%d" % n`); `!ls`, not `!= 0` (a continued comparison).
_MAGIC = re.compile(r"^\s*%%?[A-Za-z]")
_SHELL = re.compile(r"^\s*!(?!=)")
_HELP = re.compile(r"^\s*(\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*(?:\(\))?\?{1,2})\s*$")


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
        raise error(exc.lineno, exc.colno, f"not a notebook: the file is not JSON ({exc.msg})",
                    "a notebook is the JSON file Jupyter saves; a Python model file needs the .py suffix") from None
    if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
        raise error(1, 1, "not a notebook: JSON without a 'cells' list")
    try:
        import nbformat
    except ImportError:
        raise error(1, 1, "reading notebooks needs nbformat", "pip install 'hyperasc[notebook]'") from None
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        cells = list(notebook.cells)
    except Exception as exc:  # nbformat raises several validation error types
        raise error(1, 1, f"not a readable notebook: {str(exc).splitlines()[0] if str(exc) else exc}") from None
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
    return "\n".join(parts) + "\n", tuple(found), tuple(notes)


def _python_lines(lines: list[str]) -> tuple[list[str], list[Diagnostic]]:
    """The cell's lines with IPython-only lines commented out; a note (cell-relative) for each."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        magic = first.split()[0]
        at = next(i for i, line in enumerate(lines) if line.strip())
        note = Diagnostic(at + 1, lines[at].index("%") + 1,
                          f"dropped the whole cell: {magic} makes it a cell magic, not Python", None, "note")
        return ["# " + line for line in lines], [note]
    out, notes = [], []
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        column = len(line) - len(stripped) + 1
        capture = _SHELL_CAPTURE.match(line)
        if capture:
            message = f"dropped: an IPython shell capture; {capture.group(1)} is not set in the script"
        elif _SHELL.match(line):
            message = "dropped: a shell command, not Python"
        elif _MAGIC.match(line):
            message = f"dropped: the IPython magic {stripped.split()[0]}, not Python"
        elif _HELP.match(line):
            message = "dropped: an IPython help request, not Python"
        else:
            out.append(line)
            continue
        out.append("# " + line)
        notes.append(Diagnostic(number, column, message, None, "note"))
    return out, notes


def locate(cells: tuple[Cell, ...], diagnostic: Diagnostic) -> tuple[Cell | None, Diagnostic]:
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


def render_located(path: str, text_lines: list[str], cells: tuple[Cell, ...], diagnostic: Diagnostic) -> str:
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

"""Files: a .py model file's bytes (encoding, BOM and line endings kept), and
notebooks, whose code cells are upgraded as one text so that an import in one
cell explains a name in another.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tokenize
from dataclasses import dataclass

from ..diagnostics import CompileError, Diagnostic
from ..text.notebook import bad_cell, capture_sign, ipython_kinds, label
from .core import Edit, Plan, apply, check_result
from .engine import find, upgrade_text


@dataclass
class Part:
    """One piece of a model file that was upgraded: the whole .py file, or one notebook cell."""

    label: (
        str | None
    )  # None for a .py file, "cell_4" for a notebook cell (counted from 1)
    before: str
    after: str
    plan: Plan


@dataclass
class FileUpgrade:
    data: bytes  # the file's new bytes
    parts: list[Part]

    @property
    def changed(self) -> bool:
        return any(p.before != p.after for p in self.parts)


class UpgradeError(Exception):
    """The file cannot be upgraded: `label` names the cell, diagnostics say where."""

    def __init__(self, label: str | None, text: str, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message if diagnostics else "cannot upgrade")
        self.label, self.text, self.diagnostics = label, text, diagnostics


def upgrade_file(path: str, data: bytes) -> FileUpgrade:
    """Upgrade a model file's bytes; notebooks by their code cells."""
    if path.endswith(".ipynb"):
        return _upgrade_notebook(data)
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data[len(bom) :].decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise UpgradeError(
            None, "", [Diagnostic(1, 1, f"cannot decode the file: {exc}")]
        ) from None
    try:
        new, plan = upgrade_text(text)
    except CompileError as exc:
        raise UpgradeError(None, text, exc.diagnostics) from None
    out = (
        data
        if new == text
        else bom + new.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    )
    return FileUpgrade(out, [Part(None, text, new, plan)])


def mask_ipython(source: str) -> str:
    """IPython lines (those notebook.ipython_kinds names) become same-width Python, so positions hold."""
    lines = source.split("\n")
    for index, (line, kind) in enumerate(zip(lines[:], ipython_kinds(lines))):
        if kind == "capture":
            # `x = !ls` -> `x = 0#s`: a value, then a comment, the same width.
            at = capture_sign(line)
            lines[index] = (
                line[:at] + ("0#" if at + 1 < len(line) else "0") + line[at + 2 :]
            )
        elif kind == "help" and not line.lstrip().startswith("?"):
            # `obj?` and `obj??` ask for help: blank the question marks.
            body = line.rstrip()
            marks = len(body) - len(body.rstrip("?"))
            lines[index] = body[:-marks] + " " * marks + line[len(body) :]
        elif kind is not None:  # `%magic`, `!shell`, `?obj`: a comment
            indent = len(line) - len(line.lstrip())
            lines[index] = line[:indent] + "#" + line[indent + 1 :]
    return "\n".join(lines)


def _cell_of(
    chosen: list, joined: str, diagnostics: list[Diagnostic]
) -> tuple[str | None, str, list[Diagnostic]]:
    """An error in the joined text, told against its cell."""
    first = diagnostics[0]
    for number, cell, _masked, start in reversed(chosen):
        before = joined.count("\n", 0, start)
        if first.line > before:
            moved = [dataclasses.replace(d, line=d.line - before) for d in diagnostics]
            return label(number), cell.source, moved
    return None, joined, diagnostics


def _bad_cell(data: bytes) -> tuple[int, str] | None:
    """bad_cell() of the notebook's JSON; None when it is not JSON (nbformat says why)."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both
        return None
    return bad_cell(raw) if isinstance(raw, dict) else None


def _upgrade_notebook(data: bytes) -> FileUpgrade:
    try:
        import nbformat
    except ImportError:
        raise UpgradeError(
            None,
            "",
            [
                Diagnostic(
                    1,
                    1,
                    "upgrading notebooks needs nbformat",
                    "pip install 'hyperasc[notebook]'",
                )
            ],
        ) from None
    bad = _bad_cell(data)
    if (
        bad is not None
    ):  # nbformat would read it and hand over a source that is not text
        number, why = bad
        raise UpgradeError(
            label(number) if number else None, "", [Diagnostic(1, 1, why)]
        )
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
        cells = notebook.cells
    except Exception as exc:  # nbformat raises several error types for bad notebooks
        raise UpgradeError(
            None, "", [Diagnostic(1, 1, f"not a readable notebook: {exc}")]
        ) from None
    # One text of all code cells, so that an import in one cell explains a name in another.
    chosen = []  # (cell number, cell, masked source, offset in the joined text)
    offset = 0
    for number, cell in enumerate(cells, start=1):
        if cell.cell_type != "code" or cell.source.lstrip().startswith("%%"):
            continue  # a cell magic: not Python
        masked = mask_ipython(cell.source)
        chosen.append((number, cell, masked, offset))
        offset += len(masked) + 1
    joined = "\n".join(c[2] for c in chosen)
    try:
        plan = find(joined)
    except CompileError as exc:
        raise UpgradeError(*_cell_of(chosen, joined, exc.diagnostics)) from None
    if plan.changes:
        check_result(joined, apply(joined, plan.changes))
    parts = []
    line_starts = [
        joined.count("\n", 0, c[3]) for c in chosen
    ]  # lines before each cell
    for index, (number, cell, masked, start) in enumerate(chosen):
        end = start + len(masked)
        first_line, last_line = (
            line_starts[index] + 1,
            line_starts[index] + masked.count("\n") + 1,
        )
        changes = []
        for (
            change
        ) in (
            plan.changes
        ):  # a change may reach into several cells (an import and its uses)
            edits = tuple(
                Edit(e.start - start, e.end - start, e.text)
                for e in change.edits
                if start <= e.start <= end
            )
            if edits:
                line = (
                    change.line - line_starts[index]
                    if first_line <= change.line <= last_line
                    else (
                        joined.count("\n", 0, edits[0].start + start)
                        - line_starts[index]
                        + 1
                    )
                )
                changes.append(dataclasses.replace(change, edits=edits, line=line))
        findings = [
            dataclasses.replace(f, line=f.line - line_starts[index])
            for f in plan.findings
            if first_line <= f.line <= last_line
        ]
        new = apply(cell.source, changes)
        parts.append(Part(label(number), cell.source, new, Plan(changes, findings)))
        cell.source = new
    if not any(p.before != p.after for p in parts):
        return FileUpgrade(data, parts)
    out = nbformat.writes(notebook)
    if data.endswith(b"\n") and not out.endswith("\n"):
        out += "\n"
    return FileUpgrade(out.encode("utf-8"), parts)

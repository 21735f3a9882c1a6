"""Compiler diagnostics: a located message, rendered like a C compiler's."""

from __future__ import annotations

from dataclasses import dataclass

_SHOWN_AS_SPACE = str.maketrans({c: " " for c in "\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


@dataclass(frozen=True)
class Diagnostic:
    """One message about the input, at a 1-based line and column."""

    line: int
    column: int
    message: str
    hint: str | None = None
    severity: str = "error"


class CompileError(Exception):
    """Raised by any stage when the input cannot be compiled."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message if diagnostics else "compile error")
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.line, d.column))


def error(
    line: int, column: int, message: str, hint: str | None = None
) -> CompileError:
    """Shorthand for a CompileError holding one error."""
    return CompileError([Diagnostic(line, column, message, hint)])


def render(diagnostic: Diagnostic, path: str, lines: list[str]) -> str:
    """Format as `PATH:LINE:COL: error: MESSAGE`, the source line and a caret."""
    out = [
        f"{path}:{diagnostic.line}:{diagnostic.column}: {diagnostic.severity}: {diagnostic.message}"
    ]
    if 1 <= diagnostic.line <= len(lines):
        # Characters that Python takes as whitespace or text but a terminal may
        # take as a line break are shown as spaces, so the caret stays aligned.
        text = lines[diagnostic.line - 1].rstrip("\r\n").translate(_SHOWN_AS_SPACE)
        if text.strip():
            # Keep tabs in the caret's indent so it lines up under the source.
            prefix = text[: max(diagnostic.column - 1, 0)]
            indent = "".join(ch if ch == "\t" else " " for ch in prefix)
            out.append(f"    {text}")
            out.append(f"    {indent}^")
    if diagnostic.hint:
        out.append(f"  hint: {diagnostic.hint}")
    return "\n".join(out)

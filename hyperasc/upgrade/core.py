"""The token-edit core every family shares.

Plain data between the stages (Edit, Change, Finding, Plan), the map from
ast positions in the substituted text (handles replaced by placeholders) to
offsets in the original text, the original text's tokens, and `apply`, which
splices edits in and leaves every other byte as it was.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from bisect import bisect_left
from dataclasses import dataclass, field

from ..compile.scanner import Handle, scan, substitute
from ..diagnostics import CompileError, Diagnostic

LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] of the original text by `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Change:
    """One Keras 1/2 spelling and the edits that make it Keras 3."""

    rule: str  # short label, e.g. "lr="
    line: int  # 1-based, in the original text
    column: int  # 1-based
    edits: tuple[Edit, ...]
    description: str  # e.g. "lr= -> learning_rate="


@dataclass(frozen=True)
class Finding:
    """A located message: a Keras 1/2 spelling left for the user ("warning", with
    the Keras 3 way), or what a rewrite did that deserves a word ("note")."""

    rule: str
    line: int
    column: int
    message: str
    hint: str | None = None
    severity: str = "warning"

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(
            self.line, self.column, self.message, self.hint, severity=self.severity
        )


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def count(self) -> int:
        """How many Keras 1/2 spellings: rewritten ones and left ones (notes only explain)."""
        return len(self.changes) + len(self.warnings)

    def rules(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in sorted(
            [*self.changes, *self.warnings], key=lambda c: (c.line, c.column)
        ):
            seen.setdefault(item.rule, None)
        return list(seen)

    # --- Positions ------------------------------------------------------------------

    def extend(self, items: list[Change | Finding]) -> None:
        for item in items:
            (self.changes if isinstance(item, Change) else self.findings).append(item)


class Positions:
    """Map positions in the substituted text (ast's lines and UTF-8 byte columns)
    to offsets in the original text, and the reverse for messages.

    Placeholders may be wider than their handles; only columns after a one-line
    handle on the same line move (substitute keeps multi-line handles' ends put).
    """

    def __init__(self, text: str, substituted: str, handles: list[Handle]):
        self.text = text
        self.starts = [0] + [m.end() for m in LINE_END.finditer(text)]
        self.sub_lines = LINE_END.split(substituted)
        # Per substituted line: (first column, width, handle's start and end offsets, how much wider).
        self.placeholders: dict[int, list[tuple[int, float, int, int, int]]] = {}
        for handle in handles:
            (l1, c1), (l2, c2) = handle.start, handle.end
            o1, o2 = self.starts[l1 - 1] + c1, self.starts[l2 - 1] + c2
            if l1 == l2:
                line = self.line_text(l1)
                alone = dataclasses.replace(handle, start=(1, c1), end=(1, c2))
                width = len(substitute(line, [alone])) - len(line) + (c2 - c1)
                self.placeholders.setdefault(l1, []).append(
                    (c1, width, o1, o2, width - (c2 - c1))
                )
            else:  # the rest of the first line, and the placeholder's tail on the last
                chunk = "".join(self.line_text(n) for n in range(l1, l2 + 1))
                alone = dataclasses.replace(
                    handle, start=(1, c1), end=(l2 - l1 + 1, c2)
                )
                sub_last = LINE_END.split(substitute(chunk, [alone]))[l2 - l1]
                tail = len(sub_last) - len(LINE_END.split(chunk)[l2 - l1]) + c2
                self.placeholders.setdefault(l1, []).append(
                    (c1, float("inf"), o1, o2, 0)
                )
                self.placeholders.setdefault(l2, []).insert(
                    0, (0, tail, o1, o2, tail - c2)
                )

    def line_text(self, line: int) -> str:
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[self.starts[line - 1] : end]

    def offset(self, line: int, byte_column: int, end: bool = False) -> int:
        """`end`: the position is where a node ends; inside a placeholder it maps to its handle's end."""
        sub = self.sub_lines[line - 1]
        column = len(sub.encode("utf-8")[:byte_column].decode("utf-8", "replace"))
        moved = 0
        for first, width, o1, o2, wider in self.placeholders.get(line, ()):
            first += moved
            if column < first or (end and column == first):
                break
            if column < first + width:
                return o2 if end else o1  # a placeholder stands for its whole handle
            moved += wider
        return self.starts[line - 1] + column - moved

    def line_column(self, offset: int) -> tuple[int, int]:
        """1-based line and column of an offset in the original text."""
        line = bisect_left(self.starts, offset + 1)
        return line, offset - self.starts[line - 1] + 1


@dataclass(frozen=True)
class Token:
    type: int
    string: str
    start: int
    end: int


# --- Stage 1: find ---------------------------------------------------------------


def tokens(text: str) -> list[Token]:
    starts = [0] + [m.end() for m in LINE_END.finditer(text)]
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
        if tok.type == tokenize.ENDMARKER:
            break
        (l1, c1), (l2, c2) = tok.start, tok.end
        if l1 > len(starts) or l2 > len(starts):
            continue  # DEDENT/NEWLINE past the last line
        out.append(
            Token(tok.type, tok.string, starts[l1 - 1] + c1, starts[l2 - 1] + c2)
        )
    return out


def _overlap(a: Edit, b: Edit) -> bool:
    """Two edits that cannot both be applied: their spans cross, or two insertions meet."""
    if a.start == a.end and b.start == b.end:
        return a.start == b.start
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def resolve(changes: list[Change]) -> tuple[list[Change], list[Finding]]:
    """Changes whose edits can all be applied together, in order, and findings for the rest.

    The same edit asked for twice (two identical import lines, say, that both
    rewrite one use) is made once. A change that would cross another one's edits
    is left for a second run, with a warning: never two edits on one byte.
    """
    accepted: list[Change] = []
    taken: list[Edit] = []
    left: list[Finding] = []
    for change in sorted(changes, key=lambda c: (c.line, c.column)):
        fresh = [e for e in dict.fromkeys(change.edits) if e not in taken]
        if any(_overlap(e, t) for e in fresh for t in taken):
            left.append(
                Finding(
                    change.rule,
                    change.line,
                    change.column,
                    f"{change.description}: not rewritten, another rewrite touches the same code",
                    "run hyperasc upgrade again",
                )
            )
            continue
        if not fresh:
            continue  # a duplicate of changes already made
        taken.extend(fresh)
        accepted.append(dataclasses.replace(change, edits=tuple(fresh)))
    return accepted, left


def apply(text: str, changes: list[Change]) -> str:
    """Splice every change's edits into `text`. Identical edits are made once; others must not overlap."""
    edits = sorted(
        dict.fromkeys(e for c in changes for e in c.edits),
        key=lambda e: (e.start, e.end),
    )
    out, position = [], 0
    for edit in edits:
        if edit.start < position:
            raise AssertionError(f"overlapping upgrade edits at offset {edit.start}")
        out.append(text[position : edit.start])
        out.append(edit.text)
        position = edit.end
    out.append(text[position:])
    return "".join(out)


def check_result(old: str, new: str) -> None:
    """The result still parses and keeps every handle as it was: never write broken code."""
    before = [h.inner for h in scan(old)]
    try:
        after = scan(new)
        ast.parse(substitute(new, after))
    except (CompileError, SyntaxError) as exc:
        raise AssertionError(
            f"hyperasc upgrade produced code that does not parse: {exc}"
        ) from None
    if len(after) != len(before):
        raise AssertionError("hyperasc upgrade changed the handles")
    for handle in after:  # a rewrite inside a handle leaves one expression there
        try:
            ast.parse("(" + handle.inner + ")", mode="eval")
        except SyntaxError:
            raise AssertionError(
                f"hyperasc upgrade broke the handle {{{{{handle.inner}}}}}"
            ) from None

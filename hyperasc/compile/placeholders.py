"""The placeholder form of a model file: each handle replaced by a name.

The scanner spells one placeholder per handle (`Placeholders`), `substitute`
puts them in the text, which is then plain Python for `ast` with every line
where it was, and `fill` puts expressions where they stand in a piece of
that text (the model function, a helper). A Handle record carries its own
placeholder; nothing else spells one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..text.lines import split_lines

DEFAULT_PREFIX = "__hx"


class Span(Protocol):
    """What substitution needs of a handle: where it stands and its placeholder."""

    start: tuple[int, int]
    end: tuple[int, int]
    placeholder: str


@dataclass(frozen=True)
class Placeholders:
    """How one model file's placeholders are spelled: `(PREFIX<N>__)`.

    The prefix is one the file never contains (see `for_text`), so a
    placeholder cannot be mistaken for user text, nor user text for one.
    """

    prefix: str = DEFAULT_PREFIX

    @classmethod
    def for_text(cls, text: str) -> Placeholders:
        """The first of `__hx`, `__hx1_`, `__hx2_`, ... that `text` does not contain."""
        prefix, n = DEFAULT_PREFIX, 0
        while prefix in text:
            n += 1
            prefix = f"{DEFAULT_PREFIX}{n}_"
        return cls(prefix)

    def name(self, number: int) -> str:
        """The placeholder of the file's handle number `number` (0, 1, ...)."""
        return f"{self.prefix}{number}__"


def substitute(text: str, handles: Sequence[Span]) -> str:
    """Replace each handle by `(PLACEHOLDER)`, padded so later lines and columns stay put."""
    if not handles:
        return text
    lines = split_lines(text, keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out: list[str] = []
    position = 0
    for handle in handles:
        (l1, c1), (l2, c2) = handle.start, handle.end
        start, end = offsets[l1 - 1] + c1, offsets[l2 - 1] + c2
        out.append(text[position:start])
        name = f"({handle.placeholder}"
        if l1 == l2:
            width = c2 - c1
            out.append(name + " " * max(width - len(name) - 1, 0) + ")")
        else:
            # Keep the line breaks; the closing parenthesis ends where the handle did.
            out.append(name + "\n" * (l2 - l1) + " " * max(c2 - 1, 0) + ")")
        position = end
    out.append(text[position:])
    return "".join(out)


def restore_column(handles: Sequence[Span], line: int, column: int) -> int:
    """Map a 0-based column in the substituted text back to the original text."""
    for handle in handles:
        (l1, c1), (l2, c2) = handle.start, handle.end
        if l1 == l2 == line and column >= c2:
            width = max(c2 - c1, len(handle.placeholder) + 2)
            column += (c2 - c1) - width
    return column


def fill(text: str, replacements: Mapping[str, str]) -> str:
    """Put expressions where the placeholders stand in a piece of substituted text.

    `replacements` maps a handle's placeholder to a Python expression; other
    text, a placeholder of no handle here included, stays as it is. Each
    expression is parenthesised unless it already is one operand (a name, a
    subscript, a call, an attribute or a bracketed expression), and is kept
    apart by a space from a word before it (`return`, `not`, `in`) or after it
    (`if`, `and`), so it means what the handle meant.
    """
    if not replacements:
        return text
    names = "|".join(
        re.escape(name) for name in sorted(replacements, key=len, reverse=True)
    )
    pattern = re.compile(r"\((" + names + r")\s*\)")

    def replace(match: re.Match[str]) -> str:
        expression = as_operand(replacements[match.group(1)])
        if match.start() > 0 and _is_word_char(text[match.start() - 1]):
            expression = " " + expression
        if match.end() < len(text) and _is_word_char(text[match.end()]):
            expression += " "
        return expression

    return pattern.sub(replace, text)


def as_operand(expression: str) -> str:
    """`expression` as one operand: parenthesised unless it already binds as one."""
    stripped = expression.strip()
    try:
        node = ast.parse(stripped, mode="eval").body
    except SyntaxError:
        return f"({expression})"
    if isinstance(
        node, (ast.Name, ast.Subscript, ast.Call, ast.Attribute)
    ) and not _starts_with_number(node):
        return stripped
    if isinstance(
        node, (ast.List, ast.ListComp, ast.Dict, ast.DictComp, ast.Set, ast.SetComp)
    ):
        return stripped
    if stripped.startswith("(") and stripped.endswith(")") and _parses(stripped[1:-1]):
        return stripped  # one pair of parentheses around the whole expression
    return f"({stripped})"


def _starts_with_number(node: ast.expr) -> bool:
    # `1 .real` is an operand, but glued to a following `.attr` it would not be.
    while isinstance(node, (ast.Subscript, ast.Call, ast.Attribute)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return isinstance(node, ast.Constant)


def _parses(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


def _is_word_char(char: str) -> bool:
    return ("a" + char).isidentifier()

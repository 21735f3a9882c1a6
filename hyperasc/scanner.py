"""Stage 1b: find `{{ ... }}` handles with Python's tokenizer.

Strings, f-strings and comments are single tokens (or token runs we skip), so
braces inside them never start a handle. Each handle is then replaced by a
parenthesised placeholder name, which makes the file plain Python for `ast`
while keeping every line where it was.
"""

from __future__ import annotations

import io
import re
import token
import tokenize
from dataclasses import dataclass

from .diagnostics import error

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {v: k for k, v in OPENERS.items()}
PLACEHOLDER = re.compile(r"\(__hx(\d+)__\s*\)")
_FSTRING_START = getattr(token, "FSTRING_START", None)
_FSTRING_END = getattr(token, "FSTRING_END", None)


@dataclass(frozen=True)
class Handle:
    """A `{{ ... }}` span. Positions are 1-based line, 0-based column, as tokenize gives."""

    index: int
    start: tuple[int, int]  # the first `{`
    end: tuple[int, int]  # just past the last `}`
    inner: str  # text between the braces
    inner_start: tuple[int, int]

    @property
    def placeholder(self) -> str:
        return placeholder_name(self.index)


def placeholder_name(index: int) -> str:
    return f"__hx{index}__"


def scan(text: str) -> list[Handle]:
    """Return the handles of `text` in source order."""
    tokens = _tokenize(text)
    lines = text.splitlines(keepends=True)
    handles: list[Handle] = []
    fstring_depth = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == _FSTRING_START:
            fstring_depth += 1
        elif tok.type == _FSTRING_END:
            fstring_depth -= 1
        elif fstring_depth == 0 and _is_double(tokens, i, "{"):
            end_index = _handle_end(tokens, i)
            start, end = tok.start, tokens[end_index].end
            inner_start = tokens[i + 1].end
            inner_end = tokens[end_index - 1].start
            handles.append(
                Handle(len(handles), start, end, _slice(lines, inner_start, inner_end), inner_start)
            )
            i = end_index
        i += 1
    return handles


def _tokenize(text: str) -> list[tokenize.TokenInfo]:
    tokens: list[tokenize.TokenInfo] = []
    stack: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            tokens.append(tok)
            if tok.type == token.OP and tok.string in OPENERS:
                stack.append(tok)
            elif tok.type == token.OP and tok.string in CLOSERS:
                if not stack or stack[-1].string != CLOSERS[tok.string]:
                    raise error(tok.start[0], tok.start[1] + 1, f"unmatched '{tok.string}'")
                stack.pop()
    except tokenize.TokenError as exc:
        if stack:
            opener = stack[-1]
            index = tokens.index(opener)
            if index > 0 and _is_double(tokens, index - 1, "{"):
                opener = tokens[index - 1]  # point at a handle's first brace, not its second
            what = "handle '{{'" if _opens_handle(tokens, opener) else f"'{opener.string}'"
            raise error(opener.start[0], opener.start[1] + 1, f"{what} was never closed") from None
        line = exc.args[1][0] if len(exc.args) > 1 else 1
        raise error(line, 1, f"cannot tokenize: {exc.args[0]}") from None
    except SyntaxError as exc:  # IndentationError, and tokenizer errors on newer Pythons
        raise error(exc.lineno or 1, exc.offset or 1, exc.msg) from None
    return tokens


def _opens_handle(tokens: list[tokenize.TokenInfo], opener: tokenize.TokenInfo) -> bool:
    index = tokens.index(opener)
    return _is_double(tokens, index, "{") or (index > 0 and _is_double(tokens, index - 1, "{"))


def _is_double(tokens: list[tokenize.TokenInfo], i: int, char: str) -> bool:
    """Two adjacent `char` operator tokens starting at i."""
    if i + 1 >= len(tokens):
        return False
    a, b = tokens[i], tokens[i + 1]
    return (
        a.type == token.OP
        and b.type == token.OP
        and a.string == char
        and b.string == char
        and a.end == b.start
    )


def _handle_end(tokens: list[tokenize.TokenInfo], open_index: int) -> int:
    """Index of the final `}` of the handle whose `{{` starts at open_index."""
    depth = 0
    opener = tokens[open_index]
    i = open_index + 2
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == token.OP and tok.string in OPENERS:
            depth += 1
        elif tok.type == token.OP and tok.string in CLOSERS:
            if depth > 0:
                depth -= 1
            elif tok.string == "}" and _is_double(tokens, i, "}"):
                return i + 1
            else:
                raise error(
                    tok.start[0],
                    tok.start[1] + 1,
                    f"handle opened at line {opener.start[0]} column {opener.start[1] + 1} "
                    f"is closed by '{tok.string}' instead of '}}}}'",
                )
        i += 1
    raise error(opener.start[0], opener.start[1] + 1, "handle '{{' was never closed")


def _slice(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    (l1, c1), (l2, c2) = start, end
    if l1 == l2:
        return lines[l1 - 1][c1:c2]
    parts = [lines[l1 - 1][c1:]] + lines[l1 : l2 - 1] + [lines[l2 - 1][:c2]]
    return "".join(parts)


def substitute(text: str, handles: list[Handle]) -> str:
    """Replace each handle by `(__hxN__)`, padded so later lines and columns stay put."""
    lines = text.splitlines(keepends=True)
    for handle in reversed(handles):
        (l1, c1), (l2, c2) = handle.start, handle.end
        name = f"({handle.placeholder}"
        if l1 == l2:
            width = c2 - c1
            replacement = name + " " * max(width - len(name) - 1, 0) + ")"
            lines[l1 - 1] = lines[l1 - 1][:c1] + replacement + lines[l1 - 1][c2:]
        else:
            first, last = lines[l1 - 1], lines[l2 - 1]
            middle = ["\n"] * (l2 - l1 - 1)
            tail = " " * max(c2 - 1, 0) + ")" + last[c2:]
            lines[l1 - 1 : l2] = [first[:c1] + name + "\n", *middle, tail]
    return "".join(lines)


def restore_column(handles: list[Handle], line: int, column: int) -> int:
    """Map a 0-based column in the substituted text back to the original text."""
    for handle in handles:
        (l1, c1), (l2, c2) = handle.start, handle.end
        if l1 == l2 == line and column >= c2:
            width = max(c2 - c1, len(handle.placeholder) + 2)
            column += (c2 - c1) - width
    return column

"""Stage 1b: find `{{ ... }}` handles with Python's tokenizer.

Strings, f-strings and comments are single tokens (or token runs we skip), so
braces inside them never start a handle. Each handle is then replaced by a
parenthesised placeholder name, which makes the file plain Python for `ast`
while keeping every line where it was.

The rule for handles: a handle stands for one operand. It is replaced by an
expression that means the same wherever it stands (see `fill`), or the
scanner says at the handle why it cannot be: right after another operand
(`Dropout{{...}}`, `1{{...}}`, `{{a}}{{b}}`) it would become a call.
"""

from __future__ import annotations

import io
import keyword
import token
import tokenize

from ..diagnostics import CompileError, Diagnostic, error
from ..text.lines import split_lines
from .placeholders import Placeholders, restore_column, substitute
from .records import Handle

# substitute and restore_column are the placeholder form's (placeholders.py);
# `hyperasc upgrade` reads them here, with scan and Handle.
__all__ = ["Handle", "scan", "substitute", "restore_column", "glued_error"]

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {v: k for k, v in OPENERS.items()}
_FSTRING_START = getattr(token, "FSTRING_START", None)
_FSTRING_END = getattr(token, "FSTRING_END", None)
# Keywords that are values: `None{{...}}` is a call of None, as `x{{...}}` is of x.
_VALUE_KEYWORDS = {"None", "True", "False"}
# Soft keywords that open a statement (`match {{...}}:`); the parser decides the rest.
_STATEMENT_SOFT_KEYWORDS = {"match", "case"}


def scan(text: str) -> list[Handle]:
    """Return the handles of `text` in source order.

    Raises CompileError for unbalanced brackets and for handles glued to the
    operand before them.
    """
    tokens = _tokenize(text)
    lines = split_lines(text, keepends=True)
    placeholders = Placeholders.for_text(text)
    handles: list[Handle] = []
    problems: list[Diagnostic] = []
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
            inner = _slice(lines, inner_start, inner_end)
            glued = _glued_to(tokens, i, handles)
            if glued is not None:
                problems.append(glued_error(start, inner, *glued))
            placeholder = placeholders.name(len(handles))
            handles.append(Handle(start, end, inner, inner_start, placeholder))
            i = end_index
        i += 1
    if problems:
        raise CompileError(problems)
    return handles


_SKIPPED = {tokenize.NL, tokenize.COMMENT}
_LINE_STARTS = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


def _previous(tokens: list[tokenize.TokenInfo], i: int) -> int | None:
    """Index of the significant token before tokens[i] in the same logical line."""
    j = i - 1
    while j >= 0 and tokens[j].type in _SKIPPED:
        j -= 1
    if j < 0 or tokens[j].type in _LINE_STARTS:
        return None
    return j


def _glued_to(
    tokens: list[tokenize.TokenInfo], i: int, handles: list[Handle]
) -> tuple[str, str] | None:
    """(what, text) of the operand the handle at tokens[i] follows, or None.

    Python reads an operand followed by `(` as a call, so a placeholder there
    would silently change what the handle means.
    """
    j = _previous(tokens, i)
    if j is None:
        return None
    prev = tokens[j]
    if prev.type == token.NAME:
        if prev.string in _VALUE_KEYWORDS:
            return "value", prev.string
        if keyword.iskeyword(prev.string):
            return None  # `return{{...}}`, `not{{...}}`: fill() puts a space in between
        if prev.string in _STATEMENT_SOFT_KEYWORDS and _previous(tokens, j) is None:
            return None
        return "name", prev.string
    if (
        prev.type == token.NUMBER
        or prev.type == token.STRING
        or prev.type == _FSTRING_END
    ):
        return "value", (
            prev.string if len(prev.string) <= 20 else prev.string[:17] + "..."
        )
    if prev.type == token.OP and (prev.string in CLOSERS or prev.string == "..."):
        if handles and prev.end == handles[-1].end:
            return "handle", ""
        return "value", prev.string
    return None


def glued_error(start: tuple[int, int], inner: str, what: str, text: str) -> Diagnostic:
    """The diagnostic for a handle right after an operand."""
    line, col = start[0], start[1] + 1
    shown = " ".join(inner.split())
    shown = shown if len(shown) <= 40 else "..."
    if what == "handle":
        return Diagnostic(
            line,
            col,
            "a handle cannot follow another handle directly",
            "put an operator or a comma between them",
        )
    if what == "name":
        return Diagnostic(
            line,
            col,
            f"a handle cannot follow '{text}' directly: Python would call {text}",
            f"did you mean {text}({{{{{shown}}}}})? Otherwise put an operator or a comma between them",
        )
    return Diagnostic(
        line,
        col,
        f"a handle cannot follow '{text}' directly",
        "put an operator or a comma between them",
    )


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
                    raise _mismatch(tokens, stack, tok)
                stack.pop()
    except tokenize.TokenError as exc:
        if stack:
            opener = stack[-1]
            index = tokens.index(opener)
            if index > 0 and _is_double(tokens, index - 1, "{"):
                opener = tokens[
                    index - 1
                ]  # point at a handle's first brace, not its second
            what = (
                "handle '{{'" if _opens_handle(tokens, opener) else f"'{opener.string}'"
            )
            raise error(
                opener.start[0], opener.start[1] + 1, f"{what} was never closed"
            ) from None
        line = exc.args[1][0] if len(exc.args) > 1 else 1
        raise error(line, 1, f"cannot tokenize: {exc.args[0]}") from None
    except (
        SyntaxError
    ) as exc:  # IndentationError, and tokenizer errors on newer Pythons
        raise error(exc.lineno or 1, exc.offset or 1, exc.msg) from None
    return tokens


def _mismatch(
    tokens: list[tokenize.TokenInfo],
    stack: list[tokenize.TokenInfo],
    closer: tokenize.TokenInfo,
) -> CompileError:
    """The error for a closing bracket that does not close the innermost open one."""
    where = f"line {closer.start[0]} column {closer.start[1] + 1}"
    if not stack:
        return error(
            closer.start[0], closer.start[1] + 1, f"unmatched '{closer.string}'"
        )
    opener = stack[-1]
    index = len(tokens) - 1 - tokens[::-1].index(opener)
    if index > 0 and _is_double(tokens, index - 1, "{"):
        opener = tokens[index - 1]
    if _opens_handle(tokens, opener) and opener.start[0] != closer.start[0]:
        # A handle left open (say by a '#' inside it) swallows the lines after it:
        # the handle is where to look, not the bracket lines later.
        return error(
            opener.start[0],
            opener.start[1] + 1,
            f"handle '{{{{' is not closed before the '{closer.string}' at {where}",
        )
    what = "handle '{{'" if _opens_handle(tokens, opener) else f"'{opener.string}'"
    return error(
        closer.start[0],
        closer.start[1] + 1,
        f"unmatched '{closer.string}'",
        f"it does not close the {what} at line {opener.start[0]} column {opener.start[1] + 1}",
    )


def _opens_handle(tokens: list[tokenize.TokenInfo], opener: tokenize.TokenInfo) -> bool:
    index = tokens.index(opener)
    return _is_double(tokens, index, "{") or (
        index > 0 and _is_double(tokens, index - 1, "{")
    )


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

"""Small helpers the per-family upgrade tests share."""

from __future__ import annotations

import ast
import textwrap

from hyperasc.compile.scanner import scan, substitute
from hyperasc.upgrade import find, upgrade_text


def upgraded(text: str) -> str:
    new = upgrade_text(textwrap.dedent(text))[0]
    assert upgrade_text(new)[0] == new, "a second run changes nothing"
    return new


def rules_of(text: str) -> list[tuple[int, int, str]]:
    """(line, column, rule) of each warning."""
    return [(f.line, f.column, f.rule) for f in find(textwrap.dedent(text)).findings]


def messages_of(text: str) -> list[str]:
    return [
        f.message + " / " + (f.hint or "") for f in find(textwrap.dedent(text)).findings
    ]


def parses(text: str) -> bool:
    try:
        ast.parse(substitute(text, scan(text)))
    except SyntaxError:
        return False
    return True

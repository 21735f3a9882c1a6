"""History keys and monitor= names: Keras 3 logs each metric under the string compile() was given.

h.history['val_acc'], monitor='acc'   ->  'val_accuracy', 'accuracy'
                                          (when compile() says metrics=['accuracy'])
monitor='mean_absolute_error'         ->  'mae' (when compile() says metrics=['mae'])
h = hist.history; h['acc']            ->  the same, through the alias
"""

from __future__ import annotations

import ast
import re

from .context import Context, Item
from .core import Edit
from .names import HISTORY_KEYS, METRIC_SPELLINGS

_SPELLING = {a: b for pair in METRIC_SPELLINGS for a, b in (pair, pair[::-1])}


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    aliases = _aliases(ctx)
    for node in ctx.of(ast.Subscript):
        key = node.slice
        if _is_key(key) and _is_history(node.value, aliases):
            out += _key(ctx, key)
    for node in ctx.of(ast.Call):
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and node.args
            and _is_key(node.args[0])
            and _is_history(func.value, aliases)
        ):
            out += _key(ctx, node.args[0])
        for keyword in node.keywords:
            if keyword.arg == "monitor" and _is_key(keyword.value):
                out += _key(ctx, keyword.value)
    return out


def _is_key(node: ast.expr) -> bool:
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    return node.value.removeprefix("val_") in _SPELLING


def _aliases(ctx: Context) -> set[str]:
    """Names the file assigns a History dict to: `h = hist.history`."""
    return {
        t.id
        for node in ctx.of(ast.Assign)
        if isinstance(node.value, ast.Attribute) and node.value.attr == "history"
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def _is_history(node: ast.expr, aliases: set[str]) -> bool:
    """`x.history[...]`, `history[...]`, `hist[...]`: where Keras's History dict usually is."""
    if isinstance(node, ast.Attribute):
        return node.attr == "history"
    return isinstance(node, ast.Name) and (
        "hist" in node.id.lower() or node.id in aliases
    )


def _key(ctx: Context, key: ast.Constant) -> list[Item]:
    start, end = ctx.span(key)
    old = key.value
    prefix = "val_" if old.startswith("val_") else ""
    base = old.removeprefix("val_")
    logged = ctx.logged
    if logged is not None and base in logged:
        return []
    other = _SPELLING[base]
    new = prefix + other
    spelled = re.fullmatch(r"([rRuU]?)(['\"])" + old + r"\2", ctx.text[start:end])
    if logged is not None and other in logged and spelled:
        literal = spelled.group(1) + spelled.group(2) + new + spelled.group(2)
        return [
            ctx.change(
                f"'{old}'", start, [Edit(start, end, literal)], f"'{old}' -> '{new}'"
            )
        ]
    if old in HISTORY_KEYS and (logged is None or not logged & {"acc", "accuracy"}):
        return [
            ctx.warn(
                f"'{old}'",
                start,
                f"history key '{old}': Keras 3 names it after compile()'s metrics=",
                f"with metrics=['accuracy'] the key is '{new}'; with metrics=['acc'] it stays '{old}'",
            )
        ]
    return []

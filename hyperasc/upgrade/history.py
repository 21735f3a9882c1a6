"""History keys: Keras 2.2 logged accuracy as 'acc', Keras 3 names it after compile()'s metrics=.

h.history['val_acc'], monitor='acc'   ->  'val_accuracy', 'accuracy'
                                          (when compile() says metrics=['accuracy'])
"""

from __future__ import annotations

import ast
import re

from .context import Context, Item
from .core import Edit
from .names import HISTORY_KEYS


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.Subscript):
        key = node.slice
        if (
            isinstance(key, ast.Constant)
            and key.value in HISTORY_KEYS
            and _is_history(node.value)
        ):
            out += _key(ctx, key)
    for node in ctx.of(ast.Call):
        for keyword in node.keywords:
            if (
                keyword.arg == "monitor"
                and isinstance(keyword.value, ast.Constant)
                and keyword.value.value in HISTORY_KEYS
            ):
                out += _key(ctx, keyword.value)
    return out


def _is_history(node: ast.expr) -> bool:
    """`x.history[...]`, `history[...]`, `hist[...]`: where Keras's History dict usually is."""
    if isinstance(node, ast.Attribute):
        return node.attr == "history"
    return isinstance(node, ast.Name) and "hist" in node.id.lower()


def _key(ctx: Context, key: ast.Constant) -> list[Item]:
    start, end = ctx.span(key)
    old, new = key.value, HISTORY_KEYS[key.value]
    spelled = re.fullmatch(r"([rRuU]?)(['\"])" + old + r"\2", ctx.text[start:end])
    if ctx.metric_key == "accuracy" and spelled:  # not 'val_' 'acc' or other spellings
        literal = spelled.group(1) + spelled.group(2) + new + spelled.group(2)
        return [
            ctx.change(
                f"'{old}'", start, [Edit(start, end, literal)], f"'{old}' -> '{new}'"
            )
        ]
    if ctx.metric_key is None:
        return [
            ctx.warn(
                f"'{old}'",
                start,
                f"history key '{old}': Keras 3 names it after compile()'s metrics=",
                f"with metrics=['accuracy'] the key is '{new}'; with metrics=['acc'] it stays '{old}'",
            )
        ]
    return []

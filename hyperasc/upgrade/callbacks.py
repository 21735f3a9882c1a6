"""Callbacks: what Keras 3's ModelCheckpoint and ReduceLROnPlateau want.

  ModelCheckpoint('best.hdf5')                          ->  ModelCheckpoint('best.keras')
  ModelCheckpoint('w.h5', save_weights_only=True)       ->  ModelCheckpoint('w.weights.h5', ...)
  ModelCheckpoint(..., period=1)                        ->  period= dropped
  ReduceLROnPlateau(epsilon=1e-4)                       ->  min_delta=1e-4
(monitor= names are the history family's.)
"""

from __future__ import annotations

import ast
import re

from .context import Context, Item, keyword
from .core import Edit

_H5 = re.compile(r"(?s)([rRuU]?)(['\"])(.*?)(\.h5|\.hdf5)\2")


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.Call):
        full = ctx.qualify(node.func)
        if full == "keras.callbacks.ModelCheckpoint":
            out += _checkpoint(ctx, node)
        elif full == "keras.callbacks.ReduceLROnPlateau":
            epsilon = keyword(node, "epsilon")
            if epsilon is not None and keyword(node, "min_delta") is None:
                out += ctx.rename_keyword(epsilon, "min_delta")
    return out


def _checkpoint(ctx: Context, node: ast.Call) -> list[Item]:
    out: list[Item] = []
    path = keyword(node, "filepath")
    path = path.value if path is not None else (node.args[0] if node.args else None)
    weights = keyword(node, "save_weights_only")
    weights_only = weights is not None and (
        weights.value.value
        if isinstance(weights.value, ast.Constant)
        else None  # a variable or a handle: cannot tell
    )
    if isinstance(path, ast.Constant) and isinstance(path.value, str):
        start, end = ctx.span(path)
        spelled = _H5.fullmatch(ctx.text[start:end])
        if path.value.endswith(".weights.h5") and weights_only is True:
            pass
        elif spelled and weights_only in (True, False):
            new_ext = ".weights.h5" if weights_only else ".keras"
            edits = []
            # The same path elsewhere (load_model('best.hdf5')) follows the checkpoint.
            for other in ctx.of(ast.Constant):
                if other.value != path.value:
                    continue
                o_start, o_end = ctx.span(other)
                same = _H5.fullmatch(ctx.text[o_start:o_end])
                if same and not ctx.has_handle(o_start, o_end):
                    edits.append(
                        Edit(o_start + same.start(4), o_start + same.end(4), new_ext)
                    )
            ext_start = start + spelled.start(4)
            out.append(
                ctx.change(
                    "ModelCheckpoint",
                    ext_start,
                    edits,
                    f"ModelCheckpoint('{spelled.group(3)}{spelled.group(4)}') -> "
                    f"'{spelled.group(3)}{new_ext}'",
                )
            )
        elif not path.value.endswith((".keras", ".weights.h5")) and (
            spelled or weights_only is None
        ):
            out.append(_path_warning(ctx, path))
    elif path is not None and not ctx.in_handle(path):
        source = ctx.source(path)
        if ".h5" in source or ".hdf5" in source:
            out.append(_path_warning(ctx, path))
    period = keyword(node, "period")
    if period is not None:
        value = period.value
        if isinstance(value, ast.Constant) and value.value == 1:
            out.append(
                ctx.drop_arguments(node, [period], "period=", "period=1 -> (dropped)")
            )
        else:
            out.append(
                ctx.warn(
                    "period=",
                    ctx.start(period),
                    "Keras 3's ModelCheckpoint has no period=",
                    "it saves every epoch (save_freq='epoch') or every N batches "
                    "(save_freq=N); drop period= or use save_freq=<epochs * steps per epoch>",
                )
            )
    return out


def _path_warning(ctx: Context, path: ast.expr) -> Item:
    return ctx.warn(
        "ModelCheckpoint",
        ctx.start(path),
        "Keras 3's ModelCheckpoint wants a path ending in .keras "
        "(or .weights.h5 with save_weights_only=True)",
        "change the extension: best.hdf5 -> best.keras",
    )

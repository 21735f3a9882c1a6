"""Keras 2 aliases and keywords that Keras 3 dropped, where Keras 3 has the same thing.

from keras.constraints import maxnorm   ->  from keras.constraints import max_norm as maxnorm
keras.losses.MSE, metrics.mae           ->  keras.losses.mean_squared_error, metrics.mean_absolute_error
keras.metrics.accuracy(y, p)            ->  keras.ops.cast(keras.ops.equal(y, p), "float32")
K.name_scope('x')                       ->  keras.name_scope('x') (or tf.name_scope with no keras)
Model(input=a, output=b)                ->  Model(inputs=a, outputs=b)
LSTM(8, input_dim=4, input_length=10)   ->  LSTM(8, input_shape=(10, 4))
LSTM(8, input_dim=4)                    ->  LSTM(8, input_shape=(None, 4))
"""

from __future__ import annotations

import ast

from .context import Context, Item, keyword
from .core import Edit
from .names import LOSS_ALIASES, RENAMED, RENAMED_FUNCTIONS, canonical

CONSTRAINTS = {"maxnorm": "max_norm", "nonneg": "non_neg", "unitnorm": "unit_norm"}
_ALIASES = {
    "keras.constraints": CONSTRAINTS,
    "keras.losses": LOSS_ALIASES,
    "keras.metrics": LOSS_ALIASES,
}
MODELS = {"keras.models.Model", "keras.Model", "keras.engine.training.Model"}
# Keras 3 reads input_dim= as a one-dimensional input shape: wrong for sequences.
SEQUENCE_LAYERS = {"LSTM", "GRU", "SimpleRNN", "Conv1D"}


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.ImportFrom):
        if node.module and not node.level:
            out += _import(ctx, node)
            out += _renamed_function(ctx, node)
    for node in ctx.of(ast.Attribute):
        if node.attr == "accuracy" and _in_metrics(ctx, node):
            if ctx.qualify(node) == "keras.metrics.accuracy":
                start, end = ctx.name_span(node)
                out.append(
                    ctx.change(
                        "keras.metrics.accuracy",
                        start,
                        [Edit(start, end, "Accuracy()")],
                        "metrics=[keras.metrics.accuracy] -> [keras.metrics.Accuracy()]",
                    )
                )
            continue
        table = _ALIASES.get(ctx.qualify(node.value) or "")
        if table and node.attr in table:
            start, end = ctx.name_span(node)
            new = table[node.attr]
            out.append(
                ctx.change(
                    node.attr, start, [Edit(start, end, new)], f"{node.attr} -> {new}"
                )
            )
    for node in ctx.of(ast.Call):
        full = ctx.qualify(node.func)
        if full is None:
            continue
        if full == "keras.metrics.accuracy":
            out.append(_accuracy(ctx, node))
        elif full == "keras.backend.name_scope":
            out.append(_name_scope(ctx, node))
        elif full in MODELS:
            out += _model(ctx, node)
        elif full.startswith("keras.layers."):
            layer = RENAMED.get(full, full.rsplit(".", 1)[1])
            if layer in SEQUENCE_LAYERS:
                out += _input_dim(ctx, node)
    return out


def _in_metrics(ctx: Context, node: ast.AST) -> bool:
    """`node` is an item of a `metrics=[...]` list (not called)."""
    items = ctx.parents.get(node)
    holder = ctx.parents.get(items)
    return (
        isinstance(items, (ast.List, ast.Tuple))
        and isinstance(holder, ast.keyword)
        and holder.arg == "metrics"
    )


def _renamed_function(ctx: Context, node: ast.ImportFrom) -> list[Item]:
    """`from keras.utils.visualize_util import plot` -> `... import plot_model as plot`."""
    module = canonical(node.module)
    renames = {
        alias.name: RENAMED_FUNCTIONS[f"{module}.{alias.name}"]
        for alias in node.names
        if f"{module}.{alias.name}" in RENAMED_FUNCTIONS
    }
    return ctx.rename_imports(node, renames, "keras.utils")


def _import(ctx: Context, node: ast.ImportFrom) -> list[Item]:
    table = _ALIASES.get(canonical(node.module) or "")
    if not table:
        return []
    out = ctx.rename_imports(node, table)
    if canonical(node.module) == "keras.metrics" and any(
        a.name == "accuracy" for a in node.names
    ):
        out.append(
            ctx.warn(
                "accuracy",
                ctx.start(next(a for a in node.names if a.name == "accuracy")),
                "Keras 3 has no keras.metrics.accuracy function",
                'use keras.ops.cast(keras.ops.equal(y_true, y_pred), "float32"), '
                "or keras.metrics.Accuracy() as a metric",
            )
        )
    return out


def _accuracy(ctx: Context, node: ast.Call) -> Item:
    func = node.func
    start, end = ctx.span(node)
    if (
        not isinstance(func, ast.Attribute)
        or not isinstance(func.value, ast.Attribute)
        or len(node.args) != 2
        or node.keywords
    ):
        return ctx.warn(
            "keras.metrics.accuracy",
            start,
            "Keras 3 has no keras.metrics.accuracy function",
            'use keras.ops.cast(keras.ops.equal(y_true, y_pred), "float32")',
        )
    base = ctx.source(func.value.value)  # `keras` or `tf.keras`
    _, func_end = ctx.span(func)
    return ctx.change(
        "keras.metrics.accuracy",
        start,
        [
            Edit(start, func_end, f"{base}.ops.cast({base}.ops.equal"),
            Edit(end, end, ', "float32")'),
        ],
        "keras.metrics.accuracy(y, p) -> keras.ops.cast(keras.ops.equal(y, p), 'float32')",
    )


def _module_name(ctx: Context, node: ast.AST, origin: str) -> str | None:
    """A name that means the module `origin` where `node` is."""
    for name, origins in ctx.scopes.module.names.items():
        if origins == {origin} and ctx.means(node, name, origin):
            return name
    return None


def _name_scope(ctx: Context, node: ast.Call) -> Item:
    func = node.func
    start, end = ctx.span(func)
    keras = _module_name(ctx, node, "keras")
    tf = _module_name(ctx, node, "tensorflow")
    if keras or tf:
        new = f"{keras}.name_scope" if keras else f"{tf}.name_scope"
        return ctx.change(
            "K.name_scope",
            start,
            [Edit(start, end, new)],
            f"{ctx.source(func)} -> {new}",
        )
    # No keras or tf name here: import keras beside the import of the backend.
    backend = _backend_import(ctx, func)
    if backend is not None:
        at = ctx.line_span(backend)[0]
        indent = ctx.text[at : ctx.start(backend)]
        return ctx.change(
            "K.name_scope",
            start,
            [
                Edit(at, at, f"{indent}import keras\n"),
                Edit(start, end, "keras.name_scope"),
            ],
            f"{ctx.source(func)} -> keras.name_scope (and import keras)",
        )
    return ctx.warn(
        "K.name_scope",
        start,
        "Keras 3's backend has no name_scope",
        "import keras and use keras.name_scope('...')",
    )


def _backend_import(ctx: Context, func: ast.expr) -> ast.ImportFrom | None:
    """The module-level `from keras import backend as K` that `K.name_scope` goes through."""
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    if (
        ctx.binding(func.value, "keras") is not None
        or "keras" in ctx.scopes.own_names()
    ):
        return None
    name = func.value.id
    for node in ctx.tree.body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "keras"
            and any((a.asname or a.name) == name for a in node.names)
            and ctx.line_span(node) is not None
        ):
            return node
    return None


def _model(ctx: Context, node: ast.Call) -> list[Item]:
    out: list[Item] = []
    for old, new in (("input", "inputs"), ("output", "outputs")):
        item = keyword(node, old)
        if item is not None and keyword(node, new) is None:
            out += ctx.rename_keyword(item, new)
    return out


def _input_dim(ctx: Context, node: ast.Call) -> list[Item]:
    dim = keyword(node, "input_dim")
    if dim is None or keyword(node, "input_shape") is not None:
        return []
    length = keyword(node, "input_length")
    start = ctx.start(dim)
    _, value_end = ctx.span(dim.value)
    if length is not None:
        if ctx.in_handle(length.value):
            return [
                ctx.warn(
                    "input_dim=",
                    start,
                    "Keras 3 reads input_dim= as a one-dimensional input shape",
                    "write input_shape=(input_length, input_dim)",
                )
            ]
        steps = ctx.source(length.value)
        edits = [
            Edit(start, start + len("input_dim="), f"input_shape=({steps}, "),
            Edit(value_end, value_end, ")"),
        ]
        items = ctx.call_items(node)
        edits += ctx.delete_items([ctx.span(i) for i in items], {items.index(length)})
        what = f"input_dim=d, input_length={steps} -> input_shape=({steps}, d)"
    else:
        edits = [
            Edit(start, start + len("input_dim="), "input_shape=(None, "),
            Edit(value_end, value_end, ")"),
        ]
        what = "input_dim=d -> input_shape=(None, d)"
    return [ctx.change("input_dim=", start, edits, what)]

"""Layers: Keras 1 class names and keywords, the Keras 1 kernel arguments, removed layers.

  Convolution2D(32, 3, 3)                 ->  Conv2D(32, (3, 3))
  CuDNNLSTM(64)                           ->  LSTM(64)
  Dense(output_dim=8, init='he_normal')   ->  Dense(units=8, kernel_initializer='he_normal')
  MaxPooling2D(dim_ordering='th')         ->  MaxPooling2D(data_format='channels_first')
  imdb.load_data(nb_words=)               ->  num_words=
  Merge(...), Highway, multi_gpu_model()  ->  warning with the Keras 3 way

A renamed class whose calls cannot all be rewritten safely (`Convolution2D(32,
*ks)`: rows and columns, or kernel and strides?) keeps its Keras 1 name
everywhere, import included: Keras 3 still has the alias, and the call gets a
warning.
"""

from __future__ import annotations

import ast
import re

from .context import Context, Item, call_name
from .core import Edit
from .names import (
    DATA_FORMAT_LAYERS,
    DATASET_KEYWORDS,
    DIM_ORDERING,
    GONE,
    LAYER_KEYWORDS,
    RENAMED,
    SPLIT_KERNEL,
    canonical,
)


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    calls = [(n, ctx.qualify(n.func)) for n in ctx.of(ast.Call)]
    calls = [(n, full) for n, full in calls if full is not None]
    unsafe: set[str] = set()  # canonical names whose calls stay as they are
    for node, full in calls:
        if full in SPLIT_KERNEL and _starred(node):
            unsafe.add(full)
    if ctx.outer is not None:  # a handle's inside follows its file
        unsafe |= ctx.outer.memo.get("layers.unsafe", set())
    else:
        for start, end in ctx.handle_spans:  # and the file follows its handles
            for name in re.findall(r"(\w+)\s*\([^()]*\*", ctx.text[start:end]):
                full = ctx.scopes.hoisted(name)
                if full and canonical(full) in SPLIT_KERNEL:
                    unsafe.add(canonical(full))
        ctx.memo["layers.unsafe"] = unsafe
    for node, full in calls:
        out += _call(ctx, node, full, unsafe)
    for node in ctx.of(ast.Name, ast.Attribute):
        out += _use(ctx, node, unsafe)
    for node in ctx.of(ast.ImportFrom):
        out += _import(ctx, node, unsafe)
    return out


def _starred(node: ast.Call) -> bool:
    return any(isinstance(a, ast.Starred) for a in node.args) or any(
        k.arg is None for k in node.keywords
    )


def _import(ctx: Context, node: ast.ImportFrom, unsafe: set[str]) -> list[Item]:
    if node.level or not node.module:
        return []
    module = canonical(node.module)
    if module is None:
        return []
    out: list[Item] = []
    names = {a.name for a in node.names}
    aliases = [a for a in node.names if a.name != "*"]
    items = [ctx.span(a) for a in aliases]
    doomed: set[int] = set()
    for index, alias in enumerate(aliases):
        full = canonical(f"{module}.{alias.name}")
        if full not in RENAMED or full in unsafe:
            continue
        new = RENAMED[full]
        a_start = items[index][0]
        if new in names and alias.asname is None and len(aliases) > 1:
            doomed.add(index)  # `import LSTM, CuDNNLSTM`: one LSTM is enough
        else:
            out.append(
                ctx.change(
                    alias.name,
                    a_start,
                    [Edit(a_start, a_start + len(alias.name), new)],
                    f"{alias.name} -> {new}",
                )
            )
    if doomed:  # one change: the deletions share commas
        dropped = [aliases[i].name for i in sorted(doomed)]
        out.append(
            ctx.change(
                dropped[0],
                items[min(doomed)][0],
                ctx.delete_items(items, doomed),
                ", ".join(dropped)
                + " -> (dropped: the Keras 3 name is imported already)",
            )
        )
    return out


def _use(ctx: Context, node: ast.expr, unsafe: set[str]) -> list[Item]:
    """A use of a renamed class that is not a call (a call goes with its arguments)."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return []
    parent = ctx.parents.get(node)
    if isinstance(parent, ast.Call) and parent.func is node:
        return []
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return []
    name = node.attr if isinstance(node, ast.Attribute) else node.id
    if name not in {k.rsplit(".", 1)[1] for k in RENAMED}:
        return []  # the cheap test first
    full = ctx.qualify(node)
    if full in RENAMED and full not in unsafe and full.rsplit(".", 1)[1] == name:
        start, end = ctx.name_span(node)
        return [
            ctx.change(
                name,
                start,
                [Edit(start, end, RENAMED[full])],
                f"{name} -> {RENAMED[full]}",
            )
        ]
    return []


def _call(ctx: Context, node: ast.Call, full: str, unsafe: set[str]) -> list[Item]:
    out: list[Item] = []
    func = node.func
    name = call_name(func)
    short = full.rsplit(".", 1)[1]
    start, end = ctx.name_span(func)
    edits: list[Edit] = []
    description = ""
    renamed = full in RENAMED and short == name and full not in unsafe
    if renamed:
        edits.append(Edit(start, end, RENAMED[full]))
        description = f"{name} -> {RENAMED[full]}"
    dims = SPLIT_KERNEL.get(full)
    if dims:  # even under another name: Conv2D(32, 3, 3) would mean strides=3
        args = node.args
        if _starred(node):
            out.append(
                ctx.warn(
                    short,
                    start,
                    f"{name} with *args or **kwargs: not rewritten, Keras 1 read the "
                    "positions after filters as kernel rows and columns, Keras 3 as "
                    "kernel_size and strides",
                    f"write {RENAMED[full]}(filters, kernel_size=(rows, cols), ...) by hand",
                )
            )
        elif any(isinstance(a, (ast.Tuple, ast.List)) for a in args[1:2]):
            pass  # Keras 2's Convolution2D(32, (3, 3), ...): already a kernel_size tuple
        elif len(args) == dims + 1:
            first, last = ctx.span(args[1])[0], ctx.span(args[-1])[1]
            edits += [Edit(first, first, "("), Edit(last, last, ")")]
            new = RENAMED[full] if renamed else name
            sizes = ", ".join("rck"[:dims])
            description = f"{name}(n, {sizes}) -> {new}(n, ({sizes}))"
        elif len(args) > 2:
            out.append(
                ctx.warn(
                    short,
                    start,
                    f"{name} with {len(args)} positional arguments",
                    f"Keras 3's {RENAMED[full]} takes (filters, kernel_size, strides, ...): "
                    "put the kernel sizes in one tuple and pass the rest by keyword",
                )
            )
    if edits:
        out.append(ctx.change(short, start, edits, description))
    if full in GONE and short != "ImageDataGenerator":  # the preprocessing family's
        out.append(
            ctx.warn(
                short, ctx.start(func), f"{short}() is gone in Keras 3", GONE[full]
            )
        )
    layer = RENAMED.get(full, short) if full.startswith("keras.layers.") else None
    if layer in LAYER_KEYWORDS:
        out += _keywords(ctx, node, layer)
    if full in DATASET_KEYWORDS:
        out += _dataset(ctx, node, full)
    if layer in ("LSTM", "GRU", "SimpleRNN"):
        consume = next((k for k in node.keywords if k.arg == "consume_less"), None)
        if consume is not None:  # Keras 1's speed hint: the same numbers either way
            out.append(
                ctx.drop_arguments(
                    node, [consume], "consume_less=", "consume_less= -> (dropped)"
                )
            )
            out.append(
                ctx.note(
                    "consume_less=",
                    ctx.start(consume),
                    "dropped Keras 1's consume_less=: a speed hint Keras 3 does not take; "
                    "the layer computes the same",
                )
            )
    if layer == "Embedding":
        dropout = next((k for k in node.keywords if k.arg == "dropout"), None)
        if dropout is not None:
            value = " ".join(ctx.source(dropout.value).split())
            out.append(
                ctx.drop_arguments(
                    node, [dropout], "dropout=", "Embedding(dropout=) -> (dropped)"
                )
            )
            out.append(
                ctx.warn(
                    "dropout=",
                    ctx.start(dropout),
                    "Keras 1's Embedding(dropout=) is dropped: Keras 3's Embedding has none",
                    f"for the same effect add keras.layers.SpatialDropout1D({value}) after the Embedding",
                )
            )
    return out


def _keywords(ctx: Context, node: ast.Call, layer: str) -> list[Item]:
    out: list[Item] = []
    table = LAYER_KEYWORDS[layer]
    present = {k.arg for k in node.keywords}
    for keyword in node.keywords:
        new = table.get(keyword.arg)
        start = ctx.start(keyword)
        if new is not None:
            if new in present:
                out.append(
                    ctx.warn(
                        f"{keyword.arg}=",
                        start,
                        f"both {keyword.arg}= and {new}= are given",
                        f"keep {new}= only",
                    )
                )
            else:
                out += ctx.rename_keyword(keyword, new)
        elif keyword.arg == "dim_ordering" and layer in DATA_FORMAT_LAYERS:
            value = keyword.value
            if isinstance(value, ast.Constant) and value.value in DIM_ORDERING:
                _, end = ctx.span(value)
                new_value = DIM_ORDERING[value.value]
                out.append(
                    ctx.change(
                        "dim_ordering=",
                        start,
                        [Edit(start, end, f"data_format='{new_value}'")],
                        f"dim_ordering='{value.value}' -> data_format='{new_value}'",
                    )
                )
            else:
                out.append(
                    ctx.warn(
                        "dim_ordering=",
                        start,
                        "Keras 3 has no dim_ordering=",
                        "use data_format='channels_last' (was 'tf') or 'channels_first' (was 'th')",
                    )
                )
        elif keyword.arg in ("nb_row", "nb_col", "nb_conv_dim"):
            out.append(
                ctx.warn(
                    f"{keyword.arg}=",
                    start,
                    f"Keras 3 has no {keyword.arg}=",
                    "pass kernel_size=(rows, cols) instead of nb_row= and nb_col=",
                )
            )
    return out


def _dataset(ctx: Context, node: ast.Call, full: str) -> list[Item]:
    out: list[Item] = []
    for keyword in node.keywords:
        if keyword.arg in DATASET_KEYWORDS[full]:
            out += ctx.rename_keyword(keyword, DATASET_KEYWORDS[full][keyword.arg])
        elif keyword.arg == "test_split" and full == "keras.datasets.imdb.load_data":
            out.append(
                ctx.warn(
                    "test_split=",
                    ctx.start(keyword),
                    "Keras 3's imdb.load_data ignores test_split= without a word",
                    "the split is IMDB's own 25,000/25,000; concatenate and split the arrays yourself",
                )
            )
    return out

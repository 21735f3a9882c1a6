"""Training calls: Keras 1/2 keywords of fit/evaluate/compile, the generator methods, predict_classes.

model.fit(..., nb_epoch=3)            ->  model.fit(..., epochs=3)
model.fit_generator(generator=g)      ->  model.fit(x=g)
show_accuracy=, class_mode=           ->  dropped
workers=, use_multiprocessing= (generator methods)  ->  dropped, with a warning
samples_per_epoch=, nb_val_samples=   ->  warning: Keras 3 counts batches
model.predict_classes(x)              ->  np.argmax(model.predict(x), axis=-1)
                                          (categorical loss, numpy imported as np there)
"""

from __future__ import annotations

import ast

from .context import Context, Item
from .core import Edit
from .names import (
    GENERATOR_METHODS,
    QUEUE_KEYWORDS,
    SAMPLE_KEYWORDS,
    SHOW_ACCURACY_METHODS,
)

_METHODS = {
    *GENERATOR_METHODS,
    *SHOW_ACCURACY_METHODS,
    "fit",
    "compile",
    "predict_classes",
}


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.Call):
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in _METHODS:
            continue
        if ctx.qualify(func) is not None:
            continue  # keras.something.fit(...): a function of Keras's, not a model's method
        out += _method(ctx, node, func)
    return out


def _method(ctx: Context, node: ast.Call, func: ast.Attribute) -> list[Item]:
    out: list[Item] = []
    method = func.attr
    doomed: list[ast.keyword] = []
    if method in GENERATOR_METHODS:
        start, end = ctx.name_span(func)
        new = GENERATOR_METHODS[method]
        out.append(
            ctx.change(method, start, [Edit(start, end, new)], f"{method} -> {new}")
        )
    for keyword in node.keywords:
        if keyword.arg is None:
            continue
        start = ctx.start(keyword)
        if keyword.arg == "nb_epoch" and method in ("fit", "fit_generator"):
            out += ctx.rename_keyword(keyword, "epochs")
        elif keyword.arg == "generator" and method in GENERATOR_METHODS:
            out += ctx.rename_keyword(keyword, "x")
        elif keyword.arg == "class_mode" and method == "compile":
            doomed.append(keyword)  # Keras 0's; Keras 3's compile() would reject it
        elif keyword.arg == "show_accuracy" and method in SHOW_ACCURACY_METHODS:
            doomed.append(keyword)
            if not ctx.has_metrics:
                out.append(
                    ctx.warn(
                        "show_accuracy=",
                        start,
                        "show_accuracy= is dropped; Keras 3 reports accuracy only "
                        "when compile() asks for it",
                        "add metrics=['accuracy'] to model.compile(...)",
                    )
                )
        elif keyword.arg in QUEUE_KEYWORDS and method in GENERATOR_METHODS:
            doomed.append(keyword)
            out.append(
                ctx.warn(
                    f"{keyword.arg}=",
                    start,
                    f"{keyword.arg}= is dropped: Keras 3's {GENERATOR_METHODS[method]}() "
                    "has no queue settings",
                    "pass workers=, use_multiprocessing= and max_queue_size= to "
                    "your keras.utils.PyDataset's __init__ instead",
                )
            )
        elif keyword.arg in SAMPLE_KEYWORDS and method in GENERATOR_METHODS:
            out.append(
                ctx.warn(
                    f"{keyword.arg}=",
                    start,
                    f"Keras 1's {keyword.arg}= counts samples; Keras 3 counts batches",
                    f"use {SAMPLE_KEYWORDS[keyword.arg]}=<samples> // <batch size>",
                )
            )
    if doomed:
        out.append(
            ctx.drop_arguments(
                node,
                doomed,
                doomed[0].arg + "=",
                ", ".join(f"{d.arg}=" for d in doomed) + " -> (dropped)",
            )
        )
    if method == "predict_classes":
        out.append(_predict_classes(ctx, node, func))
    if node is ctx.adds_accuracy:
        out.append(_add_accuracy(ctx, node))
    return out


def _add_accuracy(ctx: Context, node: ast.Call) -> Item:
    """Keras 1's show_accuracy=True: compile() asks for the metric instead."""
    items = ctx.call_items(node)
    if items:
        at = ctx.span(items[-1])[1]
        text = ", metrics=['accuracy']"
    else:
        at = ctx.span(node)[1] - 1
        text = "metrics=['accuracy']"
    return ctx.change(
        "show_accuracy=",
        at,
        [Edit(at, at, text)],
        "show_accuracy=True -> compile(..., metrics=['accuracy'])",
    )


def _predict_classes(ctx: Context, node: ast.Call, func: ast.Attribute) -> Item:
    start, end = ctx.span(node)
    name_start, name_end = ctx.name_span(func)
    numpy = ctx.numpy
    if ctx.categorical and numpy and ctx.means(node, numpy, "numpy"):
        return ctx.change(
            "predict_classes",
            name_start,
            [
                Edit(start, start, f"{numpy}.argmax("),
                Edit(name_start, name_end, "predict"),
                Edit(end, end, ", axis=-1)"),
            ],
            f"m.predict_classes(x) -> {numpy}.argmax(m.predict(x), axis=-1)",
        )
    if not ctx.categorical:
        why = "the loss does not say the model is multi-class"
    elif not numpy:
        why = "numpy is not imported"
    else:
        why = f"{numpy} does not mean numpy here"
    return ctx.warn(
        "predict_classes",
        name_start,
        f"Keras 3 has no predict_classes() ({why})",
        "use np.argmax(model.predict(x), axis=-1) for a softmax output, or "
        "(model.predict(x) > 0.5).astype('int32') for one sigmoid unit",
    )

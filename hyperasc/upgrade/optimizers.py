"""Optimizers: Keras 2's lr= and decay=.

Adam(lr=0.001)             ->  Adam(learning_rate=0.001)
SGD(lr=0.1, decay=0.0)     ->  SGD(learning_rate=0.1)
SGD(decay=1e-6)            ->  warning: Keras 3 ignores it; the equivalent schedule
"""

from __future__ import annotations

import ast

from .context import Context, Item
from .names import DEFAULT_LR, OPTIMIZERS


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.Call):
        full = ctx.qualify(node.func)
        if full is None or not full.startswith("keras.optimizers."):
            continue
        short = full.rsplit(".", 1)[1]
        if short in OPTIMIZERS:
            out += _optimizer(ctx, node, short)
    return out


def _optimizer(ctx: Context, node: ast.Call, name: str) -> list[Item]:
    out: list[Item] = []
    keywords = {k.arg: k for k in node.keywords}
    lr = keywords.get("lr")
    if lr is not None:
        if "learning_rate" in keywords:
            out.append(
                ctx.warn(
                    "lr=",
                    ctx.start(lr),
                    "both lr= and learning_rate= are given",
                    "keep learning_rate= only",
                )
            )
        else:
            out += ctx.rename_keyword(lr, "learning_rate")
    decay = keywords.get("decay")
    if decay is None:
        return out
    start = ctx.start(decay)
    if (
        isinstance(decay.value, ast.Constant)
        and decay.value.value == 0
        and not isinstance(decay.value.value, bool)
    ):
        out.append(ctx.drop_arguments(node, [decay], "decay=", "decay=0 -> (dropped)"))
        return out
    rate = lr or keywords.get("learning_rate")
    if rate is not None:
        rate_text = ctx.source(rate.value)
    elif node.args:
        rate_text = ctx.source(node.args[0])
    else:
        rate_text = DEFAULT_LR.get(name, "0.001")
    rate_text = " ".join(rate_text.split())
    decay_text = " ".join(ctx.source(decay.value).split())
    out.append(
        ctx.warn(
            "decay=",
            start,
            f"Keras 3 ignores {name}(decay=...) with only a warning, which silently changes training",
            f"use learning_rate=keras.optimizers.schedules.InverseTimeDecay({rate_text}, decay_steps=1, "
            f"decay_rate={decay_text}), Keras 2's lr / (1 + decay * step)",
        )
    )
    return out

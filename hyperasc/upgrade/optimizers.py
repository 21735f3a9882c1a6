"""Optimizers: Keras 2's lr=, decay=, epsilon=None and lowercase aliases.

Adam(lr=0.001)                 ->  Adam(learning_rate=0.001)
SGD(lr=0.1, decay=0.0)         ->  SGD(learning_rate=0.1)
Adam(epsilon=None)             ->  Adam()   (Keras 3's default, 1e-7)
from keras.optimizers import adam  ->  from keras.optimizers import Adam as adam
{{choice([RMSprop, Adam])}}(lr=lr), and `opt = {{choice([...])}}; opt(lr=lr)`
                               ->  learning_rate=
SGD(decay=1e-6)                ->  warning: Keras 3 ignores it; the equivalent schedule
"""

from __future__ import annotations

import ast

from .context import Context, Item
from .core import Edit
from .names import DEFAULT_LR, OPTIMIZER_ALIASES, OPTIMIZERS, canonical


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.Call):
        full = ctx.qualify(node.func)
        if full is not None and full.startswith("keras.optimizers."):
            short = full.rsplit(".", 1)[1]
            if short in OPTIMIZERS:
                out += _optimizer(ctx, node, short)
        elif full is None and _chosen_optimizer(ctx, node.func):
            out += _optimizer(ctx, node, None)
    for node in ctx.of(ast.ImportFrom):
        if node.module and not node.level:
            out += _lowercase_import(ctx, node)
    for node in ctx.of(ast.Attribute):
        if node.attr in OPTIMIZER_ALIASES and ctx.qualify(node.value) == (
            "keras.optimizers"
        ):
            start, end = ctx.name_span(node)
            new = OPTIMIZER_ALIASES[node.attr]
            out.append(
                ctx.change(
                    node.attr, start, [Edit(start, end, new)], f"{node.attr} -> {new}"
                )
            )
    return out


def _lowercase_import(ctx: Context, node: ast.ImportFrom) -> list[Item]:
    if canonical(node.module) != "keras.optimizers":
        return []
    return ctx.rename_imports(node, OPTIMIZER_ALIASES, "keras.optimizers")


def _chosen_optimizer(ctx: Context, func: ast.expr) -> bool:
    """`{{choice([RMSprop, Adam, SGD])}}(...)`, or a name assigned such a handle once:
    every option is one of Keras's optimizer classes."""
    if not isinstance(func, ast.Name) or ctx.outer is not None:
        return False
    placeholder = func
    if func.id not in ctx.handle_names:
        found = ctx.binding(func)
        if found is None or found.imported:
            return False
        scope = ctx.scopes.scope_of.get(func)
        assigns = [
            a
            for a in ctx.of(ast.Assign)
            if any(isinstance(t, ast.Name) and t.id == func.id for t in a.targets)
            and ctx.scopes.scope_of.get(a) is scope
        ]
        if len(assigns) != 1 or not isinstance(assigns[0].value, ast.Name):
            return False
        placeholder = assigns[0].value
        if placeholder.id not in ctx.handle_names:
            return False
    handle = ctx.handle_names[placeholder.id]
    try:
        tree = ast.parse("(" + handle.inner + ")", mode="eval").body
    except SyntaxError:
        return False
    if not (
        isinstance(tree, ast.Call)
        and len(tree.args) == 1
        and isinstance(tree.args[0], (ast.List, ast.Tuple))
        and tree.args[0].elts
    ):
        return False
    for option in tree.args[0].elts:
        dotted = _dotted_at(ctx, placeholder, option)
        full = canonical(dotted) if dotted else None
        if not full or not full.startswith("keras.optimizers."):
            return False
        if full.rsplit(".", 1)[1] not in OPTIMIZERS:
            return False
    return True


def _dotted_at(ctx: Context, anchor: ast.AST, node: ast.expr) -> str | None:
    """What a name inside a handle stands for, looked up where the handle is."""
    if isinstance(node, ast.Name):
        found = ctx.binding(anchor, node.id)
        if found is None:
            return ctx.scopes.hoisted(node.id)
        return found.origin
    if isinstance(node, ast.Attribute):
        base = _dotted_at(ctx, anchor, node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _optimizer(ctx: Context, node: ast.Call, name: str | None) -> list[Item]:
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
    doomed = []
    epsilon = keywords.get("epsilon")
    if (
        epsilon is not None
        and isinstance(epsilon.value, ast.Constant)
        and epsilon.value.value is None
    ):
        doomed.append(
            epsilon
        )  # Keras 2's "use the backend's epsilon"; Keras 3 wants a number
    decay = keywords.get("decay")
    if (
        decay is not None
        and isinstance(decay.value, ast.Constant)
        and decay.value.value == 0
        and not isinstance(decay.value.value, bool)
    ):
        doomed.append(decay)
        decay = None
    if doomed:
        doomed.sort(key=lambda k: (k.lineno, k.col_offset))
        out.append(
            ctx.drop_arguments(
                node,
                doomed,
                doomed[0].arg + "=",
                ", ".join(f"{k.arg}={ctx.source(k.value)}" for k in doomed)
                + " -> (dropped)",
            )
        )
    if decay is None:
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
            ctx.start(decay),
            f"Keras 3 ignores {name or 'the optimizer'}(decay=...) with only a warning, "
            "which silently changes training",
            f"use learning_rate=keras.optimizers.schedules.InverseTimeDecay({rate_text}, decay_steps=1, "
            f"decay_rate={decay_text}), Keras 2's lr / (1 + decay * step)",
        )
    )
    return out

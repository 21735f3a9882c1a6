"""Imports: Keras 1/2 module paths Keras 3 folded away, np_utils, and names Keras 3 removed.

from keras.layers.core import Dense      ->  from keras.layers import Dense
keras.layers.core.Dense(...)             ->  keras.layers.Dense(...)
from keras.utils import np_utils; np_utils.to_categorical(y)
                                         ->  from keras.utils import to_categorical; to_categorical(y)
from keras.layers import Merge           ->  warning with the Keras 3 way
"""

from __future__ import annotations

import ast
import re

from . import tf1
from .context import Context, Item
from .core import Edit
from .scope import Binding
from .names import (
    GONE,
    REMOVED_MODULES,
    LAYER_SUBMODULES,
    UTILS_SUBMODULES,
    canonical,
    collapse,
    module_rule,
)


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.ImportFrom):
        out += _import_from(ctx, node)
    for node in ctx.of(ast.Import):
        out += _import(ctx, node)
    for node in ctx.of(ast.Attribute):
        out += _submodule_use(ctx, node)
    return out


def removed(full: str | None) -> bool:
    """Keras 3 has no such name or module."""
    if not full:
        return False
    if full in GONE or full == "keras.utils.np_utils":
        return True
    return any(full == m or full.startswith(m + ".") for m in REMOVED_MODULES)


def _used(ctx: Context, name: str, node: ast.stmt) -> bool:
    """The file uses `name` (set-up that goes does not count; handles count by their words)."""
    if "imports.uses" not in ctx.memo:
        skip = {id(n) for s in tf1.setup_statements(ctx) for n in ast.walk(s)}
        ctx.memo["imports.uses"] = {
            n.id for n in ctx.of(ast.Name) if id(n) not in skip
        } | {w for s, e in ctx.handle_spans for w in re.findall(r"\w+", ctx.text[s:e])}
    return name in ctx.memo["imports.uses"]


def _drop_unused(
    ctx: Context,
    node: ast.stmt,
    aliases: list[ast.alias],
    fulls: list[str | None],
    merged: tuple[int, list[Edit]] | None = None,
) -> tuple[list[Item], set[int]]:
    """Names Keras 3 removed that the file imports and never uses: they go, with a note.

    `merged`: np_utils, whose uses now name what the same import brings in
    already: it goes too, its uses' edits in the same change.
    """
    doomed = {
        i
        for i, (alias, full) in enumerate(zip(aliases, fulls))
        if removed(full)
        and alias.name != "*"
        and not _used(ctx, alias.asname or alias.name.split(".")[0], node)
        and (alias.asname or isinstance(node, ast.ImportFrom))
    }
    unused = sorted(doomed)
    if merged is not None:
        doomed.add(merged[0])
    if not doomed:
        return [], doomed
    names = [aliases[i].name for i in unused]
    start = ctx.start(aliases[min(doomed)])
    if len(doomed) == len(aliases):
        edits = ctx.drop_statements([node])
    else:
        edits = ctx.delete_items([ctx.span(a) for a in aliases], doomed)
    if not edits:
        return [], set()
    if merged is not None:
        edits += merged[1]
        if not names:
            return [
                ctx.change(
                    "np_utils",
                    start,
                    edits,
                    "np_utils.to_categorical -> keras.utils.to_categorical",
                )
            ], doomed
    change = ctx.change(
        names[0],
        start,
        edits,
        ", ".join(names) + " -> (dropped: unused, gone in Keras 3)",
    )
    note = ctx.note(
        names[0],
        start,
        f"dropped the import of {', '.join(names)}: Keras 3 has no such "
        f"name{'s' if len(names) > 1 else ''}, and the file does not use it",
    )
    return [change, note], doomed


def _import_from(ctx: Context, node: ast.ImportFrom) -> list[Item]:
    if node.level or not node.module:
        return []
    out: list[Item] = []
    aliases = [a for a in node.names if a.name != "*"]
    module = canonical(node.module)
    fulls = [canonical(f"{node.module}.{a.name}") if module else None for a in aliases]
    raws = [f"{node.module}.{a.name}".removeprefix("tensorflow.") for a in aliases]
    which = [r if removed(r) else f for r, f in zip(raws, fulls)]
    merged = None
    if canonical(node.module) == "keras.utils":
        merged = _np_utils_merged(ctx, node, aliases)
    dropped, doomed = _drop_unused(ctx, node, aliases, which, merged)
    if len(doomed) == len(node.names):
        return dropped
    out += dropped
    start, _ = ctx.span(node)
    new_module = collapse(node.module)
    module = canonical(node.module)
    gone = all(canonical(f"{node.module}.{a.name}") in GONE for a in node.names)
    if new_module != node.module and not gone:  # not a move that leaves it broken
        first = ctx.next_token(ctx.next_token(start).end)  # after `from`
        last = first
        index = ctx.tokens.index(first)
        while ctx.tokens[index + 1].string != "import":
            index += 1
            last = ctx.tokens[index]
        out.append(
            ctx.change(
                module_rule(node.module),
                first.start,
                [Edit(first.start, last.end, new_module)],
                f"{node.module} -> {new_module}",
            )
        )
    if module is None:
        return out
    for index, alias in enumerate(aliases):
        if index in doomed:
            continue
        full = fulls[index]
        a_start, _ = ctx.span(alias)
        if full in GONE:
            out.append(
                ctx.warn(
                    alias.name,
                    a_start,
                    f"{node.module}.{alias.name} is gone in Keras 3",
                    GONE[full],
                )
            )
        elif module == "keras.utils" and alias.name == "np_utils":
            out.append(_np_utils(ctx, node, alias, a_start, len(aliases) - len(doomed)))
    return out


def _np_utils_merged(
    ctx: Context, node: ast.ImportFrom, aliases: list[ast.alias]
) -> tuple[int, list[Edit]] | None:
    """`from keras.utils import np_utils, to_categorical` with `np_utils.to_categorical(...)`:
    np_utils can go, and its uses lose their `np_utils.`."""
    index = next((i for i, a in enumerate(aliases) if a.name == "np_utils"), None)
    if index is None or len(aliases) < 2 or aliases[index].asname:
        return None
    wanted, attrs, ok = _np_utils_uses(ctx, node, aliases[index])
    present = {a.name for a in aliases if a.asname is None}
    if not ok or not wanted or not set(wanted) <= present:
        return None
    edits = []
    for attribute in attrs:
        start, end = ctx.span(attribute)
        edits.append(Edit(start, end - len(attribute.attr), ""))
    return index, edits


def _np_utils_uses(
    ctx: Context, node: ast.ImportFrom, alias: ast.alias
) -> tuple[list[str], list[ast.Attribute], bool]:
    """What np_utils is used for: (the names, the `np_utils.x` nodes, whether each use is such a
    plain `np_utils.to_categorical` that the bare name can replace, nothing in a handle).
    """
    local = alias.asname or alias.name
    origin = f"{node.module}.{alias.name}"
    uses = [
        n
        for n in ctx.of(ast.Name)
        if n.id == local and isinstance(n.ctx, ast.Load) and ctx.dotted(n) == origin
    ]
    attrs = [ctx.parents.get(n) for n in uses]
    plain = all(
        isinstance(a, ast.Attribute)
        and a.value is n
        and a.attr in ("to_categorical", "normalize")
        for a, n in zip(attrs, uses)
    )
    wanted = sorted({a.attr for a in attrs}) if plain else []
    in_handles = any(
        re.search(rf"\b{local}\b", ctx.text[s:e]) for s, e in ctx.handle_spans
    )
    free = all(
        ctx.binding(n, w) in (None, Binding(f"{node.module}.{w}"))
        for n in uses
        for w in wanted
    ) and not (set(wanted) & ctx.scopes.own_names())
    return wanted, attrs, plain and free and not in_handles


def _np_utils(
    ctx: Context, node: ast.ImportFrom, alias: ast.alias, a_start: int, count: int
) -> Item:
    """`from keras.utils import np_utils`: Keras 3 has keras.utils.to_categorical."""
    wanted, attrs, ok = _np_utils_uses(ctx, node, alias)
    present = {a.name for a in node.names if a.asname is None}
    missing = [w for w in wanted if w not in present]
    if ok and missing and alias.asname is None:
        edits = [Edit(a_start, a_start + len(alias.name), ", ".join(missing))]
        for attribute in attrs:
            start, end = ctx.span(attribute)
            edits.append(Edit(start, end - len(attribute.attr), ""))
        return ctx.change(
            "np_utils",
            a_start,
            edits,
            f"np_utils.{wanted[0]} -> keras.utils.{wanted[0]}",
        )
    if count == 1 and alias.asname is None:
        start, end = ctx.span(node)
        module = node.module[: -len(".utils")]
        return ctx.change(
            "np_utils",
            a_start,
            [Edit(start, end, f"from {module} import utils as np_utils")],
            "keras.utils.np_utils -> keras.utils",
        )
    return ctx.warn(
        "np_utils",
        a_start,
        "Keras 3 has no keras.utils.np_utils",
        "import what you use from keras.utils: from keras.utils import to_categorical",
    )


def _import(ctx: Context, node: ast.Import) -> list[Item]:
    fulls = [canonical(a.name) for a in node.names]
    out, doomed = _drop_unused(ctx, node, node.names, fulls)
    for index, alias in enumerate(node.names):
        if index in doomed:
            continue
        new = collapse(alias.name)
        if new != alias.name:
            start, _ = ctx.span(alias)
            out.append(
                ctx.change(
                    module_rule(alias.name),
                    start,
                    [Edit(start, start + len(alias.name), new)],
                    f"{alias.name} -> {new}",
                )
            )
    return out


def _submodule_use(ctx: Context, node: ast.Attribute) -> list[Item]:
    """`keras.layers.core.Dense`: the submodule goes."""
    parent = ctx.parents.get(node)
    if not (isinstance(parent, ast.Attribute) and parent.value is node):
        return []
    value = node.value
    if isinstance(value, ast.Attribute) and value.attr in LAYER_SUBMODULES:
        return []  # the second of a chain: the first one's edit takes it along
    base = ctx.qualify(value)
    if (base == "keras.layers" and node.attr in LAYER_SUBMODULES) or (
        base == "keras.utils" and node.attr in UTILS_SUBMODULES
    ):
        last = node  # keras.layers.experimental.preprocessing: both go
        while (
            base == "keras.layers"
            and isinstance(ctx.parents.get(ctx.parents.get(last)), ast.Attribute)
            and ctx.parents[last].attr in LAYER_SUBMODULES
        ):
            last = ctx.parents[last]
        _, end = ctx.span(last)
        _, value_end = ctx.span(node.value)
        return [
            ctx.change(
                f"{base}.{node.attr}",
                value_end,
                [Edit(value_end, end, "")],
                f"{base}{ctx.text[value_end:end]} -> {base}",
            )
        ]
    return []

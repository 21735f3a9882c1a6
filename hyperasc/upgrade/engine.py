"""The driver: parse, run every family, settle overlapping edits, apply.

1. `find(text)` parses the file (handles replaced by placeholders, see
   scanner) and returns a Plan: Changes, each one Keras 1/2 spelling with the
   text Edits that fix it (offsets into the original text), and Findings,
   located warnings for what cannot be rewritten safely.
2. `apply(text, changes)` splices the edits in. Everything else stays byte for
   byte, handles included, and a second run finds nothing more to change.
"""

from __future__ import annotations

import ast
import dataclasses
import re

from ..compile.scanner import Handle, scan, substitute
from ..diagnostics import error
from .context import Context
from .core import Change, Edit, Finding, Plan, Positions, apply, check_result, resolve
from .families import FAMILIES
from .names import TRIGGERS
from .scope import Scopes

# Spellings Keras 3 runs, if not as Keras 2 did: the compile note stays a note for them.
HARMLESS = {"decay=", "tf.logging"}


def find(text: str) -> Plan:
    """The Keras 1/2 spellings of a model file: what to rewrite and what to warn about.

    Raises CompileError when the file is not Python with handles.
    """
    if re.search(r"\r(?!\n)", text):
        raise error(
            1,
            1,
            "the file uses old Mac (CR-only) line endings; convert them to \\n first",
        )
    handles = scan(text)
    substituted = substitute(text, handles)
    try:
        tree = ast.parse(substituted)
    except SyntaxError as exc:
        raise error(
            exc.lineno or 1, exc.offset or 1, f"invalid syntax: {exc.msg}"
        ) from None
    ctx = Context(text, tree, Positions(text, substituted, handles), handles)
    plan = Plan()
    for family in FAMILIES:
        plan.extend(family.find(ctx))
    if handles:
        placeholders = {n.id: n for n in ctx.of(ast.Name)}
        for handle in handles:
            plan.extend(
                _inside_handle(handle, ctx, placeholders.get(handle.placeholder))
            )
    plan.changes, left = resolve(plan.changes)
    plan.findings.extend(left)
    plan.changes.sort(key=lambda c: (c.line, c.column))
    plan.findings.sort(key=lambda f: (f.line, f.column))
    return plan


def _inside_handle(
    handle: Handle, outer: Context, placeholder: ast.Name | None
) -> list[Change | Finding]:
    """Keras 1/2 spellings inside a handle's expression: `{{choice([Adam(lr=0.1), ...])}}`.

    The handle's text is parsed on its own and looked at by every family, its
    names looked up where the handle is. Rewrites stay inside the braces (the
    handle is still one expression, see check_result); what cannot be rewritten
    is a warning that says it is inside a handle.
    """
    if not TRIGGERS.search(handle.inner):
        return []
    wrapped = (
        "(" + handle.inner + ")"
    )  # an expression may span lines and start with spaces
    try:
        tree = ast.parse(wrapped)
    except SyntaxError:
        return []
    root = outer.scopes.scope_of.get(placeholder) if placeholder else None
    scopes = Scopes(tree, root or outer.scopes.module, outer=outer.scopes)
    ctx = Context(wrapped, tree, Positions(wrapped, wrapped, []), [], outer, scopes)
    items = [item for family in FAMILIES for item in family.find(ctx)]
    line0, column0 = handle.inner_start
    base = outer.pos.starts[line0 - 1] + column0 - 1  # the "(" we added
    found: list[Change | Finding] = []
    for item in items:
        line = line0 + item.line - 1
        column = (column0 + item.column - 1) if item.line == 1 else item.column
        if isinstance(item, Change) and all(
            0 < e.start and e.end < len(wrapped) for e in item.edits
        ):
            edits = tuple(
                Edit(base + e.start, base + e.end, e.text) for e in item.edits
            )
            found.append(
                dataclasses.replace(item, line=line, column=column, edits=edits)
            )
            continue
        what = item.description if isinstance(item, Change) else item.message
        if isinstance(item, Finding) and item.severity != "warning":
            continue
        found.append(
            Finding(
                item.rule,
                line,
                column,
                f"Keras 1/2 spelling inside a handle: {what}",
                "change the handle by hand" if isinstance(item, Change) else item.hint,
            )
        )
    return found


def upgrade_text(text: str) -> tuple[str, Plan]:
    """The upgraded text and what was found. Raises CompileError for input that is not Python."""
    plan = find(text)
    new = apply(text, plan.changes)
    if new != text:
        check_result(text, new)
    return new, plan


def compile_note(text: str, path: str) -> str | None:
    """One line for `hyperasc compile`: how many Keras 1/2 spellings, and the command that fixes them.

    Cheap when there is nothing to say (one regular expression); never raises.
    """
    if not TRIGGERS.search(text):
        return None
    try:
        plan = find(text)
    except Exception:  # the note is a courtesy; the compiler has its own errors
        return None
    if not plan.count:
        return None
    rules = plan.rules()
    shown = ", ".join(rules[:3]) + (", ..." if len(rules) > 3 else "")
    plural = "s" if plan.count != 1 else ""
    target = "MODEL" if path in ("-", "<stdin>") else path
    # A warning when Keras 3 would stop at one of them (at import, or in fit).
    fails = any(item.rule not in HARMLESS for item in [*plan.changes, *plan.warnings])
    severity = "warning" if fails else "note"
    if plan.changes:
        return (
            f"{path}: {severity}: {plan.count} Keras 1/2 spelling{plural} ({shown}); "
            f"run: hyperasc upgrade {target} --in-place"
        )
    return (
        f"{path}: {severity}: {plan.count} Keras 1/2 spelling{plural} that need a hand ({shown}); "
        f"run: hyperasc upgrade {target} --diff, for the Keras 3 way"
    )

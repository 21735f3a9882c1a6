"""Module-level statements that change a value in place rather than bind a name.

`class_weight[1] = 3.0`, `LAYERS.append(Dense(64))`, `del CONFIG["x"]` bind
nothing, yet the model sees what they do: the script carries them with the
value they change (ModuleIndex.closure), after it (module_plan.order_statements).
"""

from __future__ import annotations

import ast

# Methods that change their object in place: a module-level call of one changes a value.
MUTATING_METHODS = {
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "update",
    "setdefault",
    "popitem",
    "add",
    "discard",
    "sort",
    "reverse",
    "difference_update",
    "intersection_update",
    "symmetric_difference_update",
    "appendleft",
    "extendleft",
    "popleft",
    "rotate",
    "__setitem__",
    "__delitem__",
}


def mutated_names(stmt: ast.stmt) -> set[str]:
    """The module-level names whose values a statement changes in place, rebinding nothing:
    `x[i] = v`, `x.a += v`, `del x[i]`, `x.append(v)`, and loops and ifs made only of those.
    """
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = (
            stmt.targets
            if isinstance(stmt, (ast.Assign, ast.Delete))
            else [stmt.target]
        )
        return set().union(*(_changed_root(t) for t in targets))
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS:
            root = _root_name(func.value)
            return {root} if root else set()
        return set()
    if isinstance(stmt, (ast.For, ast.While, ast.If)):
        found: set[str] = set()
        for inner in stmt.body + stmt.orelse:
            changed = mutated_names(inner)
            if not changed and not isinstance(inner, (ast.Pass, ast.Continue)):
                return set()  # it does more than change values: not a mutation only
            found |= changed
        if isinstance(stmt, ast.For):
            # `for row in ROWS: row.append(0)` changes ROWS's items.
            loop = {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
            if found & loop:
                found |= {
                    n.id
                    for n in ast.walk(stmt.iter)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                }
            found -= loop
        return found
    return set()


def _changed_root(target: ast.expr) -> set[str]:
    if isinstance(target, (ast.Subscript, ast.Attribute)):
        root = _root_name(target.value)
        return {root} if root else set()
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_changed_root(e) for e in target.elts))
    if isinstance(target, ast.Starred):
        return _changed_root(target.value)
    return set()


def _root_name(node: ast.expr) -> str | None:
    """`x` of `x`, `x.a`, `x[0].b`, `x.get(k)`: the name a chain of accesses starts from."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None

"""Stage 4b: what the model function returns as the loss, read with `ast`.

Input is the model function (its placeholder text and line); output is an
objective record (runtime/contract.py) or None. hyperopt minimises the loss,
so most files return a negated metric (`{"loss": -accuracy}`); the record
names that metric, so the summary and the report can show it. Where the
returns disagree or nothing is recognisable there is no record: this stage
never raises, it only describes.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from collections.abc import Iterator, Sequence
from typing import Any

from ..runtime import contract
from .discovery import last_name
from .module_index import Function
from .records import Handle

# A bare `return f(...)` is a loss only for these: a user function may return a dict.
NUMERIC_CALLS = {"float", "int", "abs", "min", "max", "round", "sum"}
NUMERIC_MODULES = {"np", "numpy", "math", "statistics"}
# Reducers whose single argument names the metric (`-np.amax(h.history["val_acc"])`).
REDUCERS = {"float", "abs", "min", "max", "amax", "amin", "mean", "median", "sum"}
FAIL_STATUSES = {"STATUS_FAIL", "fail"}
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def find(function: Function, handles: Sequence[Handle] = ()) -> dict[str, Any] | None:
    """The objective record of the model function, its line in the model file; or None."""
    try:
        return _find(function, handles)
    except (SyntaxError, RecursionError, MemoryError):
        return None  # it only describes the loss: never a reason to refuse the file


def _find(function: Function, handles: Sequence[Handle]) -> dict[str, Any] | None:
    tree = ast.parse(function.text)
    node = next(
        (
            n
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        ),
        None,
    )
    if node is None:
        return None
    reader = _Reader(function.text, node)
    found = set()
    for returned in reader.returns():
        loss = reader.loss_of(returned)
        if loss is None:
            return None
        found.add((reader.text(loss, handles), loss.lineno, loss))
    texts = {text for text, _, _ in found}
    if len(texts) != 1:
        return None  # no return with a value, or several losses
    text, line, loss = min(found, key=lambda f: f[1])
    metric, sign, offset = _metric(loss, reader, handles)
    shift = function.line - node.lineno  # decorators come before the def line
    return contract.objective(text, function.name, line + shift, metric, sign, offset)


class _Reader:
    """The model function's own statements (nested functions and classes left out)."""

    def __init__(self, text: str, node: ast.FunctionDef | ast.AsyncFunctionDef):
        self.source = text
        self.nodes = list(_own_nodes(node))
        params = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        params += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
        self.binds: dict[str, list[ast.AST]] = {a.arg: [a] for a in params}
        # `name = value`: the binding is the assignment, its value what the name holds.
        direct = {
            t: n
            for n in self.nodes
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for n in self.nodes:
            for name in _bound_names(n):
                self.binds.setdefault(name, []).append(direct.get(n, n))

    def returns(self) -> Iterator[ast.expr]:
        """The values of the returns that report a result (not a failure status)."""
        for n in self.nodes:
            if isinstance(n, ast.Return) and n.value is not None:
                if not _fails(self.as_dict(n.value)):
                    yield n.value

    def assigned_once(self, name: str) -> ast.expr | None:
        """The value of `name = VALUE` when that is the name's only binding here."""
        binds = self.binds.get(name, [])
        if len(binds) != 1 or not isinstance(binds[0], ast.Assign):
            return None
        return binds[0].value

    def resolved(self, expr: ast.expr) -> ast.expr:
        """A bare local name followed to the value it was assigned once."""
        seen = set()
        while isinstance(expr, ast.Name) and expr.id not in seen:
            seen.add(expr.id)
            value = self.assigned_once(expr.id)
            if value is None:
                break
            expr = value
        return expr

    def as_dict(self, expr: ast.expr) -> dict[str, ast.expr | None] | None:
        """{key: value} of a returned dict (a literal, dict(...) or a name bound to one
        and filled in by `name["key"] = ...`), a value None where it is ambiguous."""
        name = expr.id if isinstance(expr, ast.Name) else None
        expr = self.resolved(expr)
        items = _dict_items(expr)
        if items is None:
            return None
        if name is not None:
            for n in self.nodes:
                key = _subscript_store(n, name)
                if key is not None:
                    items[key] = None if key in items else n.value
                elif _changes(n, name):
                    items["loss"] = None  # result.update(...), result[key] = ...
        return items

    def loss_of(self, returned: ast.expr) -> ast.expr | None:
        items = self.as_dict(returned)
        if items is not None:
            loss = items.get("loss")
            if loss is None:
                return None
            return self.resolved(loss)
        loss = self.resolved(returned)
        if isinstance(loss, ast.Name) and loss is returned:
            return None  # a name bound several times: it may be a dict
        return loss if _may_be_number(loss) else None

    def text(self, expr: ast.expr, handles: Sequence[Handle]) -> str:
        return one_line(ast.get_source_segment(self.source, expr) or "", handles)


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, without descending into nested scopes."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, SCOPES):
            continue  # its name is bound here; its body is another scope
        if isinstance(
            node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _bound_names(node: ast.AST) -> Iterator[str]:
    """The names a node binds in the function's scope."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        yield node.id
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield (alias.asname or alias.name).split(".")[0]
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield node.name
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        for name in node.names:  # bound elsewhere too: counted twice, never followed
            yield name
            yield name
    elif isinstance(node, ast.MatchAs) and node.name:
        yield node.name
    elif isinstance(node, ast.MatchStar) and node.name:
        yield node.name
    elif isinstance(node, ast.MatchMapping) and node.rest:
        yield node.rest


def _dict_items(expr: ast.expr) -> dict[str, ast.expr | None] | None:
    """{key: value} of a dict display or a dict(k=v) call; None for anything else."""
    if isinstance(expr, ast.Dict):
        items: dict[str, ast.expr | None] = {}
        for key, value in zip(expr.keys, expr.values):
            if key is None:
                items["loss"] = None  # `**other` may hold the loss
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                items[key.value] = value
        return items
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "dict"
        and not expr.args
    ):
        return {
            kw.arg if kw.arg else "loss": kw.value if kw.arg else None
            for kw in expr.keywords
        }
    return None


def _subscript_store(node: ast.AST, name: str) -> str | None:
    """KEY of `name["KEY"] = value` (a plain assignment of one target)."""
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return None
    target = node.targets[0]
    if (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id == name
        and isinstance(target.slice, ast.Constant)
        and isinstance(target.slice.value, str)
    ):
        return target.slice.value
    return None


def _changes(node: ast.AST, name: str) -> bool:
    """Whether `node` may change the dict `name` other than by `name["key"] = value`."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id == name  # a method: update, setdefault, pop, ...
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        stored = isinstance(node.ctx, (ast.Store, ast.Del))
        plain = isinstance(node.slice, ast.Constant) and isinstance(
            node.slice.value, str
        )
        return node.value.id == name and stored and not plain
    return False


def _fails(items: dict[str, ast.expr | None] | None) -> bool:
    """Whether a returned dict says the trial failed (`"status": STATUS_FAIL`)."""
    status = (items or {}).get("status")
    if isinstance(status, ast.Constant):
        return status.value in FAIL_STATUSES
    if isinstance(status, (ast.Name, ast.Attribute)):
        return last_name(status) in FAIL_STATUSES
    return False


def _may_be_number(expr: ast.expr) -> bool:
    """Whether a returned expression can be a number (and not, say, a result dict)."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Name):
            return func.id in NUMERIC_CALLS
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and root.id in NUMERIC_MODULES
    return isinstance(
        expr, (ast.UnaryOp, ast.BinOp, ast.Name, ast.Attribute, ast.Subscript)
    )


def _metric(
    loss: ast.expr, reader: _Reader, handles: Sequence[Handle]
) -> tuple[str | None, int, float]:
    """(metric, sign, offset) with metric = offset + sign * loss; a metric only where
    the loss is a negated one (`-acc`, `1 - score`, `-1 * acc`)."""
    sign, offset, operand = 1, 0, loss
    while True:
        if isinstance(operand, ast.UnaryOp) and isinstance(
            operand.op, (ast.USub, ast.UAdd)
        ):
            if isinstance(operand.op, ast.USub):
                sign, offset = -sign, -offset
            operand = operand.operand
        elif isinstance(operand, ast.BinOp) and isinstance(
            operand.op, (ast.Add, ast.Sub)
        ):
            left, right = _number(operand.left), _number(operand.right)
            if left is not None:  # c + x, c - x
                offset += sign * left
                if isinstance(operand.op, ast.Sub):
                    sign = -sign
                operand = operand.right
            elif right is not None:  # x + c, x - c
                offset += sign * (right if isinstance(operand.op, ast.Add) else -right)
                operand = operand.left
            else:
                break
        elif isinstance(operand, ast.BinOp) and isinstance(operand.op, ast.Mult):
            left, right = _number(operand.left), _number(operand.right)
            if left in (1, -1):
                sign, operand = sign * int(left), operand.right
            elif right in (1, -1):
                sign, operand = sign * int(right), operand.left
            else:
                break
        else:
            break
    # loss = offset + sign * operand, so operand = sign * (loss - offset).
    if sign != -1:
        return None, 1, 0
    return _metric_name(operand, reader, handles), -1, offset


def _number(expr: ast.expr) -> int | float | None:
    """The value of a numeric literal (`1`, `-1`, `1.0`), else None."""
    negative = isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub)
    if negative:
        expr = expr.operand
    if (
        isinstance(expr, ast.Constant)
        and type(expr.value) in (int, float)
        and math.isfinite(expr.value)
    ):
        return -expr.value if negative else expr.value
    return None


def _metric_name(expr: ast.expr, reader: _Reader, handles: Sequence[Handle]) -> str:
    """A readable name for the negated expression: its string key
    (`h.history["val_acc"]` -> val_acc), its name or attribute, else its text."""
    while (
        isinstance(expr, ast.Call)
        and len(expr.args) == 1
        and not expr.keywords
        and last_name(expr.func) in REDUCERS
    ):
        expr = expr.args[0]
    keys = {
        n.slice.value
        for n in ast.walk(expr)
        if isinstance(n, ast.Subscript)
        and isinstance(n.slice, ast.Constant)
        and isinstance(n.slice.value, str)
        and n.slice.value.isprintable()  # a summary row stays one line
    }
    if len(keys) == 1:
        return keys.pop()
    if isinstance(expr, ast.Call) and last_name(expr.func):
        return last_name(expr.func)  # -clf.score(x, y): score
    if isinstance(expr, (ast.Name, ast.Attribute)):
        return last_name(expr)
    return reader.text(expr, handles)


def one_line(segment: str, handles: Sequence[Handle] = ()) -> str:
    """An expression's source text on one line, comments dropped, handles as written."""
    for handle in handles:
        pattern = r"\(" + re.escape(handle.placeholder) + r"\s*\)"
        written = "{{" + handle.inner + "}}"
        segment = re.sub(pattern, lambda _, text=written: text, segment)
        # The node of a handle alone is the placeholder name, without its parentheses.
        segment = segment.replace(handle.placeholder, written)
    if "\n" not in segment and "#" not in segment:
        return segment.strip()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"({segment})").readline))
    except (tokenize.TokenError, SyntaxError):
        return " ".join(segment.split())
    layout = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER)
    kept = [t for t in tokens if t.type not in layout][1:-1]  # the added parentheses
    parts: list[str] = []
    for previous, tok in zip([None, *kept], kept):
        if previous is not None and previous.end[0] == tok.start[0]:
            parts.append(" " * (tok.start[1] - previous.end[1]))
        elif previous is not None and not (
            previous.string in "([{" or tok.string in ")]},"
        ):
            parts.append(" ")
        parts.append(tok.string)
    return "".join(parts)

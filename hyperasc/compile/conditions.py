"""Stage 3a: which handles run only when a choice takes certain options.

hyperopt samples a parameter nested in a choice's option only when that
option is drawn. A handle in the branch of an `if` (or of `a if test else b`)
whose test compares a choice with constants runs only for the options that
pass (or fail) the test, so it becomes a parameter of those options.

The rule is proved from the model function's text, or not applied: a test
must read one choice of literal options, directly or through a name bound
once from it, and be built from ==, !=, <, <=, >, >=, in, not in, is (None,
True, False), not, and, or and the choice's truthiness. A handle that such an `if` seems
to decide but the compiler cannot prove (the name bound again, the `if` in
a loop body, a helper called from outside the branch or from every branch)
stays where it was, with a note that says why.
"""

from __future__ import annotations

import ast
import operator
import warnings
from dataclasses import dataclass, field

from .discovery import last_name, target_name
from .records import Handle

_SCALARS = (str, int, float, bool, type(None))
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
# `3 < n` is `n > 3`.
_FLIPPED = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_LOOPS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


@dataclass(frozen=True)
class Condition:
    """A handle runs only when the choice `decider` (a placeholder) takes one of `options`."""

    decider: str
    options: tuple[int, ...]  # option indices, ascending


@dataclass
class Conditions:
    """What the analysis found, by placeholder."""

    of: dict[str, Condition] = field(default_factory=dict)
    # A choice in an `if` test: a name from what its branch builds (the assigned name, the call).
    names: dict[str, str] = field(default_factory=dict)
    # Handles an `if` seemed to decide but stay as they were: why, as a note's text
    # after the handle's name ("is not conditional on the if at line 7: ..."), and a hint.
    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)


# A frame of the walk: ("if", decider, options, line) for a branch proved to run only
# for those options, or ("blocked", reason) for a branch that could not be proved.
Frame = tuple
_TEST_HINT = (
    "compare one choice (or a name bound once from it) with constants: "
    "==, !=, in, not in, is None, its truth; combined with not, and, or"
)
_REBOUND_HINT = "bind the choice to a name once; give a changed value a name of its own"
_HELPER_HINT = (
    "to sample it only in one branch, give that branch its own handle "
    "or call the helper only there"
)


def find_conditions(
    text: str,
    handles: list[Handle],
    model_name: str,
    identities: frozenset[str] = frozenset(),
) -> Conditions:
    """The conditions of the handles of `handles` in the substituted module `text`.

    `identities` are the names of hyperas's `conditional`: a test reads
    `conditional(x)` as x.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes: discovery parsed it already
        tree = ast.parse(text)
    functions = {
        n.name: n
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    model = functions.get(model_name)
    if model is None:
        return Conditions()
    walker = _Walker(model, handles, model_name, identities)
    walker.walk_body(model.body, (), False)
    result = Conditions(names=walker.names)
    for handle in handles:
        site = handle.site
        if site is None or site.at_import:
            continue
        if site.function == model_name:
            frames = walker.found.get(handle.placeholder)
            if frames is None:
                continue
            condition, reason = _resolve(frames)
        elif site.function in functions:
            condition, reason = walker.through_helper(
                site.function, functions[site.function], tree
            )
        else:
            continue
        if condition is not None:
            result.of[handle.placeholder] = condition
        if reason is not None:
            result.reasons[handle.placeholder] = reason
    _drop_cycles(result)
    return result


class _Walker:
    """One walk of the model function: each handle's frames, each helper's call sites."""

    def __init__(
        self,
        model: ast.AST,
        handles: list[Handle],
        model_name: str,
        identities: frozenset[str] = frozenset(),
    ):
        self.model = model
        self.identities = identities  # hyperas's conditional(x), which returns x
        by_placeholder = {h.placeholder: h for h in handles}
        self.placeholders = set(by_placeholder)
        # Choices the tests may read: literal scalar options, in the model function.
        self.options: dict[str, list] = {}
        for h in handles:
            values = _option_values(h)
            if values is not None and h.site and h.site.function == model_name:
                self.options[h.placeholder] = values
        self.helpers = {
            h.site.function
            for h in handles
            if h.site and h.site.function not in (None, model_name)
        }
        self.aliases: dict[str, str] = (
            {}
        )  # name bound once from a choice -> placeholder
        self.rebound: dict[str, int] = {}  # such a name bound again -> a line that does
        self._read_aliases()
        self.found: dict[str, tuple[Frame, ...]] = {}
        self.calls: dict[str, list[tuple[tuple[Frame, ...], int]]] = {}
        self.names: dict[str, str] = {}

    def _read_aliases(self) -> None:
        binds: dict[str, list[int]] = {}
        for node in ast.walk(self.model):
            for name in _bound_names(node):
                binds.setdefault(name, []).append(getattr(node, "lineno", 0))
        args = self.model.args
        params = [
            a.arg
            for a in args.posonlyargs + args.args + args.kwonlyargs
            if a is not None
        ]
        params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        for node in _own_scope(self.model):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Name)
                and node.value.id in self.options
            ):
                name = node.targets[0].id
                lines = binds.get(name, [])
                if len(lines) == 1 and name not in params:
                    self.aliases[name] = node.value.id
                else:
                    others = [n for n in lines if n != node.lineno] or lines
                    self.rebound[name] = others[0] if others else node.lineno

    # -- the walk ------------------------------------------------------------

    def walk_body(self, body: list, frames: tuple, in_loop: bool) -> None:
        for stmt in body:
            self.walk(stmt, frames, in_loop)

    def walk(self, node: ast.AST, frames: tuple, in_loop: bool) -> None:
        if isinstance(node, ast.Name):
            if node.id in self.placeholders:
                self.found[node.id] = frames
            elif node.id in self.helpers and isinstance(node.ctx, ast.Load):
                self.calls.setdefault(node.id, []).append((frames, node.lineno))
            return
        if isinstance(node, (ast.If, ast.IfExp)):
            self.walk(node.test, frames, in_loop)
            body, orelse = self._branches(node, in_loop)
            if isinstance(node, ast.If):
                self.walk_body(node.body, frames + body, in_loop)
                self.walk_body(node.orelse, frames + orelse, in_loop)
            else:
                self.walk(node.body, frames + body, in_loop)
                self.walk(node.orelse, frames + orelse, in_loop)
            return
        if isinstance(node, _LOOPS):
            # A for's iterable and a comprehension's first one are evaluated once.
            once = None
            if isinstance(node, (ast.For, ast.AsyncFor)):
                once = node.iter
            elif not isinstance(node, ast.While):
                once = node.generators[0].iter
            if once is not None:
                self.walk(once, frames, in_loop)
            for child in ast.iter_child_nodes(node):
                if child is not once:
                    self.walk(child, frames, True)
            return
        for child in ast.iter_child_nodes(node):
            self.walk(child, frames, in_loop)

    def _branches(self, node: ast.If | ast.IfExp, in_loop: bool) -> tuple:
        """The frames for the branches of `node`: what each branch may assume."""
        what = "if" if isinstance(node, ast.If) else "conditional expression"
        where = f"the {what} at line {node.lineno}"
        test = self._test(node.test)
        if test is None:
            return (), ()
        if isinstance(test, str):
            blocked = (
                "blocked",
                (
                    f"is not conditional on {where}: its test {test}",
                    _REBOUND_HINT if test.startswith("reads ") else _TEST_HINT,
                ),
            )
            return (blocked,), (blocked,)
        decider, passing = test
        count = len(self.options[decider])
        failing = tuple(i for i in range(count) if i not in passing)
        if in_loop:
            blocked = (
                "blocked",
                (
                    f"is not conditional on {where}: it is in a loop body, and hyperasc "
                    "makes a handle conditional only on a test that runs once per trial",
                    "to make it conditional, test the choice before the loop",
                ),
            )
            return (blocked,), (blocked,)
        if isinstance(node, ast.If) and _reads(node.test, {decider}):
            hint = _decides(node, self.placeholders)
            if hint is not None:
                self.names.setdefault(decider, hint)
        if not passing or not failing:
            return (), ()  # one branch always runs: nothing to nest
        return (
            (("if", decider, passing, node.lineno),),
            (("if", decider, failing, node.lineno),),
        )

    # -- tests -----------------------------------------------------------------

    def _test(self, node: ast.expr):
        """(decider, passing option indices), a reason it cannot be proved, or None
        when the test reads no choice at all."""
        deciders = {self._decider(n) for n in ast.walk(node) if isinstance(n, ast.Name)}
        deciders.discard(None)
        rebound = sorted(
            {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and n.id in self.rebound
            }
        )
        if rebound:
            name = rebound[0]
            return f"reads '{name}', which is bound again at line {self.rebound[name]}"
        if not deciders:
            return None
        truth = self._truth(node) if len(deciders) == 1 else None
        if truth is None:
            return "is not a comparison of one choice with constants"
        return truth

    def _decider(self, node: ast.Name) -> str | None:
        if node.id in self.options:
            return node.id
        return self.aliases.get(node.id)

    def _unwrap(self, node: ast.expr) -> ast.expr:
        """`conditional(x)` (hyperas's identity) is x."""
        while (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in self.identities
            and len(node.args) == 1
            and not node.keywords
        ):
            node = node.args[0]
        return node

    def _truth(self, node: ast.expr) -> tuple[str, tuple[int, ...]] | None:
        node = self._unwrap(node)
        if isinstance(node, ast.Name):
            decider = self._decider(node)
            if decider is None:
                return None
            return decider, _passing(self.options[decider], bool)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self._truth(node.operand)
            if inner is None:
                return None
            count = len(self.options[inner[0]])
            return inner[0], tuple(i for i in range(count) if i not in inner[1])
        if isinstance(node, ast.BoolOp):
            parts = [self._truth(v) for v in node.values]
            if any(p is None for p in parts) or len({p[0] for p in parts}) != 1:
                return None
            sets = [set(p[1]) for p in parts]
            joined = (
                set.intersection(*sets)
                if isinstance(node.op, ast.And)
                else set.union(*sets)
            )
            return parts[0][0], tuple(sorted(joined))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return self._compare(node.left, node.ops[0], node.comparators[0])
        return None

    def _compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr):
        left, right = self._unwrap(left), self._unwrap(right)
        decider = self._decider(left) if isinstance(left, ast.Name) else None
        if decider is None and type(op) in _COMPARE and isinstance(right, ast.Name):
            decider, left, right = self._decider(right), right, left  # 'adam' == opt
            op = _FLIPPED.get(type(op), type(op))()
        if decider is None:
            return None
        try:
            constant = ast.literal_eval(right)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        values = self.options[decider]
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(constant, (tuple, list, set, frozenset)) or not all(
                isinstance(c, _SCALARS) for c in constant
            ):
                return None
            passing = _passing(values, lambda v: v in constant)
            if isinstance(op, ast.NotIn):
                passing = tuple(i for i in range(len(values)) if i not in passing)
            return decider, passing
        if type(op) not in _COMPARE or not isinstance(constant, _SCALARS):
            return None
        if isinstance(op, (ast.Is, ast.IsNot)) and not isinstance(
            constant, (bool, type(None))
        ):
            return None  # `is` with other constants depends on the interpreter
        compare = _COMPARE[type(op)]
        try:
            return decider, _passing(values, lambda v: compare(v, constant))
        except TypeError:  # None < 1: the model would fail the same way
            return None

    # -- helpers ---------------------------------------------------------------

    def through_helper(self, name: str, node: ast.AST, tree: ast.Module):
        """A helper's handle: conditional when every use of the helper is in branches
        of one choice that do not cover all of its options."""
        sites = self.calls.get(name, [])
        resolved = [(_resolve(frames), line) for frames, line in sites]
        conditional = [r for r in resolved if r[0][0] is not None]
        if not conditional:
            reasons = [r[0][1] for r in resolved if r[0][1] is not None]
            return None, (reasons[0] if reasons else None)
        elsewhere = [
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.Name)
            and n.id == name
            and not _inside(n, self.model, node)
        ]
        outside = [line for (c, _), line in resolved if c is None] + elsewhere
        if outside:
            return None, (
                f"stays unconditional: it is in {name}(), which also runs outside "
                f"the branch, at line {min(outside)}",
                _HELPER_HINT,
            )
        deciders = {c.decider for (c, _), _ in conditional}
        if len(deciders) != 1:
            lines = ", ".join(str(line) for _, line in conditional)
            return None, (
                f"stays unconditional: it is in {name}(), called in branches of "
                f"different choices (lines {lines})",
                _HELPER_HINT,
            )
        decider = deciders.pop()
        options = sorted({i for (c, _), _ in conditional for i in c.options})
        if len(options) == len(self.options[decider]):
            lines = ", ".join(str(line) for _, line in conditional)
            return None, (
                f"stays unconditional: it is in {name}(), called from every branch "
                f"of the choice (lines {lines})",
                _HELPER_HINT,
            )
        return Condition(decider, tuple(options)), None


def _resolve(frames: tuple) -> tuple[Condition | None, tuple[str, str] | None]:
    """The innermost proved condition (same-choice frames intersected) and, when a
    branch could not be proved inside it, why."""
    condition = None
    reason = None
    sets: dict[str, set[int]] = {}
    for frame in frames:
        if frame[0] == "if":
            _, decider, options, _ = frame
            sets[decider] = sets.get(decider, set(options)) & set(options)
            condition = Condition(decider, tuple(sorted(sets[decider])))
            reason = None
        elif reason is None:
            reason = frame[1]
    if condition is not None and not condition.options:
        return None, reason  # a branch no option reaches: leave it alone
    return condition, reason


def _drop_cycles(result: Conditions) -> None:
    """A handle conditional on itself, or on a choice conditional on it, stays unconditional."""
    for placeholder in sorted(result.of):
        seen = {placeholder}
        current = result.of.get(placeholder)
        while current is not None:
            if current.decider in seen:
                del result.of[placeholder]
                break
            seen.add(current.decider)
            current = result.of.get(current.decider)


def _option_values(handle: Handle) -> list | None:
    """A choice's option values when each is a literal scalar, else None."""
    dist = handle.distribution
    if dist is None or dist.dist not in ("choice", "pchoice") or not dist.options:
        return None
    values = []
    for option in dist.options:
        if option.kind != "literal":
            return None
        try:
            value = ast.literal_eval(option.text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        if not isinstance(value, _SCALARS):
            return None
        values.append(value)
    return values


def _passing(values: list, test) -> tuple[int, ...]:
    return tuple(i for i, v in enumerate(values) if test(v))


def _reads(node: ast.AST, placeholders: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in placeholders for n in ast.walk(node))


def _inside(node: ast.AST, *scopes: ast.AST) -> bool:
    """Whether `node` lies within one of `scopes` (by source span)."""
    for scope in scopes:
        if (scope.lineno, scope.col_offset) <= (node.lineno, node.col_offset) and (
            node.end_lineno,
            node.end_col_offset,
        ) <= (scope.end_lineno, scope.end_col_offset):
            return True
    return False


def _own_scope(function: ast.AST) -> list[ast.AST]:
    """The nodes of `function`'s own scope: not those of functions or classes inside it."""
    nodes, pending = [], list(ast.iter_child_nodes(function))
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    while pending:
        node = pending.pop()
        nodes.append(node)
        if not isinstance(node, scopes):
            pending.extend(ast.iter_child_nodes(node))
    return nodes


def _bound_names(node: ast.AST) -> list[str]:
    """The names `node` binds (or declares global/nonlocal, or deletes)."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _decides(node: ast.If, placeholders: set[str]) -> str | None:
    """What an `if` decides, where its branches say so: a name that every branch
    assigns (`optimizer = Adam(...)` / `optimizer = SGD(...)`), else the first
    name a branch assigns or the class it builds (`model.add(Dropout(...))`).

    An assignment of a handle names that handle, not the choice, and `x += ...`
    changes a value the branch does not build: neither names it.
    """
    branches = [b for b in (node.body, node.orelse) if b]
    built = [[_builds(stmt, placeholders) for stmt in body] for body in branches]
    if len(built) == 2:
        shared = [n for n in built[0] if n is not None and n in built[1]]
        if shared:
            return shared[0]
    for names in built:
        for name in names:
            if name is not None:
                return name
    return None


def _builds(stmt: ast.stmt, placeholders: set[str]) -> str | None:
    """The name a statement builds, in the sense of _decides."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        if isinstance(stmt.value, ast.Name) and stmt.value.id in placeholders:
            return None  # `lr = {{...}}`: the handle's name
        name = target_name(stmt.targets[0])
        return name if name is not None and name.isidentifier() else None
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        if call.args and isinstance(call.args[0], ast.Call):
            call = call.args[0]  # model.add(Dropout(...)) builds a Dropout
        name = last_name(call.func)
        # A class builds something (Dropout); print(...) or log(...) does not.
        return name if name is not None and name[:1].isupper() else None
    return None

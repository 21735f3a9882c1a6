"""What a name refers to where it is used: an import, or a binding of the file's own.

Python's own rules, by hand over the ast: function parameters and assignments
make a name local to its function (anywhere in it, before or after the use),
class bodies do not reach into their methods, comprehensions have a scope of
their own, `global` and `nonlocal` send a name elsewhere. A name bound two ways
in one scope (imported, and assigned too) counts as the file's own: a rewrite
must be sure. Star imports only ever fill in names nothing binds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True)
class Binding:
    """What a name stands for: `origin` is the dotted import ("keras.layers.Dense",
    "numpy") or None for a binding of the file's own (an assignment, a parameter, a def).
    """

    origin: str | None

    @property
    def imported(self) -> bool:
        return self.origin is not None


LOCAL = Binding(None)


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "function", "class", "comprehension"
    parent: Scope | None
    names: dict[str, set[str | None]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    stars: list[str] = field(default_factory=list)

    def bind(self, name: str, origin: str | None = None) -> None:
        self.names.setdefault(name, set()).add(origin)


class Scopes:
    """The scopes of one tree, and which scope every node sits in.

    `root`: for a handle's inside, the scope its placeholder sits in; its
    names are looked up from there.
    """

    def __init__(
        self, tree: ast.AST, root: Scope | None = None, outer: Scopes | None = None
    ):
        self.module = root or Scope("module", None)
        top = self.module if root is None else Scope("comprehension", root)
        self.scope_of: dict[ast.AST, Scope] = {}
        # Every import in the file, any scope; a handle's inside shares its file's.
        self.imports: dict[str, set[str]] = outer.imports if outer else {}
        self._own: set[str] | None = None if outer is None else outer.own_names()
        self._walk(tree, top)

    # -- building --

    def _walk(self, node: ast.AST, scope: Scope) -> None:
        self.scope_of[node] = scope
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            self._function(node, scope)
        elif isinstance(node, ast.ClassDef):
            self._class(node, scope)
        elif isinstance(node, _COMPREHENSIONS):
            self._comprehension(node, scope)
        else:
            self._bindings(node, scope)
            for child in ast.iter_child_nodes(node):
                self._walk(child, scope)

    def _bindings(self, node: ast.AST, scope: Scope) -> None:
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            self._store(node.id, scope)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self._import(alias.asname, alias.name, scope)
                else:
                    root = alias.name.split(".")[0]
                    self._import(root, root, scope)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if node.level or not node.module:
                    if alias.name != "*":
                        self._store(alias.asname or alias.name, scope)
                elif alias.name == "*":
                    scope.stars.append(node.module)
                else:
                    full = f"{node.module}.{alias.name}"
                    self._import(alias.asname or alias.name, full, scope)
        elif isinstance(node, ast.Global):
            scope.globals.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            scope.nonlocals.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self._store(node.name, scope)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            self._store(node.name, scope)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            self._store(node.rest, scope)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            # `(x := ...)` in a comprehension binds in the enclosing function.
            target = scope
            while target.kind == "comprehension" and target.parent is not None:
                target = target.parent
            self._store(node.target.id, target)

    def _store(self, name: str, scope: Scope) -> None:
        self._target(name, scope).bind(name)

    def _import(self, name: str, origin: str, scope: Scope) -> None:
        self._target(name, scope).bind(name, origin)
        self.imports.setdefault(name, set()).add(origin)

    def _target(self, name: str, scope: Scope) -> Scope:
        if name in scope.globals:
            return self.module
        if name in scope.nonlocals:
            outer = scope.parent
            while outer is not None and (
                outer.kind == "class" or name not in outer.names
            ):
                if outer.parent is None:
                    break
                outer = outer.parent
            return outer or scope
        return scope

    def _function(self, node: ast.AST, scope: Scope) -> None:
        args = node.args
        outer: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d)]
        if not isinstance(node, ast.Lambda):
            scope.bind(node.name)
            outer += node.decorator_list
            if node.returns:
                outer.append(node.returns)
            outer += [a.annotation for a in _arguments(args) if a.annotation]
        for child in outer:
            self._walk(child, scope)
        inner = Scope("function", scope)
        # global/nonlocal first: they decide where the body's bindings go.
        for child in ast.walk(node):
            if isinstance(child, ast.Global):
                inner.globals.update(child.names)
            elif isinstance(child, ast.Nonlocal):
                inner.nonlocals.update(child.names)
        for arg in _arguments(args):
            self.scope_of[arg] = inner
            inner.bind(arg.arg)
        body = node.body if isinstance(node.body, list) else [node.body]
        for child in body:
            self._walk(child, inner)

    def _class(self, node: ast.ClassDef, scope: Scope) -> None:
        scope.bind(node.name)
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self._walk(child, scope)
        inner = Scope("class", scope)
        for child in node.body:
            self._walk(child, inner)

    def _comprehension(self, node: ast.AST, scope: Scope) -> None:
        generators = node.generators
        self._walk(generators[0].iter, scope)  # evaluated outside
        inner = Scope("comprehension", scope)
        for index, generator in enumerate(generators):
            self.scope_of[generator] = inner
            if index:
                self._walk(generator.iter, inner)
            self._walk(generator.target, inner)
            for condition in generator.ifs:
                self._walk(condition, inner)
        for child in (
            (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
        ):
            self._walk(child, inner)

    # -- looking up --

    def resolve(self, node: ast.AST, name: str | None = None) -> Binding | None:
        """What `name` (by default the Name node's own) means where `node` is.

        None: nothing in the file binds it (a builtin, a typo, or hyperas's
        habit of hoisting every import: see `hoisted`).
        """
        name = name or node.id
        scope = self.scope_of.get(node, self.module)
        first = True
        while scope is not None:
            if name in scope.globals:
                scope = self._root(scope)
            if (first or scope.kind != "class") and name in scope.names:
                origins = scope.names[name]
                if len(origins) == 1 and None not in origins:
                    return Binding(next(iter(origins)))
                return LOCAL
            first = False
            scope = scope.parent
        return None

    def _root(self, scope: Scope) -> Scope:
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def stars(self) -> list[str]:
        return self._root(self.module).stars

    def hoisted(self, name: str) -> str | None:
        """The one module a name is imported from anywhere in the file: hyperas
        copies every import to the top of the script it runs."""
        origins = self.imports.get(name, set())
        return next(iter(origins)) if len(origins) == 1 else None

    def own_names(self) -> set[str]:
        """The names the file binds itself somewhere (not by an import)."""
        if self._own is None:
            scopes = {id(s): s for s in self.scope_of.values()}.values()
            self._own = {n for s in scopes for n, o in s.names.items() if None in o}
        return self._own


def _arguments(args: ast.arguments) -> list[ast.arg]:
    out = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        out.append(args.vararg)
    if args.kwarg:
        out.append(args.kwarg)
    return out

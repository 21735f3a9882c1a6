"""One index of the module, as written, for discovery and the hyperas rules.

One walk of the parsed model file (handles already placeholders) answers
every question the later stages ask: which statements are imports, driver
code or definitions, what each top-level function mentions, reads and
binds, which names come from hyperas (one detector of hyperas imports), and
the source text of any node. Also the small `ast` helpers they share.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from ..text.lines import split_lines
from .mutations import mutated_names

BUILTINS = set(dir(builtins))

# hyperas calls that run a search: their model= names a model function.
SEARCH_CALLS = ("minimize", "best_models", "best_ensemble")


@dataclass
class Function:
    name: str
    params: list[str]
    text: str
    line: int
    locals: set[str]


@dataclass
class Statement:
    """A carried top-level statement (a helper function, class or constant)."""

    text: str
    binds: set[str]
    line: int


def is_hyperas_import(node: ast.Import | ast.ImportFrom) -> bool:
    """An import of hyperas or one of its modules, and nothing else."""
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and _is_hyperas_name(node.module or "")
    return all(_is_hyperas_name(a.name) for a in node.names)


def _is_hyperas_name(module: str) -> bool:
    return module.split(".")[0] == "hyperas"


class ModuleIndex:
    """The module's top-level statements sorted by role, and what each function does.

    `text` is the file with handles replaced and `tree` parsed from it. Node
    texts (`segment`) come from `text` with the hyperas imports inside
    functions blanked to `pass` (blank_statements): the script must not need
    hyperas.
    """

    def __init__(self, text: str, tree: ast.Module):
        self.tree = tree
        # What each top-level function mentions, reads (less what it declares global).
        self.function_names: dict[str, set[str]] = {}
        self.function_reads: dict[str, set[str]] = {}
        self.declared_globals: dict[str, set[str]] = {}
        self.calls: list[ast.Call] = []
        self.assigned_calls: dict[str, ast.Call] = {}  # `trials = MongoTrials(...)`
        self.imported: set[str] = set()  # names module-level imports bind
        # from hyperas... import x as y: {y: (x, import)}; hyperas imports inside
        # functions and classes; the names optim and optim.minimize go by.
        self.hyperas: dict[str, tuple[str, ast.AST]] = {}
        self.nested_hyperas: list[ast.stmt] = []
        self.optim_names: set[str] = set()
        self.minimize_names: set[str] = set()
        for stmt in tree.body:
            self._index(stmt)
        self.optim_names = self.optim_names or {"optim"}
        # `pass` where a function imports hyperas: the script must not need hyperas.
        text = blank_statements(text, self.nested_hyperas)
        self.lines = split_lines(text, keepends=True)
        # The statements by role.
        self._local_names: dict[ast.AST, set[str]] = {}
        self.future_imports: list[str] = []
        self.imports: list[str] = []
        self.definitions: list[tuple[ast.stmt, set[str]]] = []
        self.functions: dict[str, ast.FunctionDef] = {}
        self.module_names: set[str] = set()
        self.star_import = False
        self.minimize_call: ast.Call | None = None  # the first optim.minimize(...)
        # The main block ("main") and other module-level statements that run a
        # hyperas search ("search"): the script's own main() replaces them.
        self.driver: list[tuple[ast.stmt, str]] = []
        self.driver_binds: set[str] = set()
        for stmt in tree.body:
            self._visit(stmt)

    def _index(self, stmt: ast.stmt) -> None:
        is_function = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
        nested = is_function or isinstance(stmt, ast.ClassDef)
        names: set[str] = set()
        reads: set[str] = set()
        declared: set[str] = set()
        for node in ast.walk(stmt):
            kind = type(node)
            if kind is ast.Name:
                names.add(node.id)
                if type(node.ctx) is ast.Load:
                    reads.add(node.id)
            elif kind is ast.Global:
                declared.update(node.names)
            elif kind is ast.Call:
                self.calls.append(node)
            elif kind is ast.Assign and isinstance(node.value, ast.Call):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assigned_calls[target.id] = node.value
            elif kind is ast.Import or kind is ast.ImportFrom:
                self._import(node, nested)
        if is_function:
            self.function_names[stmt.name] = names
            self.function_reads[stmt.name] = reads
            self.declared_globals[stmt.name] = declared

    def _import(self, node: ast.Import | ast.ImportFrom, nested: bool) -> None:
        if not nested:
            self.imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
        if isinstance(node, ast.ImportFrom) and is_hyperas_import(node):
            for alias in node.names:
                if alias.name != "*":
                    self.hyperas[alias.asname or alias.name] = (alias.name, node)
                if alias.name == "optim":
                    self.optim_names.add(alias.asname or "optim")
                elif alias.name == "minimize":
                    self.minimize_names.add(alias.asname or "minimize")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "hyperas.optim":
                    self.optim_names.add(alias.asname or "hyperas.optim")
        if nested and is_hyperas_import(node):
            self.nested_hyperas.append(node)

    def _visit(self, stmt: ast.stmt) -> None:
        minimize_call = self._find_minimize(stmt)
        if minimize_call is not None and self.minimize_call is None:
            self.minimize_call = minimize_call
        if _is_main_block(stmt):
            self.driver.append((stmt, "main"))
            return
        if _is_import_block(stmt):
            self._visit_import(stmt)
            return
        if _sets_environment(stmt) or prepares_imports(stmt):
            # Often there to quieten or configure TensorFlow before it is
            # imported (or sys.path.append, matplotlib.use), so it keeps its place among the imports.
            self.imports.append(self.segment(stmt))
            return
        if minimize_call is not None:
            self.driver.append((stmt, "search"))
            self.driver_binds |= _bound_names(stmt)  # best_run, best_model
            return  # the hyperas driver code; the generated main() replaces it
        binds = _bound_names(stmt)
        self.module_names |= binds
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.functions[stmt.name] = stmt
        self.definitions.append((stmt, binds))

    def _visit_import(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            self.future_imports.append(self.segment(stmt))
            return
        imports = [
            n for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))
        ]
        kept = [n for n in imports if not is_hyperas_import(n)]
        if not kept:
            return
        mixed = isinstance(stmt, ast.Import) and any(
            _is_hyperas_name(a.name) for a in stmt.names
        )
        if mixed:  # `import os, hyperas.utils`: keep the other modules only
            stmt.names = [a for a in stmt.names if not _is_hyperas_name(a.name)]
        for node in kept:
            for alias in node.names:
                if alias.name == "*":
                    self.star_import = True
                else:
                    self.module_names.add((alias.asname or alias.name).split(".")[0])
        if len(kept) == len(imports) and not mixed:
            self.imports.append(self.segment(stmt))
        elif isinstance(stmt, ast.Import):
            self.imports.append(ast.unparse(stmt))
        else:
            self.imports.extend(ast.unparse(n) for n in kept)

    def _find_minimize(self, stmt: ast.stmt) -> ast.Call | None:
        optim_names, minimize_names = self.optim_names, self.minimize_names
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "minimize"
                and isinstance(func.value, ast.Name)
                and func.value.id in optim_names
            ):
                return node
            if isinstance(func, ast.Name) and func.id in minimize_names:
                return node
        return None

    def segment(self, node: ast.AST) -> str:
        first = getattr(node, "decorator_list", None)
        start_line = first[0].lineno if first else node.lineno
        start = char_col(
            self.lines[start_line - 1],
            first[0].col_offset if first else node.col_offset,
        )
        if first:
            start_line, start = self._at_sign(start_line, start)
        end = char_col(self.lines[node.end_lineno - 1], node.end_col_offset)
        if start_line == node.end_lineno:
            return self.lines[start_line - 1][start:end]
        body = self.lines[start_line - 1][start:] + "".join(
            self.lines[start_line : node.end_lineno - 1]
        )
        return body + self.lines[node.end_lineno - 1][:end]

    def _at_sign(self, line: int, column: int) -> tuple[int, int]:
        """Where the `@` of a decorator starting at (line, column) stands.

        `@ name`, `@(name)` and `@\\` + newline are all valid, so walk back over
        what may separate the two.
        """
        while True:
            column -= 1
            while column < 0:
                line -= 1
                if line < 1:
                    raise AssertionError("decorator without '@'")
                column = len(self.lines[line - 1]) - 1
            char = self.lines[line - 1][column]
            if char == "@":
                return line, column
            if char not in " \t\f\\\r\n(":
                raise AssertionError(f"unexpected {char!r} before a decorator")

    def function(self, name: str) -> Function:
        node = self.functions[name]
        params = [a.arg for a in node.args.posonlyargs + node.args.args]
        return Function(
            name, params, self.segment(node), node.lineno, self.local_names(node)
        )

    def local_names(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        """The names a top-level function binds, worked out once per function."""
        if node not in self._local_names:
            self._local_names[node] = _local_names(node)
        return self._local_names[node]

    def closure(self, roots: set[str], exclude: set) -> list[Statement]:
        """Top-level definitions that the roots need, transitively, in source order."""
        needed = set(roots)
        chosen: set[int] = set()
        # A statement that changes a carried value in place (`LAYERS.append(...)`) is
        # carried with it.
        bound = set().union(*(b for _, b in self.definitions))
        mutates = [mutated_names(stmt) & bound for stmt, _ in self.definitions]
        changed = True
        while changed:
            changed = False
            for i, (stmt, binds) in enumerate(self.definitions):
                if (
                    i in chosen
                    or not (binds & needed or mutates[i] & needed)
                    or (
                        binds & exclude
                        and isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                    )
                ):
                    continue
                chosen.add(i)
                needed |= names_read(stmt)
                changed = True
        return [
            Statement(self.segment(stmt), binds, stmt.lineno)
            for i, (stmt, binds) in enumerate(self.definitions)
            if i in chosen
        ]

    def free_names(self, function: str, local: set[str]) -> set[str]:
        """Names a top-level function reads that it does not bind: globals, builtins."""
        return self.function_reads[function] - (local - self.declared_globals[function])

    @property
    def mentioned(self) -> set[str]:
        """Every name some top-level function mentions."""
        return (
            set().union(*self.function_names.values()) if self.function_names else set()
        )

    def search_calls(self) -> list[tuple[str, ast.Call]]:
        """hyperas's optim.minimize / best_models / best_ensemble calls, in source order."""
        found = []
        for node in self.calls:
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in SEARCH_CALLS
                and dotted(func.value) in self.optim_names
            ):
                found.append((func.attr, node))
            elif isinstance(func, ast.Name) and func.id in self.minimize_names:
                found.append(("minimize", node))
        return sorted(found, key=lambda item: (item[1].lineno, item[1].col_offset))

    def handle_functions(self, placeholders: set[str]) -> set[str]:
        """Top-level functions that hold a handle."""
        return {
            name for name, names in self.function_names.items() if names & placeholders
        }


def char_col(line: str, byte_col: int) -> int:
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace"))


def _is_main_block(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    parts = [stmt.test.left, *stmt.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    consts = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and consts == {"__main__"}


def _sets_environment(stmt: ast.stmt) -> bool:
    """`os.environ[...] = ...`, `os.environ.update(...)`, `os.putenv(...)` and the like."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        targets = [stmt.value.func]
    else:
        return False
    return bool(targets) and all(_environment_target(t) for t in targets)


def _environment_target(target: ast.expr) -> bool:
    if "os.environ" in ast.unparse(target) or ast.unparse(target) == "os.putenv":
        return True
    base = target.value if isinstance(target, ast.Subscript) else target
    name = dotted_module(base) or ""  # __import__("os").environ[...] = ...
    return name == "os.putenv" or name.split(".")[:2] == ["os", "environ"]


def _is_import_block(stmt: ast.stmt) -> bool:
    """An import, or a try/if made only of imports (a fallback import)."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return True
    if not isinstance(stmt, (ast.Try, ast.If)):
        return False
    inner = [s for s in ast.walk(stmt) if isinstance(s, ast.stmt) and s is not stmt]
    allowed = (ast.Import, ast.ImportFrom, ast.Pass, ast.Try, ast.If, ast.Expr)
    return (
        bool(inner)
        and all(isinstance(s, allowed) for s in inner)
        and any(isinstance(s, (ast.Import, ast.ImportFrom)) for s in inner)
    )


def _bound_names(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds at module level."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    names = set()
    for node in _walk_scope(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _walk_scope(node: ast.AST):
    """ast.walk that does not enter nested function, class or lambda scopes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if current is not node and isinstance(
                current,
                (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda),
            ):
                continue
            stack.append(child)


def names_read(node: ast.AST) -> set[str]:
    return {
        n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _local_names(fn: ast.FunctionDef) -> set[str]:
    names = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)}
    for node in ast.walk(fn):
        if node is fn:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and not is_hyperas_import(
            node
        ):  # a function's hyperas import is blanked: it binds nothing in the script
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def inline_module(node: ast.AST) -> str | None:
    """The module of `__import__("keras")` or `importlib.import_module("keras")`, else None."""
    if not (
        isinstance(node, ast.Call)
        and len(node.args) >= 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return None
    name = dotted(node.func)
    if name in ("__import__", "importlib.import_module"):
        return node.args[0].value
    return None


def dotted_module(node: ast.expr) -> str | None:
    """dotted(), also through a module imported in place: `keras.config.x` for
    `__import__("keras").config.x`."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    base = inline_module(node) or dotted(node)
    return None if base is None else ".".join([base, *reversed(parts)])


def walk_now(node: ast.AST):
    """The nodes that run when `node` runs: nested function and lambda bodies are skipped,
    but their decorators and defaults (which run at definition) are not."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and isinstance(
            current, (ast.FunctionDef, ast.AsyncFunctionDef)
        ):
            stack.extend(current.decorator_list)
            stack.extend(
                d
                for d in current.args.defaults + current.args.kw_defaults
                if d is not None
            )
            continue
        if current is not node and isinstance(current, ast.Lambda):
            stack.extend(
                d
                for d in current.args.defaults + current.args.kw_defaults
                if d is not None
            )
            continue
        stack.extend(ast.iter_child_nodes(current))


def reads_now(node: ast.AST) -> set[str]:
    """Names read when `node` runs (a def's body runs later, so it does not count)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts = [
            *node.decorator_list,
            *(d for d in node.args.defaults + node.args.kw_defaults if d),
        ]
        return {
            n.id
            for p in parts
            for n in walk_now(p)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
    return {
        n.id
        for n in walk_now(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def calls_now(node: ast.AST) -> list[ast.Call]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    return [n for n in walk_now(node) if isinstance(n, ast.Call)]


def callee(call: ast.Call) -> tuple[str | None, str | None]:
    """(root name, last attribute) of a call: ("tf", "setLevel") for tf.get_logger().setLevel(...)."""
    func = call.func
    last = (
        func.attr
        if isinstance(func, ast.Attribute)
        else func.id if isinstance(func, ast.Name) else None
    )
    node = func
    while isinstance(node, (ast.Attribute, ast.Call)):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return (node.id if isinstance(node, ast.Name) else None), last


def prepares_imports(stmt: ast.stmt) -> bool:
    """`sys.path.append(...)`, `sys.path.insert(...)`, `matplotlib.use(...)`: they must stay among the imports."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    name = dotted_module(stmt.value.func) or ""
    return name in (
        "sys.path.append",
        "sys.path.insert",
        "sys.path.extend",
        "matplotlib.use",
        "site.addsitedir",
    )


def free_names(fn: ast.AST, local: set[str]) -> set[str]:
    """Names a function reads that it does not bind: globals, builtins."""
    read, declared = set(), set()
    for node in ast.walk(fn):  # one walk: model functions can be long
        kind = type(node)
        if kind is ast.Name and type(node.ctx) is ast.Load:
            read.add(node.id)
        elif kind is ast.Global:
            declared.update(node.names)
    return read - (local - declared)


def blank_statements(text: str, nodes: list[ast.stmt]) -> str:
    """`text` with each node replaced by `pass` and spaces: every other position stays put."""
    if not nodes:
        return text
    lines = text.split("\n")
    for node in nodes:
        for number in range(node.lineno, node.end_lineno + 1):
            line = lines[number - 1]
            encoded = line.encode("utf-8")
            start = node.col_offset if number == node.lineno else 0
            end = node.end_col_offset if number == node.end_lineno else len(encoded)
            start = len(encoded[:start].decode("utf-8", "replace"))
            end = len(encoded[:end].decode("utf-8", "replace"))
            filler = ("pass" if number == node.lineno else "").ljust(end - start)
            note = "pass  # hyperas import"
            if (
                node.lineno == node.end_lineno
                and len(note) <= end - start
                and not line[end:].strip()
            ):
                filler = note.ljust(end - start)
            lines[number - 1] = line[:start] + filler + line[end:]
    return "\n".join(lines)

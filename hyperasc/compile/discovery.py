"""Stage 2: read the module's structure with `ast` and find what to carry.

Input is the file with handles replaced by placeholder names (see scanner).
Output is plain data: imports, the helpers the model and data code need,
the model and data functions, the hyperas `optim.minimize` call if any,
and where each handle sits.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import tokenize
import warnings
from dataclasses import dataclass, field

from . import hyperas_compat, module_plan
from ..diagnostics import CompileError, Diagnostic, error
from .module_index import (
    BUILTINS,
    Function,
    ModuleIndex,
    Statement,
    char_col,
    names_read,
)
from .placeholders import restore_column
from .records import Handle, Site
from ..text.lines import split_lines

__all__ = [
    "BUILTINS",
    "Function",
    "Minimize",
    "Program",
    "Site",
    "Statement",
    "discover",
]

ALGORITHMS = ("tpe", "rand", "atpe", "anneal")


@dataclass
class Minimize:
    """What a hyperas `optim.minimize(...)` call says, read without running it."""

    model: str | None = None
    data: str | None = None
    algo: str | None = None
    max_evals: int | None = None
    # A warning where max_evals is an expression the compiler cannot read.
    max_evals_note: Diagnostic | None = None
    data_args: str | None = None
    data_args_node: ast.expr | None = None
    functions: list[str] = field(default_factory=list)


@dataclass
class Program:
    future_imports: list[str]
    imports: list[str]
    helpers: list[Statement]
    model: Function
    data: Function | None
    minimize: Minimize | None
    module_names: set[str]
    star_import: bool
    # Every handle of the file, its site filled in (None where no function holds it).
    handles: list[Handle]
    # hyperas compatibility (hyperas_compat): data()'s local variables that the model,
    # its helpers or the bounds read as globals; notes and warnings for the user;
    # the default of --keep-best from optim.best_ensemble(nb_ensemble_models=K).
    data_locals: list[str] = field(default_factory=list)
    notes: list[Diagnostic] = field(default_factory=list)
    keep_best: int | None = None
    # False when the model function takes no positional arguments: it gets none.
    model_takes_data: bool = True
    # "space" when the model reads hyperas's `space` unbound: the script binds it
    # to the running trial's values.
    space_alias: str | None = None
    # The names of hyperas's `conditional`, the identity: conditional(x) is x.
    identities: frozenset[str] = frozenset()


def discover(
    text: str,
    handles: list[Handle],
    model_fn: str | None = None,
    data_fn: str | None = None,
    extra_roots: set[str] = frozenset(),
) -> Program:
    """Parse the substituted module and pick out everything the script needs."""
    try:
        with warnings.catch_warnings():
            # Invalid escapes and the like are the user's business, not the compiler's output.
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = restore_column(handles, line, max((exc.offset or 1) - 1, 0)) + 1
        raise error(line, column, f"invalid syntax: {exc.msg}") from None
    if "\f" in text:
        # Valid Python, but black cannot parse a form feed in an indentation.
        text = _without_indent_form_feeds(text)
        tree = ast.parse(text)
    reader = ModuleIndex(text, tree)
    calls = reader.search_calls()
    minimize_call = reader.minimize_call or (calls[0][1] if calls else None)
    minimize = _read_minimize(minimize_call, reader, handles) if minimize_call else None
    data_name = (
        data_fn or (minimize and minimize.data) or _first(reader.functions, ("data",))
    )
    choice = hyperas_compat.choose_model(
        reader.functions,
        calls,
        model_fn,
        data_name,
        reader.handle_functions({h.placeholder for h in handles}),
        reader,
    )
    model_name = choice.name
    own = hyperas_compat.call_for(calls, model_name)
    if own is not None and (minimize is None or own is not calls[0][1]):
        # --model-fn picked the model of a later optim.minimize: its data, algo and max_evals apply.
        minimize_call, minimize = own, _read_minimize(own, reader, handles)
        data_name = data_fn or minimize.data or _first(reader.functions, ("data",))
    if model_name is None:
        raise error(
            1,
            1,
            "no model function found",
            "name it create_model or model, call optim.minimize(model=...), or pass --model-fn",
        )
    for flag, name in (("--model-fn", model_fn), ("--data-fn", data_fn)):
        if name is not None and name not in reader.functions:
            raise error(1, 1, f"{flag} {name}: no top-level function of that name")
    for role, name, call in (("model", model_name, own), ("data", data_name, None)):
        if name is not None and name not in reader.functions:
            # Named by optim.minimize(model=..., data=...): the error points at the name.
            raise _undefined(role, name, call or minimize_call, reader, handles)
    for role, name in (("model", model_name), ("data", data_name)):
        if name is not None and isinstance(
            reader.functions[name], ast.AsyncFunctionDef
        ):
            node = reader.functions[name]
            raise error(
                node.lineno,
                node.col_offset + 1,
                f"the {role} function '{name}' is async",
                "the tuning script calls it directly; make it a plain def",
            )
    if model_name == data_name:
        raise error(
            1,
            1,
            f"'{model_name}' cannot be both the model and the data function",
            "pass --data-fn as well, or name the functions apart",
        )
    model = reader.function(model_name)
    data = reader.function(data_name) if data_name else None
    if data is not None:
        args_node = minimize.data_args_node if minimize else None
        hyperas_compat.check_data_args(
            reader.functions[data_name],
            minimize is not None,
            minimize.data_args if minimize else None,
            args_node and _location(args_node, reader, handles),
        )
    node = reader.functions[model_name]
    required = len(node.args.posonlyargs + node.args.args) - len(node.args.defaults)
    if data is None and required > 0:
        # Without data() nothing supplies these arguments, and every trial would fail.
        raise error(
            node.lineno,
            node.col_offset + 1,
            f"{model_name}() takes {required} argument(s) but there is no data function",
            "add a data() that returns them, pass --data-fn, or give them defaults",
        )
    roots = names_read(reader.functions[model_name]) | set(extra_roots)
    if data_name:
        roots |= names_read(reader.functions[data_name])
    if minimize:
        roots |= set(minimize.functions)
    helpers, compat = module_plan.carry(reader, roots, model, data, extra_roots, calls)
    compat.notes = choice.notes + compat.notes
    if minimize is not None and minimize.max_evals_note is not None:
        compat.notes.append(minimize.max_evals_note)
    carried = {n for s in helpers for n in s.binds}
    read = hyperas_compat.space_read(
        [node, *(f for n, f in reader.functions.items() if n in carried)],
        reader,
        reader.module_names | set(compat.data_locals),
    )
    if read is not None:
        compat.notes.append(_space_note(read, reader, handles))
    dead = module_plan.redefined(tree.body)
    sites = _sites(tree, reader, handles, dead)
    compat.notes += _redefined_warnings(dead, sites, model_name, data_name)
    if choice.how != "name":
        # Several model functions in one file: the others' handles are theirs, not this script's.
        emitted = {model_name, data_name} | {n for s in helpers for n in s.binds}
        sites = {
            placeholder: dataclasses.replace(
                site,
                in_search=site.function not in reader.functions
                or site.function in emitted,
            )
            for placeholder, site in sites.items()
        }
    return Program(
        future_imports=reader.future_imports,
        imports=reader.imports,
        helpers=helpers,
        model=model,
        data=data,
        minimize=minimize,
        module_names=reader.module_names,
        star_import=reader.star_import,
        handles=[
            dataclasses.replace(h, site=sites.get(h.placeholder)) for h in handles
        ],
        data_locals=compat.data_locals,
        notes=compat.notes,
        keep_best=compat.keep_best,
        model_takes_data=bool(
            node.args.posonlyargs or node.args.args or node.args.vararg
        ),
        space_alias="space" if read is not None else None,
        identities=hyperas_compat.conditional_names(reader),
    )


def _without_indent_form_feeds(text: str) -> str:
    """`text` with the form feeds in its indentation taken out, as Python reads them.

    Python resets the indentation count at a form feed, so dropping the
    indentation up to the last one keeps the meaning. Lines that start inside
    a string are left alone. The AST is to be parsed again from the result.
    """
    in_string: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.start[0] < tok.end[0]:  # a multi-line string (or f-string part)
            in_string.update(range(tok.start[0] + 1, tok.end[0] + 1))
    lines = split_lines(text, keepends=True)
    for number, line in enumerate(lines, 1):
        indent = line[: len(line) - len(line.lstrip(" \t\f"))]
        if "\f" in indent and number not in in_string:
            lines[number - 1] = line[indent.rindex("\f") + 1 :]
    return "".join(lines)


def _first(functions: dict, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in functions), None)


def _location(node: ast.AST, reader: ModuleIndex, handles: list[Handle]) -> tuple:
    """(line, column) of a node of the substituted text, as the user's file has them."""
    column = char_col(reader.lines[node.lineno - 1], node.col_offset)
    return node.lineno, restore_column(handles, node.lineno, column) + 1


def _undefined(
    role: str,
    name: str,
    call: ast.Call | None,
    reader: ModuleIndex,
    handles: list[Handle],
) -> CompileError:
    message = f"{role} function '{name}' is not defined at the top level"
    value = next(
        (
            kw.value
            for kw in (call.keywords if call is not None else [])
            if kw.arg == role and isinstance(kw.value, ast.Name) and kw.value.id == name
        ),
        None,
    )
    if value is None:
        return error(1, 1, message)
    return error(
        *_location(value, reader, handles),
        message,
        f"optim.minimize({role}={name}) names it: define def {name}(...) at the top "
        "level of the model file, or name the function that is",
    )


def _space_note(read: ast.Name, reader: ModuleIndex, handles: list[Handle]):
    return Diagnostic(
        *_location(read, reader, handles),
        "'space' is the running trial's values (a dict keyed by parameter name), "
        "as in hyperas",
        "the script binds space to them; the names are those of `hyperasc space` "
        "and best.json",
        "note",
    )


def _read_minimize(
    call: ast.Call, reader: ModuleIndex, handles: list[Handle]
) -> Minimize:
    info = Minimize()
    for kw in call.keywords:
        value = kw.value
        if kw.arg in ("model", "data") and isinstance(value, ast.Name):
            setattr(info, kw.arg, value.id)
        elif kw.arg == "algo":
            root = value.value if isinstance(value, ast.Attribute) else value
            if isinstance(root, ast.Name) and root.id in ALGORITHMS:
                info.algo = root.id
        elif kw.arg == "max_evals":
            info.max_evals, info.max_evals_note = hyperas_compat.read_max_evals(
                value, reader.tree, lambda node: _location(node, reader, handles)
            )
        elif kw.arg == "data_args":
            info.data_args = _read_data_args(value, reader)
            info.data_args_node = value
        elif kw.arg == "functions" and isinstance(value, (ast.List, ast.Tuple)):
            info.functions = [e.id for e in value.elts if isinstance(e, ast.Name)]
    return info


def _read_data_args(value: ast.expr, reader: ModuleIndex) -> str | None:
    """data_args as source text, checked: the script passes it to data() as a literal."""
    text = reader.segment(value)
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        column = char_col(reader.lines[value.lineno - 1], value.col_offset) + 1
        raise error(
            value.lineno,
            column,
            "data_args must be a literal, such as ('train.csv', 10)",
            "the tuning script passes it to data() as written; move computed values into data()",
        ) from None
    return None if literal is None else text


def _redefined_warnings(
    dead: dict[ast.stmt, ast.stmt],
    sites: dict[str, Site],
    model_name: str,
    data_name: str | None,
) -> list[Diagnostic]:
    """A warning at a model, data or handle-holding function that a later def replaces."""
    holding = {s.function for s in sites.values() if not s.in_search}
    out = []
    for node, later in dead.items():
        role = {model_name: "model", data_name: "data"}.get(node.name)
        has_handles = node.name in holding
        if role is None and not has_handles:
            continue
        what = f"the {role} function " if role else ""
        out.append(
            Diagnostic(
                node.lineno,
                node.col_offset + 1,
                f"{what}'{node.name}' is defined again at line {later.lineno}: this "
                "definition is never used"
                + (
                    ", and its handles are not part of the search"
                    if has_handles
                    else ""
                ),
                "delete or rename one of the two definitions",
                "warning",
            )
        )
    return out


def _sites(
    tree: ast.Module,
    reader: ModuleIndex,
    handles: list[Handle],
    dead: dict[ast.stmt, ast.stmt],
) -> dict[str, Site]:
    """Where each handle stands. One walk of the module, whatever the number of handles."""
    by_name = {h.placeholder: h for h in handles}
    parents: dict[ast.AST, ast.AST] = {}
    tops: dict[ast.AST, ast.stmt] = {}  # node -> the top-level statement holding it
    for stmt in tree.body:
        for node in ast.walk(stmt):
            tops[node] = stmt
            for child in ast.iter_child_nodes(node):
                parents[child] = node
    sites: dict[str, Site] = {}
    problems: list[Diagnostic] = []
    for node, top in tops.items():
        handle = _placeholder_target(node, by_name)
        if handle is not None:
            problems.append(
                Diagnostic(
                    handle.start[0],
                    handle.start[1] + 1,
                    "a handle cannot be assigned to, deleted or bound as a name",
                    "a handle is a value; use it on the right-hand side",
                )
            )
            continue
        if not isinstance(node, ast.Name) or node.id not in by_name:
            continue
        handle = by_name[node.id]
        call = parents.get(node)
        if isinstance(call, ast.Call) and _is_glued_call(call, node, reader):
            callee = ast.unparse(call.func)
            problems.append(
                Diagnostic(
                    handle.start[0],
                    handle.start[1] + 1,
                    f"a handle cannot follow '{callee}' directly: Python would call {callee}",
                    "put an operator or a comma between them, or write the call's parentheses",
                )
            )
            continue
        if _in_variable_annotation(node, parents):
            problems.append(
                Diagnostic(
                    handle.start[0],
                    handle.start[1] + 1,
                    "a handle in a variable annotation is never evaluated in a function",
                    "annotations describe types; put the handle in the assigned value",
                )
            )
            continue
        is_function = isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef))
        function = (
            top.name
            if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            else None
        )
        local = reader.local_names(top) if is_function else set()
        sites[handle.placeholder] = Site(
            function,
            context_name(node, parents),
            frozenset(local),
            _runs_at_import(node, parents),
            top not in dead,
        )
    if problems:
        raise CompileError(problems)
    return sites


def _placeholder_target(node: ast.AST, by_name: dict[str, Handle]) -> Handle | None:
    """The handle `node` binds or deletes (`{{...}} = 1`, `for {{...}} in`, `case {{...}}:`), if any."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return by_name.get(node.id)
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return by_name.get(node.name)
    if isinstance(node, ast.MatchMapping) and node.rest:
        return by_name.get(node.rest)
    return None


def _in_variable_annotation(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether `node` stands in the annotation of `target: ANNOTATION [= value]`."""
    child, parent = node, parents.get(node)
    while parent is not None and not isinstance(parent, ast.stmt):
        child, parent = parent, parents.get(parent)
    return isinstance(parent, ast.AnnAssign) and child is parent.annotation


def _is_glued_call(call: ast.Call, node: ast.Name, reader: ModuleIndex) -> bool:
    """Whether the call's parentheses are the placeholder's own: `match {{...}}` read as a call.

    The scanner rejects a handle after an operand; this catches what the
    tokens alone cannot tell (a soft keyword used as a name).
    """
    if call.args != [node] or call.keywords or call.end_lineno is None:
        return False
    # From the end of the placeholder name to the end of the call there is only
    # its padding and one `)` when the parentheses are the placeholder's.
    lines = reader.lines
    start = char_col(lines[node.end_lineno - 1], node.end_col_offset)
    end = char_col(lines[call.end_lineno - 1], call.end_col_offset)
    if node.end_lineno == call.end_lineno:
        between = lines[node.end_lineno - 1][start:end]
    else:
        between = lines[node.end_lineno - 1][start:] + "".join(
            lines[node.end_lineno : call.end_lineno - 1]
        )
        between += lines[call.end_lineno - 1][:end]
    return between.strip() == ")"


def _runs_at_import(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether `node` is evaluated when the module runs, not inside a function call."""
    child, parent = node, parents.get(node)
    while parent is not None:
        # Only the body holds statements (a list test here would be quadratic in long bodies).
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and isinstance(
            child, ast.stmt
        ):
            return False
        if isinstance(parent, ast.Lambda) and child is parent.body:
            return False
        child, parent = parent, parents.get(parent)
    return True


def context_name(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """The hyperas-compatible name for a handle, or a name from its surroundings."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Assign) and child is parent.value:
            name = target_name(parent.targets[0]) if len(parent.targets) == 1 else None
            return name or "value"
        if (
            isinstance(parent, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr))
            and child is parent.value
        ):
            return target_name(parent.target) or "value"
        if isinstance(parent, ast.keyword) and parent.arg:
            return parent.arg
        if isinstance(parent, ast.Call) and child is not parent.func:
            callee = last_name(parent.func)
            if callee and parent.args and child is parent.args[0]:
                return callee
            if callee and child in parent.args:
                return f"{callee}_arg{parent.args.index(child)}"
        if isinstance(parent, ast.Dict) and child in parent.values:
            key = parent.keys[parent.values.index(child)]
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and key.value.isidentifier()
            ):
                return key.value
        if isinstance(parent, ast.comprehension):
            return "comprehension"
        if isinstance(parent, ast.stmt):
            return _STATEMENT_NAMES.get(type(parent), type(parent).__name__.lower())
        child, parent = parent, parents.get(parent)
    return "param"


_STATEMENT_NAMES = {
    ast.If: "if_cond",
    ast.While: "while_cond",
    ast.For: "for_iter",
    ast.Return: "return_value",
    ast.Expr: "expr",
    ast.FunctionDef: "default",
    ast.Assert: "assert_cond",
}


def target_name(target: ast.expr) -> str | None:
    """The name an assignment target gives its value: `x`, `self.x`, `d["x"]`."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if (
        isinstance(target, ast.Subscript)
        and isinstance(target.slice, ast.Constant)
        and isinstance(target.slice.value, str)
    ):
        return target.slice.value
    return None


def last_name(expr: ast.expr) -> str | None:
    """The name `x` and `obj.x` are known by, `x` (a callee: `obj.f(...)` is `f`)."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None

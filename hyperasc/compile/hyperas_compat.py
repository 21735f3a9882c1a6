"""What hyperas did with a model file beyond its handles, and how the script keeps it.

hyperas wrote `temp_model.py` from the file's imports, data()'s body pasted at
module level (so data()'s local variables were globals of the model), the
functions named in `functions=` and the model function; it never ran other
module-level code. This module holds the decisions that keep such files
working unchanged (see docs/migrating.md):

- which function is the model when a file has several (choose_model);
- hyperas helpers: `conditional`, and `space` (the trial's values) where the
  model reads it unbound (space_read);
- data()'s arguments: exactly data_args, as hyperas called it (check_data_args);
- located warnings for what the script does differently (best_ensemble,
  MongoTrials, sys.argv in data(), other names imported from hyperas).

module_plan.py holds the rules for module-level statements and data()'s
local variables; both read the one ModuleIndex (module_index.py), which
also detects hyperas imports. It works on `ast` only; nothing here imports
hyperas, hyperopt or Keras.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, error
from ..runtime import contract
from .handles import SIGNATURES
from .module_index import ModuleIndex, dotted

MODEL_NAMES = ("create_model", "model")
# The names hyperas.distributions exports: the distributions a handle may call.
DISTRIBUTION_NAMES = frozenset(SIGNATURES)


def read_max_evals(
    value: ast.expr, tree: ast.Module, where
) -> tuple[int | None, Diagnostic | None]:
    """optim.minimize(max_evals=...): a positive int, written out or in a module constant
    assigned once (`MAX_EVALS = 50`). A bad value is an error; an expression the compiler
    cannot read is a warning (the script's default stands). `where(node)` locates a node.
    """
    expression, node = ast.unparse(value), value
    if isinstance(value, ast.Name):
        binders = [
            n
            for n in _walk_module_scope(tree)
            if isinstance(n, ast.stmt) and value.id in _binds_here(n)
        ]
        single = binders[0] if len(binders) == 1 else None
        if (
            isinstance(single, ast.Assign)
            and len(single.targets) == 1
            and isinstance(single.targets[0], ast.Name)
        ) or (
            isinstance(single, ast.AnnAssign)
            and single.value is not None
            and isinstance(single.target, ast.Name)
        ):
            node = single.value
    try:
        literal = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        line, column = where(value)
        return None, Diagnostic(
            line,
            column,
            f"max_evals={expression} is not a number the compiler can read: the script's "
            f"default of {contract.DEFAULT_MAX_EVALS} trials is used",
            "write the number here or in a constant assigned once (MAX_EVALS = 50), "
            "or run the script with --max-evals N",
            "warning",
        )
    if isinstance(literal, int) and not isinstance(literal, bool) and literal > 0:
        return literal, None
    shown = expression if node is value else f"{expression} = {ast.unparse(node)}"
    raise error(
        *where(node),
        f"max_evals must be a positive whole number, got {shown}",
        "the number of trials to run, such as max_evals=50",
    )


def _walk_module_scope(tree: ast.Module):
    """The module's statements and their parts, not entering functions, classes or lambdas."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
        ):
            stack.extend(ast.iter_child_nodes(node))


def _binds_here(stmt: ast.stmt) -> set[str]:
    """Names one statement binds itself (not those of the statements it holds)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    parts: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        parts = list(stmt.targets)
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        parts = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        parts = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        parts = [i.optional_vars for i in stmt.items if i.optional_vars]
    elif isinstance(stmt, ast.Delete):
        parts = list(stmt.targets)
    else:
        parts = [
            n for n in ast.iter_child_nodes(stmt) if not isinstance(n, ast.stmt)
        ]  # walrus in a condition, except handlers' names below
    names = {
        n.id
        for part in parts
        for n in ast.walk(part)
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))
    }
    if isinstance(stmt, ast.Try):
        names |= {h.name for h in stmt.handlers if h.name}
    return names


def _note(node: ast.AST, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(node.lineno, node.col_offset + 1, message, hint, "note")


def _warning(node: ast.AST, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(node.lineno, node.col_offset + 1, message, hint, "warning")


# --- Which function is the model ---------------------------------------------------------


@dataclass
class ModelChoice:
    name: str | None
    how: str  # "flag", "call" (an optim.minimize call) or "name"
    notes: list[Diagnostic] = field(default_factory=list)


def call_for(calls: list[tuple[str, ast.Call]], model: str | None) -> ast.Call | None:
    """The first hyperas search call whose model= is `model`."""
    return next(
        (
            call
            for _, call in calls
            if model is not None and _keyword_name(call, "model") == model
        ),
        None,
    )


def _keyword_name(call: ast.Call, name: str) -> str | None:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Name):
            return kw.value.id
    return None


def choose_model(
    functions: dict[str, ast.FunctionDef],
    calls: list[tuple[str, ast.Call]],
    model_fn: str | None,
    data_name: str | None,
    handle_functions: set[str],
    index: ModuleIndex,
) -> ModelChoice:
    """The model function: --model-fn, else the first hyperas search call, else by name or by handles."""
    if model_fn is not None:
        return ModelChoice(model_fn, "flag")
    named_calls = [(kind, call, _keyword_name(call, "model")) for kind, call in calls]
    named_calls = [c for c in named_calls if c[2] is not None]
    if named_calls:
        kind, first, name = named_calls[0]
        notes = []
        for other_kind, call, other in named_calls[1:]:
            if other == name:
                continue
            flags = f"--model-fn {other}"
            other_data = _keyword_name(call, "data")
            if other_data and other_data != _keyword_name(first, "data"):
                flags += f" --data-fn {other_data}"
            notes.append(
                _note(
                    call,
                    f"this script tunes '{name}', the model of the first optim.{kind} call "
                    f"(line {first.lineno}); this optim.{other_kind} call's '{other}' is left out",
                    f"compile it into a script of its own: hyperasc compile MODEL {flags} -o OTHER.py",
                )
            )
        return ModelChoice(name, "call", notes)
    # Candidates: create_model and model when they reach handles, and every function that
    # holds handles itself; less those another candidate uses (its helpers) and data().
    uses = {
        name: index.function_names.get(name, set()) & functions.keys()
        for name in functions
    }
    reaching = _reaching(uses, handle_functions)
    named = [n for n in MODEL_NAMES if n in functions]
    candidates = {
        n
        for n in functions
        if n != data_name and (n in handle_functions or (n in named and n in reaching))
    }
    helpers = set()
    for name in candidates:
        helpers |= _below(name, uses)
    roots = sorted(candidates - helpers, key=lambda n: functions[n].lineno)
    if len(roots) > 1:
        raise _ambiguous(functions, roots)
    return ModelChoice(roots[0] if roots else (named[0] if named else None), "name")


def _below(name: str, uses: dict[str, set[str]]) -> set[str]:
    """The functions `name` uses, directly or through others (not itself, unless recursive)."""
    seen: set[str] = set()
    stack = [u for u in uses[name] if u != name]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(u for u in uses[current] if u not in seen)
    return seen - {name}


def _reaching(uses: dict[str, set[str]], handle_functions: set[str]) -> set[str]:
    """Functions that hold handles or use (transitively) a function that does."""
    users: dict[str, set[str]] = {}
    for name, used in uses.items():
        for callee in used:
            users.setdefault(callee, set()).add(name)
    reaching = set(handle_functions) & uses.keys()
    stack = list(reaching)
    while stack:
        for user in users.get(stack.pop(), ()):
            if user not in reaching:
                reaching.add(user)
                stack.append(user)
    return reaching


def _ambiguous(functions: dict[str, ast.FunctionDef], names: list[str]):
    listed = ", ".join(f"'{n}' (line {functions[n].lineno})" for n in names)
    first = functions[names[0]]
    return error(
        first.lineno,
        first.col_offset + 1,
        f"several model functions: {listed}",
        "pick one with --model-fn NAME, or call optim.minimize(model=NAME, ...) in the main block",
    )


# --- hyperas helpers -----------------------------------------------------------------------------


def conditional_helper(
    index: ModuleIndex, module_names: set[str]
) -> tuple[str, str] | None:
    """(name, definition) for hyperas's `conditional`, the identity, when the file imports it
    (`from hyperas.distributions import conditional [as name]`, anywhere) and a function uses it.
    """
    for name in sorted(conditional_names(index) & index.mentioned - module_names):
        text = (
            f"def {name}(value):\n"
            f'    """hyperas\'s conditional(): it returns its argument."""\n'
            f"    return value"
        )
        return name, text
    return None


def conditional_names(index: ModuleIndex) -> frozenset[str]:
    """The names hyperas's `conditional` is imported as, anywhere in the file."""
    return frozenset(
        bound for bound, (name, _) in index.hyperas.items() if name == "conditional"
    )


# --- data()'s arguments ---------------------------------------------------------------------------


def check_data_args(
    node: ast.FunctionDef,
    has_call: bool,
    data_args: str | None,
    data_args_at: tuple[int, int] | None,
) -> None:
    """data() gets exactly data_args (nothing without it), as hyperas called it: every trial
    would fail otherwise. Errors at data()'s def, or at data_args (`data_args_at`)."""
    args = node.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    required = positional[: len(positional) - len(args.defaults)]
    keyword_only = [
        a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None
    ]
    where = (node.lineno, node.col_offset + 1)
    if keyword_only:
        raise error(
            *where,
            f"{node.name}() has required keyword-only parameters ({', '.join(keyword_only)}); "
            "the script passes data_args by position",
            "give them defaults, or make them positional parameters",
        )
    if data_args is None:
        if required:
            raise error(
                *where,
                f"{node.name}() has required parameters ({', '.join(required)}) "
                + (
                    "but optim.minimize passes no data_args"
                    if has_call
                    else "and no optim.minimize(data_args=...) gives them"
                ),
                f"pass data_args=(...) to optim.minimize, one value for each of "
                f"{', '.join(required)}, or give them defaults",
            )
        return
    value = ast.literal_eval(data_args)  # as the script passes it (codegen._data_args)
    given = len(value) if isinstance(value, (list, tuple)) else 1
    most = None if args.vararg else len(positional)
    if given < len(required) or (most is not None and given > most):
        takes = (
            f"{len(required)}"
            if most == len(required)
            else (
                f"at least {len(required)}"
                if most is None
                else f"{len(required)} to {most}"
            )
        )
        raise error(
            *(data_args_at or where),
            f"data_args gives {given} value(s) but {node.name}() takes {takes}",
            f"{node.name}() is defined at line {node.lineno}; "
            "the script calls it with data_args as written",
        )


# --- What the script does differently ------------------------------------------------------------


def keep_best(calls: list[tuple[str, ast.Call]]) -> int | None:
    """The K of the first optim.best_ensemble(nb_ensemble_models=K) or best_models(nb_models=K)."""
    for kind, call in calls:
        keyword = {
            "best_ensemble": "nb_ensemble_models",
            "best_models": "nb_models",
        }.get(kind)
        if keyword is None:
            continue
        value = next(
            (kw.value for kw in call.keywords if kw.arg == keyword),
            call.args[0] if call.args else None,
        )
        if (
            isinstance(value, ast.Constant)
            and type(value.value) is int
            and value.value > 0
        ):
            return value.value
    return None


def search_call_warnings(
    calls: list[tuple[str, ast.Call]], chosen: ast.Call | None, index: ModuleIndex
) -> list[Diagnostic]:
    """best_ensemble / best_models, and the trials object of the chosen call."""
    made = index.assigned_calls  # `trials = MongoTrials(...)` then `trials=trials`
    out = []
    for kind, call in calls:
        if kind != "minimize":
            k = keep_best([(kind, call)])
            out.append(
                _warning(
                    call,
                    f"optim.{kind} is not in the script: its main block is replaced, "
                    "and the script keeps the best model as best_model.keras",
                    "python tune.py --keep-best K keeps the K best models as models/trial-<tid>.keras"
                    + (
                        f" (K = {k} is the script's default, from this call)"
                        if k
                        else ""
                    ),
                )
            )
        trials = next((kw.value for kw in call.keywords if kw.arg == "trials"), None)
        if isinstance(trials, ast.Name):
            trials = made.get(trials.id)
        if call is chosen and isinstance(trials, ast.Call):
            name = (dotted(trials.func) or "").rsplit(".", 1)[-1]
            if name == "MongoTrials":
                out.append(
                    _warning(
                        trials,
                        "MongoTrials is not used: the script opens its own trials",
                        "python tune.py --mongo URL --exp-key KEY, and `python tune.py worker --mongo URL "
                        "--exp-key KEY` on each worker (docs/distributed.md)",
                    )
                )
    return out


def argv_warnings(data_node: ast.AST | None, argv_names: set[str]) -> list[Diagnostic]:
    """data() reading sys.argv: in the script, sys.argv holds the script's own options."""
    if data_node is None:
        return []
    for node in ast.walk(data_node):
        parses = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and not node.args
            and node.func.attr in ("parse_args", "parse_known_args")
        )  # argparse reads sys.argv
        if (
            parses
            or (
                isinstance(node, ast.Attribute)
                and node.attr == "argv"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            )
            or (isinstance(node, ast.Name) and node.id in argv_names)
        ):
            return [
                _warning(
                    node,
                    "data() reads sys.argv, which in the script holds the script's own options "
                    "(--max-evals, --out, ...)",
                    "pass values with optim.minimize(data_args=(...)) (the script's data() arguments) "
                    "or read environment variables in data()",
                )
            ]
    return []


def argv_aliases(tree: ast.Module) -> set[str]:
    return {
        a.asname or a.name
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and n.module == "sys"
        for a in n.names
        if a.name == "argv"
    }


def hyperas_name_warnings(
    index: ModuleIndex, used: set[str], module_names: set[str]
) -> list[Diagnostic]:
    """Names imported from hyperas (other than distributions and conditional) that carried code reads."""
    out = []
    for bound, (name, node) in sorted(index.hyperas.items()):
        if (
            bound in used
            and bound not in module_names
            and name not in DISTRIBUTION_NAMES | {"conditional", "optim"}
        ):
            out.append(
                _warning(
                    node,
                    f"'{bound}' comes from hyperas, whose imports the script drops; "
                    "the code that uses it fails",
                    "the script needs no hyperas: write what it did in the model file",
                )
            )
    return out


def space_read(
    functions: list[ast.FunctionDef], index: ModuleIndex, bound: set[str]
) -> ast.Name | None:
    """The first read of hyperas's `space` (the trial's values: hyperas's model function was
    `keras_fmin_fnct(space)`) in the model function or a carried helper, where nothing of
    the file binds that name (the file's own `space` wins)."""
    if "space" in bound:
        return None
    for function in functions:
        if "space" not in index.free_names(function.name, index.local_names(function)):
            continue
        return min(
            (
                n
                for n in ast.walk(function)
                if isinstance(n, ast.Name)
                and n.id == "space"
                and isinstance(n.ctx, ast.Load)
            ),
            key=lambda n: (n.lineno, n.col_offset),
        )
    return None

"""What hyperas did with a model file beyond its handles, and how the script keeps it.

hyperas wrote `temp_model.py` from the file's imports, data()'s body pasted at
module level (so data()'s local variables were globals of the model), the
functions named in `functions=` and the model function; it never ran other
module-level code. This module holds the decisions that keep such files
working unchanged (see README, "For hyperas users"):

- which function is the model when a file has several (choose_model);
- which module-level statements the script carries, drops or keeps as setup,
  and in which order (plan_module, order_statements);
- which of data()'s local variables the model and the bounds read (data_locals);
- hyperas helpers: `conditional`, imports of hyperas inside functions;
- located warnings for what the script does differently (best_ensemble,
  MongoTrials, sys.argv in data()).

It works on `ast` only; nothing here imports hyperas, hyperopt or Keras.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, error

BUILTINS = set(dir(builtins))
MODEL_NAMES = ("create_model", "model")
# hyperas calls that run a search: their model= names a model function.
SEARCH_CALLS = ("minimize", "best_models", "best_ensemble")
# Module-level calls that seed random number generators: kept in the script.
SEED_CALLS = {"seed", "set_seed", "set_random_seed", "manual_seed"}
# Module-level calls that set up GPUs or a TensorFlow session: dropped (see _gpu_setup).
GPU_CALLS = {
    "set_memory_growth",
    "set_visible_devices",
    "set_virtual_device_configuration",
    "set_logical_device_configuration",
    "set_session",
}
# Other module-level calls that configure libraries (Keras's image format, float type or
# precision policy, TensorFlow's logging or eager mode, warnings): hyperas ran them in the
# process that then imported its temp_model, so the script keeps them.
SETUP_PREFIXES = ("set_", "disable_", "enable_")
SETUP_NAMES = {
    "filterwarnings",
    "simplefilter",
    "basicConfig",
    "setLevel",
    "set_verbosity",
    "run_functions_eagerly",
}
DISTRIBUTION_NAMES = {
    "choice",
    "pchoice",
    "randint",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
    "uniformint",
}


def _note(node: ast.AST, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(node.lineno, node.col_offset + 1, message, hint, "note")


def _warning(node: ast.AST, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(node.lineno, node.col_offset + 1, message, hint, "warning")


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
    name = dotted(stmt.value.func) or ""
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


class ModuleIndex:
    """One walk of the module as written, for every question asked here."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.function_names: dict[str, set[str]] = (
            {}
        )  # top-level function -> the names it mentions
        self.function_reads: dict[str, set[str]] = (
            {}
        )  # ... the names it reads, less those it declares global
        self.calls: list[ast.Call] = []
        self.hyperas: dict[str, tuple[str, ast.AST]] = (
            {}
        )  # from hyperas... import x as y: {y: (x, import)}
        self.nested_hyperas: list[ast.stmt] = (
            []
        )  # hyperas imports inside functions and classes
        self.assigned_calls: dict[str, ast.Call] = {}  # `trials = MongoTrials(...)`
        self.imported: set[str] = set()  # names module-level imports bind
        self.declared_globals: dict[str, set[str]] = {}
        for stmt in tree.body:
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

    def free_names(self, function: str, local: set[str]) -> set[str]:
        """Names a top-level function reads that it does not bind: globals, builtins."""
        return self.function_reads[function] - (local - self.declared_globals[function])

    def _import(self, node: ast.Import | ast.ImportFrom, nested: bool) -> None:
        if not nested:
            self.imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
        if isinstance(node, ast.ImportFrom):
            is_hyperas = (
                node.level == 0 and (node.module or "").split(".")[0] == "hyperas"
            )
            if is_hyperas:
                self.hyperas.update(
                    (a.asname or a.name, (a.name, node))
                    for a in node.names
                    if a.name != "*"
                )
        else:
            is_hyperas = all(a.name.split(".")[0] == "hyperas" for a in node.names)
        if is_hyperas and nested:
            self.nested_hyperas.append(node)

    @property
    def mentioned(self) -> set[str]:
        """Every name some top-level function mentions."""
        return (
            set().union(*self.function_names.values()) if self.function_names else set()
        )


# --- Which function is the model ---------------------------------------------------------


@dataclass
class ModelChoice:
    name: str | None
    how: str  # "flag", "call" (an optim.minimize call) or "name"
    notes: list[Diagnostic] = field(default_factory=list)


def search_calls(
    index: ModuleIndex, optim_names: set[str], minimize_names: set[str]
) -> list[tuple[str, ast.Call]]:
    """hyperas's optim.minimize / best_models / best_ensemble calls, in source order."""
    found = []
    for node in index.calls:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in SEARCH_CALLS
            and dotted(func.value) in optim_names
        ):
            found.append((func.attr, node))
        elif isinstance(func, ast.Name) and func.id in minimize_names:
            found.append(("minimize", node))
    return sorted(found, key=lambda item: (item[1].lineno, item[1].col_offset))


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


def handle_functions(index: ModuleIndex, placeholder_names: set[str]) -> set[str]:
    """Top-level functions that hold a handle."""
    return {
        name
        for name, names in index.function_names.items()
        if names & placeholder_names
    }


# --- Module-level statements ---------------------------------------------------------------


@dataclass
class ModulePlan:
    """What becomes of the module-level statements that are not imports or driver code."""

    dropped: set[
        int
    ]  # indices into the definitions: they run data() or the model, or set up GPUs
    setup: set[int]  # kept wherever they stand: seeds
    diagnostics: list[Diagnostic]
    dropped_binds: set[str]
    reasons: dict[int, str] = field(
        default_factory=dict
    )  # why each statement that runs data() is dropped


def plan_module(
    definitions: list[tuple[ast.stmt, set[str]]],
    model_name: str,
    data_name: str | None,
    index: ModuleIndex,
) -> ModulePlan:
    """Drop statements that run data() or the model function (or use what those bound).

    hyperas never ran them either; in the script they would stand above the
    function they call. Seeds are kept; GPU set-up is dropped with a warning.
    """
    runs = _reaches(
        {model_name} | ({data_name} if data_name else set()), index.function_names
    )
    modules = index.imported
    tainted_names: set[str] = set()
    dropped, setup, diagnostics, reasons = set(), set(), [], {}
    for index, (stmt, binds) in enumerate(definitions):
        calls = calls_now(stmt)
        called = sorted(
            {
                c.func.id
                for c in calls
                if isinstance(c.func, ast.Name) and c.func.id in runs
            }
        )
        uses = sorted(reads_now(stmt) & tainted_names)
        if called or uses:
            dropped.add(index)
            tainted_names |= binds
            if called:
                via = (
                    ""
                    if called[0] in (model_name, data_name)
                    else ", which runs data() or the model"
                )
                reasons[index] = (
                    f"it calls {called[0]}(){via}, and the script calls data() and the model "
                    "itself (hyperas did not run module-level code either)"
                )
            else:
                reasons[index] = (
                    f"it uses {', '.join(repr(n) for n in uses)}, from a statement that is not carried"
                )
            continue
        callees = [callee(c)[1] or "" for c in calls]
        if GPU_CALLS & set(callees):
            dropped.add(index)
            diagnostics.append(_gpu_setup(stmt, GPU_CALLS & set(callees)))
        elif isinstance(stmt, ast.Expr) and callees and callees[0] in SEED_CALLS:
            setup.add(index)
            diagnostics.append(
                _note(
                    stmt,
                    "kept in the script: it runs once, when the script starts",
                    "each trial is also seeded from the script's --seed (default 0); "
                    "--no-trial-seed leaves only this seed",
                )
            )
        elif isinstance(stmt, ast.Expr) and calls and _configures(calls[0], modules):
            setup.add(
                index
            )  # K.set_image_data_format('channels_first') and the like: kept silently
    kept_binds = (
        set().union(*(b for i, (_, b) in enumerate(definitions) if i not in dropped))
        if definitions
        else set()
    )
    dropped_binds = (
        set().union(*(b for i, (_, b) in enumerate(definitions) if i in dropped))
        if dropped
        else set()
    )
    return ModulePlan(dropped, setup, diagnostics, dropped_binds - kept_binds, reasons)


def _configures(call: ast.Call, modules: set[str]) -> bool:
    root, last = callee(call)
    return (
        root in modules
        and last is not None
        and (last.startswith(SETUP_PREFIXES) or last in SETUP_NAMES)
    )


def _reaches(targets: set[str], function_names: dict[str, set[str]]) -> set[str]:
    """`targets` and the top-level functions that use one of them, directly or through others:
    calling any of them at import would run data() or the model before the script defines it.
    """
    users: dict[str, set[str]] = {}
    for function, names in function_names.items():
        for name in names:
            users.setdefault(name, set()).add(function)
    found, stack = set(targets), list(targets)
    while stack:
        for user in users.get(stack.pop(), ()):
            if user not in found:
                found.add(user)
                stack.append(user)
    return found


def _gpu_setup(stmt: ast.stmt, calls: set[str]) -> Diagnostic:
    if calls <= {"set_visible_devices"}:
        hint = "choose devices with CUDA_VISIBLE_DEVICES or the script's --gpus"
    else:
        hint = (
            "set TF_FORCE_GPU_ALLOW_GROWTH=true in the environment, or "
            "os.environ['TF_FORCE_GPU_ALLOW_GROWTH'] = 'true' at the top of the model file (the script keeps that)"
        )
    return _warning(
        stmt,
        f"GPU set-up ({', '.join(sorted(calls))}) is not carried into the script: "
        "it runs trials in forked processes, and touching the GPU before the fork breaks them",
        hint,
    )


def dropped_notes(
    definitions,
    plan: ModulePlan,
    needed: set[str],
    captured: set[str],
    params: set[str],
    data_name: str | None,
) -> list[Diagnostic]:
    """A note at each statement dropped because it runs data() or the model; a warning where
    the script's code reads a name that only that statement binds."""
    out = []
    for index, reason in sorted(plan.reasons.items()):
        stmt, binds = definitions[index]
        if not binds and "calls" not in reason:
            continue  # an expression such as print(x_test): never carried in any case
        missing = sorted((binds & needed) - captured - params)
        message = f"not carried into the script: {reason}"
        if missing:
            names = ", ".join(repr(n) for n in missing)
            out.append(
                _warning(
                    stmt,
                    f"{message}; so {names} is undefined in the script",
                    f"bind {names} inside {data_name or 'the model function'}() instead",
                )
            )
        else:
            out.append(_note(stmt, message))
    return out


def order_statements(items: list[tuple[ast.stmt, set[str]]]) -> list[int]:
    """Source order, except that a statement never comes before one whose names it reads when it runs.

    A name bound both above and below a statement is taken from above, as it would be when the file runs.
    """
    binders: dict[str, list[int]] = {}
    for index, (_, binds) in enumerate(items):
        for name in binds:
            binders.setdefault(name, []).append(index)
    order: list[int] = []
    state: dict[int, str] = {}  # "busy" while its dependencies are placed, then "done"

    def place(i: int) -> None:
        stack = [(i, iter(sorted(reads_now(items[i][0]))))]
        state[i] = "busy"
        while stack:
            current, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                state[current] = "done"
                order.append(current)
                continue
            found = binders.get(name, [])
            if not found or found[0] < current:
                continue  # bound above (or nowhere in the carried code): nothing to move
            j = found[0]
            if j not in state:  # in a cycle, source order stands
                state[j] = "busy"
                stack.append((j, iter(sorted(reads_now(items[j][0])))))

    for i in range(len(items)):
        if i not in state:
            place(i)
    return order


# --- data()'s local variables ----------------------------------------------------------------


def data_locals(
    data_node: ast.AST | None,
    data_local: set[str],
    wanted: set[str],
    module_names: set[str],
) -> list[str]:
    """data()'s local variables that other code reads as globals, as hyperas made them visible."""
    if data_node is None:
        return []
    return sorted((wanted & data_local) - module_names - BUILTINS)


def early_reads(
    carried: list[tuple[ast.stmt, set[str]]], captured: set[str], data_name: str | None
) -> list[Diagnostic]:
    """A carried statement that reads one of data()'s locals when the script starts, before data() runs."""
    bound = set().union(*(b for _, b in carried)) if carried else set()
    out = []
    for stmt, _ in carried:
        early = sorted((reads_now(stmt) & captured) - bound)
        if early:
            names = ", ".join(repr(n) for n in early)
            out.append(
                _warning(
                    stmt,
                    f"this statement reads {names}, a local variable of {data_name}(), when the "
                    f"script starts, before {data_name}() has run",
                    f"move it into {data_name}() and return the value, or into the model function",
                )
            )
    return out


# --- hyperas helpers -----------------------------------------------------------------------------


def conditional_helper(
    index: ModuleIndex, module_names: set[str]
) -> tuple[str, str] | None:
    """(name, definition) for hyperas's `conditional`, the identity, when the file imports it
    (`from hyperas.distributions import conditional [as name]`, anywhere) and a function uses it.
    """
    names = {
        bound for bound, (name, _) in index.hyperas.items() if name == "conditional"
    }
    for name in sorted(names & index.mentioned - module_names):
        text = (
            f"def {name}(value):\n"
            f'    """hyperas\'s conditional(): it returns its argument."""\n'
            f"    return value"
        )
        return name, text
    return None


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

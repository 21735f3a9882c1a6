"""What hyperas did with the module-level statements, and how the script keeps it.

hyperas wrote `temp_model.py` from the file's imports, data()'s body pasted at
module level (so data()'s local variables were globals of the model), the
functions named in `functions=` and the model function; it never ran other
module-level code. Here: which module-level statements the script carries,
drops or keeps as setup, in which order (plan_module, order_statements,
carry), and which of data()'s local variables other code reads (data_locals).
Every module-level statement the script drops gets a note that says why
(dropped_notes, driver_notes), but for unused definitions and docstrings.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from . import hyperas_compat
from .hyperas_compat import _note, _warning
from .mutations import mutated_names
from .module_index import (
    BUILTINS,
    Function,
    ModuleIndex,
    Statement,
    callee,
    calls_now,
    free_names,
    inline_module,
    names_read,
    reads_now,
)

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


@dataclass
class Compat:
    data_locals: list[str]
    notes: list[Diagnostic]
    keep_best: int | None


def carry(
    reader: ModuleIndex,
    roots: set[str],
    model: Function,
    data: Function | None,
    handle_names: set[str],
    calls: list,
) -> tuple[list[Statement], Compat]:
    """The module-level statements the script carries, in an order that runs, and what hyperas did
    that the script does its own way (see hyperas_compat)."""
    data_name = data.name if data else None
    plan = plan_module(reader.definitions, model.name, data_name, reader)
    definitions = reader.definitions
    reader.definitions = [d for i, d in enumerate(definitions) if i not in plan.dropped]
    reader.module_names -= plan.dropped_binds
    setup = [definitions[i] for i in sorted(plan.setup)]
    for stmt, _ in setup:
        roots = roots | names_read(stmt)
    chosen = {
        (s.line, str(s.text))
        for s in reader.closure(roots, exclude={model.name, data_name})
    }
    reader.definitions = definitions
    kept = {
        i
        for i, (stmt, _) in enumerate(definitions)
        if i in plan.setup
        or (
            i not in plan.dropped and (stmt.lineno, str(reader.segment(stmt))) in chosen
        )
    }
    nodes = [item for i, item in enumerate(definitions) if i in kept]
    statements = [
        Statement(reader.segment(stmt), binds, stmt.lineno) for stmt, binds in nodes
    ]
    helpers = [statements[i] for i in order_statements(nodes)]
    conditional = hyperas_compat.conditional_helper(reader, reader.module_names)
    if conditional is not None:
        name, text = conditional
        helpers.insert(0, Statement(text, {name}, 0))
        reader.module_names.add(name)
    # Names the carried code reads as globals: hyperas made data()'s locals such globals.
    wanted = reader.free_names(model.name, model.locals) | (
        set(handle_names) - set(model.params)
    )
    for stmt, _ in nodes:
        wanted |= free_names(
            stmt,
            (
                reader.local_names(stmt)
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                else set()
            ),
        )
    data_node = reader.functions[data_name] if data_name else None
    captured = data_locals(
        data_node, data.locals if data else set(), wanted, reader.module_names
    )
    notes = list(plan.diagnostics)
    notes += early_reads(nodes, set(captured), data_name)
    notes += dropped_notes(
        definitions,
        plan,
        kept,
        wanted - set(captured) - set(model.params),
        data_name,
    )
    notes += driver_notes(reader.driver)
    chosen_call = next(
        (c for kind, c in calls if kind == "minimize"), calls[0][1] if calls else None
    )
    notes += hyperas_compat.search_call_warnings(calls, chosen_call, reader)
    notes += hyperas_compat.argv_warnings(
        data_node, hyperas_compat.argv_aliases(reader.tree)
    )
    used = wanted | (reader.free_names(data_name, data.locals) if data else set())
    notes += hyperas_compat.hyperas_name_warnings(reader, used, reader.module_names)
    return helpers, Compat(captured, notes, hyperas_compat.keep_best(calls))


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
    dead = redefined(definitions)
    runs = _reaches(
        {model_name} | ({data_name} if data_name else set()), index.function_names
    )
    modules = index.imported
    tainted_names: set[str] = set(index.driver_binds)
    dropped, setup, diagnostics, reasons = set(), set(), [], {}
    for index, (stmt, binds) in enumerate(definitions):
        if stmt in dead:
            # A later def of the same name replaces it (discovery warns where it matters).
            dropped.add(index)
            continue
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
            # K.set_image_data_format('channels_first') and the like: kept silently.
            setup.add(index)
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


def redefined(statements) -> dict[ast.stmt, ast.stmt]:
    """Each top-level def or class that a later one of the same name replaces: the later one.

    `statements` are statements or (statement, binds) pairs, in source order."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    nodes = [s[0] if isinstance(s, tuple) else s for s in statements]
    last: dict[str, ast.stmt] = {}
    for node in nodes:
        if isinstance(node, kinds):
            last[node.name] = node
    return {
        node: last[node.name]
        for node in nodes
        if isinstance(node, kinds) and last[node.name] is not node
    }


def _configures(call: ast.Call, modules: set[str]) -> bool:
    """A call of an imported library's set-up function (`K.set_floatx('float16')`), the
    library also imported in place (`__import__("keras").config.set_image_data_format(...)`).
    """
    root, last = callee(call)
    return (
        (root in modules or _on_inline_module(call))
        and last is not None
        and (last.startswith(SETUP_PREFIXES) or last in SETUP_NAMES)
    )


def _on_inline_module(call: ast.Call) -> bool:
    node = call.func
    while isinstance(node, (ast.Attribute, ast.Call)):
        if inline_module(node) is not None:
            return True
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return False


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
    kept: set[int],
    missing_if_dropped: set[str],
    data_name: str | None,
) -> list[Diagnostic]:
    """A note at each module-level statement the script does not carry, and why; a warning
    where the script's code reads a name that only that statement binds.

    Not told: definitions of functions and classes that nothing uses, docstrings, and the
    GPU set-up (it has its own warning)."""
    out = []
    users = f"the model or {data_name}()" if data_name else "the model"
    carried = set().union(*(b for i, (_, b) in enumerate(definitions) if i in kept))
    for index, (stmt, binds) in enumerate(definitions):
        if index in kept or (index in plan.dropped and index not in plan.reasons):
            continue
        reason = plan.reasons.get(index)
        if reason is None:
            if isinstance(
                stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            ) or _inert(stmt):
                continue
            reason = (
                f"{users} never reads {', '.join(repr(n) for n in sorted(binds))}"
                if binds
                else f"it binds nothing {users} reads"
            ) + " (hyperas did not run module-level code either)"
        missing = sorted(binds & missing_if_dropped)
        message = f"not carried into the script: {reason}"
        changed = sorted(mutated_names(stmt) & carried)
        if changed:
            names = ", ".join(repr(n) for n in changed)
            out.append(
                _warning(
                    stmt,
                    f"{message}; so the model sees {names} without this change",
                    f"make the change inside {data_name or 'the model function'}() instead",
                )
            )
        elif missing:
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


def _inert(stmt: ast.stmt) -> bool:
    """A docstring, `...` or `pass`: nothing to tell when it is left out."""
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
    )


def driver_notes(driver: list[tuple[ast.stmt, str]]) -> list[Diagnostic]:
    """The main block and module-level search calls: the script's own main() replaces them."""
    hint = "the tuning script's --help lists its options (--max-evals, --out, ...)"
    return [
        _note(
            stmt,
            (
                "not carried into the script: the main block; the script's own main() "
                "runs the search in its place"
                if kind == "main"
                else "not carried into the script: it runs the hyperas search, which the "
                "script's own main() runs in its place"
            ),
            hint,
        )
        for stmt, kind in driver
    ]


def order_statements(items: list[tuple[ast.stmt, set[str]]]) -> list[int]:
    """Source order, except that a statement never comes before one whose names it reads when it runs.

    A name bound both above and below a statement is taken from above, as it would be when the file runs.
    A statement that changes a value in place (mutations.mutated_names) counts as binding it, so
    what reads the value comes after every change made above it.
    """
    binders: dict[str, list[int]] = {}
    writers: dict[str, list[int]] = {}  # binders and in-place changes, source order
    for index, (stmt, binds) in enumerate(items):
        for name in binds:
            binders.setdefault(name, []).append(index)
        for name in binds | mutated_names(stmt):
            writers.setdefault(name, []).append(index)
    order: list[int] = []
    state: dict[int, str] = {}  # "busy" while its dependencies are placed, then "done"

    def needs(i: int) -> Iterator[int]:
        for name in sorted(reads_now(items[i][0])):
            found = binders.get(name, [])
            if found and found[0] > i:
                yield found[0]  # bound only below: it moves up
            else:
                # Bound above: what binds or changes it above comes first. In source order
                # these are placed already, but not when `i` itself is being moved up.
                yield from (j for j in writers.get(name, []) if j < i)

    def place(i: int) -> None:
        stack = [(i, needs(i))]
        state[i] = "busy"
        while stack:
            current, dependencies = stack[-1]
            j = next(dependencies, None)
            if j is None:
                stack.pop()
                state[current] = "done"
                order.append(current)
                continue
            if j not in state:  # in a cycle, source order stands
                state[j] = "busy"
                stack.append((j, needs(j)))

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

"""Stage 3a: the checks that depend on where handles stand, in one place.

`hyperasc space` and `hyperasc compile` run the same analysis and so accept
exactly the same files: a handle's own mistakes are found when it is parsed
(handles.py) and the module's when it is read (discovery.py); everything
that needs both is checked here, all of it reported at once.
"""

from __future__ import annotations

import re

from ..diagnostics import CompileError, Diagnostic
from .bundle import RUNTIME_NAME
from .discovery import BUILTINS, Program
from .records import Handle


def searched(program: Program) -> list[Handle]:
    """The handles of this script's search, in source order (not another model's)."""
    return [h for h in program.handles if h.site is None or h.site.in_search]


def names_read(handle: Handle) -> set[str]:
    """The free names a handle's bounds read, its nested distributions' included."""
    dist = handle.distribution
    return dist.names | {n for d in dist.nested for n in d.names}


def kind_of_name(name: str, handle: Handle, program: Program) -> str:
    """What a name a bound reads is: "data" (a value data() returns), "module",
    "data_local" (hyperas made data()'s locals globals), "local" or "undefined"."""
    if name in program.model.params:
        return "data"
    if name in program.module_names or name in BUILTINS:
        return "module"
    if name in program.data_locals:
        return "data_local"
    if handle.site is not None and name in handle.site.locals:
        return "local"
    return "undefined"


def check(program: Program, text: str) -> None:
    """Raise CompileError with every problem of the handles in context."""
    handles = searched(program)
    if not program.handles:
        # hyperopt cannot search an empty space; say so now, not when the script runs.
        raise CompileError(
            [
                Diagnostic(
                    1,
                    1,
                    "the model file has no {{ }} handles: nothing to tune",
                    "mark a hyperparameter, e.g. Dropout({{uniform(0, 1)}})",
                )
            ]
        )
    problems: list[Diagnostic] = []
    helper_names = set().union(*(s.binds for s in program.helpers))
    for handle in handles:
        problems.extend(_site_problems(handle, program, helper_names))
    problems.extend(_duplicate_names(handles))
    for handle in handles:
        problems.extend(_bound_problems(handle, program))
    problems.extend(_reserved_name(text))
    if problems:
        raise CompileError(problems)


def _site_problems(
    handle: Handle, program: Program, helper_names: set[str]
) -> list[Diagnostic]:
    site, where = handle.site, (handle.line, handle.column)
    if site is None or site.function is None:
        return [
            Diagnostic(
                *where,
                "a handle must be inside the model function or a helper it calls",
            )
        ]
    if site.at_import:
        return [
            Diagnostic(
                *where,
                f"this handle is evaluated once, when '{site.function}' is defined, "
                "not in each trial",
                "move it into the function body; default arguments, decorators and "
                "class bodies run only at import",
            )
        ]
    if program.data is not None and site.function == program.data.name:
        return [
            Diagnostic(
                *where,
                "a handle cannot stand in data(): data is loaded once, before any trial",
                f"move the hyperparameter into {program.model.name}()",
            )
        ]
    if site.function != program.model.name and site.function not in helper_names:
        return [
            Diagnostic(
                *where,
                f"handle in '{site.function}', which the model function never uses",
            )
        ]
    return []


def _duplicate_names(handles: list[Handle]) -> list[Diagnostic]:
    """Two distributions (nested ones included) with the same explicit name."""
    problems, first = [], {}
    stack = [h.distribution for h in reversed(handles)]
    while stack:  # source order: each distribution, then its nested options
        dist = stack.pop()
        stack.extend(reversed(dist.nested))
        name = dist.explicit_name
        if name is None:
            continue
        if name in first:
            problems.append(
                Diagnostic(
                    dist.line,
                    dist.column,
                    f"duplicate name '{name}'",
                    f"first used at line {first[name].line} column {first[name].column}",
                )
            )
        first.setdefault(name, dist)
    return problems


def _bound_problems(handle: Handle, program: Program) -> list[Diagnostic]:
    problems = []
    for name in sorted(names_read(handle)):
        kind = kind_of_name(name, handle, program)
        if kind == "local":
            problems.append(
                Diagnostic(
                    handle.line,
                    handle.column,
                    f"'{name}' is a local variable; the search space is built before the model runs",
                    "bounds may use module-level names and the values data() returns; "
                    "options of a choice may use anything",
                )
            )
        elif kind == "undefined" and not program.star_import:
            problems.append(
                Diagnostic(
                    handle.line,
                    handle.column,
                    f"undefined name '{name}' in handle",
                    "a bound may read module-level names, the values data() returns "
                    "(the model function's parameters) and data()'s local variables",
                )
            )
    return problems


def _reserved_name(text: str) -> list[Diagnostic]:
    """The bundle binds one fixed name; a model file that spells it gets a located error."""
    match = re.search(rf"\b{RUNTIME_NAME}\b", text)
    if match is None:
        return []
    line = text.count("\n", 0, match.start()) + 1
    column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
    return [
        Diagnostic(
            line,
            column,
            f"'{RUNTIME_NAME}' is the one name the generated script keeps for itself",
            "rename it in the model file",
        )
    ]

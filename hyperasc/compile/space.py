"""Stage 3: the search space: name every distribution and check it in context.

Names follow hyperas so `best` dictionaries keep their keys (see README,
"Naming rules"): explicit names win, then the handle's context, then `_1`,
`_2`... suffixes in source order. Nested distributions are named after their
choice: `{choice}_opt{index}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import CompileError, Diagnostic
from .discovery import BUILTINS, Program
from .handles import Distribution


@dataclass
class Parameter:
    name: str
    dist: Distribution
    handle: int | None  # index of the handle, None for a nested distribution
    parent: str | None = None  # the choice a nested distribution belongs to

    @property
    def line(self) -> int:
        return self.dist.line

    @property
    def column(self) -> int:
        return self.dist.column

    def describe(self) -> dict:
        """The `hyperasc space --json` record."""
        options = self.dist.options
        return {
            "name": self.name,
            "distribution": self.dist.dist,
            "args": list(self.dist.args),
            "line": self.line,
            "column": self.column,
            "options": (
                [o.text for o in options]
                if options is not None
                else ([] if self.dist.dist in ("choice", "pchoice") else None)
            ),
        }


@dataclass
class Space:
    parameters: list[
        Parameter
    ]  # source order; a choice comes before its nested options
    data_names: list[str]  # model-function parameters (data values) that bounds read
    # Whether bounds read data()'s local variables (Program.data_locals), so that
    # data() must run before the space is built.
    reads_data_locals: bool = False

    @property
    def top_level(self) -> list[Parameter]:
        return [p for p in self.parameters if p.parent is None]

    def by_handle(self, index: int) -> Parameter:
        return next(p for p in self.parameters if p.handle == index)


def build_space(distributions: list[Distribution], program: Program) -> Space:
    """Name the distributions (one per handle, in order) and check where they stand."""
    if not distributions:
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
    helper_names = (
        set().union(*(s.binds for s in program.helpers)) if program.helpers else set()
    )
    for index, dist in enumerate(distributions):
        if index not in program.excluded_handles:
            _check_site(index, dist, program, helper_names, problems)
    parameters = _name_all(distributions, program, problems)
    data_params = set(program.model.params)
    used_data: set[str] = set()
    data_locals = set(program.data_locals)
    reads_data_locals = False
    for param in parameters:
        if param.parent is not None:
            continue
        site = program.sites.get(param.handle)
        local = site.locals if site else set()
        names = param.dist.names | {n for d in param.dist.nested for n in d.names}
        for name in sorted(names):
            if name in data_params:
                used_data.add(name)
            elif name in program.module_names or name in BUILTINS:
                continue
            elif name in data_locals:
                reads_data_locals = True  # a local of data(), global as in hyperas
            elif name in local:
                problems.append(
                    Diagnostic(
                        param.line,
                        param.column,
                        f"'{name}' is a local variable; the search space is built before the model runs",
                        "bounds may use module-level names and the values data() returns; "
                        "options of a choice may use anything",
                    )
                )
            elif not program.star_import:
                problems.append(
                    Diagnostic(
                        param.line,
                        param.column,
                        f"undefined name '{name}' in handle",
                        "a bound may read module-level names, the values data() returns "
                        "(the model function's parameters) and data()'s local variables",
                    )
                )
    if problems:
        raise CompileError(problems)
    ordered_data = [n for n in program.model.params if n in used_data]
    return Space(parameters, ordered_data, reads_data_locals)


def _check_site(index, dist, program: Program, helper_names, problems) -> None:
    site = program.sites.get(index)
    where = (dist.line, dist.column)
    if site is None or site.function is None:
        problems.append(
            Diagnostic(
                *where,
                "a handle must be inside the model function or a helper it calls",
            )
        )
    elif site.at_import:
        problems.append(
            Diagnostic(
                *where,
                f"this handle is evaluated once, when '{site.function}' is defined, "
                "not in each trial",
                "move it into the function body; default arguments, decorators and "
                "class bodies run only at import",
            )
        )
    elif program.data is not None and site.function == program.data.name:
        problems.append(
            Diagnostic(
                *where,
                "a handle cannot stand in data(): data is loaded once, before any trial",
                f"move the hyperparameter into {program.model.name}()",
            )
        )
    elif site.function != program.model.name and site.function not in helper_names:
        problems.append(
            Diagnostic(
                *where,
                f"handle in '{site.function}', which the model function never uses",
            )
        )


def _name_all(
    distributions: list[Distribution], program: Program, problems
) -> list[Parameter]:
    # Flatten in source order: each choice, then its nested options.
    flat: list[tuple[Distribution, int | None, int | None]] = (
        []
    )  # (dist, handle, parent position)
    for index, dist in enumerate(distributions):
        if index in program.excluded_handles:
            continue  # another model function's handle: not in this search
        flat.append((dist, index, None))
        _flatten_nested(dist, len(flat) - 1, flat)
    taken: dict[str, Distribution] = {}
    for dist, _, _ in flat:
        if dist.explicit_name is None:
            continue
        if dist.explicit_name in taken:
            first = taken[dist.explicit_name]
            problems.append(
                Diagnostic(
                    dist.line,
                    dist.column,
                    f"duplicate name '{dist.explicit_name}'",
                    f"first used at line {first.line} column {first.column}",
                )
            )
        taken.setdefault(dist.explicit_name, dist)
    counters: dict[str, int] = {}
    names: list[str] = []
    for dist, handle, parent_pos in flat:
        if dist.explicit_name is not None:
            names.append(dist.explicit_name)
            continue
        if parent_pos is not None:
            parent = flat[parent_pos][0]
            base = f"{names[parent_pos]}_opt{_option_index(parent, dist)}"
        else:
            site = program.sites.get(handle)
            base = site.context_name if site else "param"
        name = base
        while name in taken:
            counters[base] = counters.get(base, 0) + 1
            name = f"{base}_{counters[base]}"
        taken[name] = dist
        names.append(name)
    return [
        Parameter(
            names[i],
            dist,
            handle,
            names[parent_pos] if parent_pos is not None else None,
        )
        for i, (dist, handle, parent_pos) in enumerate(flat)
    ]


def _flatten_nested(dist: Distribution, position: int, flat: list) -> None:
    for nested in dist.nested:
        flat.append((nested, None, position))
        _flatten_nested(nested, len(flat) - 1, flat)


def _option_index(parent: Distribution, nested: Distribution) -> int:
    return next(i for i, o in enumerate(parent.options) if o.nested is nested)

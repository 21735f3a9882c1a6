"""Stage 3b: the search space: name every distribution.

Names follow hyperas so `best` dictionaries keep their keys (see README,
"Naming rules"): explicit names win, then the handle's context, then `_1`,
`_2`... suffixes in source order. Nested distributions are named after their
choice: `{choice}_opt{index}`. The checks ran before (checks.py), so naming
cannot fail.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .checks import kind_of_name, names_read, searched
from .discovery import Program
from .records import Distribution
from .records import Handle


@dataclass
class Parameter:
    name: str
    dist: Distribution
    handle: Handle | None  # the handle's record; None for a nested distribution
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
    handles: list[Handle]  # the handles of the search, named, in source order
    # Every distribution, source order; a choice comes before its nested options.
    parameters: list[Parameter]
    data_names: list[str]  # model-function parameters (data values) that bounds read
    # Whether bounds read data()'s local variables (Program.data_locals), so that
    # data() must run before the space is built.
    reads_data_locals: bool = False

    @property
    def top_level(self) -> list[Parameter]:
        return [p for p in self.parameters if p.parent is None]


def build_space(program: Program) -> Space:
    """Name the distributions of the search's handles, nested ones included."""
    handles = searched(program)
    taken: set[str] = set()
    stack = [h.distribution for h in reversed(handles)]
    while stack:
        dist = stack.pop()
        stack.extend(reversed(dist.nested))
        if dist.explicit_name is not None:
            taken.add(dist.explicit_name)
    counters: dict[str, int] = {}

    def take(dist: Distribution, base: str) -> str:
        if dist.explicit_name is not None:
            return dist.explicit_name
        name = base
        while name in taken:
            counters[base] = counters.get(base, 0) + 1
            name = f"{base}_{counters[base]}"
        taken.add(name)
        return name

    named: list[Handle] = []
    parameters: list[Parameter] = []

    def add_nested(dist: Distribution, name: str) -> None:
        for index, option in enumerate(dist.options or []):
            if option.nested is not None:
                nested_name = take(option.nested, f"{name}_opt{index}")
                parameters.append(Parameter(nested_name, option.nested, None, name))
                add_nested(option.nested, nested_name)

    for handle in handles:
        base = handle.site.context_name if handle.site else "param"
        handle = dataclasses.replace(handle, name=take(handle.distribution, base))
        named.append(handle)
        parameters.append(Parameter(handle.name, handle.distribution, handle))
        add_nested(handle.distribution, handle.name)
    kinds = {
        kind_of_name(name, handle, program)
        for handle in named
        for name in names_read(handle)
    }
    used_data = {n for h in named for n in names_read(h) if n in program.model.params}
    return Space(
        named,
        parameters,
        [n for n in program.model.params if n in used_data],
        "data_local" in kinds,
    )

"""Stage 3b: the search space: name every distribution.

Names follow hyperas so `best` dictionaries keep their keys (see
docs/language.md, "Naming rules"): explicit names win, then the handle's
context, then `_1`, `_2`... suffixes in source order. Nested distributions are named after their
choice: `{choice}_opt{index}`. A handle that runs only for some options of a
choice (conditions.py) is a parameter of those options, named after them:
`{choice}={option}.{own name}`, options joined by `|`, an option whose text
would be ambiguous in a name shown as `#{index}`. The checks ran before
(checks.py), so naming cannot fail.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from .checks import kind_of_name, names_read, searched
from .conditions import Conditions
from .discovery import Program
from .records import Distribution
from .records import Handle

# An option's text in a name: the characters that would make it ambiguous.
_UNSAFE = set(".=|#'\"")
_LONGEST_OPTION = 24


@dataclass
class Parameter:
    name: str
    dist: Distribution
    handle: Handle | None  # the handle's record; None for a nested distribution
    parent: str | None = None  # the choice a nested or conditional parameter belongs to
    # A conditional handle's parent options, for which it runs; None otherwise.
    branch: tuple[int, ...] | None = None
    option: int | None = None  # a nested distribution's option index in its choice

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
            "parent": self.parent,
            "active": (
                list(self.branch)
                if self.branch is not None
                else [self.option] if self.option is not None else None
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
    # Notes on handles an `if` seemed to decide but that stay unconditional.
    notes: list[Diagnostic] = field(default_factory=list)

    @property
    def top_level(self) -> list[Parameter]:
        return [p for p in self.parameters if p.parent is None]

    @functools.cached_property
    def deciders(self) -> set[str]:
        """The choices with conditional parameters: their options become dicts."""
        return {p.parent for p in self.parameters if p.branch is not None}

    @functools.cached_property
    def _branches(self) -> dict[tuple[str, int], list[Parameter]]:
        found: dict[tuple[str, int], list[Parameter]] = {}
        for p in self.parameters:
            for index in p.branch or ():
                found.setdefault((p.parent, index), []).append(p)
        return found

    def branch_children(self, name: str, index: int) -> list[Parameter]:
        """The conditional parameters that option `index` of choice `name` samples."""
        return self._branches.get((name, index), [])


def build_space(program: Program, conditions: Conditions | None = None) -> Space:
    """Name the distributions of the search's handles, nested ones included.

    Without `conditions` (--flat-space) every handle is a top-level parameter.
    """
    handles = searched(program)
    conditions = conditions or Conditions()
    by_placeholder = {h.placeholder: h for h in handles}
    present = set(by_placeholder)
    of = {
        placeholder: condition
        for placeholder, condition in conditions.of.items()
        if placeholder in present and condition.decider in present
    }
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

    made: dict[str, list[Parameter]] = (
        {}
    )  # placeholder -> its parameter, nested ones after

    def add_nested(dist: Distribution, name: str, into: list[Parameter]) -> None:
        for index, option in enumerate(dist.options or []):
            if option.nested is not None:
                nested_name = take(option.nested, f"{name}_opt{index}")
                into.append(
                    Parameter(nested_name, option.nested, None, name, option=index)
                )
                add_nested(option.nested, nested_name, into)

    # A conditional handle is named after its choice, so choices are named first;
    # without conditions this is one pass in source order, as hyperas named them.
    names: dict[str, str] = {}
    pending = list(handles)
    while pending:
        later = []
        for handle in pending:
            condition = of.get(handle.placeholder)
            if condition is not None and condition.decider not in names:
                later.append(handle)
                continue
            base = conditions.names.get(handle.placeholder) or (
                handle.site.context_name if handle.site else "param"
            )
            parent, branch = None, None
            if condition is not None:
                parent, branch = names[condition.decider], condition.options
                decider = by_placeholder[condition.decider]
                base = f"{parent}={_options_label(decider.distribution, branch)}.{base}"
            name = take(handle.distribution, base)
            names[handle.placeholder] = name
            own = [Parameter(name, handle.distribution, None, parent, branch)]
            add_nested(handle.distribution, name, own)
            made[handle.placeholder] = own
        if len(later) == len(pending):  # a cycle: conditions.py drops them
            raise AssertionError("conditional parameters form a cycle")
        pending = later
    named = [dataclasses.replace(h, name=names[h.placeholder]) for h in handles]
    for handle in named:
        made[handle.placeholder][0].handle = handle
    parameters = _tree([p for h in handles for p in made[h.placeholder]])
    notes = [
        Diagnostic(
            h.line,
            h.column,
            f"'{h.name}' {conditions.reasons[h.placeholder][0]}",
            conditions.reasons[h.placeholder][1],
            severity="note",
        )
        for h in named
        if h.placeholder in conditions.reasons
    ]
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
        notes,
    )


def _tree(parameters: list[Parameter]) -> list[Parameter]:
    """Each parameter followed by its children (nested, then conditional), depth first."""
    children: dict[str, list[Parameter]] = {}
    for param in parameters:
        if param.parent is not None:
            children.setdefault(param.parent, []).append(param)
    ordered: list[Parameter] = []
    stack = [p for p in reversed(parameters) if p.parent is None]
    while stack:
        param = stack.pop()
        ordered.append(param)
        stack.extend(reversed(children.get(param.name, [])))
    return ordered


def _options_label(dist: Distribution, options: tuple[int, ...]) -> str:
    """`sgd`, `sgd|rmsprop`, `3`, `None`, or `#2` where the option's text is unsafe."""
    return "|".join(_option_label(dist.options[i].text, i) for i in options)


def _option_label(text: str, index: int) -> str:
    value = ast.literal_eval(text)  # conditions.py took only literal options
    shown = value if isinstance(value, str) else repr(value)
    if (
        not shown
        or len(shown) > _LONGEST_OPTION
        or not shown.isprintable()
        or any(c in _UNSAFE or c.isspace() for c in shown)
    ):
        return f"#{index}"
    return shown

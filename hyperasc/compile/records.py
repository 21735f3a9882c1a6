"""The plain data the compiler's stages pass on, in one place below them all.

A `Handle` is made by the scanner and filled in stage by stage: its
`Distribution` (handles.py), its `Site` (discovery.py) and its name
(space.py). Keeping the records here lets every stage import them without
importing another stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .placeholders import DEFAULT_PREFIX


@dataclass
class Option:
    """One option of a choice or pchoice."""

    text: str
    kind: str  # "literal", "nested" (a distribution) or "object" (built per trial)
    nested: Distribution | None = None
    probability: str | None = None


@dataclass
class Distribution:
    dist: str
    explicit_name: str | None
    args: list[str]  # source texts, in signature order
    line: int  # 1-based, in the model file
    column: int  # 1-based
    options: list[Option] | None = None  # for choice and pchoice with a literal list
    options_text: str | None = (
        None  # the options expression when it is not a literal list
    )
    names: set[str] = field(default_factory=set)  # free names the arguments read
    # Free names object options read: they run in the model function, so they are
    # not checked like bounds, but module-level helpers they name must be carried.
    option_names: set[str] = field(default_factory=set)

    @property
    def nested(self) -> list[Distribution]:
        return [o.nested for o in self.options or [] if o.nested is not None]

    @property
    def is_object_choice(self) -> bool:
        return any(o.kind == "object" for o in self.options or [])


@dataclass(frozen=True)
class Site:
    """Where a handle sits: its enclosing top-level function and a name from context."""

    function: str | None
    context_name: str
    locals: frozenset[str]
    # True when the handle runs as its top-level statement does, at import (a default
    # argument, a decorator, a class body), rather than each time its function is called.
    at_import: bool = False
    # False for a handle of another model function of the file: not in this search.
    in_search: bool = True


@dataclass(frozen=True)
class Handle:
    """One `{{ ... }}` of the model file: the record every stage passes on.

    The scanner makes it: where it stands (1-based line, 0-based column, as
    tokenize gives), its inner text and its placeholder. Later stages return
    copies with more filled in (`dataclasses.replace`): its distribution
    (handles.py), where it sits (discovery.py) and its name (space.py).
    """

    start: tuple[int, int]  # the first `{`
    end: tuple[int, int]  # just past the last `}`
    inner: str  # text between the braces
    inner_start: tuple[int, int]
    placeholder: str = DEFAULT_PREFIX + "0__"  # its name in the substituted text
    distribution: Distribution | None = field(default=None, compare=False)
    site: Site | None = field(default=None, compare=False)
    name: str | None = field(default=None, compare=False)

    @property
    def line(self) -> int:
        return self.start[0]

    @property
    def column(self) -> int:
        """1-based, as diagnostics count."""
        return self.start[1] + 1

"""A parameter's values over a list of trials, as numbers a plot or a model can use.

Each trial gets the parameter's number, or None where the parameter was not
active in it (a learning rate of the branch not taken). A choice's number is
the index of the option the trial took: a distribution nested in an option
counts as that option (its own values are another parameter's column).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ..runtime.contract import option_values
from .run import CHOICE_DISTRIBUTIONS, LOG_DISTRIBUTIONS, Run, Trial, _finite


@dataclass
class Column:
    name: str
    categorical: bool
    values: list[float | None]  # per trial; None: not active in that trial
    labels: list[str]  # a categorical column's option labels, by index
    log: bool = False  # numbers are log10 of the values (a log distribution)

    @property
    def active(self) -> int:
        return sum(v is not None for v in self.values)


def norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def label(value: Any) -> str:
    """An option as the model file writes it: None, True, 'adam' (no quotes), [1, 2]."""
    if value is None or isinstance(value, bool):
        return repr(value)
    return value if isinstance(value, str) else norm(value)


def column(run: Run, name: str, trials: list[Trial]) -> Column:
    spec = run.space.get(name, {})
    dist = spec.get("distribution")
    raw = [t.params[name] if run.is_active(t, name) else _INACTIVE for t in trials]
    seen = [v for v in raw if v is not _INACTIVE]
    numeric = all(_finite(v) is not None for v in seen)
    if dist not in CHOICE_DISTRIBUTIONS and numeric:
        log = dist in LOG_DISTRIBUTIONS and all(float(v) > 0 for v in seen)
        values = [
            None if v is _INACTIVE else (math.log10(v) if log else float(v))
            for v in raw
        ]
        return Column(name, False, values, [], log)
    # Declared options first, in order (an option no trial took still has its place),
    # then values seen that no option declares.
    options = option_values(spec) or [] if dist in CHOICE_DISTRIBUTIONS else []
    labels = [label(o) for o in options]
    extra: dict[str, int] = {}
    values = []
    for t, v in zip(trials, raw):
        if v is _INACTIVE:
            values.append(None)
            continue
        index = run.option_index(t, name) if options else None
        if index is None or index >= len(options):
            key = norm(v)
            if key not in extra:
                extra[key] = len(labels)
                labels.append(label(v))
            index = extra[key]
        values.append(float(index))
    return Column(name, True, values, labels)


_INACTIVE = object()

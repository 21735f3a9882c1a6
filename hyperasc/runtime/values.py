"""Converting between a trial's real values and hyperopt's encoding of them.

hyperopt stores a choice as the index of its option; users, best.json,
trials.jsonl and --points deal in the values themselves. `parameters` is the
script's parameter table, one record per parameter as contract.py describes
it; a choice's record holds its options' values, so nothing here reads
source text.
"""

from __future__ import annotations

import json
from typing import Any

import hyperopt
import numpy as np

from .errors import RunError

Parameter = dict[str, Any]


def jsonable(value: Any) -> Any:
    """`value` with every container and NumPy scalar turned into plain JSON data."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def real_values(
    parameters: list[Parameter], space: Any, trial: dict[str, Any]
) -> dict[str, Any]:
    """A trial's sampled values as the model saw them (choice options, not indices).

    Top-level parameters come from evaluating the space; an active nested
    parameter is also listed under its own name, so it can be analysed alone.
    """
    vals = {label: v[0] for label, v in trial["misc"]["vals"].items() if len(v)}
    values = hyperopt.space_eval(space, vals)
    for param in reversed(parameters):  # deepest first, so parents can read them
        name = param["name"]
        if param["parent"] is not None and name in vals:
            values[name] = (
                option_value(param, vals[name], values)
                if param["values"] is not None
                else vals[name]
            )
    return jsonable(
        {p["name"]: values[p["name"]] for p in parameters if p["name"] in values}
    )


def option_value(param: Parameter, index: int, values: dict[str, Any]) -> Any:
    """The value that option `index` of a choice stands for."""
    nested = param["nested"].get(str(index))
    if nested is not None:
        return values.get(nested)
    return param["values"][index]


def hyperopt_values(
    parameters: list[Parameter], point: dict[str, Any]
) -> dict[str, Any]:
    """Real values by name -> hyperopt's values by label (choice values become indices).

    Raises ValueError when `point` does not fit the space.
    """
    described = {p["name"]: p for p in parameters}
    top = [p["name"] for p in parameters if p["parent"] is None]
    missing = [name for name in top if name not in point]
    unknown = sorted(set(point) - set(described))
    if missing or unknown:
        raise ValueError(
            f"point {point} lacks {missing} or has unknown names {unknown}"
        )
    values = {}
    pending = [(name, point[name]) for name in top]
    while pending:
        name, value = pending.pop()
        param = described[name]
        if param["values"] is None:
            values[name] = value
            continue
        index = option_index(param, value)
        values[name] = index
        nested = param["nested"].get(str(index))
        if nested is not None:
            pending.append((nested, point.get(nested, value)))
    return values


def option_index(param: Parameter, value: Any) -> int:
    """The index of the option of choice `param` whose value is `value`."""
    plain = value if param["object"] else jsonable(value)
    for index, option in enumerate(param["values"]):
        if str(index) not in param["nested"] and option == plain:
            return index
    for index in sorted(param["nested"], key=int):
        return int(index)  # the value belongs to a nested distribution
    raise ValueError(
        f"{value!r} is not an option of {param['name']}: {param['values']}"
    )


def read_points(parameters: list[Parameter], path: str | None) -> list[dict[str, Any]]:
    """Load --points: a JSON list of {name: real value} configurations, checked."""
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            points = json.load(f)
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read --points {path}: {exc}") from None
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise RunError(f"--points {path} must hold a JSON list of objects")
    try:
        for point in points:
            hyperopt_values(parameters, point)
    except ValueError as exc:
        raise RunError(f"--points {path}: {exc}") from None
    return points

"""Converting between a trial's real values and hyperopt's encoding of them.

hyperopt stores a choice as the index of its option; users, best.json,
trials.jsonl and --points deal in the values themselves. `parameters` is the
script's parameter table (one dict per parameter: name, distribution, args,
options, parent, object, nested), as the compiler wrote it.
"""

import ast
import json

import hyperopt
import numpy as np

from .errors import RunError


def jsonable(value):
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


def literal_value(text):
    """The value an option's source text stands for, or the text if it is not a literal."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def real_values(parameters, space, trial):
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
                if param["options"] is not None
                else vals[name]
            )
    return jsonable(
        {p["name"]: values[p["name"]] for p in parameters if p["name"] in values}
    )


def option_value(param, index, values):
    """The value that option `index` of a choice stands for."""
    nested = param["nested"].get(str(index))
    if nested is not None:
        return values.get(nested)
    text = param["options"][index]
    return text if param["object"] else literal_value(text)


def hyperopt_values(parameters, point):
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
        if param["options"] is None:
            values[name] = value
            continue
        index = option_index(param, value)
        values[name] = index
        nested = param["nested"].get(str(index))
        if nested is not None:
            pending.append((nested, point.get(nested, value)))
    return values


def option_index(param, value):
    """The index of the option of choice `param` whose value is `value`."""
    for index, text in enumerate(param["options"]):
        if param["object"]:
            if value == text:
                return index
        elif str(index) not in param["nested"] and jsonable(
            literal_value(text)
        ) == jsonable(value):
            return index
    for index in sorted(param["nested"], key=int):
        return int(index)  # the value belongs to a nested distribution
    raise ValueError(
        f"{value!r} is not an option of {param['name']}: {param['options']}"
    )


def read_points(parameters, path):
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

"""Converting between a trial's real values and hyperopt's encoding of them.

hyperopt stores a choice as the index of its option; users, best.json,
trials.jsonl and --points deal in the values themselves. `parameters` is the
script's parameter table, one record per parameter as contract.py describes
it; a choice's record holds its options' values, so nothing here reads
source text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import hyperopt
import numpy as np

from .contract import OPTION_KEY
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


def in_branch(param: Parameter, described: Mapping[str, Parameter]) -> bool:
    """Whether `param` is a conditional parameter: sampled by some options of its
    parent choice, rather than nested as one of the options (`nested`)."""
    parent = described.get(param["parent"]) if param["parent"] is not None else None
    return parent is not None and param["name"] not in parent["nested"].values()


def flat_values(parameters: Sequence[Parameter], sampled: Mapping[str, Any]) -> dict:
    """hyperopt's sampled dict with each choice's conditional parameters spread out.

    A choice with conditional parameters has dicts for options in the space:
    its value under OPTION_KEY and the parameters the option samples by name
    (see contract.py). The model reads one flat dict: the choice's value and
    the active parameters, each under its own name.
    """
    described = {p["name"]: p for p in parameters}
    deciders = {p["parent"] for p in parameters if in_branch(p, described)}
    flat: dict[str, Any] = {}
    pending = list(sampled.items())
    while pending:
        name, value = pending.pop(0)
        if name in deciders and isinstance(value, dict) and OPTION_KEY in value:
            flat[name] = value[OPTION_KEY]
            pending.extend(item for item in value.items() if item[0] != OPTION_KEY)
        else:
            flat[name] = value
    return flat


def real_values(
    parameters: list[Parameter], space: Any, trial: dict[str, Any]
) -> dict[str, Any]:
    """A trial's sampled values as the model saw them (choice options, not indices).

    Top-level parameters come from evaluating the space; an active nested
    parameter is also listed under its own name, so it can be analysed alone.
    An inactive conditional parameter is left out.
    """
    vals = {label: v[0] for label, v in trial["misc"]["vals"].items() if len(v)}
    values = flat_values(parameters, hyperopt.space_eval(space, vals))
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

    A conditional parameter is required where its choice's value makes it
    active and refused where it does not (it would be silently unused).
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
    branches: dict[str, list[Parameter]] = {}
    for param in parameters:
        if in_branch(param, described):
            branches.setdefault(param["parent"], []).append(param)
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
        for child in branches.get(name, []):
            if index not in child["active"] or child["name"] in values:
                continue
            if child["name"] not in point:
                raise ValueError(
                    f"point {point} lacks {child['name']}, "
                    f"which {name} = {value!r} makes active"
                )
            pending.append((child["name"], point[child["name"]]))
    inactive = sorted(
        name
        for name in point
        if name not in values and in_branch(described[name], described)
    )
    if inactive:
        raise ValueError(
            f"point {point} gives {', '.join(inactive)}, not active for the "
            "values of its choices; leave it out"
        )
    return values


def option_index(param: Parameter, value: Any) -> int:
    """The index of the option of choice `param` whose value is `value`."""
    plain = value if param["object"] else jsonable(value)
    for index, option in enumerate(param["values"]):
        # True is not the option 1, nor 1 the option True.
        same_kind = isinstance(option, bool) == isinstance(plain, bool)
        if str(index) not in param["nested"] and option == plain and same_kind:
            return index
    for index in sorted(param["nested"], key=int):
        return int(index)  # the value belongs to a nested distribution
    raise ValueError(
        f"{value!r} is not an option of {param['name']}: {param['values']}"
    )


def read_points(
    parameters: list[Parameter], path: str | None, space: Any = None
) -> list[dict[str, Any]]:
    """Load --points: a JSON list of {name: real value} configurations, checked.

    With the search space as built (`space`), each value is checked against
    it too: a number within its distribution's range, finite, an integer
    for randint; a choice's value among the options the space computed.
    """
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            points = json.load(f)
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read --points {path}: {exc}") from None
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise RunError(f"--points {path} must hold a JSON list of objects")
    facts = space_facts(space) if space is not None else {}
    for number, point in enumerate(points):
        try:
            values = hyperopt_values(parameters, point)
            check_values(parameters, facts, values)
        except ValueError as exc:
            raise RunError(f"--points {path}: point {number}: {exc}") from None
    return points


# -- the search space as built at run time ------------------------------------

NESTED = object()  # an option holding a distribution of its own


def space_facts(space: Any) -> dict[str, dict[str, Any]]:
    """What the built hyperopt space says of each label, as run time computed it.

    {label: {"distribution": hyperopt's name for it ("uniform", "randint",
    "categorical", ...), "args": its arguments' values, "options": a
    choice's option values (NESTED for one holding a distribution), or None}}.
    Computed options (`choice(list(range(3)))`, `choice(SIZES)`) are known
    only here: the compiler could not record them.
    """
    from hyperopt.pyll import as_apply, dfs, rec_eval

    facts: dict[str, dict[str, Any]] = {}
    for node in dfs(as_apply(space)):
        if node.name == "hyperopt_param":
            label, dist = node.pos_args[0].obj, node.pos_args[1]
            facts.setdefault(label, {"options": None})
            args = [_constant(a, rec_eval) for a in dist.pos_args]
            facts[label].update(distribution=dist.name, args=args)
        elif node.name == "switch" and node.pos_args[0].name == "hyperopt_param":
            label = node.pos_args[0].pos_args[0].obj
            options = [_constant(o, rec_eval) for o in node.pos_args[1:]]
            facts.setdefault(label, {}).update(options=options)
    return facts


def _constant(node: Any, rec_eval: Any) -> Any:
    from hyperopt.pyll import dfs

    if any(n.name == "hyperopt_param" for n in dfs(node)):
        return NESTED
    try:
        return rec_eval(node)
    except Exception:  # not a plain value after all
        return NESTED


def runtime_parameters(parameters: Sequence[Parameter], space: Any) -> list[Parameter]:
    """The parameter table with the options of computed choices filled in from `space`.

    The compiler records `values: []` for a choice whose options are computed
    when the script runs; trials record the values the model saw, so
    rebuilding a run and checking --points need the options as built.
    """
    facts = space_facts(space)
    table = []
    for param in parameters:
        param = dict(param)
        options = facts.get(param["name"], {}).get("options")
        if (
            param["values"] == []
            and not param["object"]
            and options
            and not any(o is NESTED for o in options)
        ):
            param["values"] = jsonable(options)
        table.append(param)
    return table


def check_values(
    parameters: Sequence[Parameter],
    facts: Mapping[str, Mapping[str, Any]],
    values: Mapping[str, Any],
) -> None:
    """ValueError naming the parameter when a value (hyperopt's encoding) does not fit.

    Choices are hyperopt_values's to check; this checks the numbers of the
    other distributions against the space's ranges (`space_facts`).
    """
    described = {p["name"]: p for p in parameters}
    for name, value in values.items():
        param = described.get(name)
        if param is None or param["values"] is not None:
            continue
        fact = facts.get(name) or {}
        kind = fact.get("distribution", param["distribution"])
        problem = _number_problem(kind, fact.get("args") or [], value)
        if problem:
            raise ValueError(f"{name} = {value!r} {problem}")


def _number_problem(kind: str, args: list[Any], value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not a number"
    if not math.isfinite(value):
        return "is not a finite number"
    if kind == "randint" and not isinstance(value, int):
        return "is not an integer"
    if not args or any(a is NESTED or not isinstance(a, (int, float)) for a in args):
        return None  # bounds that are not plain numbers: nothing more to check
    if kind == "randint":
        low, high = (0, args[0]) if len(args) == 1 else args[:2]
        if not low <= value < high:
            return f"is outside [{low}, {high})"
        return None
    half_q = args[2] / 2 if kind.startswith("q") and len(args) > 2 else 0
    if kind in ("uniform", "quniform") and len(args) >= 2:
        low, high = args[0], args[1]
    elif kind in ("loguniform", "qloguniform") and len(args) >= 2:
        if value <= 0 and kind == "loguniform":
            return "is not above 0 (a log-uniform value)"
        low, high = math.exp(args[0]), math.exp(args[1])
    elif kind == "lognormal":
        return None if value > 0 else "is not above 0 (a log-normal value)"
    elif kind == "qlognormal":
        return None if value >= 0 else "is below 0 (a log-normal value)"
    else:  # normal, qnormal: any finite number
        return None
    slack = half_q + 1e-9 * max(1.0, abs(low), abs(high))  # q rounds past the ends
    if not low - slack <= value <= high + slack:
        return f"is outside [{low:g}, {high:g}] ({kind})"
    return None

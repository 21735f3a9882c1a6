"""What the compiler writes into a script and the runtime and the report read back.

One place for the contract between `hyperasc compile`, the bundled runtime
and `hyperasc report`: the fields of a parameter record (one line of the
script's `_hx_PARAMETERS` table, and of run.json's `space`) and the defaults
of the script's command line. Standard library only: the compiler imports
it without hyperopt, the report without hyperopt or Keras.

A parameter record is a dict with these keys:

name:         the hyperopt label, and the key in best.json, trials.jsonl, --points
distribution: the hyperopt distribution (`choice`, `uniform`, ...)
args:         the arguments' source texts, label left out, as `hyperasc space` shows them
values:       for `choice` and `pchoice`, the options as trials record them: a literal
              option's value as JSON data, an object option's (or a nested
              distribution's) source text; None for other distributions
parent:       the choice this parameter belongs to (a distribution nested in one of its
              options, or a handle that only runs when it takes certain options), else None
active:       with a parent, the parent's option indices (ints, ascending) for which this
              parameter is sampled; it is absent from a trial's values otherwise. None
              for a top-level parameter
object:       True when the options are objects built in the trial (values are their texts)
nested:       {option index (a string): name of the distribution nested there}

The objective record (run.json's and best.json's `objective`) says what the loss
is, as the compiler read it from the model function's return:

expression:   the loss's source text (`-accuracy`, `1 - score`)
function:     the model function's name
line:         the line of the model file where the loss is computed (or returned)
metric:       the metric the loss is computed from, or None when the loss is itself the measure
sign, offset: metric = offset + sign * loss (sign -1 and offset 0 for `-accuracy`,
              offset 1 for `1 - score`); sign 1 and offset 0 when metric is None
"""

from __future__ import annotations

import ast
from typing import Any

# The script's second line names the model file's hash; the runtime reads it there.
MODEL_SHA256_LINE = "# Model file sha256: "
DEFAULT_MAX_EVALS = 20
DEFAULT_ALGO = "tpe"
DEFAULT_KEEP_BEST = 0
DEFAULT_OUT = "hyperasc-run"

PARAMETER_FIELDS = (
    "name",
    "distribution",
    "args",
    "values",
    "parent",
    "active",
    "object",
    "nested",
)
# run.json's `space`: what a reader needs to know of each parameter.
SPACE_KEYS = ("name", "distribution", "args", "values", "parent", "active", "nested")
# What must match for --resume. A choice's args hold its options' source text,
# so the values add nothing here; records of earlier versions compare too.
SPACE_IDENTITY = ("name", "distribution", "args")
CHOICES = ("choice", "pchoice")
# A choice with conditional parameters has dicts for options in the hyperopt space:
# the option's value under this key (never a parameter's name: names are not
# empty), each parameter the option samples under its name.
OPTION_KEY = ""


def header_sha256(script: str) -> str | None:
    """The model file's sha256, from the header of a generated script's text."""
    for line in script.split("\n", 5)[:5]:
        if line.startswith(MODEL_SHA256_LINE):
            return line[len(MODEL_SHA256_LINE) :].strip()
    return None


def parameter(
    name: str,
    distribution: str,
    args: list[str],
    values: list[Any] | None = None,
    parent: str | None = None,
    is_object: bool = False,
    nested: dict[str, str] | None = None,
    active: list[int] | None = None,
) -> dict[str, Any]:
    """A parameter record, its keys in PARAMETER_FIELDS order."""
    return {
        "name": name,
        "distribution": distribution,
        "args": list(args),
        "values": values,
        "parent": parent,
        "active": None if active is None else sorted(active),
        "object": is_object,
        "nested": dict(nested or {}),
    }


def plain_value(value: Any) -> Any:
    """A literal option's value as trials record it: JSON data (values.jsonable without NumPy)."""
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)  # bytes, sets, complex numbers


def option_values(record: dict[str, Any]) -> list[Any] | None:
    """A choice's option values from a record, also one that run.json of an earlier
    version holds: it had the options' source texts, read here as literals once."""
    if "values" in record or "options" not in record:
        return record.get("values")
    texts = record["options"]
    if not isinstance(texts, list):
        return None
    values = []
    for text in texts:
        try:
            values.append(plain_value(ast.literal_eval(text)))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            values.append(text)  # an object option: its text is its value
    return values


def space_record(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """run.json's `space`: each parameter's SPACE_KEYS."""
    return [{k: p.get(k) for k in SPACE_KEYS} for p in parameters]


def objective(
    expression: str,
    function: str,
    line: int,
    metric: str | None = None,
    sign: int = 1,
    offset: float = 0,
) -> dict[str, Any]:
    """An objective record: what the loss is (see the module's docstring)."""
    return {
        "expression": expression,
        "function": function,
        "line": line,
        "metric": metric,
        "sign": sign if metric is not None else 1,
        "offset": offset if metric is not None else 0,
    }


def objective_text(record: dict[str, Any] | None) -> str | None:
    """`loss = -accuracy (create_model, line 52)`, or None without a record."""
    if not isinstance(record, dict) or not record.get("expression"):
        return None
    where = f"{record.get('function')}, line {record.get('line')}"
    return f"loss = {record['expression']} ({where})"


def metric_value(record: dict[str, Any] | None, loss: Any) -> float | None:
    """The metric a loss stands for (offset + sign * loss), or None when the record names none."""
    if not isinstance(record, dict) or record.get("metric") is None:
        return None
    if isinstance(loss, bool) or not isinstance(loss, (int, float)):
        return None
    return record.get("offset", 0) + record.get("sign", 1) * loss


def identity(record: dict[str, Any]) -> dict[str, Any]:
    """What --resume compares of a parameter, from the script's table or run.json."""
    return {k: record.get(k) for k in SPACE_IDENTITY}

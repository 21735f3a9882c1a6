"""Stage 5: render the tuning script from codegen_templates/ and format it with black.

Python decides what goes into the script (the context built here); the
templates decide its shape. The script has two parts: the part made for
this model file, rendered and formatted here, and the runtime bundle
(bundle.py), the same bytes in every script of one hyperasc version.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import re
from dataclasses import dataclass

from .. import __version__
from ..runtime import contract
from .bundle import END_MARKER, RUNTIME_NAME, runtime_bundle
from .templates import template_dir
from .discovery import Program
from .placeholders import fill
from .records import Handle, Option
from .space import Parameter, Space

# Every module-level name the script adds starts with this prefix, or with
# _hx1_, _hx2_, ... when the model file already spells a name that starts so.
PREFIX = "_hx"


@dataclass(frozen=True)
class Target:
    """How the script is named in its own header."""

    source_path: str
    command: str
    script_name: str = "tune.py"


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def generate(
    program: Program,
    space: Space,
    sha256: str,
    target: Target,
    text: str = "",
    objective: dict | None = None,
) -> str:
    """The finished script: the part made for this model file, formatted by black,
    then the runtime bundle, then the line that runs main().

    `text` is the model file's source, used to keep the script's own names
    clear of the user's.
    """
    prefix = choose_prefix(text)
    head = format_script(render(program, space, sha256, target, prefix, objective))
    tail = f'\n\nif __name__ == "__main__":\n    raise SystemExit({RUNTIME_NAME}.run({prefix}main))\n'
    return head + "\n\n" + runtime_bundle() + tail


def choose_prefix(text: str) -> str:
    """`_hx_`, or the first `_hxN_` that no identifier of the model file starts with."""
    used = set(re.findall(r"_hx(\d*)_", text))
    if "" not in used:
        return PREFIX + "_"
    n = 1
    while str(n) in used:
        n += 1
    return f"{PREFIX}{n}_"


def render(
    program: Program,
    space: Space,
    sha256: str,
    target: Target,
    prefix: str = PREFIX + "_",
    objective: dict | None = None,
) -> str:
    """The unformatted part of the script that depends on the model file.

    `objective`: what the model function returns as the loss (compile/objective.py).
    """
    replacements = {h.placeholder: _replacement(h, prefix) for h in space.handles}
    minimize = program.minimize
    writer = _SpaceWriter(space, prefix)
    space_entries = [
        {
            "name_literal": json.dumps(p.name),
            "expression": writer.expression(p, " " * 8),
        }
        for p in space.top_level
    ]
    context = {
        "prefix": prefix,
        # The early block finds the runtime bundle in the script's own text.
        "runtime_name": RUNTIME_NAME,
        "runtime_end": END_MARKER.strip(),
        "version": __version__,
        # File names and the command go into comments and the docstring escaped
        # (shown_in_comment, shown_in_docstring): never a line break, never a quote
        # that ends the docstring; into code only as string literals.
        "source_path": shown_in_comment(target.source_path),
        "source_path_doc": shown_in_docstring(target.source_path),
        "source_path_literal": json.dumps(target.source_path),
        "sha256_line": contract.MODEL_SHA256_LINE + sha256,
        "command": shown_in_comment(target.command),
        "script_name": shown_in_comment(target.script_name),
        "script_name_doc": shown_in_docstring(target.script_name),
        "future_imports": program.future_imports,
        "user_imports": program.imports,
        "helpers": [fill(s.text, replacements) for s in program.helpers],
        "data_function": program.data.text if program.data else None,
        "data_name": program.data.name if program.data else None,
        "data_args": _data_args(minimize.data_args if minimize else None),
        # data()'s local variables that the model or the bounds read: hyperas made them globals.
        "data_locals": (
            repr(tuple(program.data_locals)) if program.data_locals else None
        ),
        "space_loads_data": space.reads_data_locals,
        # A model function without parameters (hyperas never passed any) reads data()'s locals.
        "model_takes_data": program.model_takes_data or not program.data,
        "search_defaults": _search_defaults(program),
        # One line (black leaves it as written): what the loss is, for the summary.
        "objective": _literal(objective) if objective else None,
        "space_data": [
            (name, program.model.params.index(name)) for name in space.data_names
        ],
        "space_entries": space_entries,
        "space_shared": writer.lines,
        # Conditional parameters arrive in their options' dicts: spread out for the model.
        "conditional": bool(space.deciders),
        "parameter_lines": [_literal(_record(p, space)) for p in space.parameters],
        "model_function": fill(program.model.text, replacements),
        "model_name": program.model.name,
        "space_alias": program.space_alias,
    }
    return _environment().get_template("tune.py.jinja").render(context)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown_in_comment(text: str) -> str:
    """`text` for a `#` comment: every character that is not printable (line breaks,
    \\x0b, \\x85, \\u2028, ...) as a backslash escape, so the comment stays one line."""
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def shown_in_docstring(text: str) -> str:
    """`text` for the inside of a triple-quoted docstring: backslashes and quotes escaped
    too, so that nothing in it ends the string or reads as an escape sequence."""
    return "".join(
        ("\\" + c if c in "\\\"'" else c if c.isprintable() else _escape(c))
        for c in text
    )


def format_script(text: str) -> str:
    """Format with black; a failure here is a bug in hyperasc, not in the input."""
    import black

    return black.format_str(text, mode=black.Mode())


def _lookup(name: str, prefix: str) -> str:
    return f"{prefix}params[{json.dumps(name)}]"


def _replacement(handle: Handle, prefix: str) -> str:
    """What a handle becomes in the model code."""
    lookup = _lookup(handle.name, prefix)
    if not handle.distribution.is_object_choice:
        return lookup
    # Object options are built here, in the trial, so layers are never shared
    # between trials and may use the model function's local names.
    options = handle.distribution.options
    parts = [
        f"{_operand(o.text)} if {lookup} == {json.dumps(o.text)} else"
        for o in options[:-1]
    ]
    return "(" + " ".join(parts + [_operand(options[-1].text)]) + ")"


def _operand(text: str) -> str:
    """Parenthesise an option that would bind looser than a conditional expression."""
    node = ast.parse(f"(\n{text}\n)", mode="eval").body
    return f"({text})" if isinstance(node, (ast.IfExp, ast.Lambda)) else text


class _SpaceWriter:
    """The hyperopt expressions of `_hx_space()`, one top-level parameter at a time.

    A conditional parameter of several options is one node: bound to a local
    name in `lines` (deepest first), then named in each option. A choice with
    conditional parameters is laid out one option a line (black leaves the
    space alone then); `indent` is that of the line an expression starts on.
    """

    def __init__(self, space: Space, prefix: str) -> None:
        self.space, self.prefix = space, prefix
        self.shared: dict[str, str] = {}  # parameter name -> its local name
        self.lines: list[str] = []

    def expression(self, param: Parameter, indent: str) -> str:
        """The expression of `param`, its nested and conditional parameters in it."""
        if param.branch is not None and len(param.branch) > 1:
            if param.name not in self.shared:
                node = self._node(param, " " * 4)
                self.shared[param.name] = f"{self.prefix}branch{len(self.shared)}"
                self.lines.append(f"{self.shared[param.name]} = {node}")
            return self.shared[param.name]
        return self._node(param, indent)

    def _node(self, param: Parameter, indent: str) -> str:
        dist = param.dist
        label = json.dumps(param.name)
        hp = f"{self.prefix}hp"
        if dist.dist not in ("choice", "pchoice"):
            return f"{hp}.{dist.dist}({', '.join([label, *dist.args])})"
        if dist.options is None:
            return f"{hp}.{dist.dist}({label}, list({dist.options_text}))"
        values = [
            self._option_value(o, i, param, indent + " " * 4)
            for i, o in enumerate(dist.options)
        ]
        if dist.dist == "pchoice":
            values = [f"({o.probability}, {v})" for o, v in zip(dist.options, values)]
        if param.name in self.space.deciders:
            options = "".join(f"{indent}    {v},\n" for v in values)
            return f"{hp}.{dist.dist}({label}, [\n{options}{indent}])"
        return f"{hp}.{dist.dist}({label}, [{', '.join(values)}])"

    def _option_value(
        self, option: Option, index: int, parent: Parameter, indent: str
    ) -> str:
        space = self.space
        if parent.dist.is_object_choice:
            return json.dumps(option.text)
        if option.kind == "nested":
            nested = next(p for p in space.parameters if p.dist is option.nested)
            return self.expression(nested, indent)
        if parent.name not in space.deciders:
            return option.text
        # The option's value under contract.OPTION_KEY, beside the parameters it samples.
        value = _literal(ast.literal_eval(option.text))  # a scalar (conditions.py)
        entries = [f"{json.dumps(contract.OPTION_KEY)}: {value}"] + [
            f"{json.dumps(child.name)}: " + self.expression(child, indent)
            for child in space.branch_children(parent.name, index)
        ]
        return "{" + ", ".join(entries) + "}"


def _search_defaults(program: Program) -> list[tuple[str, str]]:
    """(keyword, literal) of the script's defaults that differ from the runtime's."""
    minimize = program.minimize
    given = {
        "max_evals": minimize.max_evals if minimize else None,
        "algo": minimize.algo if minimize else None,
        "keep_best": program.keep_best,
    }
    runtime = {
        "max_evals": contract.DEFAULT_MAX_EVALS,
        "algo": contract.DEFAULT_ALGO,
        "keep_best": contract.DEFAULT_KEEP_BEST,
    }
    return [
        (key, _literal(value))
        for key, value in given.items()
        if value is not None and value != runtime[key]
    ]


def _record(param: Parameter, space: Space) -> dict:
    """The parameter's line in the script's parameter table (runtime/contract.py)."""
    dist = param.dist
    nested = {
        str(i): next(p.name for p in space.parameters if p.dist is o.nested)
        for i, o in enumerate(dist.options or [])
        if o.nested is not None
    }
    values = None
    if dist.dist in contract.CHOICES:
        values = [
            (
                o.text
                if o.kind != "literal" or dist.is_object_choice
                else contract.plain_value(ast.literal_eval(o.text))
            )
            for o in dist.options or []
        ]
    return contract.parameter(
        param.name,
        dist.dist,
        dist.args,
        values,
        param.parent,
        dist.is_object_choice,
        nested,
        _active(param, space),
    )


def _active(param: Parameter, space: Space) -> list[int] | None:
    """The parent's option indices for which `param` is sampled (contract.py's `active`)."""
    if param.parent is None:
        return None
    if param.branch is not None:
        return list(param.branch)
    parent = next(p for p in space.parameters if p.name == param.parent)
    return [
        i for i, o in enumerate(parent.dist.options or []) if o.nested is param.dist
    ]


def _literal(value) -> str:
    """A Python literal for JSON-like data, on one line, with double-quoted strings."""
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'  # 1e999 in the model file
    return repr(value)  # int, float, bool, None


def _string(text: str) -> str:
    """A string literal in black's style: double quotes, unless single ones need fewer escapes."""
    quoted = json.dumps(text, ensure_ascii=False)
    if '"' in text and "'" not in text:
        return "'" + quoted[1:-1].replace('\\"', '"') + "'"
    return quoted


def _data_args(text: str | None) -> str:
    if text is None:
        return "()"
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "()"
    return repr(tuple(value) if isinstance(value, (list, tuple)) else (value,))

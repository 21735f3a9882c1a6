"""Stage 5: render the tuning script from codegen_templates/ and format it with black.

Python decides what goes into the script (the context built here); the
templates decide its shape.
"""

from __future__ import annotations

import ast
import functools
import pprint
import re
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .diagnostics import CompileError, Diagnostic
from .discovery import Program
from .scanner import PLACEHOLDER
from .space import Parameter, Space

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "codegen_templates"
DEFAULT_MAX_EVALS = 20


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
        loader=jinja2.FileSystemLoader(str(_template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _template_dir() -> Path:
    if (TEMPLATE_DIR / "tune.py.jinja").exists():
        return TEMPLATE_DIR  # a source checkout or an editable install
    from importlib import resources

    return Path(str(resources.files("hyperasc.codegen_templates")))


def generate(program: Program, space: Space, sha256: str, target: Target) -> str:
    """The finished script: the part made for this model file, formatted by black,
    then the support code that every script shares.

    The support code is stored black-formatted (tests check that it stays so
    and that the whole script passes `black --check`), so black only has to
    format the few hundred lines that depend on the input.
    """
    head = format_script(render(program, space, sha256, target))
    return head + "\n\n" + support_code()


@functools.lru_cache(maxsize=1)
def support_code() -> str:
    return _environment().get_template("support.py.jinja").render()


def render(program: Program, space: Space, sha256: str, target: Target) -> str:
    """The unformatted part of the script that depends on the model file."""
    _check_reserved_names(program)
    replacements = {p.handle: _replacement(p, space) for p in space.top_level}
    minimize = program.minimize
    context = {
        "version": __version__,
        "source_path": target.source_path,
        "source_path_literal": repr(target.source_path),
        "source_sha256": sha256,
        "command": target.command,
        "script_name": target.script_name,
        "future_imports": program.future_imports,
        "user_imports": program.imports,
        "helpers": [_fill(s.text, replacements) for s in program.helpers],
        "data_function": program.data.text if program.data else None,
        "data_name": program.data.name if program.data else None,
        "data_args": _data_args(minimize.data_args if minimize else None),
        "defaults": {
            "max_evals": (minimize and minimize.max_evals) or DEFAULT_MAX_EVALS,
            "algo": (minimize and minimize.algo) or "tpe",
        },
        "space_data": [(name, program.model.params.index(name)) for name in space.data_names],
        "space_entries": [
            {"name_literal": repr(p.name), "expression": _hp_expression(p, space)} for p in space.top_level
        ],
        "parameters_literal": pprint.pformat([_describe(p, space) for p in space.parameters], width=88, sort_dicts=False),
        "model_function": _fill(program.model.text, replacements),
        "model_name": program.model.name,
    }
    return _environment().get_template("tune.py.jinja").render(context)


def format_script(text: str) -> str:
    """Format with black; a failure here is a bug in hyperasc, not in the input."""
    import black

    return black.format_str(text, mode=black.Mode())


def _fill(text: str, replacements: dict[int, str]) -> str:
    return PLACEHOLDER.sub(lambda m: replacements[int(m.group(1))], text)


def _lookup(name: str) -> str:
    return f"trial_params[{name!r}]"


def _replacement(param: Parameter, space: Space) -> str:
    """What a handle becomes in the model code."""
    if not param.dist.is_object_choice:
        return _lookup(param.name)
    # Object options are built here, in the trial, so layers are never shared
    # between trials and may use the model function's local names.
    options = param.dist.options
    parts = [f"{_operand(o.text)} if {_lookup(param.name)} == {o.text!r} else" for o in options[:-1]]
    return "(" + " ".join(parts + [_operand(options[-1].text)]) + ")"


def _operand(text: str) -> str:
    """Parenthesise an option that would bind looser than a conditional expression."""
    node = ast.parse(f"(\n{text}\n)", mode="eval").body
    return f"({text})" if isinstance(node, (ast.IfExp, ast.Lambda)) else text


def _hp_expression(param: Parameter, space: Space) -> str:
    dist = param.dist
    label = repr(param.name)
    if dist.dist in ("choice", "pchoice"):
        if dist.options is None:
            return f"hp.{dist.dist}({label}, list({dist.options_text}))"
        values = [_option_value(o, param, space) for o in dist.options]
        if dist.dist == "pchoice":
            values = [f"({o.probability}, {v})" for o, v in zip(dist.options, values)]
        return f"hp.{dist.dist}({label}, [{', '.join(values)}])"
    return f"hp.{dist.dist}({', '.join([label, *dist.args])})"


def _option_value(option, parent: Parameter, space: Space) -> str:
    if parent.dist.is_object_choice:
        return repr(option.text)
    if option.kind == "nested":
        nested = next(p for p in space.parameters if p.dist is option.nested)
        return _hp_expression(nested, space)
    return option.text


def _describe(param: Parameter, space: Space) -> dict:
    record = param.describe()
    record["parent"] = param.parent
    record["object"] = param.dist.is_object_choice
    record["nested"] = {
        str(i): next(p.name for p in space.parameters if p.dist is o.nested)
        for i, o in enumerate(param.dist.options or [])
        if o.nested is not None
    }
    return record


def _data_args(text: str | None) -> str:
    if text is None:
        return "()"
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return "()"
    return repr(tuple(value) if isinstance(value, (list, tuple)) else (value,))


_GENERATED_IMPORT = re.compile(r"^(?:import (\w+)|from (\S+) import (.+))$")
_GENERATED_DEF = re.compile(r"^(?:def|class) (\w+)|^([A-Za-z_]\w*) = ")


@functools.lru_cache(maxsize=1)
def generated_names() -> dict[str, str | None]:
    """Top-level names the script itself defines: name -> module it imports it from."""
    names: dict[str, str | None] = {}
    folder = _template_dir()
    files = [folder / "tune.py.jinja", *sorted((folder / "support").glob("*.py"))]  # support.py.jinja only includes these
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _GENERATED_IMPORT.match(line)
            if match and match.group(1):
                names[match.group(1)] = match.group(1)
            elif match:
                for name in match.group(3).split(","):
                    names[name.strip()] = f"{match.group(2)}.{name.strip()}"
            else:
                match = _GENERATED_DEF.match(line)
                if match:
                    names[match.group(1) or match.group(2)] = None
    names["np"] = "numpy"
    return names


def _check_reserved_names(program: Program) -> None:
    reserved = generated_names()
    problems: list[Diagnostic] = []
    user_imports: dict[str, str] = {}
    for text in program.imports:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                for a in node.names:
                    user_imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:
                    user_imports[a.asname or a.name] = f"{node.module}.{a.name}"
    for name, source in user_imports.items():
        if name in reserved and reserved[name] != source:
            problems.append(Diagnostic(1, 1, f"'{name}' is imported from {source}, but the generated script uses it for {reserved[name] or 'its own code'}",
                                       f"import it under another name: import ... as {name}_"))
    defined = [(s.line, n) for s in program.helpers for n in s.binds]
    defined += [(program.model.line, program.model.name)]
    if program.data:
        defined.append((program.data.line, program.data.name))
    for line, name in defined:
        if name in reserved:
            problems.append(Diagnostic(line, 1, f"'{name}' is also defined by the generated script",
                                       "rename it in the model file"))
    functions = [program.model] + ([program.data] if program.data else [])
    for fn in functions:
        if "trial_params" in fn.locals:
            problems.append(Diagnostic(fn.line, 1, "'trial_params' is reserved for the sampled values",
                                       "rename the local variable"))
    if problems:
        raise CompileError(problems)

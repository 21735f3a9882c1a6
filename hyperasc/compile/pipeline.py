"""The pipeline: source -> handles -> structure -> checks -> space -> script.

Each stage is a module with one job; this one only wires them together.
Every handle is one record (scanner.Handle) that the stages fill in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tokenize
from dataclasses import dataclass

from . import checks, codegen, conditions, discovery, handles, objective, scanner
from ..diagnostics import CompileError, Diagnostic, error
from .placeholders import substitute
from .source import Source
from .space import Space, build_space


@dataclass
class Analysis:
    """Everything known about a model file before code generation."""

    source: Source
    program: discovery.Program
    space: Space
    warnings: list[Diagnostic]
    # What the model function returns as the loss (runtime/contract.py), or None.
    objective: dict | None = None


def analyse(
    source: Source,
    model_fn: str | None = None,
    data_fn: str | None = None,
    flat_space: bool = False,
) -> Analysis:
    """Scan, parse and check a model file; raise CompileError on bad input.

    `hyperasc space` stops here and `hyperasc compile` goes on from here, so
    both accept exactly the same files. With `flat_space` every handle is a
    top-level parameter, none conditional on a choice (conditions.py).
    """
    with _within_limits(source.text):
        return _analyse(source, model_fn, data_fn, flat_space)


def _analyse(
    source: Source,
    model_fn: str | None = None,
    data_fn: str | None = None,
    flat_space: bool = False,
) -> Analysis:
    warnings: list[Diagnostic] = []
    parsed: list[scanner.Handle] = []
    problems: list[Diagnostic] = []
    for handle in scanner.scan(source.text):
        try:
            distribution = handles.parse_handle(handle, warnings)
        except CompileError as exc:
            problems.extend(exc.diagnostics)
            continue
        parsed.append(dataclasses.replace(handle, distribution=distribution))
    if problems:
        raise CompileError(problems)
    # Names the handles read: module-level definitions they need are carried.
    roots = set()
    for handle in parsed:
        for dist in [handle.distribution, *handle.distribution.nested]:
            roots |= dist.names | dist.option_names
    substituted = substitute(source.text, parsed)
    program = discovery.discover(substituted, parsed, model_fn, data_fn, roots)
    checks.check(program, source.text)
    found = None
    if not flat_space:
        found = conditions.find_conditions(
            substituted,
            checks.searched(program),
            program.model.name,
            program.identities,
        )
    space = build_space(program, found)
    warnings.extend(program.notes)  # what the script does where hyperas did not
    warnings.extend(space.notes)  # handles an `if` seemed to decide, left unconditional
    warnings.sort(key=lambda d: (d.line, d.column))
    loss = objective.find(program.model, program.handles)
    return Analysis(source, program, space, warnings, _in_cell(loss, source))


def _in_cell(record: dict | None, source: Source) -> dict | None:
    """A notebook's objective line told within its cell, the cell named (`cell_4`)."""
    if record is None or not source.cells:
        return record
    from ..text.notebook import label, locate

    cell, moved = locate(source.cells, Diagnostic(record["line"], 1, ""))
    if cell is None:
        return record
    return {**record, "line": moved.line, "cell": label(cell.number)}


def compile_source(
    source: Source,
    target: codegen.Target,
    model_fn: str | None = None,
    data_fn: str | None = None,
    flat_space: bool = False,
) -> tuple[str, list[Diagnostic]]:
    """The formatted tuning script for `source`, and any warnings."""
    analysis = analyse(source, model_fn, data_fn, flat_space)
    with _within_limits(source.text):
        script = codegen.generate(
            analysis.program,
            analysis.space,
            source.sha256,
            target,
            source.text,
            analysis.objective,
        )
    return script, analysis.warnings


@contextlib.contextmanager
def _within_limits(text: str):
    """Input nested too deeply (or an expression too long) for Python's parser or for
    the compiler's own walks: one located error, not a RecursionError or MemoryError."""
    try:
        yield
    except (RecursionError, MemoryError):
        line, column = _deepest(text)
        raise error(
            line,
            column,
            "this expression is nested too deeply or is too long for the compiler",
            "split it into several statements, naming the parts",
        ) from None


def _deepest(text: str) -> tuple[int, int]:
    """(line, column) of the deepest bracket of the file, or, where no bracket nests deeply,
    the start of the line with the most tokens: where the limit was most likely hit."""
    deepest, depth, where = 0, 0, (1, 1)
    operators: dict[int, int] = {}
    starts: dict[int, int] = {}
    layout = (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.NL)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in layout or tok.type == tokenize.COMMENT:
                continue
            starts.setdefault(tok.start[0], tok.start[1] + 1)
            operators[tok.start[0]] = operators.get(tok.start[0], 0) + 1
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
                if depth > deepest:
                    deepest, where = depth, (tok.start[0], tok.start[1] + 1)
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
    except (tokenize.TokenError, SyntaxError, RecursionError, MemoryError):
        pass
    if deepest >= 50 or not operators:
        return where
    line = max(operators, key=lambda n: operators[n])
    return line, starts.get(line, 1)

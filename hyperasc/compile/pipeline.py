"""The pipeline: source -> handles -> structure -> checks -> space -> script.

Each stage is a module with one job; this one only wires them together.
Every handle is one record (scanner.Handle) that the stages fill in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import checks, codegen, discovery, handles, scanner
from ..diagnostics import CompileError, Diagnostic
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


def analyse(
    source: Source, model_fn: str | None = None, data_fn: str | None = None
) -> Analysis:
    """Scan, parse and check a model file; raise CompileError on bad input.

    `hyperasc space` stops here and `hyperasc compile` goes on from here, so
    both accept exactly the same files.
    """
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
    program = discovery.discover(
        substitute(source.text, parsed), parsed, model_fn, data_fn, roots
    )
    checks.check(program, source.text)
    space = build_space(program)
    warnings.extend(program.notes)  # what the script does where hyperas did not
    warnings.sort(key=lambda d: (d.line, d.column))
    return Analysis(source, program, space, warnings)


def compile_source(
    source: Source,
    target: codegen.Target,
    model_fn: str | None = None,
    data_fn: str | None = None,
) -> tuple[str, list[Diagnostic]]:
    """The formatted tuning script for `source`, and any warnings."""
    analysis = analyse(source, model_fn, data_fn)
    script = codegen.generate(
        analysis.program, analysis.space, source.sha256, target, source.text
    )
    return script, analysis.warnings

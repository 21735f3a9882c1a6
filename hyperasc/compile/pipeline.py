"""The pipeline: source -> handles -> structure -> space -> script.

Each stage is a module with one job; this one only wires them together.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import codegen, discovery, handles, scanner
from ..diagnostics import CompileError, Diagnostic
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
    """Scan, parse and check a model file; raise CompileError on bad input."""
    found = scanner.scan(source.text)
    warnings: list[Diagnostic] = []
    distributions, problems = [], []
    for handle in found:
        try:
            distributions.append(handles.parse_handle(handle, warnings))
        except CompileError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise CompileError(problems)
    roots = {n for d in distributions for n in d.names | d.option_names}
    roots |= {
        n
        for d in distributions
        for nested in d.nested
        for n in nested.names | nested.option_names
    }
    program = discovery.discover(
        scanner.substitute(source.text, found), found, model_fn, data_fn, roots
    )
    space = build_space(distributions, program)
    warnings.extend(
        program.notes
    )  # what the script does where hyperas did something else
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

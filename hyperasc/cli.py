"""Stage 6: the `hyperasc` command line."""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .diagnostics import CompileError, Diagnostic, render
from .fileio import write_atomically
from .source import Source, read_source

EXIT_ERROR = 2


def main() -> None:
    cli(prog_name="hyperasc")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hyperasc")
def cli() -> None:
    """Compile hyperas-style Keras model files into hyperopt tuning scripts."""


_model_fn = click.option("--model-fn", metavar="NAME", help="The model function (default: found automatically).")
_data_fn = click.option("--data-fn", metavar="NAME", help="The data function (default: found automatically).")


@cli.command("compile")
@click.argument("model", metavar="MODEL")
@click.option("-o", "--output", "out", metavar="OUT", help="Write the script here (default, or '-': stdout).")
@click.option("--check", is_flag=True, help="Exit 1 with a diff if OUT differs from what would be written.")
@_model_fn
@_data_fn
def compile_command(model: str, out: str | None, check: bool, model_fn: str | None, data_fn: str | None) -> None:
    """Compile MODEL ('-' for stdin) into a self-contained tuning script."""
    from .codegen import Target
    from .compiler import compile_source

    to_stdout = out in (None, "-")
    if check and to_stdout:
        _fail("--check needs -o OUT: the file to compare")
    source = _read(model)
    command = f"hyperasc compile {model}" + ("" if to_stdout else f" -o {out}")
    # The header's regenerate command must name the functions too.
    command += "".join(f" --{flag} {name}" for flag, name in (("model-fn", model_fn), ("data-fn", data_fn)) if name)
    target = Target(source.path, command, "tune.py" if to_stdout else os.path.basename(out))
    with _diagnostics(source):
        script, warnings = compile_source(source, target, model_fn, data_fn)
    _print_diagnostics(source, warnings)
    if check:
        _check(Path(out), script)
    elif to_stdout:
        sys.stdout.write(script)
    else:
        _write_atomically(Path(out), script)


@cli.command("space")
@click.argument("model", metavar="MODEL")
@click.option("--json", "as_json", is_flag=True, help="Print the space as JSON.")
@_model_fn
@_data_fn
def space_command(model: str, as_json: bool, model_fn: str | None, data_fn: str | None) -> None:
    """Print the search space extracted from MODEL ('-' for stdin)."""
    from .compiler import analyse

    source = _read(model)
    with _diagnostics(source):
        analysis = analyse(source, model_fn, data_fn)
    _print_diagnostics(source, analysis.warnings)
    records = [p.describe() for p in analysis.space.parameters]
    if as_json:
        click.echo(json.dumps({"parameters": records}, indent=2))
        return
    rows = [("NAME", "DISTRIBUTION", "ARGUMENTS", "LOCATION")]
    for record, param in zip(records, analysis.space.parameters):
        name = ("  " if param.parent else "") + record["name"]
        args = ", ".join(" ".join(a.split()) for a in record["args"])
        rows.append((name, record["distribution"], args, f"{record['line']}:{record['column']}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])


@cli.command("report")
@click.argument("run_dir", metavar="DIR")
@click.option("-o", "--output", "report_dir", metavar="REPORT_DIR", help="Where to write (default: DIR/report).")
@click.option("--format", "fmt", type=click.Choice(["html", "png", "csv", "all"]), default="all", show_default=True)
def report_command(run_dir: str, report_dir: str | None, fmt: str) -> None:
    """Turn a run directory into trials.csv, report.html and PNG plots."""
    from .report import ReportError, write_report

    try:
        written = write_report(Path(run_dir), Path(report_dir) if report_dir else None, fmt)
    except ReportError as exc:
        _fail(str(exc))
    for path in written:
        click.echo(str(path))


def _read(model: str) -> Source:
    try:
        data = sys.stdin.buffer.read() if model == "-" else Path(model).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {model}: {exc.strerror or exc}")
    path = "<stdin>" if model == "-" else model
    try:
        return read_source(path, data)
    except CompileError as exc:
        # Show the offending line of undecodable text, but never echo binary data.
        shown = "" if b"\x00" in data else data.decode("utf-8", "replace")
        _print_diagnostics(Source(path, shown, ""), exc.diagnostics)
        sys.exit(EXIT_ERROR)


class _diagnostics:
    """Turn a CompileError into rendered diagnostics and exit code 2."""

    def __init__(self, source: Source):
        self.source = source

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, tb) -> bool:
        if kind is not None and issubclass(kind, CompileError):
            _print_diagnostics(self.source, error.diagnostics)
            sys.exit(EXIT_ERROR)
        return False


def _print_diagnostics(source: Source, diagnostics: list[Diagnostic]) -> None:
    lines = source.lines
    for diagnostic in diagnostics:
        click.echo(render(diagnostic, source.path, lines), err=True)


def _fail(message: str) -> None:
    click.echo(f"hyperasc: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _check(out: Path, script: str) -> None:
    try:
        current = out.read_text(encoding="utf-8")
    except OSError:
        current = ""
    if current == script:
        return
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), script.splitlines(keepends=True),
        fromfile=f"{out} (on disk)", tofile=f"{out} (compiled)",
    )
    sys.stdout.writelines(diff)
    click.echo(f"hyperasc: {out} is out of date; regenerate it with hyperasc compile", err=True)
    sys.exit(1)


def _write_atomically(out: Path, text: str) -> None:
    try:
        write_atomically(out, text.encode("utf-8"))
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")

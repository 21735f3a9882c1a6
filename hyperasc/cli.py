"""Stage 6: the `hyperasc` command line."""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .diagnostics import CompileError, Diagnostic, render
from .fileio import write_atomically
from .compile.source import Source, read_source

EXIT_ERROR = 2


def main() -> None:
    try:
        try:
            cli(prog_name="hyperasc")  # standalone: it ends in SystemExit
        finally:
            # Output still buffered (`upgrade --diff` writes without flushing) goes
            # out here, where a reader that left (`| head -1`) is caught below,
            # not at interpreter exit ("Exception ignored ... BrokenPipeError").
            sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(EXIT_ERROR)


class _GuardedGroup(click.Group):
    """Every command's last line of defence: an unexpected exception becomes one line and exit 2.

    Each failure a user can cause has its own message; this is for hyperasc's
    own bugs. HYPERASC_DEBUG=1 or `hyperasc --debug` shows the traceback instead.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # Click's own ways out, which it reports itself
        except BrokenPipeError:
            _quiet_stdout()  # `hyperasc compile m.py | head`: the reader left; nothing to report
            sys.exit(EXIT_ERROR)
        except Exception as exc:
            if ctx.params.get("debug") or os.environ.get("HYPERASC_DEBUG", "") not in (
                "",
                "0",
            ):
                raise
            lines = str(exc).strip().splitlines()
            detail = (
                f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
            )
            click.echo(
                f"hyperasc: internal error: {detail}; rerun with HYPERASC_DEBUG=1 for the traceback",
                err=True,
            )
            sys.exit(EXIT_ERROR)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit raises nothing more."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


@click.group(
    cls=_GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="hyperasc")
@click.option(
    "--debug",
    is_flag=True,
    help="Show Python's traceback on an internal error (or set HYPERASC_DEBUG=1).",
)
def cli(debug: bool) -> None:
    """Compile hyperas-style Keras model files into hyperopt tuning scripts."""


_model_fn = click.option(
    "--model-fn",
    metavar="NAME",
    help="The model function (default: found automatically).",
)
_data_fn = click.option(
    "--data-fn",
    metavar="NAME",
    help="The data function (default: found automatically).",
)


_flat_space = click.option(
    "--flat-space",
    is_flag=True,
    help="Make every handle a top-level parameter, none conditional on a choice's branch.",
)


@cli.command("compile")
@click.argument("model", metavar="MODEL")
@click.option(
    "-o",
    "--output",
    "out",
    metavar="OUT",
    help="Write the script here (default, or '-': stdout).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 with a diff if OUT differs from what would be written.",
)
@_model_fn
@_data_fn
@_flat_space
def compile_command(
    model: str,
    out: str | None,
    check: bool,
    model_fn: str | None,
    data_fn: str | None,
    flat_space: bool,
) -> None:
    """Compile MODEL ('-' for stdin) into a self-contained tuning script."""
    from .compile.codegen import Target
    from .compile.pipeline import compile_source

    to_stdout = out in (None, "-")
    if check and to_stdout:
        _fail("--check needs -o OUT: the file to compare")
    if not to_stdout and model != "-" and _same_file(out, model):
        _fail(f"-o {out} is the model file {model} itself; write the script elsewhere")
    source = _read(model)
    # The header's regenerate command, quoted so it pastes back into a shell;
    # it must name the functions too.
    words = ["hyperasc", "compile", model] + ([] if to_stdout else ["-o", out])
    for flag, name in (("--model-fn", model_fn), ("--data-fn", data_fn)):
        words += [flag, name] if name else []
    words += ["--flat-space"] if flat_space else []
    command = shlex.join(words)
    target = Target(
        source.path, command, "tune.py" if to_stdout else os.path.basename(out)
    )
    with _diagnostics(source):
        script, warnings = compile_source(source, target, model_fn, data_fn, flat_space)
    _print_diagnostics(source, warnings)
    _upgrade_note(source)
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
@_flat_space
def space_command(
    model: str,
    as_json: bool,
    model_fn: str | None,
    data_fn: str | None,
    flat_space: bool,
) -> None:
    """Print the search space extracted from MODEL ('-' for stdin).

    A parameter nested in a choice, or sampled only for some of its options,
    is indented under it.
    """
    from .compile.pipeline import analyse

    source = _read(model)
    with _diagnostics(source):
        analysis = analyse(source, model_fn, data_fn, flat_space)
    _print_diagnostics(source, analysis.warnings)
    records = [p.describe() for p in analysis.space.parameters]
    if as_json:
        click.echo(json.dumps({"parameters": records}, indent=2))
        return
    rows = [("NAME", "DISTRIBUTION", "ARGUMENTS", "LOCATION")]
    depth: dict[str, int] = {}
    for record, param in zip(records, analysis.space.parameters):
        # Parents come before their children (space._tree): indent by depth.
        depth[param.name] = depth.get(param.parent, -1) + 1 if param.parent else 0
        name = "  " * depth[param.name] + record["name"]
        args = ", ".join(" ".join(a.split()) for a in record["args"])
        rows.append(
            (
                name,
                record["distribution"],
                args,
                source.location(record["line"], record["column"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths))
            + "  "
            + row[3]
        )


@cli.command("report")
@click.argument("run_dir", metavar="DIR")
@click.option(
    "-o",
    "--output",
    "report_dir",
    metavar="REPORT_DIR",
    help="Where to write (default: DIR/report).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "png", "csv", "all"]),
    default="all",
    show_default=True,
)
@click.option(
    "--watch",
    is_flag=True,
    help="Rewrite the report as trials finish, until the search has finished "
    "(all --max-evals trials in, no search holding the run) or Ctrl-C; "
    "report.html reloads itself meanwhile.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="With --watch: how often to look for finished trials.",
)
def report_command(
    run_dir: str, report_dir: str | None, fmt: str, watch: bool, interval: float
) -> None:
    """Turn a run directory into trials.csv, report.html and PNG plots."""
    from .report import ReportError, write_report
    from .report.render import to_open

    def note(text: str) -> None:
        click.echo(f"note: {text}", err=True)

    def open_line(written: list[Path]) -> None:
        # One line, the file to open, shell-quoted for a copy and paste.
        target = to_open(written)
        if target is not None:
            click.echo(f"open {shlex.quote(str(target))}")

    if not watch:
        try:
            written = write_report(
                Path(run_dir), Path(report_dir) if report_dir else None, fmt, note
            )
        except ReportError as exc:
            _fail(str(exc))
        open_line(written)
        return

    from .report.watch import watch as watch_run

    first = []

    def wrote(written: list[Path], run: Any) -> None:
        if not first:
            first.append(True)
            open_line(written)
        ok = sum(t.ok for t in run.trials)
        pruned = sum(t.pruned for t in run.trials)
        failed = len(run.trials) - ok - pruned
        of = run.info.get("max_evals")
        click.echo(
            f"report: {len(run.trials)}{f' of {of}' if of is not None else ''} trials "
            f"({ok} ok, {pruned} pruned, {failed} failed)",
            err=True,
        )

    try:
        why = watch_run(
            Path(run_dir),
            Path(report_dir) if report_dir else None,
            fmt,
            interval,
            note,
            wrote,
        )
    except ReportError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:  # a second Ctrl-C while the last page was written
        click.echo("stopped watching; the report is as last written", err=True)
        return
    if why == "finished":
        click.echo("the search has finished; the report is complete", err=True)
    else:
        click.echo(
            "stopped watching (Ctrl-C); the report no longer reloads itself", err=True
        )


@cli.command("upgrade")
@click.argument("model", metavar="MODEL")
@click.option(
    "-o",
    "--output",
    "out",
    metavar="OUT",
    help="Write the upgraded file here (default, or '-': stdout).",
)
@click.option("--in-place", is_flag=True, help="Rewrite MODEL itself (atomically).")
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Print a unified diff on stdout and write nothing.",
)
def upgrade_command(
    model: str, out: str | None, in_place: bool, show_diff: bool
) -> None:
    """Rewrite MODEL's Keras 1/2 spellings to Keras 3 (a .py file, a .ipynb notebook, or '-').

    \b
    Rewritten, token by token; every other byte stays as it was:
      from keras.layers.core import ...   ->  from keras.layers import ...
        (also convolutional, recurrent, pooling, embeddings, normalization,
        merge, advanced_activations, ...; tensorflow.keras too)
      np_utils.to_categorical(...)        ->  to_categorical(...) from keras.utils
      Adam(lr=...), optimizers.SGD(lr=)   ->  learning_rate=
      model.fit(..., nb_epoch=)           ->  epochs=
      Convolution2D(n, r, c)              ->  Conv2D(n, (r, c))
      border_mode=, subsample=, init=     ->  padding=, strides=, kernel_initializer=
      W_regularizer=, b_regularizer=, W_constraint=, Dense(output_dim=)
                                          ->  kernel_regularizer=, bias_regularizer=,
                                              kernel_constraint=, units=
      MaxPooling1D(pool_length=)          ->  pool_size=
      CuDNNLSTM, CuDNNGRU                 ->  LSTM, GRU
      fit_generator, evaluate_generator, predict_generator -> fit, evaluate, predict
      model.predict_classes(x)            ->  np.argmax(model.predict(x), axis=-1)
                                              (only when the loss is categorical)
      show_accuracy=, class_mode=         ->  dropped
      imdb.load_data(nb_words=)           ->  num_words=
      (and Dropout(p=), dim_ordering=, LSTM's inner_init=, ...: docs/migrating.md)
      history['val_acc'], monitor='acc'   ->  'val_accuracy', 'accuracy'
                                              (after compile()'s metrics=; aliases too)
      ModelCheckpoint('best.hdf5')        ->  'best.keras' ('.weights.h5' for weights)
      Adam(epsilon=None), adam(lr=)       ->  Adam(), Adam(learning_rate=)
      maxnorm, losses.MSE, Model(input=)  ->  max_norm, mean_squared_error, inputs=
      tf.set_random_seed, tf.logging      ->  tf.random.set_seed, tf.get_logger()
      np.Inf, sklearn.cross_validation    ->  np.inf, sklearn.model_selection
    Dropped, with a note: imports of names Keras 3 removed that the file
    never uses (multi_gpu_model, Merge, np_utils, ...), and TF1 session
    set-up (ConfigProto, Session, K.set_session) that nothing else uses.

    What cannot be rewritten safely (Merge, multi_gpu_model, optimizer decay=,
    which Keras 3 ignores, ImageDataGenerator) gets a located warning on
    stderr with the Keras 3 way. Inside handles {{...}} the same rewrites
    apply and the handle stays one expression. Names are resolved by scope:
    a local Adam or np is left alone. A second run changes nothing. Without
    -o or --in-place the result goes to stdout. Every rewrite is listed in
    docs/migrating.md.
    """
    from .upgrade import UpgradeError, upgrade_file

    if sum((out is not None, in_place, show_diff)) > 1:
        _fail("use one of -o OUT, --in-place and --diff")
    if in_place and model == "-":
        _fail("--in-place needs a file, not stdin")
    path, data = _read_bytes(model)
    try:
        result = upgrade_file(path, data)
    except UpgradeError as exc:
        where = f"{path}:{exc.label}" if exc.label else path
        for diagnostic in exc.diagnostics:
            click.echo(render(diagnostic, where, _upgrade_lines(exc.text)), err=True)
        sys.exit(EXIT_ERROR)
    for part in result.parts:
        where = f"{path}:{part.label}" if part.label else path
        for finding in part.plan.findings:
            click.echo(
                render(finding.diagnostic(), where, _upgrade_lines(part.before)),
                err=True,
            )
    if show_diff:
        for part in result.parts:
            where = f"{path}:{part.label}" if part.label else path
            before, after = (
                t if t.endswith("\n") or not t else t + "\n"
                for t in (part.before, part.after)
            )
            sys.stdout.writelines(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=where,
                    tofile=f"{where} (upgraded)",
                )
            )
    elif in_place:
        if result.changed:
            _write_bytes_atomically(Path(model), result.data)
    elif out in (None, "-"):
        sys.stdout.buffer.write(result.data)
        sys.stdout.flush()
    else:
        _write_bytes_atomically(Path(out), result.data)
    changes = sum(len(p.plan.changes) for p in result.parts)
    left = sum(len(p.plan.warnings) for p in result.parts)
    done = "would rewrite" if show_diff else "rewrote"
    click.echo(
        f"{path}: {done} {changes} Keras 1/2 spelling{'s' if changes != 1 else ''}, "
        f"{left} left with a warning",
        err=True,
    )


def _upgrade_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


def _upgrade_note(source: Source) -> None:
    """After a good compile: how many Keras 1/2 spellings the file has, and the command that fixes them."""
    from .upgrade import compile_note

    note = compile_note(source.text, source.path)
    if note:
        click.echo(note, err=True)


def _write_bytes_atomically(out: Path, data: bytes) -> None:
    try:
        write_atomically(out, data)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")


def _read_bytes(model: str) -> tuple[str, bytes]:
    """(the name diagnostics use, the bytes) of MODEL, a path or '-' for stdin."""
    try:
        data = sys.stdin.buffer.read() if model == "-" else Path(model).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {model}: {exc.strerror or exc}")
    return ("<stdin>" if model == "-" else model), data


def _read(model: str) -> Source:
    path, data = _read_bytes(model)
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
    notes = [
        d for d in source.notes if d not in diagnostics
    ]  # a notebook's dropped IPython lines
    for diagnostic in sorted(
        notes + list(diagnostics), key=lambda d: (d.line, d.column)
    ):
        click.echo(
            source.render(diagnostic), err=True
        )  # a notebook's by cell: nb.ipynb:cell_4:2:7


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
        current.splitlines(keepends=True),
        script.splitlines(keepends=True),
        fromfile=f"{out} (on disk)",
        tofile=f"{out} (compiled)",
    )
    sys.stdout.writelines(diff)
    click.echo(
        f"hyperasc: {out} is out of date; regenerate it with hyperasc compile", err=True
    )
    sys.exit(1)


def _same_file(a: str, b: str) -> bool:
    """Whether the paths name one file, through links (symbolic or hard) too."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (a dangling link resolves to its target)
        return os.path.realpath(a) == os.path.realpath(b)


def _write_atomically(out: Path, text: str) -> None:
    try:
        write_atomically(out, text.encode("utf-8"))
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")

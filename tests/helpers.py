"""Shared helpers for the compiler tests: compile text in-process, run the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from hyperasc.cli import cli
from hyperasc.compile.codegen import Target
from hyperasc.compile.pipeline import analyse, compile_source
from hyperasc.compile.source import read_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.py"))
EXAMPLE = EXAMPLES / "digits_mlp.py"  # the Keras example most end-to-end tests search

# A data() and model header most small test inputs share.
PRELUDE = """\
def data():
    return 1, 2


def create_model(a, b):
"""


def source(text: str, path: str = "model.py"):
    return read_source(path, text.encode("utf-8"))


def model_file(body: str, prelude: str = PRELUDE) -> str:
    """A model file: `prelude` followed by `body` indented as the model function's body."""
    return prelude + textwrap.indent(textwrap.dedent(body), "    ")


def analyse_text(text: str, **kwargs):
    return analyse(source(text), **kwargs)


def space_of(text: str, **kwargs) -> list:
    return analyse_text(text, **kwargs).space.parameters


def names_of(text: str, **kwargs) -> list[str]:
    return [p.name for p in space_of(text, **kwargs)]


def compile_text(text: str, path: str = "model.py", **kwargs) -> str:
    script, _ = compile_source(
        source(text, path), Target(path, f"hyperasc compile {path}"), **kwargs
    )
    return script


def invoke(args: list[str], input: bytes | str | None = None):
    """Run the CLI in-process; the result has .exit_code, .stdout and .stderr."""
    return CliRunner().invoke(cli, args, input=input, prog_name="hyperasc")


def run_hyperasc(
    args: list[str], cwd: Path | str | None = None, input: bytes | None = None
):
    """Run the installed CLI as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "hyperasc", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        timeout=120,
    )


def compile_model(
    tmp_path: Path, text: str | None = None, name: str = "model.py"
) -> Path:
    """`hyperasc compile` (in this process) of EXAMPLE, or of `text` saved as tmp_path/name, to tmp_path/tune.py."""
    if text is None:
        source = EXAMPLE
    else:
        source = tmp_path / name
        source.write_text(textwrap.dedent(text))
    script = tmp_path / "tune.py"
    result = invoke(["compile", str(source), "-o", str(script)])
    assert result.exit_code == 0, result.output
    return script


def records(run_dir: Path) -> list[dict]:
    """The lines of a run directory's trials.jsonl, in file order."""
    return [
        json.loads(line)
        for line in (Path(run_dir) / "trials.jsonl").read_text().splitlines()
    ]


def run_script(script: Path, out: Path, *extra: str, timeout: int = 300):
    """Run a generated tuning script for a short search."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    return subprocess.run(
        [sys.executable, str(script), "--out", str(out), "--quiet", *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=script.parent,
    )


# A quick model: a deterministic loss, optionally slowed down so a test can
# interrupt it mid-trial.
QUICK_MODEL = """
import os
import time


def data():
    return 3.0


def model(offset):
    x = {{uniform(-5, 5)}}
    kind = {{choice(["a", "b", "c"])}}
    time.sleep(float(os.environ.get("TRIAL_SLEEP", "0")))
    return (x - offset) ** 2 + {"a": 0, "b": 1, "c": 2}[kind]
"""


# Headless chromium for the report's browser tests, quiet and without a network.
CHROMIUM = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

"""Issue 17: inputs that used to end in "internal error": a notebook cell whose
source is not text, and a reader that leaves the pipe (`| head -1`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import EXAMPLE, invoke

CELL = {"metadata": {}, "outputs": [], "execution_count": None}


def notebook(*sources) -> str:
    cells = [{"cell_type": "markdown", "source": "# a model", "metadata": {}}]
    cells += [dict(CELL, cell_type="code", source=s) for s in sources]
    return json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1
    )


@pytest.mark.parametrize("command", [["compile"], ["space"]])
@pytest.mark.parametrize(
    "source, what",
    [
        (5, "a number"),
        (None, "null"),
        ({"a": 1}, "an object"),
        (["x = 1\n", 7], "a list holding a number"),
    ],
)
def test_a_cell_whose_source_is_not_text_is_one_located_error(
    tmp_path, command, source, what
):
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook("def data():\n    return 1\n", source))
    result = invoke([*command, str(path)])
    assert result.exit_code == 2
    assert "internal error" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:"), first
    assert first.endswith(f"error: cell_3: the cell's source is {what}, not text")
    assert result.stderr.count("error:") == 1
    # It points at the cell's "source" key in the file.
    assert '"source":' in result.stderr.splitlines()[1]


def test_cells_that_are_not_objects_are_located(tmp_path):
    path = tmp_path / "nb.ipynb"
    data = json.loads(notebook("x = 1\n"))
    data["cells"].append(3)
    path.write_text(json.dumps(data))
    result = invoke(["compile", str(path)])
    assert result.exit_code == 2
    assert "error: cell_3: the cell is a number, not a JSON object" in result.stderr


UPGRADE_ME = "from keras.optimizers import Adam\nopt = Adam(lr=0.1)\n"


@pytest.mark.parametrize(
    "args",
    [
        ["space", "{model}"],
        ["space", "--json", "{model}"],
        ["compile", "{model}", "-o", "-"],
        ["upgrade", "--diff", "{old}"],
        ["upgrade", "{old}"],
    ],
    ids=["space", "space-json", "compile", "upgrade-diff", "upgrade"],
)
def test_a_reader_that_leaves_the_pipe_ends_it_quietly(tmp_path, args):
    old = tmp_path / "old.py"
    old.write_text(UPGRADE_ME)
    argv = [a.format(model=EXAMPLE, old=old) for a in args]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    read, write = os.pipe()
    os.close(read)  # the reader has left before the first byte: `| head -0`
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "hyperasc", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write)
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert (
        "internal error" not in proc.stderr and "Exception ignored" not in proc.stderr
    )


@pytest.mark.parametrize(
    "source, what", [(5, "a number"), (None, "null"), (["x = 1\n", 7], "a list")]
)
def test_upgrade_names_the_cell_whose_source_is_not_text(tmp_path, source, what):
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook("from keras.optimizers import Adam\n", source))
    before = path.read_bytes()
    result = invoke(["upgrade", "--in-place", str(path)])
    assert result.exit_code != 0
    assert "internal error" not in result.stderr
    assert f"{path}:cell_3:" in result.stderr
    assert f"the cell's source is {what}" in result.stderr
    assert result.stderr.count("error:") == 1
    assert path.read_bytes() == before

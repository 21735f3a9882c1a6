"""Issue 17, item 4: a file name never puts code into the script.

The model path, the output name and the command go into the script's
comments and docstring escaped, and into its code only as string literals:
a hostile name gives a script whose code is exactly what a plain name gives.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from hyperasc.compile.codegen import Target, shown_in_comment, shown_in_docstring
from hyperasc.compile.pipeline import compile_source
from hyperasc.runtime.options import shown_name

from helpers import source

MODEL = """\
def data():
    return 1, 2


def create_model(a, b):
    x = {{uniform(0, 1)}}
    return {"loss": x, "status": "ok"}
"""

HOSTILE = [
    'm"""; print("INJECTED") ; """.py',
    "m'''; print('INJECTED') ; '''.py",
    'm\nprint("INJECTED")\n.py',
    'm\rprint("INJECTED")\r.py',
    'm\u2028print("INJECTED")\u2029.py',
    'm\x0b\x0c\x1c\x1d\x1e\x85print("INJECTED").py',
    "m{{ 1 }}{% if x %}{# c #}}}.py",
    "m\\x41\\N{DASH}\\\"'.py",
    "C:\\new\\tab\\model.py\\",
    "%(prog)s%d.py",
    "m\udcff\x00.py",
]


def script_for(path: str, out: str = "tune.py") -> str:
    command = f"hyperasc compile {path} -o {out}"
    script, _ = compile_source(source(MODEL, path), Target(path, command, out))
    return script


def code_of(script: str) -> str:
    """The script's AST with every string constant blanked: the code, not its text."""
    tree = ast.parse(script)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


@pytest.mark.parametrize("path", HOSTILE)
def test_a_hostile_model_path_gives_the_plain_names_code(path):
    assert code_of(script_for(path)) == code_of(script_for("model.py"))


@pytest.mark.parametrize("out", HOSTILE)
def test_a_hostile_output_name_gives_the_plain_names_code(out):
    assert code_of(script_for("model.py", out)) == code_of(script_for("model.py"))


@pytest.mark.parametrize("path", HOSTILE)
def test_the_script_carries_the_exact_path_as_a_literal(path):
    tree = ast.parse(script_for(path))
    literals = [
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "model_file"
    ]
    assert literals == [path]


def test_comments_and_docstrings_stay_one_line_and_closed():
    for text in HOSTILE:
        comment = shown_in_comment(text)
        assert comment.isprintable()
        doc = shown_in_docstring(text)
        assert doc.isprintable()
        assert ast.literal_eval(f'"""{doc}"""') == text


def test_shown_name_keeps_help_on_one_line_and_argparse_safe():
    assert shown_name("m\nx.py") == "m\\nx.py"
    assert shown_name("m\u2028.py") == "m\\u2028.py"
    assert shown_name("%(prog)s.py") == "%%(prog)s.py"
    assert shown_name("50%.py") == "50%.py"


@pytest.mark.slow  # runs the compiled script
@pytest.mark.parametrize("path", [HOSTILE[0], HOSTILE[2], HOSTILE[4], HOSTILE[9]])
def test_help_of_a_script_from_a_hostile_name_runs_nothing(tmp_path, path):
    script = tmp_path / "tune.py"
    script.write_text(script_for(path), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert "INJECTED" not in [line.strip() for line in lines]
    assert "Hyperparameter search for" in result.stdout

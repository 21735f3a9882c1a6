"""Malformed inputs: every one is a located diagnostic, exit code 2, never a traceback."""

from __future__ import annotations

import re

import pytest

from hyperasc.diagnostics import Diagnostic, render

from helpers import PRELUDE, invoke, run_hyperasc

HEAD = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.+)$")

MODEL = PRELUDE + "    return {{uniform(0, 1)}}\n"


def model(body: str) -> str:
    """PRELUDE (lines 1-5) then `body` as the model function's body, from line 6."""
    return PRELUDE + "".join("    " + line + "\n" for line in body.splitlines())


# (id, input, line, column, message fragment, hint fragment or None)
CASES = [
    ("syntax", "def data()\n    return 1\n", 1, 11, "invalid syntax", None),
    (
        "unclosed-def-paren",
        "def data(:\n    return 1\n",
        1,
        9,
        "'(' was never closed",
        None,
    ),
    (
        "syntax-after-handle",
        model("x = {{randint(3)}} +* 2\nreturn x"),
        6,
        25,
        "invalid syntax",
        None,
    ),
    (
        "bad-indent",
        "def data():\n        x = 1\n    return x\n",
        3,
        4,
        "unindent does not match",
        None,
    ),
    (
        "unbalanced-paren",
        model("x = (1, 2\nreturn x"),
        6,
        9,
        "'(' was never closed",
        None,
    ),
    ("unmatched-close", model("x = 1)\nreturn x"), 6, 10, "unmatched ')'", None),
    (
        "unclosed-handle",
        model("x = {{uniform(0, 1)\nreturn x"),
        6,
        9,
        "handle '{{' was never closed",
        None,
    ),
    (
        "half-closed-handle",
        model("x = {{uniform(0, 1)}\nreturn x"),
        6,
        9,
        "never closed",
        None,
    ),
    (
        "wrong-closer-in-handle",
        model("x = {{uniform(0, 1)]}}\nreturn x"),
        6,
        24,
        "unmatched ']'",
        None,
    ),
    (
        "unknown-dist",
        model("x = {{unifrom(0, 1)}}\nreturn x"),
        6,
        11,
        "unknown distribution 'unifrom'",
        "did you mean 'uniform'?",
    ),
    (
        "unknown-dist-choise",
        model("x = {{choise([1, 2])}}\nreturn x"),
        6,
        11,
        "unknown distribution 'choise'",
        "did you mean 'choice'?",
    ),
    (
        "unknown-dist-far",
        model("x = {{gaussian(0, 1)}}\nreturn x"),
        6,
        11,
        "unknown distribution 'gaussian'",
        "known: choice",
    ),
    (
        "too-few-args",
        model("x = {{uniform(0)}}\nreturn x"),
        6,
        11,
        "uniform() is missing argument 'high'",
        "usage: uniform(low, high)",
    ),
    (
        "too-many-args",
        model("x = {{normal(0, 1, 2)}}\nreturn x"),
        6,
        11,
        "normal() takes at most 2 arguments",
        None,
    ),
    (
        "quniform-no-q",
        model("x = {{quniform(0, 10)}}\nreturn x"),
        6,
        11,
        "missing argument 'q'",
        None,
    ),
    (
        "bad-keyword",
        model("x = {{uniform(0, 1, scale=2)}}\nreturn x"),
        6,
        25,
        "has no parameter 'scale'",
        None,
    ),
    ("empty-handle", model("x = {{ }}\nreturn x"), 6, 9, "empty handle", None),
    (
        "not-a-call",
        model("x = {{42}}\nreturn x"),
        6,
        9,
        "must hold a distribution call",
        None,
    ),
    (
        "invalid-inside",
        model("x = {{uniform(0 1)}}\nreturn x"),
        6,
        19,
        "invalid Python inside handle",
        None,
    ),
    (
        "nested-braces-handle",
        model("x = {{choice([{{uniform(0, 1)}}])}}\nreturn x"),
        6,
        19,
        "nested handles",
        None,
    ),
    (
        "no-model",
        "def data():\n    return 1\n\n\ndef train():\n    return 0\n",
        1,
        1,
        "no model function found",
        "create_model",
    ),
    (
        "duplicate-names",
        model("a = {{uniform('lr', 0, 1)}}\nb = {{uniform('lr', 0, 2)}}\nreturn a"),
        7,
        9,
        "duplicate name 'lr'",
        "first used at line 6 column 9",
    ),
    (
        "handle-in-data",
        "def data():\n    return {{uniform(0, 1)}}\n\n\ndef create_model(a):\n    return a\n",
        2,
        12,
        "a handle cannot stand in data()",
        "create_model",
    ),
    (
        "module-level-handle",
        "X = {{uniform(0, 1)}}\n" + MODEL,
        1,
        5,
        "must be inside the model function",
        None,
    ),
    (
        "unused-function-handle",
        "class Other:\n    def f(self):\n        return {{uniform(0, 1)}}\n\n\n"
        + MODEL,
        3,
        16,
        "which the model function never uses",
        None,
    ),
    (
        "several-model-functions",
        "def other():\n    return {{uniform(0, 1)}}\n\n\n" + MODEL,
        1,
        1,
        "several model functions: 'other' (line 1), 'create_model' (line 9)",
        "--model-fn",
    ),
    (
        "local-in-bounds",
        model("top = 3\nx = {{uniform(0, top)}}\nreturn x"),
        7,
        9,
        "'top' is a local variable",
        "module-level names",
    ),
    (
        "undefined-in-bounds",
        model("x = {{uniform(0, nowhere)}}\nreturn x"),
        6,
        9,
        "undefined name 'nowhere'",
        None,
    ),
    (
        "pchoice-sum",
        model("x = {{pchoice([(0.5, 'a'), (0.2, 'b')])}}\nreturn x"),
        6,
        11,
        "probabilities sum to 0.7, not 1",
        None,
    ),
    (
        "pchoice-pairs",
        model("x = {{pchoice(['a', 'b'])}}\nreturn x"),
        6,
        20,
        "(probability, option) pairs",
        None,
    ),
    (
        "empty-choice",
        model("x = {{choice([])}}\nreturn x"),
        6,
        18,
        "choice() needs at least one option",
        None,
    ),
    (
        "low-above-high",
        model("x = {{uniform(1, 0)}}\nreturn x"),
        6,
        11,
        "low bound must be less than high",
        None,
    ),
    (
        "negative-q",
        model("x = {{quniform(0, 10, -1)}}\nreturn x"),
        6,
        11,
        "q must be positive",
        None,
    ),
    (
        "randint-zero",
        model("x = {{randint(0)}}\nreturn x"),
        6,
        11,
        "upper must be positive",
        None,
    ),
    (
        "nested-non-choice",
        model("x = {{uniform(0, uniform(0, 1))}}\nreturn x"),
        6,
        22,
        "can only be nested as a choice option",
        None,
    ),
    (
        "fstring-name",
        model("x = {{uniform(f'a', 0, 1)}}\nreturn x"),
        6,
        19,
        "plain string literal",
        None,
    ),
    ("star-args", model("x = {{uniform(*b)}}\nreturn x"), 6, 11, "unpacked", None),
    ("model-fn-missing", None, 1, 1, "--model-fn nope", None),
    (
        "model-is-data",
        ["--model-fn", "data"],
        1,
        1,
        "'data' cannot be both the model and the data function",
        "--data-fn",
    ),
    (
        "data-fn-missing",
        ["--data-fn", "load"],
        1,
        1,
        "--data-fn load: no top-level function",
        None,
    ),
    (
        "multi-line-handle-error",
        model("x = {{choice([\n    1,\n]) + unifrom(1)}}\nreturn x"),
        6,
        9,
        "a handle must hold a distribution call",
        None,
    ),
    (
        "tabs",
        "def data():\n\treturn 1\n\n\ndef create_model(a):\n\tx = {{unifrom(0, 1)}}\n\treturn x\n",
        6,
        8,
        "unknown distribution 'unifrom'",
        None,
    ),
    (
        "non-ascii-before-handle",
        model("é = 'ü'; x = {{unifrom(0, 1)}}\nreturn x"),
        6,
        20,
        "unknown distribution",
        None,
    ),
    (
        "handle-in-default-arg",
        "def data():\n    return 1, 2\n\n\ndef create_model(a, b=2, lr={{uniform(0, 1)}}):\n    return lr\n",
        5,
        29,
        "evaluated once, when 'create_model' is defined",
        "move it into the function body",
    ),
    (
        "handle-in-decorator",
        "def deco(f):\n    return f\n\n\n@deco({{uniform(0, 1)}})\ndef create_model():\n    return 0\n",
        5,
        7,
        "evaluated once",
        None,
    ),
    (
        "handle-in-class-body",
        "class Cfg:\n    rate = {{uniform(0, 1)}}\n\n\ndef create_model():\n    return Cfg.rate\n",
        2,
        12,
        "when 'Cfg' is defined",
        None,
    ),
    (
        "no-data-for-params",
        "import os\n\n\ndef create_model(x, y=1):\n    return {{uniform(0, 1)}}\n",
        4,
        1,
        "create_model() takes 1 argument(s) but there is no data function",
        "add a data()",
    ),
    (
        "async-model",
        "async def create_model():\n    return {{uniform(0, 1)}}\n",
        1,
        1,
        "the model function 'create_model' is async",
        "plain def",
    ),
    (
        "no-handles",
        "def data():\n    return 1\n\n\ndef create_model(a):\n    # {{uniform(0, 1)}}\n    return f'{{a}}'\n",
        1,
        1,
        "no {{ }} handles",
        None,
    ),
    (
        "nested-object-choice",
        model("x = {{choice([None, choice([Dense(2), Dense(4)])])}}\nreturn x"),
        6,
        25,
        "object options cannot stand in a nested choice",
        "its own handle",
    ),
]


def searched(data_def: str = "def data():", call: str = "") -> str:
    """A hyperas file: `data_def` on line 3, the model on lines 7-8 and, on line 12,
    `optim.minimize(model=create_model, data=data` then `call` (up to its `)`)."""
    return (
        "from hyperas import optim\n\n"
        f"{data_def}\n    return (1,)\n\n\n"
        "def create_model(a):\n    return {{uniform(0, 1)}} * a\n\n\n"
        "if __name__ == '__main__':\n"
        f"    optim.minimize(model=create_model, data=data{call})\n"
    )


# A data or model function that optim.minimize names and the file lacks; data() and the
# arguments the script gives it (data_args).
CASES += [
    (
        "minimize-data-undefined",
        searched().replace("data=data", "data=get_data"),
        12,
        45,
        "data function 'get_data' is not defined at the top level",
        "optim.minimize(data=get_data) names it",
    ),
    (
        "minimize-model-undefined",
        searched().replace("model=create_model", "model=make_model"),
        12,
        26,
        "model function 'make_model' is not defined at the top level",
        "optim.minimize(model=make_model) names it",
    ),
    (
        "data-required-without-data-args",
        searched("def data(path, n=2):"),
        3,
        1,
        "data() has required parameters (path) but optim.minimize passes no data_args",
        "pass data_args=(...) to optim.minimize",
    ),
    (
        "data-required-without-minimize",
        "def data(path):\n    return (1,)\n\n\n" + MODEL.split("\n\n\n", 1)[1],
        1,
        1,
        "data() has required parameters (path) and no optim.minimize(data_args=...) gives them",
        "or give them defaults",
    ),
    (
        "data-keyword-only",
        searched("def data(*, path):", ", data_args=('x',)"),
        3,
        1,
        "data() has required keyword-only parameters (path)",
        "give them defaults",
    ),
    (
        "data-args-too-few",
        searched("def data(path, n):", ", data_args=('x',)"),
        12,
        61,
        "data_args gives 1 value(s) but data() takes 2",
        "data() is defined at line 3",
    ),
    (
        "data-args-too-many",
        searched("def data(path, n=2):", ", data_args=('x', 1, 2)"),
        12,
        61,
        "data_args gives 3 value(s) but data() takes 1 to 2",
        None,
    ),
    (
        "data-args-for-no-parameters",
        searched(call=", data_args=5"),
        12,
        61,
        "data_args gives 1 value(s) but data() takes 0",
        None,
    ),
]

# Checked by code generation, which `space` does not run.
COMPILE_ONLY: set[str] = set()

BYTE_CASES = [
    ("empty", b"", 1, 1, "the model file is empty"),
    ("whitespace-only", b"\n\n   \n", 1, 1, "the model file is empty"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, 1, "binary"),
    ("not-utf8", MODEL.encode() + b"x = '\xff\xfe'\n", 7, 6, "not valid utf-8 text"),
    (
        "latin1-declared-bad-codec",
        b"# -*- coding: nonsense -*-\n" + MODEL.encode(),
        1,
        1,
        "encoding",
    ),
]


def check(
    result,
    path: str,
    line: int,
    column: int | None,
    message: str,
    hint: str | None,
    text: str,
):
    assert result.exit_code == 2, result.output
    stderr = result.stderr
    assert "Traceback" not in stderr and "Traceback" not in result.stdout
    first, *rest = stderr.splitlines()
    match = HEAD.match(first)
    assert match, first
    assert match["path"] == path
    assert int(match["line"]) == line, first
    if column is not None:
        assert int(match["col"]) == column, first
    assert message in match["message"], first
    source_lines = text.splitlines()
    if 1 <= line <= len(source_lines) and source_lines[line - 1].strip():
        assert rest[0] == "    " + source_lines[line - 1]
        caret = rest[1]
        assert caret.rstrip().endswith("^")
        col = int(match["col"])
        assert (
            len(caret.rstrip()) - 4 == col
        )  # the caret sits under the column (tabs kept)
    if hint is not None:
        assert any(
            line.startswith("  hint: ") and hint in line for line in rest
        ), stderr


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_input(case, tmp_path):
    name, text, line, column, message, hint = case
    args = []
    if text is None:  # a flag problem on a good file
        text, args = MODEL, ["--model-fn", "nope"]
    elif isinstance(text, list):
        text, args = MODEL, text
    path = tmp_path / "bad.py"
    path.write_text(text, encoding="utf-8")
    commands = [["compile", str(path)]]
    if name not in COMPILE_ONLY:
        commands.append(["space", str(path)])
    for command in commands:
        result = invoke(command + args)
        check(result, str(path), line, column, message, hint, text)


@pytest.mark.parametrize("case", BYTE_CASES, ids=[c[0] for c in BYTE_CASES])
def test_malformed_bytes(case, tmp_path):
    name, data, line, column, message = case
    path = tmp_path / "bad.py"
    path.write_bytes(data)
    result = invoke(["compile", str(path)])
    shown = "" if b"\x00" in data else data.decode("utf-8", "replace")
    check(result, str(path), line, column, message, None, shown)


def test_stdin_errors_name_stdin():
    result = invoke(["compile", "-"], input=model("x = {{unifrom(0, 1)}}\nreturn x"))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "<stdin>:6:11: error: unknown distribution 'unifrom'"
    )


def test_every_error_is_reported_not_just_the_first(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(model("a = {{unifrom(0, 1)}}\nb = {{choise([1])}}\nreturn a"))
    result = invoke(["compile", str(path)])
    heads = [line for line in result.stderr.splitlines() if HEAD.match(line)]
    assert [h.split(": error")[0].rsplit(":", 2)[1:] for h in heads] == [
        ["6", "11"],
        ["7", "11"],
    ]


def test_missing_file_is_a_clean_error(tmp_path):
    result = invoke(["compile", str(tmp_path / "absent.py")])
    assert result.exit_code == 2
    assert result.stderr.startswith("hyperasc: error: cannot read")
    assert "Traceback" not in result.stderr


def test_warning_does_not_stop_compilation(tmp_path):
    path = tmp_path / "warn.py"
    path.write_text(model("x = {{loguniform(0.001, 0.1)}}\nreturn x"))
    result = invoke(["compile", str(path)])
    assert result.exit_code == 0
    assert re.match(
        rf"{re.escape(str(path))}:6:11: warning: .*exponents", result.stderr
    )


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x01\x02", b"def f(:\n", b"x = {{unifrom(0, 1)}}\n"]
)
def test_errors_from_a_real_process(tmp_path, data):
    path = tmp_path / "bad.py"
    path.write_bytes(data)
    result = run_hyperasc(["compile", str(path), "-o", str(tmp_path / "out.py")])
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert HEAD.match(stderr.splitlines()[0]), stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "out.py").exists()


def test_render_keeps_tabs_under_the_caret():
    text = render(Diagnostic(1, 3, "boom", "try again"), "f.py", ["\t\tx = 1"])
    assert text.splitlines() == [
        "f.py:1:3: error: boom",
        "    \t\tx = 1",
        "    \t\t^",
        "  hint: try again",
    ]


def test_render_without_source_line():
    assert render(Diagnostic(9, 1, "gone"), "f.py", ["x"]) == "f.py:9:1: error: gone"


def test_at_least_thirty_malformed_inputs():
    assert len(CASES) + len(BYTE_CASES) >= 30

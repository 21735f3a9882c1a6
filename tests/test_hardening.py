"""Issue 9, compiler side: each reproduction of a miscompile, a traceback or a shifted line.

A handle stands for one operand. It compiles to an expression that means the
same wherever it stands, or the compiler says at the handle why it cannot.
"""

from __future__ import annotations

import ast
import os
import stat
import threading
from pathlib import Path

import pytest

from hyperasc.diagnostics import CompileError
from hyperasc.fileio import write_atomically
from hyperasc.compile.placeholders import Placeholders, as_operand, fill, substitute
from hyperasc.compile.scanner import scan
from hyperasc.text.lines import split_lines

from helpers import PRELUDE, analyse_text, compile_text, invoke, model_file

ODD_LINE_CHARACTERS = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def diagnostics_of(text: str, full: bool = False) -> list:
    with pytest.raises(CompileError) as info:
        compile_text(text) if full else analyse_text(text)
    return info.value.diagnostics


def model_function(script: str, name: str = "create_model") -> ast.FunctionDef:
    tree = ast.parse(script)
    return next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name
    )


# --- (a) a handle glued to the operand before it -----------------------------------------


@pytest.mark.parametrize(
    "body, column, message",
    [
        (
            "x = layers.Dropout{{uniform(0, 0.5)}}\n",
            23,
            "cannot follow 'Dropout' directly",
        ),
        (
            "x = optimizer{{choice(['adam', 'sgd'])}}\n",
            18,
            "cannot follow 'optimizer' directly",
        ),
        ("x = 1{{uniform(0, 1)}}\n", 10, "cannot follow '1' directly"),
        (
            "x = {{uniform(0, 1)}}{{uniform(0, 2)}}\n",
            26,
            "cannot follow another handle",
        ),
        ("x = 'a'{{uniform(0, 1)}}\n", 12, "cannot follow ''a'' directly"),
        ("x = f(a){{uniform(0, 1)}}\n", 13, "cannot follow ')' directly"),
        ("x = a[0]{{uniform(0, 1)}}\n", 13, "cannot follow ']' directly"),
        ("x = {1: 2}{{uniform(0, 1)}}\n", 15, "cannot follow '}' directly"),
        ("x = None{{uniform(0, 1)}}\n", 13, "cannot follow 'None' directly"),
        (
            "x = Dropout {{uniform(0, 1)}}\n",
            17,
            "cannot follow 'Dropout' directly",
        ),  # a space reads as a call too
        (
            "x = f(a\n      {{uniform(0, 1)}})\n",
            11,
            "cannot follow 'a' directly",
        ),  # across a line break in brackets
    ],
)
def test_handle_after_an_operand_is_an_error_at_the_handle(body, column, message):
    (diagnostic,) = diagnostics_of(model_file(body))
    handle_line = PRELUDE.count("\n") + body.count("\n", 0, body.index("{{")) + 1
    assert (diagnostic.line, diagnostic.column) == (handle_line, column)
    assert message in diagnostic.message


def test_missing_parenthesis_gets_a_hint():
    (diagnostic,) = diagnostics_of(
        model_file("x = layers.Dropout{{uniform(0, 0.5)}}\nreturn x\n")
    )
    assert "did you mean Dropout({{uniform(0, 0.5)}})?" in diagnostic.hint


def test_every_glued_handle_is_reported_at_once():
    found = diagnostics_of(
        model_file("a = x{{uniform(0, 1)}}\nb = y{{uniform(0, 1)}}\n")
    )
    assert [d.line for d in found] == [6, 7]


def test_a_handle_after_a_statement_ends_is_not_glued():
    # The previous line's `x` and this handle are in different logical lines.
    params = analyse_text(
        model_file("y = x\n{{uniform(0, 1)}}\nreturn y\n")
    ).space.parameters
    assert [p.dist.dist for p in params] == ["uniform"]


def test_soft_keyword_match_used_as_a_call_is_an_error():
    (diagnostic,) = diagnostics_of(model_file("match {{choice([1, 2])}}\n"))
    assert diagnostic.column == 11 and "cannot follow 'match'" in diagnostic.message


def test_handle_left_open_by_a_comment_is_reported_at_the_handle():
    # Before, the error pointed at the call's ')' two lines later.
    (diagnostic,) = diagnostics_of(
        model_file("return f(1,\n         {{#choice([1, 2])}},\n         2)\n")
    )
    assert (diagnostic.line, diagnostic.column) == (7, 14)
    assert "not closed before the ')' at line 8 column 15" in diagnostic.message


def test_unmatched_bracket_says_what_it_does_not_close():
    (diagnostic,) = diagnostics_of(model_file("return {{uniform(0, 1))}}\n"))
    assert (diagnostic.line, diagnostic.column) == (
        6,
        27,
    ) and diagnostic.message == "unmatched ')'"
    assert diagnostic.hint == "it does not close the handle '{{' at line 6 column 12"


# --- (b) after a keyword it is valid Python and keeps its meaning --------------------------


def test_return_glued_to_a_handle_returns_the_value():
    fn = model_function(compile_text(model_file("return{{uniform(0, 1)}}\n")))
    (ret,) = [n for n in fn.body if isinstance(n, ast.Return)]
    assert ret.value is not None and isinstance(ret.value, ast.Subscript)


def test_not_in_and_if_glued_to_handles_keep_their_meaning():
    body = (
        "if not{{choice([True, False])}}:\n"
        "    a = 1\n"
        "for _ in{{choice([[1], [2]])}}:\n"
        "    pass\n"
        "b = 1 if{{choice([True, False])}}else 2\n"
        "c = a in{{choice([[1], [2]])}}\n"
        "return a, b, c\n"
    )
    fn = model_function(compile_text(model_file(body)))
    test = fn.body[0].test
    assert (
        isinstance(test, ast.UnaryOp)
        and isinstance(test.op, ast.Not)
        and isinstance(test.operand, ast.Subscript)
    )
    assert isinstance(fn.body[1], ast.For) and isinstance(
        fn.body[1].iter, ast.Subscript
    )
    assert isinstance(fn.body[2].value, ast.IfExp) and isinstance(
        fn.body[2].value.test, ast.Subscript
    )
    compare = fn.body[3].value
    assert isinstance(compare, ast.Compare) and isinstance(compare.ops[0], ast.In)


@pytest.mark.parametrize(
    "word", ["return", "not", "in", "if", "else", "and", "or", "is", "assert", "yield"]
)
def test_fill_puts_a_space_after_a_keyword(word):
    text = f"{word}(__hx0__)"
    filled = fill(text, {"__hx0__": "v"})
    assert filled == f"{word} v"


def test_fill_keeps_a_handle_apart_from_a_keyword_after_it():
    assert fill("x = (__hx0__)if c else d", {"__hx0__": "v"}) == "x = v if c else d"


@pytest.mark.parametrize(
    "expression, operand",
    [
        ("trial_params['x']", "trial_params['x']"),
        ("f(x)", "f(x)"),
        ("a.b", "a.b"),
        ("[1, 2]", "[1, 2]"),
        ("(a if b else c)", "(a if b else c)"),
        ("a if b else c", "(a if b else c)"),
        ("a + b", "(a + b)"),
        ("-1", "(-1)"),
        ("1", "(1)"),  # `1.real` would not parse
        ("lambda: 1", "(lambda: 1)"),
        ("(a) + (b)", "((a) + (b))"),
    ],
)
def test_fill_parenthesises_what_is_not_one_operand(expression, operand):
    assert as_operand(expression) == operand
    assert (
        fill("2 ** (__hx0__).real", {"__hx0__": expression}) == f"2 ** {operand}.real"
    )


def test_multi_line_placeholder_is_filled():
    text = "x = {{choice([\n    1,\n    2,\n])}} + 1\n"
    handles = scan(text)
    assert (
        fill(substitute(text, handles), {handles[0].placeholder: "v"}) == "x = v + 1\n"
    )


# --- (c) placeholders never collide with user text -----------------------------------------


def test_placeholder_spelling_avoids_the_users_text():
    assert Placeholders.for_text("x = 1").prefix == "__hx"
    assert Placeholders.for_text("s = '(__hx7__)'").prefix == "__hx1_"
    assert Placeholders.for_text("__hx __hx1_").prefix == "__hx2_"


def test_user_text_that_looks_like_a_placeholder_is_left_alone():
    body = "s = '(__hx0__)'\n" "t = (__hx7__)\n" "return s, t, {{uniform(0, 1)}}\n"
    script = compile_text(model_file(body))
    fn = model_function(script)
    assert fn.body[0].value.value == "(__hx0__)"
    assert isinstance(fn.body[1].value, ast.Name) and fn.body[1].value.id == "__hx7__"
    assert isinstance(fn.body[2].value.elts[2], ast.Subscript)
    assert "__hx1_" not in script


def test_a_users_name_is_not_taken_for_a_handle():
    # Before, discovery matched `__hx0__` by its shape and took the user's name for handle 0.
    body = "__hx0__ = 1\nreturn __hx0__ + {{uniform(0, 1)}}\n"
    (param,) = analyse_text(model_file(body)).space.parameters
    assert param.name == "return_value"


def test_fill_replaces_only_the_placeholders_of_its_handles():
    text = "y = (__hx3_0__) + (__hx0__)"
    assert fill(text, {Placeholders("__hx3_").name(0): "v"}) == "y = v + (__hx0__)"


def test_each_handle_carries_its_placeholder_spelling():
    analysis = analyse_text(model_file("s = '__hx'\nreturn {{uniform(0, 1)}}\n"))
    (handle,) = analysis.program.handles
    assert handle.placeholder == "__hx1_0__"
    assert f"({handle.placeholder}" in analysis.program.model.text
    assert analysis.space.handles[0].name == "return_value"


# --- (d) handles as targets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, column",
    [
        ("{{uniform(0, 1)}} = 3\n", 5),
        ("a, {{uniform(0, 1)}} = 3, 4\n", 8),
        ("{{uniform(0, 1)}} += 1\n", 5),
        ("{{uniform(0, 1)}}: int = 1\n", 5),
        ("del {{uniform(0, 1)}}\n", 9),
        ("for {{uniform(0, 1)}} in b:\n    pass\n", 9),
        ("with open(a) as {{uniform(0, 1)}}:\n    pass\n", 21),
        ("x = [1 for {{uniform(0, 1)}} in b]\n", 16),
        ("match a:\n    case {{choice([1, 2])}}:\n        pass\n", 14),
    ],
)
def test_handle_as_a_target_is_an_error_at_the_handle(body, column):
    (diagnostic,) = diagnostics_of(model_file(body))
    assert diagnostic.line == PRELUDE.count("\n") + 1 + body.count(
        "\n", 0, body.index("{{")
    )
    assert diagnostic.column == column
    assert "cannot be assigned to" in diagnostic.message


@pytest.mark.parametrize(
    "body, column",
    [
        ("y: {{uniform(0, 1)}} = 1\n", 8),
        (
            "model.addlambda: ({{choice([f(), g()])}})\n",
            23,
        ),  # a mutation the campaign found
    ],
)
def test_handle_in_a_variable_annotation_is_an_error(body, column):
    # Python never evaluates a local variable's annotation, so the handle would never be sampled.
    (diagnostic,) = diagnostics_of(model_file(body))
    assert (diagnostic.line, diagnostic.column) == (6, column)
    assert "annotation" in diagnostic.message


def test_attribute_and_item_of_a_handle_may_be_assigned():
    analyse_text(model_file("{{choice([a, b])}}.x = 1\n{{choice([a, b])}}[0] = 1\n"))


# --- lines counted as Python's tokenizer counts them ----------------------------------------


def test_split_lines_splits_only_at_line_breaks():
    assert split_lines("a\fb\x85c\u2028d\r\ne\rf\n") == ["a\fb\x85c\u2028d", "e", "f"]
    assert "".join(split_lines("a\r\nb\u2029\n", keepends=True)) == "a\r\nb\u2029\n"


@pytest.mark.parametrize(
    "char", ODD_LINE_CHARACTERS, ids=[hex(ord(c)) for c in ODD_LINE_CHARACTERS]
)
def test_odd_characters_in_comments_and_strings_do_not_shift_lines(char):
    text = (
        f"# a comment{char}that goes on\n"
        f"NOTE = 'a{char}b'\n"
        f'DOC = """x{char}\n{char}y"""\n'
        + PRELUDE
        + "    x = {{choice([1, 2])}}\n"
        + "    return x + {{uniform(0, 1)}}\n"
    )
    params = analyse_text(text).space.parameters
    assert [(p.line, p.column) for p in params] == [(10, 9), (11, 16)]


@pytest.mark.parametrize(
    "char", ODD_LINE_CHARACTERS, ids=[hex(ord(c)) for c in ODD_LINE_CHARACTERS]
)
def test_errors_after_odd_characters_point_at_the_right_line(char):
    text = (
        f"# {char}\nS = '{char}'\n"
        + PRELUDE
        + "    return {{uniform(1, 0)}} + {{unifrm(0, 1)}}\n"
    )
    found = diagnostics_of(text)
    assert [d.line for d in found] == [8, 8]
    assert [d.column for d in found] == [
        14,
        34,
    ]  # bounds are checked at the call, a name at the name


def test_form_feed_line_between_functions_compiles():
    text = PRELUDE.replace("\n\n\n", "\n\n\f\n") + "    return {{uniform(0, 1)}}\n"
    script = compile_text(text)
    assert isinstance(model_function(script).body[0].value, ast.Subscript)


@pytest.mark.parametrize("line", ["\f    y = x\n", "\f\n", "  \f    y = x\n"])
def test_form_feed_in_an_indentation_compiles(line):
    # Valid Python (the tokenizer resets the indentation at a form feed), which black cannot parse.
    text = (
        PRELUDE
        + "    x = {{uniform(0, 1)}}\n"
        + line
        + '    s = """a\n\f    b"""\n    return x, s\n'
    )
    fn = model_function(compile_text(text))
    assert isinstance(fn.body[-1], ast.Return)
    strings = [
        n.value
        for n in ast.walk(fn)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    assert "a\n\f    b" in strings  # a form feed inside a string stays


def test_rendered_diagnostic_shows_odd_characters_as_spaces():
    text = "# \u2028\n" + PRELUDE + "    return 1 +\f{{unifrm(0, 1)}}\n"
    result = invoke(["space", "-"], input=text.encode("utf-8"))
    assert result.exit_code == 2
    first, shown, caret = result.stderr.splitlines()[:3]
    assert first.startswith("<stdin>:7:")
    assert caret.index("^") == shown.index("unifrm")


# --- no tracebacks: the reproductions, through the command line -----------------------------


HELPER_WITH_SPACED_DECORATOR = (
    "import functools\n\n"
    + PRELUDE
    + "    return width() * {{uniform(0, 1)}}\n\n\n"
    + "@ functools.lru_cache()\n"
    + "def width():\n"
    + "    return 2\n"
)


def test_decorator_with_a_space_after_the_at_sign_compiles(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(HELPER_WITH_SPACED_DECORATOR)
    result = invoke(["compile", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "@functools.lru_cache()\ndef width():" in result.stdout


@pytest.mark.parametrize(
    "text, location, message",
    [
        (
            PRELUDE + "    return {{uniform(0, 1)}}\n\n\nfrom hyperas import optim\n"
            "optim.minimize(model=create_model, data=data, data_args={[1]: 2})\n",
            "model.py:10:57:",
            "data_args must be a literal",
        ),
        (
            PRELUDE + "    return {{choice([*'adam', 'rmsprop'])}}\n",
            "model.py:6:22:",
            "not unpacked with *",
        ),
        (
            PRELUDE + "    return {{pchoice([(0.5, *'ab')])}}\n",
            "model.py:6:29:",
            "not unpacked with *",
        ),
        (
            PRELUDE + "    return 1{{uniform(0, 1)}}\n",
            "model.py:6:13:",
            "cannot follow '1'",
        ),
        (
            PRELUDE + "    return {{uniform(0, 1)}}{{uniform(0, 2)}}\n",
            "model.py:6:29:",
            "another handle",
        ),
        (
            PRELUDE + "    x = layers.Dropout{{uniform(0, 0.5)}}\n",
            "model.py:6:23:",
            "cannot follow 'Dropout'",
        ),
        (
            PRELUDE + "    for {{uniform(0, 1)}} in a:\n        pass\n",
            "model.py:6:9:",
            "cannot be assigned",
        ),
    ],
)
def test_reproductions_end_in_one_located_error(
    tmp_path, monkeypatch, text, location, message
):
    (tmp_path / "model.py").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = invoke(["compile", "model.py"])
    assert result.exit_code == 2
    assert (
        result.stderr.startswith(location) and message in result.stderr.splitlines()[0]
    )
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "body",
    [
        "for _ in{{choice([[1], [2]])}}:\n    pass\nreturn 1\n",
        "x = (__hx7__)\nreturn x, {{uniform(0, 1)}}\n",
        "return{{uniform(0, 1)}}\n",
    ],
)
def test_reproductions_that_are_valid_compile_to_valid_python(tmp_path, body):
    path = tmp_path / "model.py"
    path.write_text(model_file(body))
    result = invoke(["compile", str(path)])
    assert result.exit_code == 0, result.stderr
    ast.parse(result.stdout)


def _break_the_compiler(monkeypatch):
    from hyperasc.compile import pipeline as compiler

    def broken(*args, **kwargs):
        raise RuntimeError("stage exploded\nsecond line")

    monkeypatch.setattr(compiler, "compile_source", broken)


def test_internal_error_is_one_line_and_exit_2(small_model, monkeypatch):
    monkeypatch.delenv("HYPERASC_DEBUG", raising=False)
    _break_the_compiler(monkeypatch)
    result = invoke(["compile", str(small_model)])
    assert result.exit_code == 2
    assert result.stderr == (
        "hyperasc: internal error: RuntimeError: stage exploded; rerun with HYPERASC_DEBUG=1 for the traceback\n"
    )


@pytest.mark.parametrize("how", ["env", "flag"])
def test_debug_shows_the_traceback(small_model, monkeypatch, how):
    _break_the_compiler(monkeypatch)
    if how == "env":
        monkeypatch.setenv("HYPERASC_DEBUG", "1")
        result = invoke(["compile", str(small_model)])
    else:
        monkeypatch.delenv("HYPERASC_DEBUG", raising=False)
        result = invoke(["--debug", "compile", str(small_model)])
    # The exception escapes to the interpreter, which prints its traceback.
    assert isinstance(result.exception, RuntimeError) and "stage exploded" in str(
        result.exception
    )


@pytest.fixture
def small_model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(model_file("return {{uniform(0, 1)}}\n"))
    return path


# --- -o writes through links, devices and pipes ---------------------------------------------


def test_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.py"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.py"
    link.symlink_to(target.name)
    write_atomically(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "real.py"
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.py"
    link.symlink_to("missing.py")
    write_atomically(link, b"new")
    assert link.is_symlink() and (tmp_path / "missing.py").read_bytes() == b"new"


def test_cli_output_through_a_symlink(small_model, tmp_path):
    target = tmp_path / "tune_real.py"
    link = tmp_path / "tune.py"
    link.symlink_to(target)
    result = invoke(["compile", str(small_model), "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and "def create_model" in target.read_text()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_written_directly(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomically(fifo, b"through the pipe")
    reader.join(10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pipe"
    ]  # no temporary file left


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_dev_null_stays_a_character_device(small_model):
    result = invoke(["compile", str(small_model), "-o", "/dev/null"])
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_directory_as_output_is_a_plain_error(small_model, tmp_path):
    result = invoke(["compile", str(small_model), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"hyperasc: error: cannot write {tmp_path}:")

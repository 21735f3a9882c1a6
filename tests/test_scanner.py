"""Stage 1b: the tokenizer-based handle scanner and placeholder substitution."""

import ast

import pytest

from hyperasc.diagnostics import CompileError
from hyperasc.compile.scanner import restore_column, scan, substitute


def inners(text):
    return [h.inner for h in scan(text)]


def test_finds_handles_in_source_order():
    text = "x = {{uniform(0, 1)}}\ny = f({{choice([1, 2])}}, {{randint(3)}})\n"
    handles = scan(text)
    assert [h.inner for h in handles] == [
        "uniform(0, 1)",
        "choice([1, 2])",
        "randint(3)",
    ]
    assert [h.placeholder for h in handles] == ["__hx0__", "__hx1__", "__hx2__"]
    assert handles[0].start == (1, 4) and handles[0].end == (1, 21)
    assert handles[1].start == (2, 6)


@pytest.mark.parametrize(
    "text",
    [
        "s = '{{uniform(0, 1)}}'\n",
        's = "x {{choice([1])}} y"\n',
        's = """\n{{uniform(0, 1)}}\n"""\n',
        "s = f'{{uniform(0, 1)}}'\n",
        "s = f'{x} {{{{uniform(0, 1)}}}} {y!r:>{w}}'\n",
        "s = rb'{{uniform(0, 1)}}'\n",
        "x = 1  # {{uniform(0, 1)}}\n",
        "# {{choice([1, 2])}}\n",
    ],
)
def test_strings_fstrings_and_comments_hold_no_handles(text):
    assert scan(text) == []


def test_handle_next_to_fstring_still_found():
    assert inners("s = f'{a}' + str({{uniform(0, 1)}})\n") == ["uniform(0, 1)"]


def test_multi_line_handle():
    text = "x = {{choice([\n    1,\n    2,\n])}}\ny = 3\n"
    (handle,) = scan(text)
    assert handle.start == (1, 4) and handle.end == (4, 4)
    assert "1,\n    2," in handle.inner


def test_nested_braces_inside_handle():
    text = "opt = {{choice([{'lr': 0.1}, {'lr': 0.01}])}}\n"
    assert inners(text) == ["choice([{'lr': 0.1}, {'lr': 0.01}])"]


def test_dict_of_dict_in_handle_closes_correctly():
    text = "opt = {{choice([{'a': {'b': 1}}])}}\n"
    assert inners(text) == ["choice([{'a': {'b': 1}}])"]


def test_spaces_inside_braces():
    assert inners("x = {{ uniform(0, 1) }}\n") == [" uniform(0, 1) "]


def test_tabs_indentation():
    text = "def f():\n\tif True:\n\t\tx = {{uniform(0, 1)}}\n\treturn x\n"
    (handle,) = scan(text)
    assert handle.start == (3, 6)
    ast.parse(substitute(text, [handle]))


def test_plain_set_and_dict_literals_are_not_handles():
    assert scan("x = {1, 2}\ny = {'a': {1}}\nz = { {1} }\n") == []


def test_set_of_set_with_space_is_not_a_handle():
    # `{ {` is two separate braces, not `{{`.
    assert scan("x = { {1} }\n") == []


def test_substitution_keeps_lines_and_columns():
    text = "a = 1\nx = {{uniform(0, 1)}} + y\nz = {{choice([\n  1,\n  2])}} + w\nlast = 1\n"
    handles = scan(text)
    out = substitute(text, handles)
    assert out.count("\n") == text.count("\n")
    tree = ast.parse(out)
    names = {
        n.id: (n.lineno, n.col_offset)
        for n in ast.walk(tree)
        if isinstance(n, ast.Name)
    }
    assert names["__hx0__"] == (2, 5)
    assert names["__hx1__"] == (3, 5)
    # Text after a single-line handle keeps its column; `last` keeps its line.
    assert names["y"] == (2, text.splitlines()[1].index("y"))
    assert names["last"] == (6, 0)


def test_short_handle_is_padded_not_shifted():
    text = "x = {{randint(3)}}; y = 1\n"
    handles = scan(text)
    out = substitute(text, handles)
    assert len(out) >= len(text)
    assert "(__hx0__" in out
    # The code after the handle keeps its column, so positions in it need no mapping back.
    assert out.index("; y = 1") == text.index("; y = 1")
    assert out.splitlines()[0].endswith("; y = 1")


def test_restore_column_maps_back_past_a_handle():
    text = "x = {{randint(3)}}\n"
    handles = scan(text)
    # The end of the line in the substituted text maps onto the end of the original line.
    end_in_substituted = len(substitute(text, handles).rstrip("\n"))
    assert restore_column(handles, 1, end_in_substituted) == len(text.rstrip("\n"))


@pytest.mark.parametrize(
    "text, line, col, message",
    [
        ("x = {{uniform(0, 1)\n", 1, 5, "never closed"),
        ("x = {{uniform(0, 1)}\n", 1, 5, "never closed"),
        ("x = (1, 2\n", 1, 5, "never closed"),
        ("x = 1)\n", 1, 6, "unmatched ')'"),
        ("x = {{uniform(0, 1))}}\n", 1, 20, "unmatched ')'"),
    ],
)
def test_unbalanced_brackets(text, line, col, message):
    with pytest.raises(CompileError) as info:
        scan(text)
    diagnostic = info.value.diagnostics[0]
    assert (diagnostic.line, diagnostic.column) == (line, col)
    assert message in diagnostic.message


def test_handle_closed_by_wrong_bracket():
    with pytest.raises(CompileError) as info:
        scan("x = {{uniform(0, 1)]}}\n")
    assert (
        "unmatched ']'" in info.value.diagnostics[0].message
        or "instead of" in info.value.diagnostics[0].message
    )


def test_bad_indentation_is_a_diagnostic():
    with pytest.raises(CompileError) as info:
        scan("def f():\n        x = 1\n    y = 2\n")
    assert info.value.diagnostics[0].line == 3

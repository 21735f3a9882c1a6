"""Property tests: whatever the input, compiling either works or raises CompileError."""

from __future__ import annotations

import ast
import re

import pyflakes.checker
import pyflakes.messages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperasc.compile.codegen import Target
from hyperasc.compile.pipeline import analyse, compile_source
from hyperasc.diagnostics import CompileError, render
from hyperasc.compile.source import read_source

from helpers import EXAMPLE_FILES, PRELUDE, ROOT

EXAMPLES = [p.read_text(encoding="utf-8") for p in EXAMPLE_FILES]
# The examples and the test model files (not the expected scripts next to them).
MODEL_FILES = EXAMPLES + [
    p.read_text(encoding="utf-8")
    for p in sorted((ROOT / "tests" / "golden").glob("*.py"))
    if not p.name.endswith(".expected.py")
]
TARGET = Target("model.py", "hyperasc compile model.py")
SETTINGS = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Fragments that stress the scanner and parsers more than random letters do.
FRAGMENTS = [
    "{{",
    "}}",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "'",
    '"',
    '"""',
    "f'",
    "#",
    "\\",
    ":",
    ",",
    "=",
    "\n",
    "\t",
    "    ",
    "\x00",
    "\ufeff",
    "é",
    "choice(",
    "uniform(0, 1)",
    "{{uniform(0, 1)}}",
    "{{choice([1, 2])}}",
    "{{choice([None, uniform(0, 0.5)])}}",
    "'name', ",
    "pchoice([(0.5, 1)])",
    "def ",
    "return ",
    "if __name__ == '__main__':\n",
    "import hyperas\n",
    "lambda: ",
    "*",
    "**",
    "data",
    "create_model",
    "x_train",
    "async ",
    "await ",
    "yield ",
    "global x\n",
    "@",
    "...",
]


def attempt(text_or_bytes, full: bool = False) -> None:
    data = (
        text_or_bytes
        if isinstance(text_or_bytes, bytes)
        else text_or_bytes.encode("utf-8", "surrogatepass")
    )
    try:
        source = read_source("model.py", data)
        if full:
            compile_source(source, TARGET)
        else:
            analyse(source)
    except CompileError as exc:
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            assert diagnostic.line >= 1 and diagnostic.column >= 1
            render(diagnostic, "model.py", source.lines if "source" in locals() else [])


@settings(max_examples=200, **SETTINGS)
@given(st.text(max_size=300))
def test_arbitrary_text(text):
    attempt(text)


@settings(max_examples=100, **SETTINGS)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data):
    attempt(data)


@settings(max_examples=200, **SETTINGS)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_fragment_soup(parts):
    attempt(PRELUDE + "    return " + "".join(parts) + "\n")


@st.composite
def mutated_example(draw):
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 3))):
        if not text:
            break
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start, min(len(text), start + 20)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        piece = draw(st.sampled_from(FRAGMENTS) | st.text(max_size=5))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "insert":
            text = text[:start] + piece + text[start:]
        elif kind == "replace":
            text = text[:start] + piece + text[end:]
        else:
            text = text[:end] + text[start:end] + text[end:]
    return text


@settings(max_examples=200, **SETTINGS)
@given(mutated_example())
def test_mutated_examples_analyse(text):
    attempt(text)


@settings(max_examples=40, **SETTINGS)
@given(mutated_example())
def test_mutated_examples_compile(text):
    # The full pipeline, black included: generated code must always be valid Python.
    attempt(text, full=True)


# What users get wrong next to a handle: a missing or extra bracket, a keyword
# glued on, odd whitespace and line-break-like characters, a duplicated handle.
NEAR_HANDLE = [
    "",
    " ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "*",
    "-",
    "=",
    ":",
    "1",
    "x",
    "_",
    "'s'",
    "return",
    "not ",
    "not",
    "in",
    "if",
    "else",
    "and",
    "lambda:",
    "await",
    "yield",
    "del ",
    "for ",
    "as ",
    "\\\n",
    "\n",
    "\t",
    "\f",
    "\v",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "é",
    "# c\n",
    "(__hx0__)",
    "__hx1__",
    "{{uniform(0, 1)}}",
    "{{choice([1, 2])}}",
]


@st.composite
def mutated_near_handles(draw):
    """A model file with a few edits right before, after or inside its handles."""
    text = draw(st.sampled_from(MODEL_FILES))
    for _ in range(draw(st.integers(1, 2))):
        starts = [m.start() for m in re.finditer(r"\{\{", text)] or [0]
        at = draw(st.sampled_from(starts))
        end = text.find("}}", at)
        end = end + 2 if end >= 0 else at
        where = draw(st.sampled_from([at, end, at + 2, max(end - 2, 0)]))
        piece = draw(st.sampled_from(NEAR_HANDLE))
        kind = draw(
            st.sampled_from(
                ["insert", "delete_before", "delete_after", "duplicate", "swap"]
            )
        )
        if kind == "insert":
            text = text[:where] + piece + text[where:]
        elif kind == "delete_before":
            text = text[: max(where - draw(st.integers(1, 3)), 0)] + text[where:]
        elif kind == "delete_after":
            text = text[:where] + text[where + draw(st.integers(1, 3)) :]
        elif kind == "duplicate":
            text = text[:end] + text[at:end] + text[end:]
        elif where + 1 < len(text):
            text = text[:where] + text[where + 1] + text[where] + text[where + 2 :]
    return text


def undefined_names(script: str) -> set[str]:
    checker = pyflakes.checker.Checker(ast.parse(script), filename="tune.py")
    return {
        m.message_args[0]
        for m in checker.messages
        if isinstance(m, pyflakes.messages.UndefinedName)
    }


@settings(max_examples=40, derandomize=True, **SETTINGS)
@given(mutated_near_handles())
def test_mutated_model_files_compile_to_scripts_without_new_undefined_names(text):
    # Either a CompileError, or a script whose every undefined name the model file
    # itself spells: a name the compiler made up (a placeholder left behind, a
    # keyword glued to a name) would show up here.
    try:
        script, _ = compile_source(
            read_source("model.py", text.encode("utf-8", "surrogatepass")), TARGET
        )
    except CompileError as exc:
        assert exc.diagnostics and all(
            d.line >= 1 and d.column >= 1 for d in exc.diagnostics
        )
        return
    spelled = set(re.findall(r"\w+", text))
    assert undefined_names(script) <= spelled

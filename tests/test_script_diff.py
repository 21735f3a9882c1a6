"""The committed script's diff is the change: what a reviewer sees after editing the model file.

A comment or a blank line added to the model file changes the model's hash
(once) and, inside carried code, adds that line; a changed bound or option
changes only the lines that carry it: its parameter line, its line of the
space and the hash. Lines are counted as difflib pairs them, a replaced line
once.
"""

from __future__ import annotations

import difflib
import hashlib
import re

import pytest

from helpers import EXAMPLE, compile_text

TEXT = EXAMPLE.read_text(encoding="utf-8")
PATH = "examples/digits_mlp.py"


def script(text: str) -> list[str]:
    return compile_text(text, PATH).splitlines()


def changed_lines(before: list[str], after: list[str]) -> int:
    """Lines added, removed or replaced; a replaced line counts once."""
    count = 0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            count += max(i2 - i1, j2 - j1)
    return count


def insert_before(text: str, marker: str, line: str) -> str:
    lines = text.splitlines(keepends=True)
    at = next(i for i, current in enumerate(lines) if marker in current)
    return "".join(lines[:at] + [line] + lines[at:])


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def loss_line(lines: list[str]) -> list[str]:
    """The objective's `"line": N` in the Search(...) call."""
    return [
        re.search(r'"line": \d+', line).group()
        for line in lines
        if line.lstrip().startswith("objective={")
    ]


@pytest.fixture(scope="module")
def original() -> list[str]:
    return script(TEXT)


@pytest.mark.parametrize(
    "edited",
    [
        insert_before(TEXT, "model.add(layers.Input", "    # a comment in the model\n"),
        insert_before(TEXT, "NUM_CLASSES = 10", "# a comment above a helper\n"),
        insert_before(TEXT, "NUM_CLASSES = 10", "\n"),
        insert_before(TEXT, "    model.compile(", "\n"),
        "# a comment at the top\n" + TEXT,
    ],
    ids=[
        "comment-in-model",
        "comment-in-helpers",
        "blank-line",
        "blank-in-model",
        "top",
    ],
)
def test_a_comment_or_blank_line_changes_at_most_two_lines(original, edited):
    after = script(edited)
    # The script names the loss's line (Search's objective=, shown in the summary and
    # the report): a line added above the loss moves it, one line more.
    moved = loss_line(original) != loss_line(after)
    assert changed_lines(original, after) <= 2 + moved
    digest = hashlib.sha256(edited.encode("utf-8")).hexdigest()
    assert sum(line.count(digest) for line in after) == 1  # the model's hash, once


@pytest.mark.parametrize(
    "old, new",
    [
        (
            "    model.add(layers.Dropout({{uniform(0, 0.5)}}))\n    # A conditional",
            "    model.add(layers.Dropout({{uniform(0, 0.25)}}))\n    # A conditional",
        ),
        ("{{choice([32, 64])}}", "{{choice([32, 128])}}"),
        ('{{choice(["relu", "tanh"])}}', '{{choice(["relu", "elu"])}}'),
    ],
    ids=["bound", "option", "string-option"],
)
def test_a_changed_bound_or_option_changes_at_most_three_lines(original, old, new):
    after = script(replace_once(TEXT, old, new))
    assert changed_lines(original, after) <= 3


def test_parameter_lines_carry_no_source_location(original):
    table = original[original.index("# fmt: off") : original.index("# fmt: on")]
    assert all('"line"' not in line and '"column"' not in line for line in table)

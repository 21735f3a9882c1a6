"""Properties of `hyperasc upgrade` over the project's own model files (examples, golden
inputs, hyperas cases, upgrade samples, the hyperas-era corpus), with lines duplicated at
random: the output parses, a second run changes nothing, and every changed byte is in an
edit of a named rule (undoing the edits gives the input back, byte for byte)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hyperasc.diagnostics import CompileError
from hyperasc.upgrade import upgrade_file, upgrade_text
from hyperasc.upgrade.names import TRIGGERS

from .util import parses

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
SOURCES = sorted(
    p
    for p in [
        *(ROOT / "examples").glob("*.py"),
        *(TESTS / "golden").glob("*.py"),
        *(TESTS / "hyperas_cases").glob("*.py"),
        *(TESTS / "upgrade_cases").glob("*.py"),
        *(TESTS / "hyperas_k2").glob("*.py"),
    ]
    if not p.name.endswith(".expected.py")
)
NOTEBOOKS = sorted(
    [
        *(TESTS / "hyperas_cases").glob("*.ipynb"),
        *(TESTS / "upgrade_cases").glob("*.ipynb"),
        *(TESTS / "hyperas_k2").glob("*.ipynb"),
    ]
)
NOTEBOOKS = [p for p in NOTEBOOKS if not p.name.endswith(".expected.ipynb")]


def undone(text: str, new: str, plan) -> str:
    """`new` with every edit's replacement put back to the original text."""
    edits = sorted(
        {e for c in plan.changes for e in c.edits}, key=lambda e: (e.start, e.end)
    )
    pieces, position, cursor = [], 0, 0
    for edit in edits:
        keep = edit.start - position
        pieces.append(new[cursor : cursor + keep])
        pieces.append(text[edit.start : edit.end])
        cursor += keep + len(edit.text)
        position = edit.end
    pieces.append(new[cursor:])
    return "".join(pieces)


def check(text: str) -> None:
    try:
        new, plan = upgrade_text(text)
    except CompileError:
        assume(False)  # a duplicated line that is no longer Python
        return
    assert parses(new)
    again, second = upgrade_text(new)
    assert again == new, "a second run changed the file"
    assert not second.changes
    assert undone(text, new, plan) == text, "a byte changed outside the named edits"
    assert all(c.rule and c.description and c.edits for c in plan.changes)
    if plan.count:
        assert TRIGGERS.search(
            text
        ), "the compile note's fast path would miss this file"


def test_there_are_sources():
    assert len(SOURCES) >= 15


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_source(path):
    check(path.read_text())


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(
    st.sampled_from(SOURCES),
    st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=4),
)
def test_duplicated_lines(path, picks):
    lines = path.read_text().splitlines(keepends=True)
    for pick in sorted(picks, reverse=True):
        index = pick % len(lines)
        lines.insert(index, lines[index])
    check("".join(lines))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SOURCES), st.integers(min_value=0, max_value=10_000))
def test_a_whole_file_twice(path, _):
    text = path.read_text()
    check(text + "\n" + text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook(path):
    pytest.importorskip("nbformat")
    result = upgrade_file(str(path), path.read_bytes())
    again = upgrade_file(str(path), result.data)
    assert again.data == result.data and not again.changed
    for part in result.parts:
        assert undone(part.before, part.after, part.plan) == part.before

"""README.md stays a short page for users, and it and docs/ stay true to the code:
links reach their files and headings, docs/options.md names every option a
generated script takes, and the README names the test command CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import EXAMPLE, ROOT, compile_text

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 250

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without fenced blocks and code spans, where `[x](y)` is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # GitHub numbers repeated headings
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def relative_links(path: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(path.read_text(encoding="utf-8")))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_reach_a_file_and_heading(page: Path):
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert broken == []


def test_anchor_slugs_follow_github():
    assert slug("`trials.jsonl`") == "trialsjsonl"
    assert slug("Failures don't stop the search") == "failures-dont-stop-the-search"
    assert (
        slug("Keras 1 and 2 files: `hyperasc upgrade`")
        == "keras-1-and-2-files-hyperasc-upgrade"
    )


def test_readme_links_every_doc_page():
    linked = {
        (README.parent / t.partition("#")[0]).resolve() for t in relative_links(README)
    }
    assert [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked] == []


def test_readme_names_the_test_command_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip()
        for line in ci.splitlines()
        if "pytest" in line and not line.lstrip().startswith("#")
    ]
    assert commands, ".ci/run runs no pytest command"
    readme = README.read_text(encoding="utf-8")
    for command in commands:
        assert f"\n{command}\n" in readme


def help_options(script: Path, *args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, str(script), *args, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    options = set(re.findall(r"^\s+(-[-\w]+)", result.stdout, re.M))
    # argparse lists "-h, --help" on one line: take every option of such lines
    options |= set(re.findall(r"^\s+-h, (--help)", result.stdout, re.M))
    assert "--max-evals" in options or "--mongo" in options, result.stdout
    return options


def undocumented(options: set[str]) -> list[str]:
    doc = (DOCS / "options.md").read_text(encoding="utf-8")
    return sorted(o for o in options if not re.search(rf"`{re.escape(o)}[ `=]", doc))


# A model without imports: its script's --help shows the same options as any
# other's (they are the runtime's) without importing Keras.
SMALL_MODEL = """
def model():
    x = {{uniform(-1, 1)}}
    return x * x
"""


def test_options_doc_names_every_option_of_a_small_script(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(compile_text(SMALL_MODEL), encoding="utf-8")
    assert undocumented(help_options(script)) == []
    assert undocumented(help_options(script, "worker")) == []


@pytest.mark.slow
def test_options_doc_names_every_option_of_the_example_script(tmp_path):
    script = tmp_path / "tune.py"
    source = EXAMPLE.read_text(encoding="utf-8")
    script.write_text(compile_text(source, str(EXAMPLE)), encoding="utf-8")
    options = help_options(script) | help_options(script, "worker")
    assert {"--keep-best", "--reseed", "--debug", "--workers"} <= options
    assert undocumented(options) == []

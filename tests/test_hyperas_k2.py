"""The hyperas-era corpus of issue 16: real-looking Keras 1/2 hyperas files, upgraded and compiled.

tests/hyperas_k2/ holds model files written the way hyperas users wrote them in
2016-2019 (scripts and notebooks), each mixing several families of what breaks
on Keras 3. MANIFEST.json lists each file's families and whether it is expected
to train after `hyperasc upgrade` + `hyperasc compile` (all but a real
ImageDataGenerator user, for which upgrade must say why in a located warning).

- Fast: `upgrade` is idempotent, its output still parses with the handles
  substituted, and `--diff` lists every line that `-o` changes.
- Slow: upgrade, compile and train one trial of each file on tiny data.

`python tests/test_hyperas_k2.py --table [-j N] [NAME ...]` runs the slow
pipeline outside pytest and prints family -> files -> how many train, and the
first error line of each file that does not train.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import ROOT, invoke, run_hyperasc, run_script  # noqa: E402

from hyperasc.compile.scanner import scan, substitute  # noqa: E402
from hyperasc.compile.source import read_source  # noqa: E402

CORPUS = ROOT / "tests" / "hyperas_k2"
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text())
FAMILIES: dict[str, str] = MANIFEST["families"]
FILES: dict[str, dict] = MANIFEST["files"]
NAMES = sorted(FILES)
TRAINERS = [n for n in NAMES if FILES[n]["trains"]]
NON_TRAINERS = [n for n in NAMES if not FILES[n]["trains"]]


def upgraded_name(name: str) -> str:
    return "up" + Path(name).suffix


def code_text(path: Path) -> str:
    """A script's text, or a notebook's code cells as hyperasc reads them (IPython lines dropped)."""
    return read_source(str(path), path.read_bytes()).text


def parses_with_handles_substituted(path: Path) -> None:
    text = code_text(path)
    ast.parse(substitute(text, scan(text)), str(path))


def code_lines(path: Path) -> list[list[str]]:
    """The lines of a script, or of each code cell of a notebook (one list per cell)."""
    if path.suffix != ".ipynb":
        return [path.read_text().splitlines()]
    cells = json.loads(path.read_text())["cells"]
    # nbformat writes a cell's source as a list of lines; one string is valid JSON too.
    return [
        "".join(c["source"]).splitlines() for c in cells if c["cell_type"] == "code"
    ]


def changed_lines(before: Path, after: Path) -> list[str]:
    """Each line removed ('-...') or added ('+...') between two versions of a file."""
    changed = []
    for old, new in zip(code_lines(before), code_lines(after), strict=True):
        for line in difflib.unified_diff(old, new, lineterm="", n=0):
            if line.startswith(("---", "+++", "@@")):
                continue
            changed.append(line)
    return changed


def located_warnings(stderr: str, path: Path) -> list[str]:
    """The located `warning:` diagnostics about `path`, each with its source and hint lines."""
    blocks: list[list[str]] = []
    for line in stderr.splitlines():
        if re.match(
            rf"{re.escape(str(path))}:(cell_\d+:)?\d+:\d+: (warning|error|note): ", line
        ):
            blocks.append([line])
        elif blocks and line.startswith(" "):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return ["\n".join(b) for b in blocks if ": warning: " in b[0]]


# --- Fast: idempotent, parses, --diff lists every rewrite -------------------------------------


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    """Upgrade each file once (in this process) with `-o`; name -> (input, output, stderr)."""
    folder = tmp_path_factory.mktemp("k2")
    results = {}
    for name in NAMES:
        here = folder / Path(name).stem
        here.mkdir()
        source = here / name
        shutil.copy(CORPUS / name, source)
        out = here / upgraded_name(name)
        result = invoke(["upgrade", str(source), "-o", str(out)])
        results[name] = (source, out, result)
    return results


def test_manifest_lists_every_file_and_family():
    on_disk = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb"))
    assert on_disk == NAMES
    assert len(NAMES) >= 30
    assert sum(n.endswith(".ipynb") for n in NAMES) >= 3
    for name, entry in FILES.items():
        assert entry["families"] and set(map(str, entry["families"])) <= set(FAMILIES)
        assert entry["trains"] or entry.get("warning"), name
    for family in FAMILIES:
        assert sum(int(family) in FILES[n]["families"] for n in NAMES) >= 2, family


@pytest.mark.parametrize("name", NAMES)
def test_corpus_file_itself_parses(name):
    parses_with_handles_substituted(CORPUS / name)


@pytest.mark.parametrize("name", NAMES)
def test_upgrade_is_idempotent_and_parses(name, upgraded, tmp_path):
    source, out, result = upgraded[name]
    assert result.exit_code == 0, result.stderr
    assert out.exists()
    parses_with_handles_substituted(out)
    again = tmp_path / ("again" + out.suffix)
    second = invoke(["upgrade", str(out), "-o", str(again)])
    assert second.exit_code == 0, second.stderr
    assert again.read_bytes() == out.read_bytes(), "a second upgrade changed the file"
    assert "rewrote 0 Keras 1/2 spellings" in second.stderr


@pytest.mark.parametrize("name", NAMES)
def test_diff_lists_every_rewrite(name, upgraded):
    source, out, result = upgraded[name]
    assert result.exit_code == 0, result.stderr
    diff = invoke(["upgrade", str(source), "--diff"])
    assert diff.exit_code == 0, diff.stderr
    shown = set(diff.stdout.splitlines())
    missing = [line for line in changed_lines(source, out) if line not in shown]
    assert not missing, "--diff leaves out lines that -o changes:\n" + "\n".join(
        missing
    )
    if changed_lines(source, out):
        assert diff.stdout.startswith(f"--- {source}")


@pytest.mark.parametrize("name", NON_TRAINERS)
def test_what_cannot_train_is_a_located_warning(name, upgraded):
    source, out, result = upgraded[name]
    assert result.exit_code == 0, result.stderr
    reason = FILES[name]["warning"]
    warnings = [w for w in located_warnings(result.stderr, source) if reason in w]
    assert warnings, f"no located warning naming {reason}:\n{result.stderr}"
    # The hint names the Keras 3 recipe: preprocessing layers.
    assert any("layer" in w.lower() for w in warnings), warnings


# --- Slow: upgrade, compile, train one trial -------------------------------------------------


@dataclass
class Outcome:
    name: str
    trained: bool
    step: str  # "upgrade", "compile", "run", "trial" or "ok"
    error: str  # the first error line, "" when it trained
    detail: str  # more output for a failed assertion


def first_error(text: str) -> str:
    """The line that says what went wrong: a traceback's last line, else an `error:` line."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception|Exit|Interrupt)\b.*", line):
            return line
    for line in lines:
        if ": error: " in line:
            return line
    return lines[-1] if lines else "(no output)"


def run_one(name: str, folder: Path) -> Outcome:
    """Copy `name` to `folder`, upgrade it, compile it and run one trial there."""
    source = folder / name
    shutil.copy(CORPUS / name, source)
    out = folder / upgraded_name(name)
    up = run_hyperasc(["upgrade", str(source), "-o", str(out)], cwd=folder)
    stderr = up.stderr.decode(errors="replace")
    if up.returncode != 0:
        return Outcome(name, False, "upgrade", first_error(stderr), stderr[-3000:])
    script = folder / "tune.py"
    compiled = run_hyperasc(["compile", str(out), "-o", str(script)], cwd=folder)
    cstderr = compiled.stderr.decode(errors="replace")
    if compiled.returncode != 0:
        return Outcome(name, False, "compile", first_error(cstderr), cstderr[-3000:])
    run = folder / "run"
    try:
        result = run_script(script, run, "--max-evals", "1", timeout=300)
    except subprocess.TimeoutExpired:
        return Outcome(name, False, "run", "timed out after 300 s", "")
    said = "\n".join(located_warnings(stderr, source))
    output = (
        f"upgrade warned:\n{said or '(nothing)'}\n\nthe run:\n"
        + result.stdout[-3000:]
        + result.stderr[-4000:]
    )
    trials = run / "trials.jsonl"
    records = (
        [json.loads(line) for line in trials.read_text().splitlines()]
        if trials.exists()
        else []
    )
    if not records:
        return Outcome(name, False, "run", first_error(result.stderr), output)
    record = records[0]
    loss = record.get("loss")
    if (
        record.get("status") != "ok"
        or not isinstance(loss, (int, float))
        or not math.isfinite(loss)
    ):
        error = record.get("error") or f"status {record.get('status')}, loss {loss}"
        return Outcome(name, False, "trial", first_error(str(error)), output)
    if result.returncode != 0:
        return Outcome(name, False, "run", first_error(result.stderr), output)
    return Outcome(name, True, "ok", "", "")


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINERS)
def test_upgraded_file_trains_one_trial(name, tmp_path):
    outcome = run_one(name, tmp_path)
    assert (
        outcome.trained
    ), f"{name}: {outcome.step} failed: {outcome.error}\n{outcome.detail}"
    assert (tmp_path / "run" / "best.json").exists()


# --- The table for the closing note --------------------------------------------------


def table(outcomes: dict[str, Outcome]) -> str:
    rows = ["family | files | train", "--- | --- | ---"]
    for family, title in FAMILIES.items():
        names = [n for n in NAMES if int(family) in FILES[n]["families"]]
        ran = [n for n in names if n in outcomes]
        trained = sum(outcomes[n].trained for n in ran)
        short = title.split(" (")[0]
        rows.append(f"{family}. {short} | {len(names)} | {trained}/{len(ran)}")
    total = sum(o.trained for o in outcomes.values())
    rows.append(f"all files | {len(NAMES)} | {total}/{len(outcomes)}")
    lines = ["\n".join(rows), "", "per file:"]
    for name in sorted(outcomes):
        o = outcomes[name]
        expected = "trains" if FILES[name]["trains"] else "not expected to train"
        status = "ok" if o.trained else f"FAIL at {o.step}: {o.error}"
        families = ",".join(map(str, FILES[name]["families"]))
        lines.append(f"  {name} [{families}] ({expected}): {status}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--table", action="store_true", help="run the corpus and print the table"
    )
    parser.add_argument("-j", "--jobs", type=int, default=1, help="files run at a time")
    parser.add_argument("names", nargs="*", help="only these files of the corpus")
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("nothing to do: pass --table")
    names = args.names or NAMES
    unknown = sorted(set(names) - set(FILES))
    if unknown:
        parser.error(f"not in the corpus: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="hyperas_k2-") as base:

        def one(name: str) -> Outcome:
            folder = Path(base) / Path(name).stem
            folder.mkdir()
            outcome = run_one(name, folder)
            print(f"{name}: {'ok' if outcome.trained else outcome.error}", flush=True)
            return outcome

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = {o.name: o for o in pool.map(one, names)}
    print()
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())

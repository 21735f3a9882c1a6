"""Golden files: tests/golden/NAME.py compiles to exactly tests/golden/NAME.expected.py,
followed by the runtime bundle that every script shares (hyperasc/bundle.py,
checked here to be black-stable and identical in every script) and the
two lines that run main().

The templates are still changing; after an intended change regenerate with

    python tests/test_golden.py --update      (or HYPERASC_UPDATE_GOLDEN=1 pytest tests/test_golden.py)

and review the diff before committing.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import ROOT  # noqa: E402

from hyperasc.compile.bundle import runtime_bundle  # noqa: E402
from hyperasc.compile.codegen import Target, format_script  # noqa: E402
from hyperasc.compile.pipeline import compile_source  # noqa: E402
from hyperasc.compile.source import read_source  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
# Extra command-line flags for inputs whose functions have other names.
FLAGS = {"helpers_and_objects": {"model_fn": "build", "data_fn": "load"}}


def inputs() -> list[Path]:
    return sorted(p for p in GOLDEN.glob("*.py") if not p.name.endswith(".expected.py"))


def expected_path(path: Path) -> Path:
    return path.with_name(path.stem + ".expected.py")


def compile_golden(path: Path) -> str:
    """What `hyperasc compile tests/golden/NAME.py -o tests/golden/NAME.expected.py` writes, run from the root."""
    relative = path.relative_to(ROOT).as_posix()
    out = expected_path(path).relative_to(ROOT).as_posix()
    flags = FLAGS.get(path.stem, {})
    command = f"hyperasc compile {relative} -o {out}"
    command += "".join(f" --{k.replace('_', '-')} {v}" for k, v in flags.items())
    target = Target(relative, command, Path(out).name)
    script, _ = compile_source(
        read_source(relative, path.read_bytes()), target, **flags
    )
    head, bundle, tail = split_script(script)
    assert bundle == runtime_bundle()
    assert tail.startswith('if __name__ == "__main__":')
    return head


def split_script(script: str) -> tuple[str, str, str]:
    """(the part made for the model file, the runtime bundle, the main guard)."""
    start = script.index(runtime_bundle().splitlines(keepends=True)[0])
    end = script.index(runtime_bundle()) + len(runtime_bundle())
    return script[:start], script[start:end], script[end:].lstrip("\n")


@pytest.mark.parametrize("path", inputs(), ids=lambda p: p.stem)
def test_golden(path):
    actual = compile_golden(path)
    if os.environ.get("HYPERASC_UPDATE_GOLDEN"):
        expected_path(path).write_text(actual, encoding="utf-8")
    expected_file = expected_path(path)
    assert (
        expected_file.exists()
    ), f"no {expected_file.name}; run python tests/test_golden.py --update"
    expected = expected_file.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=expected_file.name,
                tofile="compiled",
            )
        )
        pytest.fail(
            f"{path.name} compiles differently; if intended, run "
            f"python tests/test_golden.py --update\n{diff[:6000]}"
        )


def test_golden_inputs_exist():
    assert len(inputs()) >= 3


def test_runtime_bundle_is_black_stable_and_version_neutral():
    import black

    bundle = runtime_bundle()
    assert format_script(bundle) == bundle
    # The part made for each model is formatted alone; that equals formatting
    # the whole script as long as the bundle needs no newer Python than the
    # f-strings every script's own part already uses.
    features = black.get_features_used(black.lib2to3_parse(bundle))
    assert {f.name for f in features} <= {"F_STRINGS"}


@pytest.mark.parametrize("path", inputs(), ids=lambda p: p.stem)
def test_whole_script_passes_black_check(path):
    relative = path.relative_to(ROOT).as_posix()
    flags = FLAGS.get(path.stem, {})
    script, _ = compile_source(
        read_source(relative, path.read_bytes()),
        Target(relative, "hyperasc compile"),
        **flags,
    )
    assert format_script(script) == script


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print(__doc__)
        return 2
    for path in inputs():
        expected_path(path).write_text(compile_golden(path), encoding="utf-8")
        print(f"wrote {expected_path(path).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


@pytest.mark.slow
@pytest.mark.parametrize("path", inputs(), ids=lambda p: p.stem)
def test_one_trial_of_each_golden_input_runs(path, tmp_path):
    import json

    from helpers import run_script

    relative = path.relative_to(ROOT).as_posix()
    flags = FLAGS.get(path.stem, {})
    script, _ = compile_source(
        read_source(relative, path.read_bytes()),
        Target(relative, "hyperasc compile"),
        **flags,
    )
    (tmp_path / "tune.py").write_text(script)
    result = run_script(tmp_path / "tune.py", tmp_path / "run", "--max-evals", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "trials.jsonl").read_text().splitlines()[0])
    assert record["status"] == "ok", record["error"]

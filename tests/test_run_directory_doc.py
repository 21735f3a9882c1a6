"""docs/run-directory.md names every key the runtime writes, so the two cannot drift apart."""

from __future__ import annotations

import json
import re

import pytest

from helpers import ROOT, compile_text, run_script

DOC = (ROOT / "docs" / "run-directory.md").read_text(encoding="utf-8")
MODEL = """
def model():
    x = {{uniform(-1, 1)}}
    if {{choice(["ok", "fail"])}} == "fail":
        raise ValueError("a failed trial")
    return {"loss": x * x, "status": "ok"}
"""


def documented(key: str) -> bool:
    return re.search(rf"`{re.escape(key)}`|\"{re.escape(key)}\"", DOC) is not None


@pytest.mark.slow
def test_every_key_the_runtime_writes_is_documented(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(compile_text(MODEL))
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "6", "--in-process", "--seed", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        run_script(
            script, out, "--max-evals", "7", "--in-process", "--resume"
        ).returncode
        == 0
    )
    info = json.loads((out / "run.json").read_text())
    records = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    assert {r["status"] for r in records} == {"ok", "fail"}
    keys = (
        set(info)
        | {k for r in records for k in r}
        | set(json.loads((out / "best.json").read_text()))
    )
    keys |= {k for entry in info["space"] for k in entry} | {
        k for r in info["resumes"] for k in r
    }
    missing = sorted(k for k in keys if not documented(k))
    assert missing == []
    for name in (
        "run.json",
        "trials.jsonl",
        "best.json",
        "best_model.keras",
        "checkpoint",
        "models/trial-",
        "lock",
        "kept_model",
    ):
        assert name in DOC

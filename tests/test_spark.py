"""The generated script on Spark: `--spark N` runs SparkTrials on local[N] (issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("pyspark")

QUICK_MODEL = """
import os


def model():
    x = {{uniform(-1, 1)}}
    kind = {{choice(["a", "b"])}}
    if kind == "b" and x > 0.8:
        raise ValueError("a failing corner of the space")
    with open(os.environ["TRIAL_LOG"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    return (x - 0.25) ** 2 + (kind == "b")
"""


@pytest.mark.slow
def test_spark_runs_eight_trials_two_at_a_time(tmp_path):
    source = tmp_path / "model.py"
    source.write_text(textwrap.dedent(QUICK_MODEL))
    script = tmp_path / "tune.py"
    subprocess.run(
        [sys.executable, "-m", "hyperasc", "compile", str(source), "-o", str(script)],
        check=True,
        capture_output=True,
        text=True,
    )
    out = tmp_path / "run"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "TRIAL_LOG": str(tmp_path / "pids.log"),
    }
    env.pop("PYSPARK_PYTHON", None)  # the script must set it itself
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--spark",
            "2",
            "--max-evals",
            "8",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    found = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    assert sorted(r["tid"] for r in found) == list(range(8))
    assert len({r["params"]["x"] for r in found}) == 8
    for record in found:
        if record["status"] == "fail":
            assert "ValueError: a failing corner" in record["error"]
        else:
            assert record["loss"] is not None
    # The trials ran in Spark's Python workers, two at a time.
    assert len(set((tmp_path / "pids.log").read_text().split())) >= 2
    run = json.loads((out / "run.json").read_text())
    assert run["backend"] == "spark" and run["spark"] == {"parallelism": 2}
    assert json.loads((out / "best.json").read_text())["loss"] == min(
        r["loss"] for r in found if r["loss"] is not None
    )

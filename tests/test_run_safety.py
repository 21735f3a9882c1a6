"""Issue 17: one writer per run directory; nothing read from it runs code;
nothing written through a link or outside its place. Real processes throughout."""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import QUICK_MODEL, compile_text, invoke, run_script

pytestmark = pytest.mark.slow

SAVING_MODEL = """
def data():
    return 0


class Saved:
    def __init__(self, text):
        self.text = text

    def save(self, path):
        with open(path, "w") as f:
            f.write(self.text)


def model(unused):
    x = {{uniform(-5, 5)}}
    return {"loss": x * x, "status": "ok", "model": Saved(str(x))}
"""


def script_for(tmp_path: Path, text: str = QUICK_MODEL) -> Path:
    path = tmp_path / "tune.py"
    path.write_text(compile_text(text))
    return path


def tids(out: Path) -> list[int]:
    return [
        json.loads(line)["tid"]
        for line in (out / "trials.jsonl").read_text().splitlines()
    ]


def slow_search(script: Path, out: Path, *extra: str) -> subprocess.Popen:
    """A search whose trials take a while, once it holds the run directory."""
    env = {**os.environ, "TRIAL_SLEEP": "2", "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(
        [sys.executable, str(script), "--out", str(out), "--quiet", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not (out / "run.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (out / "run.json").exists()
    return proc


@pytest.mark.parametrize("mode", [[], ["--parallel", "2"]], ids=["local", "parallel"])
def test_a_second_start_or_resume_is_refused_while_a_search_runs(tmp_path, mode):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    proc = slow_search(script, out, "--max-evals", "6", *mode)
    try:
        for extra in (["--resume"], []):
            result = run_script(script, out, "--max-evals", "8", *extra)
            assert result.returncode == 1, result.stderr[-3000:]
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith(f"error: {out} is in use by another search")
            assert f"pid {proc.pid} on {socket.gethostname()}, started 20" in lines[0]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # The dead holder's lock is taken over; the resumed search finishes the run.
    result = run_script(script, out, "--max-evals", "3", "--resume", *mode)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(tids(out)) == [0, 1, 2] and len(tids(out)) == 3  # each tid once


def test_a_crafted_pickle_checkpoint_is_not_executed(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    whole = tmp_path / "whole"
    assert run_script(script, whole, "--max-evals", "5", "--seed", "2").returncode == 0
    assert run_script(script, out, "--max-evals", "3", "--seed", "2").returncode == 0
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (out / "checkpoint").write_bytes(pickle.dumps(Exploit()))
    result = run_script(script, out, "--max-evals", "5", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not marker.exists()
    notes = [line for line in result.stderr.splitlines() if "pickled" in line]
    assert len(notes) == 1 and "rebuilding the search from 3 trial(s)" in notes[0]
    # Resumed equals uninterrupted, and the new checkpoint is JSON.
    params = [json.loads(line)["params"] for line in (out / "trials.jsonl").open()]
    assert params == [
        json.loads(line)["params"] for line in (whole / "trials.jsonl").open()
    ]
    assert (
        json.loads((out / "checkpoint").read_text())["format"] == "hyperasc-checkpoint"
    )


def test_report_never_writes_through_a_planted_link(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "3").returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n")
    (out / "report").mkdir()
    (out / "report" / "trials.csv").symlink_to(victim)
    result = invoke(["report", str(out), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "the user's file\n"
    csv = out / "report" / "trials.csv"
    assert not csv.is_symlink() and csv.read_text().startswith("tid,")
    # A report directory that is itself a link is refused, not followed.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "report" / "trials.csv").unlink()
    (out / "report").rmdir()
    (out / "report").symlink_to(elsewhere)
    result = invoke(["report", str(out), "--format", "csv"])
    assert result.exit_code != 0 and "symbolic link" in result.output
    assert os.listdir(elsewhere) == []


def test_resume_refuses_a_run_file_that_is_a_link(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "2").returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n")
    (out / "trials.jsonl").unlink()
    (out / "trials.jsonl").symlink_to(victim)
    result = run_script(script, out, "--max-evals", "4", "--resume")
    assert result.returncode == 1 and "trials.jsonl is a symbolic link" in result.stderr
    assert victim.read_text() == "the user's file\n"


def test_keep_best_deletes_only_the_models_it_made(tmp_path):
    script = script_for(tmp_path, SAVING_MODEL)
    out = tmp_path / "run"
    (out / "models").mkdir(parents=True)
    theirs = ["trial-2023-baseline.h5", "trial-notes.txt"]
    for name in theirs:
        (out / "models" / name).write_text("the user's")
    result = run_script(script, out, "--max-evals", "6", "--keep-best", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    names = sorted(os.listdir(out / "models"))
    ours = [n for n in names if n not in theirs]
    assert len(ours) == 1 and ours[0].endswith(".keras"), names
    assert all((out / "models" / n).read_text() == "the user's" for n in theirs)
    records = [json.loads(line) for line in (out / "trials.jsonl").open()]
    made = {r["tid"] for r in records if "kept_model" in r}
    assert len(made) > 1  # more were kept, then deleted: only ours
    assert all(
        r["kept_model"] == f"models/trial-{r['tid']}.keras"
        for r in records
        if "kept_model" in r
    )


def test_out_is_resolved_once_even_when_data_changes_directory(tmp_path):
    text = QUICK_MODEL.replace(
        "def data():\n", "def data():\n    os.chdir(os.path.dirname(os.getcwd()))\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    script = script_for(work, text)
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--out",
            "run",
            "--quiet",
            "--max-evals",
            "3",
            "--trials-per-process",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert tids(work / "run") == [0, 1, 2] and not (tmp_path / "run").exists()


@pytest.mark.parametrize("how", ["same", "dot", "link"])
def test_compile_refuses_to_write_over_the_model_file(tmp_path, how):
    model = tmp_path / "m.py"
    model.write_text(QUICK_MODEL)
    out = {"same": model, "dot": tmp_path / "." / "m.py", "link": tmp_path / "l.py"}[
        how
    ]
    if how == "link":
        out.symlink_to(model)
    result = invoke(["compile", str(model), "-o", str(out)])
    assert result.exit_code != 0
    assert "is the model file" in result.output and "itself" in result.output
    assert model.read_text() == QUICK_MODEL
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["m.py"] + (["l.py"] if how == "link" else [])
    )

"""The generated script as a tuning run: run directory, resume, failures, seeds (issue 3).

Every test compiles a real model file and runs the script in a subprocess,
as a user would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import EXAMPLE, QUICK_MODEL, compile_model, records

from hyperasc.runtime.resume_options import python_command
from hyperasc.runtime.run_directory import trials_from_checkpoint

# Every test here runs a compiled script in a subprocess: the full suite's, not the fast lane's.
pytestmark = pytest.mark.slow

FAILING_MODEL = """
def model():
    mode = {{choice(["ok", "raise", "nan", "inf", "malformed", "status"])}}
    if mode == "raise":
        raise ValueError("boom in the model")
    if mode == "nan":
        return float("nan")
    if mode == "inf":
        return {"loss": float("inf"), "status": "ok"}
    if mode == "malformed":
        return {"status": "ok", "accuracy": 0.5}
    if mode == "status":
        return {"loss": 1.0, "status": "fail"}
    return 1.0
"""


def run(
    script: Path, *args: str, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=script.parent,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def load_checkpoint(run_dir: Path):
    return trials_from_checkpoint((run_dir / "checkpoint").read_bytes())


def wait_for_lines(
    path: Path, count: int, proc: subprocess.Popen, limit: float = 120
) -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {count} lines")


@pytest.mark.slow
def test_run_directory_holds_what_a_user_needs(tmp_path):
    script = compile_model(tmp_path)
    out = tmp_path / "run"
    proc = run(script, "--max-evals", "2", "--seed", "5", "--out", str(out), "--quiet")
    assert "Search finished" in proc.stdout and f"hyperasc report {out}" in proc.stdout

    info = json.loads((out / "run.json").read_text())
    import hashlib

    assert info["script"]["sha256"] == hashlib.sha256(script.read_bytes()).hexdigest()
    assert info["model"]["sha256"] == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert info["argv"][1:] == [
        "--max-evals",
        "2",
        "--seed",
        "5",
        "--out",
        str(out),
        "--quiet",
    ]
    assert (info["seed"], info["algo"], info["max_evals"]) == (5, "tpe", 2)
    assert set(info["versions"]) == {
        "python",
        "hyperopt",
        "keras",
        "tensorflow",
        "numpy",
    }
    assert all(info["versions"].values())
    assert info["devices"] and all(isinstance(d, str) for d in info["devices"])
    assert [p["name"] for p in info["space"]][:3] == ["Dense", "activation", "Dropout"]

    lines = records(out)
    assert [r["tid"] for r in lines] == [0, 1]
    for r in lines:
        assert (
            r["status"] == "ok" and isinstance(r["loss"], float) and r["error"] is None
        )
        assert r["params"]["optimizer"] in (
            "adam",
            "rmsprop",
        )  # real values, not indices
        assert r["params"]["add"] in (
            "layers.BatchNormalization()",
            'layers.Activation("linear")',
        )
        assert r["duration"] > 0 and r["start"] < r["end"]
        (history,) = r["history"]
        assert len(history["loss"]) == len(history["val_loss"]) == 5

    best = json.loads((out / "best.json").read_text())
    assert best["loss"] == min(r["loss"] for r in lines)
    assert best["params"] == next(r["params"] for r in lines if r["tid"] == best["tid"])
    assert (out / "best_model.keras").read_bytes()[:2] == b"PK"  # a .keras zip archive
    trials = load_checkpoint(out)
    assert len(trials.trials) == 2


def test_existing_run_is_never_overwritten(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    out = tmp_path / "run"
    run(script, "--max-evals", "2", "--out", str(out), "--quiet")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = run(script, "--max-evals", "3", "--out", str(out), "--quiet", check=False)
    assert proc.returncode != 0
    assert "already holds a run" in proc.stderr and "--resume" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_reaches_max_evals_and_samples_like_an_uninterrupted_run(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    for algo, total in (("tpe", 24), ("anneal", 10)):
        whole, parts = tmp_path / f"whole-{algo}", tmp_path / f"parts-{algo}"
        run(
            script,
            "--algo",
            algo,
            "--max-evals",
            str(total),
            "--seed",
            "3",
            "--out",
            str(whole),
            "--quiet",
        )
        run(
            script,
            "--algo",
            algo,
            "--max-evals",
            str(total // 2),
            "--seed",
            "3",
            "--out",
            str(parts),
            "--quiet",
        )
        run(
            script,
            "--algo",
            algo,
            "--max-evals",
            str(total),
            "--seed",
            "3",
            "--out",
            str(parts),
            "--quiet",
            "--resume",
        )
        assert [r["tid"] for r in records(parts)] == list(range(total))
        assert [r["params"] for r in records(parts)] == [
            r["params"] for r in records(whole)
        ], algo
        assert len(load_checkpoint(parts).trials) == total


def test_same_seed_same_search_and_other_seed_differs(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    params = {}
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        run(
            script,
            "--max-evals",
            "5",
            "--seed",
            seed,
            "--out",
            str(tmp_path / name),
            "--quiet",
        )
        params[name] = [r["params"] for r in records(tmp_path / name)]
    assert params["a"] == params["b"]
    assert params["a"] != params["c"]


# A small Keras model that notes each trial's start, so a test can kill a search mid-training.
KERAS_START_LOG_MODEL = """
import os

import numpy as np
from keras import layers, models


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 16)).astype("float32")
    return x, (x.sum(axis=1) > 0).astype("int64")


def model(x, y):
    with open(os.environ["START_LOG"], "a") as f:
        f.write("start\\n")
    net = models.Sequential([layers.Input((16,)), layers.Dense({{choice([8, 16])}}, activation="relu"),
                             layers.Dense(2, activation="softmax")])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fitted = net.fit(x, y, epochs=10, batch_size=16, validation_split=0.2, verbose=0)
    return {"loss": fitted.history["val_loss"][-1], "status": "ok", "model": net}
"""


@pytest.mark.slow
def test_sigkill_mid_trial_then_resume_loses_and_repeats_nothing(tmp_path):
    script = compile_model(tmp_path, KERAS_START_LOG_MODEL)
    out = tmp_path / "run"
    starts = tmp_path / "starts.log"
    args = [
        sys.executable,
        str(script),
        "--max-evals",
        "4",
        "--seed",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "START_LOG": str(starts)},
    )
    wait_for_lines(out / "trials.jsonl", 2, proc)
    wait_for_lines(
        starts, 3, proc
    )  # the third trial started: its 10 epochs take far longer than a kill
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = records(out)
    assert len(finished) == 2 and len(load_checkpoint(out).trials) == 2

    run(script, *args[2:], "--resume", env={"START_LOG": str(starts)})
    resumed = records(out)
    assert [r["tid"] for r in resumed] == [0, 1, 2, 3]  # each trial once, none lost
    assert resumed[:2] == finished
    trials = load_checkpoint(out)
    assert sorted(t["tid"] for t in trials.trials) == [0, 1, 2, 3]
    assert all(t["result"]["status"] == "ok" for t in trials.trials)
    info = json.loads((out / "run.json").read_text())
    assert len(info["resumed"]) == 1


def test_ctrl_c_saves_and_resume_finishes(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    out = tmp_path / "run"
    args = [
        sys.executable,
        str(script),
        "--max-evals",
        "6",
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRIAL_SLEEP": "0.4"},
    )
    wait_for_lines(out / "trials.jsonl", 2, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "--resume" in stderr and "Traceback" not in stderr
    saved = len(load_checkpoint(out).trials)
    assert saved >= 2 and len(records(out)) == saved
    run(script, *args[2:], "--resume")
    assert [r["tid"] for r in records(out)] == list(range(6))


def interrupted(argv: list[str], cwd: Path, out: Path, lines: int) -> str:
    """Run the script, Ctrl-C once `lines` trials finished; the command it prints."""
    proc = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRIAL_SLEEP": "0.4"},
        cwd=cwd,
    )
    wait_for_lines(out / "trials.jsonl", lines, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    return stderr.split("continue with:\n  ", 1)[1].splitlines()[0]


def test_the_interrupt_prints_the_command_that_finishes_the_search(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    out = tmp_path / "hyperasc-run"  # the default --out
    command = interrupted(
        [str(script), "--max-evals", "10", "--quiet"], tmp_path, out, 2
    )
    assert shlex.split(command) == [
        python_command(),
        str(script),
        *["--max-evals", "10", "--quiet", "--out", "hyperasc-run", "--resume"],
    ]
    # A wrong --out is refused, and nothing is made there.
    wrong = subprocess.run(
        shlex.split(command.replace("hyperasc-run", "hyperasc-rnu")),
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert wrong.returncode == 2, wrong.stderr
    assert "no run to continue in hyperasc-rnu (no such directory)" in wrong.stderr
    assert not (tmp_path / "hyperasc-rnu").exists()
    # A bare --resume continues with the run's --max-evals 10 (not the
    # script's 5); interrupted again, it prints a command with --resume once.
    command = interrupted([str(script), "--resume", "--quiet"], tmp_path, out, 4)
    assert shlex.split(command)[1:] == [
        str(script),
        *["--resume", "--quiet", "--out", "hyperasc-run"],
    ]
    resumed = subprocess.run(
        shlex.split(command), capture_output=True, text=True, cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resume: from run.json: --max-evals 10\n" in resumed.stderr
    assert [r["tid"] for r in records(out)] == list(range(10))
    info = json.loads((out / "run.json").read_text())
    assert info["max_evals"] == 10 and info["options"]["max_evals"] == 10
    assert all("changed" not in entry for entry in info["resumes"])
    assert "Best 5 trials" in resumed.stdout


def test_a_half_written_line_is_dropped_on_resume(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    out = tmp_path / "run"
    run(script, "--max-evals", "3", "--out", str(out), "--quiet")
    with open(out / "trials.jsonl", "a") as f:
        f.write('{"tid": 2, "status": "o')  # as if killed while appending
    run(script, "--max-evals", "4", "--out", str(out), "--quiet", "--resume")
    assert [r["tid"] for r in records(out)] == [0, 1, 2, 3]


@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["forked", "in-process"])
def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path, mode):
    script = compile_model(tmp_path, FAILING_MODEL)
    points = tmp_path / "points.json"
    modes = ["raise", "nan", "inf", "malformed", "status", "ok"]
    points.write_text(json.dumps([{"mode": m} for m in modes]))
    out = tmp_path / "run"
    proc = run(
        script,
        "--max-evals",
        "8",
        "--out",
        str(out),
        "--points",
        str(points),
        "--quiet",
        *mode,
    )
    lines = records(out)
    assert len(lines) == 8
    by_mode = {r["params"]["mode"]: r for r in lines[:6]}
    assert [r["params"]["mode"] for r in lines[:6]] == modes
    assert (
        "Traceback" in by_mode["raise"]["error"]
        and "boom in the model" in by_mode["raise"]["error"]
    )
    assert "nan" in by_mode["nan"]["error"] and "inf" in by_mode["inf"]["error"]
    assert "loss" in by_mode["malformed"]["error"]
    assert "status" in by_mode["status"]["error"]
    for mode in modes[:-1]:
        assert by_mode[mode]["status"] == "fail" and by_mode[mode]["loss"] is None
    assert by_mode["ok"]["status"] == "ok" and by_mode["ok"]["loss"] == 1.0
    ok = sum(r["status"] == "ok" for r in lines)
    assert re.search(
        rf"^  trials +{ok} ok, {8 - ok} failed$", proc.stdout, re.M
    ), proc.stdout


@pytest.mark.slow
def test_out_of_memory_is_a_failed_trial(tmp_path):
    script = compile_model(
        tmp_path,
        """
        import tensorflow as tf


        def model():
            size = {{choice([1, 2])}}
            if size == 2:
                raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
            return float(size)
        """,
    )
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"size": 2}, {"size": 1}]))
    out = tmp_path / "run"
    run(
        script,
        "--max-evals",
        "2",
        "--out",
        str(out),
        "--points",
        str(points),
        "--quiet",
    )
    oom, ok = records(out)
    assert oom["status"] == "fail" and oom["error"].startswith("out of memory")
    assert ok["status"] == "ok"


def test_points_are_evaluated_first_with_real_values(tmp_path):
    script = compile_model(
        tmp_path,
        """
        def model():
            units = {{choice([16, 32])}}
            act = {{choice([str("relu"), str("tanh")])}}
            rate = {{choice([None, uniform(0, 0.5)])}}
            return units / 32 + (rate or 0)
        """,
    )
    wanted = [
        {"units": 32, "act": 'str("tanh")', "rate": None},
        {"units": 16, "act": 'str("relu")', "rate": 0.25},
    ]
    points = tmp_path / "points.json"
    points.write_text(json.dumps(wanted))
    out = tmp_path / "run"
    run(
        script,
        "--max-evals",
        "4",
        "--out",
        str(out),
        "--points",
        str(points),
        "--quiet",
    )
    lines = records(out)
    # An active nested parameter is also listed under its own name.
    assert [r["params"] for r in lines[:2]] == [
        wanted[0],
        {**wanted[1], "rate_opt1": 0.25},
    ]
    assert lines[1]["loss"] == pytest.approx(0.75)
    # What trials.jsonl and best.json hold can be fed back as points.
    again = tmp_path / "again.json"
    again.write_text(json.dumps([r["params"] for r in lines]))
    run(
        script,
        "--max-evals",
        "4",
        "--out",
        str(tmp_path / "again"),
        "--points",
        str(again),
        "--quiet",
    )
    assert [r["params"] for r in records(tmp_path / "again")] == [
        r["params"] for r in lines
    ]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"units": 64, "act": 'str("relu")', "rate": None}]))
    proc = run(script, "--out", str(tmp_path / "r2"), "--points", str(bad), check=False)
    assert proc.returncode != 0 and "64 is not an option of units" in proc.stderr


def test_early_stop_loss_threshold_and_timeout(tmp_path):
    script = compile_model(
        tmp_path,
        """
        import time


        def model():
            x = {{uniform(0, 1)}}
            time.sleep(0.2)
            return 5.0
        """,
    )
    proc = run(
        script,
        "--max-evals",
        "30",
        "--early-stop",
        "3",
        "--out",
        str(tmp_path / "a"),
        "--quiet",
    )
    assert (
        len(records(tmp_path / "a")) == 4
    )  # the first sets the best, three more without progress
    assert "--early-stop 3" in proc.stdout
    run(
        script,
        "--max-evals",
        "30",
        "--loss-threshold",
        "6",
        "--out",
        str(tmp_path / "b"),
        "--quiet",
    )
    assert len(records(tmp_path / "b")) == 1
    run(
        script,
        "--max-evals",
        "30",
        "--timeout",
        "1",
        "--out",
        str(tmp_path / "c"),
        "--quiet",
    )
    assert 2 <= len(records(tmp_path / "c")) < 10


def test_progress_bar_unless_quiet(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    loud = run(script, "--max-evals", "3", "--out", str(tmp_path / "a"))
    # hyperopt draws its tqdm bar on stdout: count, elapsed time, best loss so far.
    assert "3/3 [" in loud.stdout and "best loss: " in loud.stdout
    quiet = run(script, "--max-evals", "3", "--out", str(tmp_path / "b"), "--quiet")
    both = quiet.stdout + quiet.stderr
    assert "3/3 [" not in both and "best loss: " not in both
    assert "best loss" in quiet.stdout and "3 ok, 0 failed" in quiet.stdout


def test_help_lists_every_option(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    text = run(script, "--help").stdout
    for option in (
        "--max-evals",
        "--algo",
        "--seed",
        "--out",
        "--timeout",
        "--loss-threshold",
        "--early-stop",
        "--resume",
        "--points",
        "--quiet",
        "--no-trial-seed",
    ):
        assert option in text


@pytest.mark.slow
def test_same_seed_gives_same_keras_losses(tmp_path):
    script = compile_model(tmp_path)
    losses = []
    for name in ("a", "b"):
        run(
            script,
            "--max-evals",
            "2",
            "--seed",
            "11",
            "--out",
            str(tmp_path / name),
            "--quiet",
        )
        losses.append([r["loss"] for r in records(tmp_path / name)])
    assert losses[0] == losses[1]


@pytest.mark.parametrize("algo", ["tpe", "rand", "atpe", "anneal"])
def test_every_algorithm_runs(tmp_path, algo):
    script = compile_model(tmp_path, QUICK_MODEL)
    run(
        script,
        "--algo",
        algo,
        "--max-evals",
        "12",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
    )
    lines = records(tmp_path / "run")
    assert len(lines) == 12 and all(r["status"] == "ok" for r in lines)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["algo"] == algo


def test_a_trial_process_that_dies_is_a_failed_trial(tmp_path):
    script = compile_model(
        tmp_path,
        """
        import os


        def model():
            crash = {{choice([False, True])}}
            if crash:
                os.kill(os.getpid(), 9)  # what the kernel's out-of-memory killer does
            return 1.0
        """,
    )
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"crash": True}, {"crash": False}]))
    run(
        script,
        "--max-evals",
        "3",
        "--out",
        str(tmp_path / "run"),
        "--points",
        str(points),
        "--quiet",
    )
    died, ok, _ = records(tmp_path / "run")
    assert died["status"] == "fail" and "died with signal 9" in died["error"]
    assert ok["status"] == "ok"


def test_a_search_where_every_trial_fails_ends_cleanly(tmp_path):
    script = compile_model(
        tmp_path,
        """
        def create_model():
            raise ValueError({{uniform(0, 1)}})
        """,
    )
    proc = run(
        script,
        "--max-evals",
        "2",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
        check=False,
    )
    assert proc.returncode == 1
    assert "0 ok, 2 failed" in proc.stdout and "Traceback" not in proc.stderr
    assert "error: every trial failed; trial 0: ValueError: " in proc.stderr
    assert [r["status"] for r in records(tmp_path / "run")] == ["fail", "fail"]
    assert not (tmp_path / "run" / "best.json").exists()


def test_local_runs_need_no_pymongo(tmp_path):
    script = compile_model(tmp_path, QUICK_MODEL)
    blocker = tmp_path / "no-pymongo"
    blocker.mkdir()
    (blocker / "pymongo.py").write_text(
        'raise ImportError("pymongo is not installed here")\n'
    )
    env = {"PYTHONPATH": str(blocker)}
    run(script, "--max-evals", "2", "--out", str(tmp_path / "run"), "--quiet", env=env)
    assert len(records(tmp_path / "run")) == 2
    proc = run(
        script,
        "worker",
        "--mongo",
        "mongo://127.0.0.1:1/db",
        "--exp-key",
        "k",
        env=env,
        check=False,
    )
    assert (
        proc.returncode != 0
        and "pip install pymongo" in proc.stderr
        and "Traceback" not in proc.stderr
    )


# Logs which process ran each trial.
PID_MODEL = """
import os


def model():
    x = {{uniform(0, 1)}}
    with open(os.environ["PID_LOG"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    return x
"""


@pytest.mark.parametrize(
    "per_process, expected", [("2", [0, 0, 1, 1, 2]), ("1", [0, 1, 2, 3, 4])]
)
def test_trials_run_in_forked_processes_that_are_recycled(
    tmp_path, per_process, expected
):
    script = compile_model(tmp_path, PID_MODEL)
    log = tmp_path / "pids"
    run(
        script,
        "--max-evals",
        "5",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
        "--trials-per-process",
        per_process,
        env={"PID_LOG": str(log)},
    )
    pids = log.read_text().split()
    first_seen = list(dict.fromkeys(pids))
    assert [first_seen.index(p) for p in pids] == expected


def test_in_process_trials_run_in_the_search_process(tmp_path):
    script = compile_model(tmp_path, PID_MODEL)
    log = tmp_path / "pids"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "--max-evals",
            "3",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--in-process",
        ],
        env={**os.environ, "PID_LOG": str(log)},
        stdout=subprocess.DEVNULL,
    )
    assert proc.wait() == 0
    assert log.read_text().split() == [str(proc.pid)] * 3

"""`tune.py --prune`: hopeless trials stop after a few epochs (issue 12).

Each test compiles a real Keras model file and runs the script as a user
would. The model trains a small MLP on the digits data with plain SGD; a
learning rate of 50 diverges (validation loss above 20 from the first
epoch, where a rate of 0.1 is below 2.1), so the rules must stop those
trials at the first epoch they are allowed to. `--points` fixes the order:
two good trials first (the start-up), then the bad ones.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import helpers

pytestmark = pytest.mark.slow

ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}

MODEL = """
import numpy as np
from keras import layers, models, optimizers
from sklearn.datasets import load_digits


def data():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int64")


def create_model(x, y):
    rate = {{choice([0.1, 50.0])}}
    folds = {{choice([1, 2])}}
    epochs = {{choice([6, 30])}}
    catch = {{choice([False, True])}}
    model = models.Sequential(
        [layers.Input((64,)), layers.Dense(32, activation="relu"), layers.Dense(10, activation="softmax")]
    )
    model.compile(optimizer=optimizers.SGD(learning_rate=rate), loss="sparse_categorical_crossentropy")
    losses = []
    try:
        for fold in range(folds):  # k-fold style: several fit() calls in one trial
            history = model.fit(x, y, batch_size=64, epochs=epochs // folds, validation_split=0.25, verbose=0)
            losses.append(history.history["val_loss"][-1])
    except Exception:
        if not catch:
            raise
        return {"loss": -1.0, "status": "ok", "model": model}  # claims to be the best
    return {"loss": float(np.mean(losses)), "status": "ok", "model": model}
"""


def point(rate, folds=1, epochs=6, catch=False):
    return {"rate": rate, "folds": folds, "epochs": epochs, "catch": catch}


GOOD = [point(0.1), point(0.1, folds=2)]


def compile_model(tmp_path: Path) -> Path:
    return helpers.compile_model(tmp_path, MODEL)


def write_points(tmp_path: Path, points: list[dict]) -> Path:
    path = tmp_path / "points.json"
    path.write_text(json.dumps(points))
    return path


def command(script: Path, *args: str) -> list[str]:
    return [sys.executable, str(script), *args]


def run(script: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        command(script, *args),
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        cwd=script.parent,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def records(out: Path) -> dict[int, dict]:
    return {r["tid"]: r for r in helpers.records(out)}


def epochs_per_fit(record: dict) -> list[int]:
    return [len(fit["loss"]) for fit in record["history"]]


def assert_never_best(out: Path, found: dict[int, dict]) -> None:
    best = json.loads((out / "best.json").read_text())
    completed = {tid: r["loss"] for tid, r in found.items() if r["status"] == "ok"}
    assert best["tid"] in completed and best["loss"] == min(completed.values())
    assert (out / "best_model.keras").exists()


@pytest.mark.parametrize(
    "rule, warmup, expected",
    [
        # At the end of the warm-up the bad trials are far above the median
        # (median rule) and out of the best third (ASHA's first rung: 2 epochs).
        ("median", "2", {2: [2], 3: [2]}),
        ("asha", "2", {2: [2], 3: [2]}),
        # Steps run on across fit() calls: trial 3 fits 3 + 3 epochs and is
        # pruned at step 4, the first epoch of its second fit().
        ("median", "4", {2: [4], 3: [3, 1]}),
    ],
)
def test_a_diverging_rate_is_pruned_at_the_expected_epoch(
    tmp_path, rule, warmup, expected
):
    script = compile_model(tmp_path)
    # Trial 3 catches TrialPruned and returns the lowest loss of all.
    points = write_points(
        tmp_path, [*GOOD, point(50.0), point(50.0, folds=2, catch=True)]
    )
    out = tmp_path / "run"
    proc = run(
        script,
        "--out",
        str(out),
        "--max-evals",
        "4",
        "--points",
        str(points),
        "--prune",
        rule,
        "--prune-warmup",
        warmup,
        "--prune-startup",
        "2",
        "--quiet",
    )
    assert "2 completed, 2 pruned, 0 failed" in proc.stdout
    found = records(out)
    for tid in (0, 1):
        assert found[tid]["status"] == "ok" and "pruned" not in found[tid]
        assert sum(epochs_per_fit(found[tid])) == 6
    for tid, fits in expected.items():
        record = found[tid]
        assert (
            record["status"] == "pruned"
            and record["pruned"] is True
            and record["loss"] is None
        )
        assert epochs_per_fit(record) == fits and record["epochs"] == sum(fits)
        assert len(record["curve"]) == sum(fits) and min(record["curve"]) > 10
        assert record["prune_metric"] == "val_loss" and record["error"] is None
    assert_never_best(out, found)
    # The rule read every epoch of every trial from curves.jsonl.
    lines = [
        json.loads(line) for line in (out / "curves.jsonl").read_text().splitlines()
    ]
    steps = {
        tid: [x["value"] for x in lines if x["tid"] == tid and "step" in x]
        for tid in found
    }
    assert steps[3] == found[3]["curve"] and len(steps[0]) == 6
    states = {x["tid"]: x["state"] for x in lines if "state" in x}
    assert states == {0: "complete", 1: "complete", 2: "pruned", 3: "pruned"}


def test_without_prune_nothing_is_pruned_and_no_curves_are_written(tmp_path):
    script = compile_model(tmp_path)
    points = write_points(tmp_path, [*GOOD, point(50.0)])
    out = tmp_path / "run"
    proc = run(
        script,
        "--out",
        str(out),
        "--max-evals",
        "3",
        "--points",
        str(points),
        "--quiet",
    )
    found = records(out)
    assert epochs_per_fit(found[2]) == [6] and found[2]["status"] == "ok"
    assert not (out / "curves.jsonl").exists() and "pruned" not in proc.stdout


def test_resume_after_sigkill_keeps_pruning_against_the_trials_before_the_kill(
    tmp_path,
):
    script = compile_model(tmp_path)
    # The bad trials train up to 30 epochs, so the kill lands in one of them.
    points = write_points(
        tmp_path, [*GOOD, point(50.0, epochs=30), point(50.0, epochs=30)]
    )
    out = tmp_path / "run"
    args = [
        "--out",
        str(out),
        "--max-evals",
        "4",
        "--points",
        str(points),
        "--prune",
        "median",
        "--prune-warmup",
        "3",
        "--prune-startup",
        "2",
        "--quiet",
    ]
    proc = subprocess.Popen(
        command(script, *args),
        env={**os.environ, **ENV},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    trials_file = out / "trials.jsonl"
    deadline = time.time() + 300
    while not (trials_file.exists() and len(trials_file.read_text().splitlines()) >= 2):
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() < deadline, "the first two trials never finished"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(records(out)) == 2

    # Nothing new completes after the kill, so only the curves of trials 0
    # and 1, read back from curves.jsonl, can reach --prune-startup 2.
    run(script, *args, "--resume")
    found = records(out)
    assert sorted(found) == [0, 1, 2, 3]
    assert [found[t]["status"] for t in range(4)] == ["ok", "ok", "pruned", "pruned"]
    assert found[2]["epochs"] == found[3]["epochs"] == 3
    assert_never_best(out, found)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_two_mongodb_workers_prune_against_each_other_s_curves(tmp_path, mongo_server):
    import pymongo

    script = compile_model(tmp_path)
    # The bad trials run up to 30 epochs, time enough for the other worker's
    # good trial to complete while they train.
    points = write_points(
        tmp_path, [*GOOD, point(50.0, epochs=30), point(50.0, epochs=30)]
    )
    db, out = "t" + uuid.uuid4().hex[:12], tmp_path / "run"
    env = {**os.environ, **ENV}
    started = []
    try:
        for name in ("a", "b"):
            log = open(
                tmp_path / f"worker-{name}.log", "wb"
            )  # noqa: SIM115 (closed with the process)
            started.append(
                subprocess.Popen(
                    command(
                        script,
                        "worker",
                        "--mongo",
                        mongo_server.url(db),
                        "--exp-key",
                        "prune",
                        "--max-jobs",
                        "2",
                    ),
                    env=env,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        driver = subprocess.run(
            command(
                script,
                "--mongo",
                mongo_server.url(db, "jobs"),
                "--exp-key",
                "prune",
                "--out",
                str(out),
                "--max-evals",
                "4",
                "--points",
                str(points),
                "--prune",
                "median",
                "--prune-warmup",
                "2",
                "--prune-startup",
                "2",
                "--quiet",
            ),
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert driver.returncode == 0, driver.stderr[-3000:]
        for worker in started:
            assert worker.wait(120) == 0
    finally:
        for worker in started:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    logs = "".join((tmp_path / f"worker-{n}.log").read_text() for n in ("a", "b"))
    found = records(out)
    assert [found[t]["status"] for t in range(4)] == [
        "ok",
        "ok",
        "pruned",
        "pruned",
    ], logs[-3000:]
    assert all(2 <= found[t]["epochs"] < 30 for t in (2, 3))
    assert_never_best(out, found)
    client = pymongo.MongoClient("127.0.0.1", mongo_server.port)
    try:
        owners = [
            str(doc["owner"]) for doc in client[db].jobs.find({"exp_key": "prune"})
        ]
        curves = {
            doc["tid"]: doc for doc in client[db].hyperasc_curves.find({"key": "prune"})
        }
    finally:
        client.close()
    # Each worker ran two trials, so a pruned trial's worker ran at most one of
    # the two completed trials that --prune-startup 2 waits for: the other
    # worker's curve and state came through the database.
    assert sorted(owners.count(o) for o in set(owners)) == [2, 2]
    assert {tid: doc["state"] for tid, doc in curves.items()} == {
        0: "complete",
        1: "complete",
        2: "pruned",
        3: "pruned",
    }
    assert curves[2]["values"] == found[2]["curve"]


def test_parallel_trial_processes_prune_against_each_other(tmp_path):
    script = compile_model(tmp_path)
    points = write_points(
        tmp_path, [*GOOD, point(50.0, epochs=30), point(50.0, epochs=30)]
    )
    out = tmp_path / "run"
    # Two trials at a time: a bad trial starts while a good one still runs,
    # and is stopped once both good trials completed in the other processes.
    run(
        script,
        "--out",
        str(out),
        "--max-evals",
        "4",
        "--points",
        str(points),
        "--parallel",
        "2",
        "--prune",
        "asha",
        "--prune-warmup",
        "1",
        "--prune-eta",
        "2",
        "--prune-startup",
        "2",
        "--quiet",
    )
    found = records(out)
    assert [found[t]["status"] for t in range(4)] == ["ok", "ok", "pruned", "pruned"]
    # ASHA's rungs are at 1, 2, 4, 8, 16 epochs with eta 2.
    assert all(found[t]["epochs"] in (1, 2, 4, 8, 16) for t in (2, 3))
    assert_never_best(out, found)

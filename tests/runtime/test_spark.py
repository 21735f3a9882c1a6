"""The Spark backend on local Spark: SparkSearchTrials continues a run and SearchLog sees every trial."""

from __future__ import annotations

import argparse
import json

import hyperopt
import numpy as np
import pytest

from hyperasc.runtime.run_directory import RunDirectory
from hyperasc.runtime.search_log import SearchLog
from hyperasc.runtime.spark import SparkSearchTrials, open_spark_trials

PARAMETERS = [
    {
        "name": "x",
        "distribution": "uniform",
        "args": ["-1", "1"],
        "line": 1,
        "column": 1,
        "options": None,
        "parent": None,
        "object": False,
        "nested": {},
    }
]


@pytest.mark.slow
def test_open_spark_trials_continues_a_run_on_local_spark(tmp_path, monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    monkeypatch.delenv("SPARK_MASTER", raising=False)
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)  # open_spark_trials sets it
    space = {"x": hyperopt.hp.uniform("x", -1, 1)}
    run = RunDirectory(str(tmp_path))
    previous = run.open(resume=False)
    # A lambda, so that cloudpickle ships it by value to Spark's Python workers.
    hyperopt.fmin(
        lambda params: (params["x"] - 0.25) ** 2,
        space,
        algo=hyperopt.rand.suggest,
        max_evals=2,
        trials=previous,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )

    trials = open_spark_trials(
        run, argparse.Namespace(spark=2), "hyperasc test", previous
    )
    try:
        assert isinstance(trials, SparkSearchTrials) and trials.parallelism == 2
        assert [t["tid"] for t in trials.trials] == [
            0,
            1,
        ]  # the finished trials of the run
        assert trials._spark.sparkContext.master == "local[2]"
        log = SearchLog(run, trials, space, PARAMETERS)
        hyperopt.fmin(
            lambda params: (params["x"] - 0.25) ** 2,
            space,
            algo=hyperopt.rand.suggest,
            max_evals=6,
            trials=trials,
            rstate=np.random.default_rng(1),
            show_progressbar=False,
            early_stop_fn=log.after_trial,
            return_argmin=False,
        )
    finally:
        trials._spark.stop()
    lines = [
        json.loads(line)
        for line in (tmp_path / "trials.jsonl").read_text().splitlines()
    ]
    # SparkSearchTrials.fmin gives SearchLog a last look: no finished trial goes unrecorded.
    assert sorted(r["tid"] for r in lines) == list(range(6))
    assert all(
        r["status"] == "ok"
        and r["loss"] == pytest.approx((r["params"]["x"] - 0.25) ** 2)
        for r in lines
    )
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["loss"] == min(r["loss"] for r in lines)


def test_spark_trial_ids_fill_the_gaps_a_killed_run_left():
    import types

    from hyperasc.runtime.spark import SparkSearchTrials

    resumed = types.SimpleNamespace(
        _ids={0, 1, 3}
    )  # trial 2 was running when the run died
    assert SparkSearchTrials.new_trial_ids(resumed, 2) == [2, 4]
    assert resumed._ids == {0, 1, 2, 3, 4}


def test_failed_task_turns_a_dead_workers_trial_into_a_failed_one():
    import datetime

    from hyperasc.runtime.spark import failed_task

    booked = datetime.datetime(2026, 12, 7, 5, 0, tzinfo=datetime.timezone.utc)
    trial = {
        "tid": 3,
        "state": hyperopt.JOB_STATE_ERROR,
        "book_time": booked,
        "misc": {"error": ("<class 'py4j.protocol.Py4JJavaError'>", None)},
        "result": {"status": "new"},
    }
    failed_task(trial)
    assert trial["state"] == hyperopt.JOB_STATE_DONE
    result = trial["result"]
    assert result["status"] == "fail" and result["loss"] is None
    assert result["error"] == (
        "the trial's Spark task failed (its Python worker died?): "
        "<class 'py4j.protocol.Py4JJavaError'>"
    )
    assert result["start"] == booked.timestamp()
    # A traceback, when the task sent one back, is the reason given.
    trial.update(state=hyperopt.JOB_STATE_ERROR, misc={"error": ("E", "Traceback…")})
    failed_task(trial)
    assert trial["result"]["error"].endswith("died?): Traceback…")

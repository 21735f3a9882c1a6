"""Spark backend: `tune.py --spark N` evaluates N trials at a time with hyperopt's SparkTrials."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import hyperopt

from .parallel import LocalTrials

if TYPE_CHECKING:
    import argparse

    from .run_directory import RunDirectory


def open_spark_trials(
    run: RunDirectory,
    args: argparse.Namespace,
    app_name: str,
    previous: hyperopt.Trials,
) -> SparkSearchTrials:
    """SparkTrials on local[N], or on the cluster that SPARK_MASTER or spark-submit names.

    `previous` holds the finished trials of a resumed run; SparkTrials starts empty.
    """
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    # Executors must run this interpreter, which has hyperopt and the model's packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = (
        SparkConf().get("spark.master", None)
        or os.environ.get("SPARK_MASTER")
        or f"local[{args.spark}]"
    )
    session = SparkSession.builder.master(master).appName(app_name).getOrCreate()
    trials = SparkSearchTrials(parallelism=args.spark, spark_session=session)
    if len(previous.trials):
        trials.insert_trial_docs(previous._dynamic_trials)
        trials.refresh()
    return trials


class SparkSearchTrials(hyperopt.SparkTrials):
    """SparkTrials that shows SearchLog every trial that ended, failed ones too.

    - A trial whose Spark task failed (its Python worker died: killed,
      os._exit, out of memory) is a failed trial with the reason. SparkTrials
      marks it JOB_STATE_ERROR, which hyperopt's Trials leaves out of
      `trials`, so it would be neither counted nor recorded.
    - The trials that finish after SparkTrials' last check (or when fmin
      raises, every trial having failed) are shown to SearchLog at the end.
    - New trial ids fill the gaps a killed run left, as in a local run:
      hyperopt numbers from the count of ids, which would hand out a used one.
    """

    new_trial_ids = LocalTrials.new_trial_ids

    def refresh(self) -> None:
        for trial in list(self._dynamic_trials):
            if trial["state"] == hyperopt.JOB_STATE_ERROR:
                failed_task(trial)
        super().refresh()

    def fmin(
        self, *args: Any, early_stop_fn: Callable | None = None, **kwargs: Any
    ) -> Any:
        try:
            return super().fmin(*args, early_stop_fn=early_stop_fn, **kwargs)
        finally:
            if early_stop_fn is not None:
                self.refresh()
                early_stop_fn(self)


def failed_task(trial: dict[str, Any]) -> None:
    """Turn a trial whose Spark task failed (JOB_STATE_ERROR) into a finished, failed one."""
    from .trial import trial_result

    kind, text = (list(trial["misc"].get("error") or ()) + [None, None])[:2]
    reason = text or kind or "no reason given"
    booked = trial.get("book_time")
    started = booked.timestamp() if hasattr(booked, "timestamp") else time.time()
    error = f"the trial's Spark task failed (its Python worker died?): {reason}"
    trial["result"] = trial_result(hyperopt.STATUS_FAIL, None, error, started)
    trial["state"] = hyperopt.JOB_STATE_DONE

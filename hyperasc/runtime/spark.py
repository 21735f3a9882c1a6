"""Spark backend: `tune.py --spark N` evaluates N trials at a time with hyperopt's SparkTrials."""

from __future__ import annotations

import os
import sys
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
    """SparkTrials that shows SearchLog the trials that finish after its last check.

    New trial ids fill the gaps a killed run left, as in a local run: hyperopt
    numbers from the count of ids, which would hand out a used one.
    """

    new_trial_ids = LocalTrials.new_trial_ids

    def fmin(
        self, *args: Any, early_stop_fn: Callable | None = None, **kwargs: Any
    ) -> Any:
        result = super().fmin(*args, early_stop_fn=early_stop_fn, **kwargs)
        if early_stop_fn is not None:
            early_stop_fn(self)
        return result

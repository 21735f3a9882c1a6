"""Shared pieces of the runtime's unit tests: a parameter table as the compiler writes it."""

from __future__ import annotations

import datetime
import gc
import uuid

import pytest
import hyperopt
from hyperopt import hp

from hyperasc.runtime.curve_stores import FileCurveStore
from hyperasc.runtime.mongo import DatabaseTrials, mongo_connect
from hyperasc.runtime.pruning_rules import COMPLETE
from hyperasc.runtime.terminal import Terminal
from hyperasc.runtime.trial import TrialScope

# The parameter table the compiler writes for
#     units = {{choice([16, 32])}}
#     act = {{choice([str("relu"), str("tanh")])}}   (an object choice: kept as source text)
#     rate = {{choice([None, uniform(0, 0.5)])}}      (a nested distribution under option 1)
#     x = {{uniform(-5, 5)}}
PARAMETERS = [
    {
        "name": "units",
        "distribution": "choice",
        "args": ["[16, 32]"],
        "values": [16, 32],
        "parent": None,
        "active": None,
        "object": False,
        "nested": {},
    },
    {
        "name": "act",
        "distribution": "choice",
        "args": ['[str("relu"), str("tanh")]'],
        "values": ['str("relu")', 'str("tanh")'],
        "parent": None,
        "active": None,
        "object": True,
        "nested": {},
    },
    {
        "name": "rate",
        "distribution": "choice",
        "args": ["[None, uniform(0, 0.5)]"],
        "values": [None, "uniform(0, 0.5)"],
        "parent": None,
        "active": None,
        "object": False,
        "nested": {"1": "rate_opt1"},
    },
    {
        "name": "rate_opt1",
        "distribution": "uniform",
        "args": ["0", "0.5"],
        "values": None,
        "parent": "rate",
        "active": [1],
        "object": False,
        "nested": {},
    },
    {
        "name": "x",
        "distribution": "uniform",
        "args": ["-5", "5"],
        "values": None,
        "parent": None,
        "active": None,
        "object": False,
        "nested": {},
    },
]


def make_space() -> dict:
    """The hyperopt space the compiler writes for PARAMETERS."""
    return {
        "units": hp.choice("units", [16, 32]),
        "act": hp.choice("act", ['str("relu")', 'str("tanh")']),
        "rate": hp.choice("rate", [None, hp.uniform("rate_opt1", 0, 0.5)]),
        "x": hp.uniform("x", -5, 5),
    }


def loss_of(params: dict) -> float:
    """A plain trial body over PARAMETERS' space: no Keras, a deterministic loss."""
    return params["units"] / 32 + (params["rate"] or 0) + params["x"] ** 2


# TrialScope's class-level configuration as the module defines it (run, seed, process, pruning...).
SCOPE_DEFAULTS = {
    name: value
    for name, value in vars(TrialScope).items()
    if not name.startswith("_")
    and not callable(value)
    and not isinstance(value, (classmethod, staticmethod))
}


@pytest.fixture(autouse=True)
def fresh_trial_scope():
    """TrialScope keeps its configuration on the class: each test starts from, and leaves, the defaults."""
    for name, value in SCOPE_DEFAULTS.items():
        setattr(TrialScope, name, value)
    Terminal.current = None  # a search's terminal, as a search leaves it
    yield
    if TrialScope.process is not None:
        TrialScope.process.stop()
    for name, value in SCOPE_DEFAULTS.items():
        setattr(TrialScope, name, value)


@pytest.fixture(autouse=True, scope="module")
def frozen_heap():
    """TrialScope runs gc.collect() after each trial it runs in-process (a script must, to let Keras
    models go). In a test process holding the objects of hundreds of tests, that costs a tenth of a
    second a trial; with what exists so far frozen (as the runtime's MongoDB worker does), it costs
    what it costs in a script."""
    gc.freeze()
    yield


def rand_search(trials, max_evals: int, seed: int = 0, fn=None, early_stop_fn=None):
    """hyperopt's fmin with random search over make_space(), recording into `trials`."""
    import hyperopt
    import numpy as np

    hyperopt.fmin(
        loss_of if fn is None else fn,
        make_space(),
        algo=hyperopt.rand.suggest,
        max_evals=max_evals,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        early_stop_fn=early_stop_fn,
    )
    return trials


# Pruning: five completed trials. Their best values so far, step by step, have the
# medians 1.0, 0.85, 0.65, 0.55, 0.45 at steps 1..5.
COMPLETED = {
    0: [1.0, 0.8, 0.6, 0.5, 0.4],
    1: [1.1, 0.9, 0.7, 0.6, 0.5],
    2: [0.9, 0.7, 0.5, 0.4, 0.3],
    3: [1.2, 1.0, 0.8, 0.7, 0.6],
    4: [1.0, 0.85, 0.65, 0.55, 0.45],
}


def completed_store(tmp_path, curves=COMPLETED):
    """A curve store in tmp_path that holds `curves` as completed trials."""
    store = FileCurveStore(str(tmp_path / "curves.jsonl"))
    for tid, curve in curves.items():
        for step, value in enumerate(curve, start=1):
            store.append(tid, step, value)
        store.finished(tid, COMPLETE)
    return store


def digits_model(keras, learning_rate):
    """A small classifier of the digits data set; a high learning rate diverges."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.layers.Input((64,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


# MongoDB: a fresh database per test, and jobs as the driver and workers leave them.
@pytest.fixture
def database(mongo_server):
    """A fresh database's URL and its MongoJobs handle."""
    url = mongo_server.url(f"t{uuid.uuid4().hex[:8]}", "jobs")
    return url, mongo_connect(url, check=True)


def trials_for(handle, exp_key, stale_after=60.0) -> DatabaseTrials:
    """The driver's view of experiment `exp_key`."""
    return DatabaseTrials(handle, exp_key, stale_after)


def running_job(handle, exp_key, tid, owner, age_seconds):
    """A job that `owner` runs, its heartbeat `age_seconds` old."""
    refreshed = hyperopt.utils.coarse_utcnow() - datetime.timedelta(seconds=age_seconds)
    doc = {
        "exp_key": exp_key,
        "tid": tid,
        "state": hyperopt.JOB_STATE_RUNNING,
        "owner": owner,
        "refresh_time": refreshed,
        "book_time": refreshed,
        "version": 1,
        "spec": None,
        "result": {"status": "new"},
        "misc": {"tid": tid, "cmd": None, "idxs": {}, "vals": {}},
    }
    handle.jobs.insert_one(doc)
    return doc

"""ShippedObjective, the objective MongoDB and Spark workers run, with its heartbeat and model shipper."""

from __future__ import annotations

import datetime
import pickle
import random
import time

import cloudpickle
import hyperopt
import numpy as np
import pytest
from hyperopt.mongoexp import MongoCtrl, MongoTrials

from hyperasc.runtime.run_directory import RunDirectory
from hyperasc.runtime.shipping import ModelShipper, ShippedObjective, TrialHeartbeat
from hyperasc.runtime.trial import TrialScope

from .conftest import running_job, trials_for

slow = pytest.mark.slow


def shipped_trial(params):
    return {"loss": (params["x"] - 0.25) ** 2, "draw": random.random(), "model": None}


def rebuild_objective(source, config):
    """Stands in for the bundle's `shipped`, and like it uses no globals: it travels by value."""
    import sys

    import hyperasc.runtime.shipping as backend
    import hyperasc.runtime.script as facts

    tests = sys.modules[config["module"]]
    script = facts.Script(
        path="<shipped>", trial=getattr(tests, config["trial"]), source=source
    )
    script.bootstrap = tests.rebuild_objective
    return backend.ShippedObjective(script, config)


def shipped_objective(config=None) -> ShippedObjective:
    config = {
        "seed": 5,
        "trial_seed": True,
        "heartbeat": 0.05,
        "trial": "shipped_trial",
        "module": __name__,
        **(config or {}),
    }
    return rebuild_objective("# the script's text\n", config)


def test_shipped_objective_pickles_as_a_copy_of_its_bootstrap_and_the_script_text():
    objective = shipped_objective()
    bootstrap, (source, config) = objective.__reduce__()
    # A copy: cloudpickle sends it by value even though this module is importable.
    assert (
        bootstrap is not rebuild_objective
        and bootstrap.__code__ is rebuild_objective.__code__
    )
    assert bootstrap.__globals__ == {"__builtins__": __import__("builtins")}
    assert source == "# the script's text\n" and config["seed"] == 5
    copy = pickle.loads(cloudpickle.dumps(objective))
    assert isinstance(copy, ShippedObjective) and copy.config == objective.config
    assert (
        copy.script.source() == "# the script's text\n"
        and copy.script.trial is shipped_trial
    )
    assert f"{__name__}\nrebuild_objective".encode() not in cloudpickle.dumps(
        objective
    )  # not by reference


def test_shipped_objective_without_a_database_seeds_from_the_sampled_values():
    # Spark's workers hand no ctrl with a database: the trial runs right here.
    space = {"x": hyperopt.hp.uniform("x", -1, 1)}

    def results():
        trials = hyperopt.Trials()
        hyperopt.fmin(
            shipped_objective(),
            space,
            algo=hyperopt.rand.suggest,
            max_evals=4,
            trials=trials,
            rstate=np.random.default_rng(0),
            show_progressbar=False,
        )
        return [t["result"] for t in trials.trials]

    first, again = results(), results()
    assert all(r["status"] == "ok" and r["loss"] >= 0 for r in first)
    assert [r["draw"] for r in first] == [
        r["draw"] for r in again
    ]  # seeded by the values
    assert len({r["draw"] for r in first}) == 4


@slow
def test_trial_heartbeat_refreshes_the_running_job(database):
    _, handle = database
    doc = running_job(handle, "e", 0, "me:1", age_seconds=600)
    before = handle.jobs.find_one({"_id": doc["_id"]})["refresh_time"]
    with TrialHeartbeat(handle.jobs, doc, every=0.05) as beat:
        deadline = time.time() + 10
        while (
            handle.jobs.find_one({"_id": doc["_id"]})["refresh_time"] == before
            and time.time() < deadline
        ):
            time.sleep(0.02)
    assert not beat.thread.is_alive()
    after = handle.jobs.find_one({"_id": doc["_id"]})["refresh_time"]
    assert after > before + datetime.timedelta(seconds=590)


class FileModel:
    def __init__(self, payload: bytes):
        self.payload = payload

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.payload)


@slow
def test_model_shipper_attaches_the_model_and_the_driver_writes_it(database, tmp_path):
    _, handle = database
    trials = trials_for(handle, "e")
    done = {
        "exp_key": "e",
        "tid": 0,
        "state": hyperopt.JOB_STATE_DONE,
        "owner": None,
        "version": 2,
        "spec": None,
        "result": {"status": "ok", "loss": 0.5},
        "misc": {"tid": 0, "cmd": None, "idxs": {}, "vals": {}},
    }
    handle.jobs.insert_one(done)
    job = running_job(handle, "e", 1, "me:1", age_seconds=0)
    ctrl = MongoCtrl(
        trials=MongoTrials(handle, exp_key="e", refresh=False),
        current_trial=job,
        read_only=False,
    )
    shipper = ModelShipper(ctrl)
    assert shipper.best_loss == 0.5  # the database's best, whatever is set locally
    shipper.best_loss = 0.1
    assert shipper.best_loss == 0.5
    shipper.save_model(FileModel(b"PK weights"))
    handle.jobs.update_one(
        {"_id": job["_id"]}, {"$set": {"result": {"status": "ok", "loss": 0.2}}}
    )
    run = RunDirectory(str(tmp_path))
    trials.save_best_model(1, run)
    assert (
        tmp_path / "best_model.keras"
    ).read_bytes() == b"PK weights" and run.best_loss == 0.2
    trials.refresh()
    docs = trials.checkpoint_docs()
    assert {d["tid"] for d in docs} == {0, 1} and all("_id" not in d for d in docs)


def model_trial(params):
    """A trial that returns a model to ship (its payload names the trial's loss)."""
    loss = (params["x"] - 0.25) ** 2
    tid = TrialScope.run.ctrl.current_trial[
        "tid"
    ]  # the worker's ModelShipper knows the running job
    return {
        "loss": loss,
        "draw": random.random(),
        "model": FileModel(f"model {tid}".encode()),
    }

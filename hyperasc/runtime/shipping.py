"""The objective that MongoDB and Spark workers run: shipped as the script's text.

A worker may have neither tune.py on its path nor the same version of it, so
the objective carries the driver's code with it, and around each trial does
what the driver's TrialScope would otherwise do there: heartbeats, and the
best model sent back through the database.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import hyperopt
from hyperopt import STATUS_OK

from .pruning import shipped_pruning
from .trial import TrialScope, run_trial
from .values import jsonable

if TYPE_CHECKING:
    from hyperopt.mongoexp import MongoCtrl

    from .script import Script

MODEL_ATTACHMENT = "best_model.keras"  # the GridFS attachment of a shipped model


class ShippedObjective:
    """The objective as MongoDB and Spark workers receive it.

    It pickles as the text of the script, so a worker needs neither tune.py
    on its path nor the same version of it: any process with the packages
    can run the driver's code, including plain hyperopt-mongo-worker. Around
    each trial it sends heartbeats and ships a model that beats the best.
    """

    fmin_pass_expr_memo_ctrl = True

    def __init__(self, script: Script, config: dict[str, Any]) -> None:
        self.script = script
        self.config = config  # run seed, whether to seed trials, heartbeat seconds

    def __reduce__(self) -> tuple[Callable, tuple[str, dict[str, Any]]]:
        # The script's bootstrap uses no globals, so a copy of it can travel by
        # value: the worker needs nothing but packages. (cloudpickle would send
        # the original by reference whenever its module is in sys.modules: a
        # script imported as a module, or one a worker rebuilt from its text.)
        import builtins
        import types

        bootstrap = self.script.bootstrap
        copy = types.FunctionType(
            bootstrap.__code__, {"__builtins__": builtins}, bootstrap.__name__
        )
        return copy, (self.script.source(), self.config)

    def __call__(self, expr: Any, memo: Mapping, ctrl: Any) -> dict[str, Any]:
        sampled = hyperopt.pyll.rec_eval(expr, memo=dict(memo))
        handle = getattr(getattr(ctrl, "trials", None), "handle", None)
        if handle is None:
            # Spark passes no ctrl: seed the trial from its sampled values instead.
            key = int(
                hashlib.sha256(
                    json.dumps(jsonable(sampled), sort_keys=True).encode()
                ).hexdigest()[:8],
                16,
            )
            TrialScope.configure(None, self.config["seed"], self.config["trial_seed"])
            return run_trial(self.script.trial, sampled, key)
        TrialScope.configure(
            ModelShipper(ctrl), self.config["seed"], self.config["trial_seed"]
        )
        TrialScope.pruning = shipped_pruning(
            self.config.get("pruning"), handle, ctrl.current_trial.get("exp_key")
        )
        with TrialHeartbeat(handle.jobs, ctrl.current_trial, self.config["heartbeat"]):
            return run_trial(self.script.trial, sampled, ctrl.current_trial.get("tid"))


class TrialHeartbeat:
    """Refresh the running job's refresh_time every few seconds from a thread.

    The driver takes back a job whose refresh_time is older than --stale-after.
    """

    def __init__(self, jobs: Any, job: Mapping[str, Any], every: float) -> None:
        import threading

        self.jobs, self.job, self.every = jobs, job, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self.beat, name="hyperasc-heartbeat", daemon=True
        )

    def __enter__(self) -> TrialHeartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def beat(self) -> None:
        query = {
            "_id": self.job["_id"],
            "owner": self.job.get("owner"),
            "state": hyperopt.JOB_STATE_RUNNING,
        }
        while not self.stopped.wait(self.every):
            try:
                self.jobs.update_one(
                    query, {"$set": {"refresh_time": hyperopt.utils.coarse_utcnow()}}
                )
            except (
                Exception
            ) as exc:  # the database may be restarting; try again next beat
                print(f"heartbeat failed: {exc}", file=sys.stderr)


class ModelShipper:
    """Stands in for the RunDirectory in a worker: TrialScope saves best models here.

    A model that beats the experiment's best loss so far goes into GridFS as
    an attachment of its trial; the driver writes it to best_model.keras.
    """

    def __init__(self, ctrl: MongoCtrl) -> None:
        self.ctrl = ctrl

    @property
    def best_loss(self) -> float:
        ok = {"exp_key": self.ctrl.current_trial["exp_key"], "result.status": STATUS_OK}
        best = self.ctrl.trials.handle.jobs.find_one(
            ok, sort=[("result.loss", 1)], projection=["result.loss"]
        )
        return math.inf if best is None else best["result"]["loss"]

    @best_loss.setter
    def best_loss(self, loss: float) -> None:
        pass  # the database knows the best loss

    def save_model(self, model: Any) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, MODEL_ATTACHMENT)
            model.save(path)
            with open(path, "rb") as f:
                self.ctrl.attachments[MODEL_ATTACHMENT] = f.read()

"""`tune.py worker`: processes that take trials from MongoDB and run them.

Kept apart from the driver's side (mongo.py): a worker reserves, runs and
records jobs, and a supervisor restarts the worker processes it started.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import pickle
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

import hyperopt
from hyperopt import STATUS_FAIL
from hyperopt.mongoexp import (  # imports without pymongo
    MongoCtrl,
    MongoJobs,
    MongoTrials,
)

from .mongo import REQUEUED_JOB, masked_url, mongo_connect, require_pymongo
from .processes import die_with_parent

if TYPE_CHECKING:
    import argparse

WORKER_IDLE_EXIT = 4  # a worker process's exit status when it ran out of work


def run_mongo_workers(args: argparse.Namespace, script_path: str) -> int:
    """`tune.py worker`: one worker in this process, or a supervisor of several."""
    require_pymongo()
    if args.workers == 1 and not args.gpus and not args.recycle_after:
        return run_mongo_worker(args)

    slots = [
        {"gpu": gpu, "left": args.max_jobs, "crashes": 0, "process": None}
        for gpu in (args.gpus or [None] * args.workers)
    ]
    print(
        f"starting {len(slots)} workers for {args.exp_key or 'any experiment'} on {masked_url(args.mongo)}",
        file=sys.stderr,
    )
    signal.signal(
        signal.SIGTERM, lambda *unused: sys.exit(143)
    )  # so that the workers are stopped too
    try:
        while any(slot["process"] is not None or slot["left"] != 0 for slot in slots):
            for slot in slots:
                supervise_worker(slot, args, script_path)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for slot in slots:
            if slot["process"] is not None and slot["process"].poll() is None:
                slot["process"].terminate()  # it hands its trial back and exits
        for slot in slots:
            if slot["process"] is not None:
                slot["process"].wait()
    return 0


def supervise_worker(
    slot: dict[str, Any], args: argparse.Namespace, script_path: str
) -> None:
    """Start the slot's worker process, or restart it when it was recycled or crashed."""
    import subprocess

    process = slot["process"]
    if process is not None:
        status = process.poll()
        if status is None:
            return
        slot["process"] = None
        if status == WORKER_IDLE_EXIT:
            slot["left"] = 0
            return
        if status != 0:
            slot["crashes"] += 1
            print(
                f"worker {process.pid} died with status {status}; starting another",
                file=sys.stderr,
            )
            if slot["crashes"] > 5:
                slot["left"] = 0
                return
            time.sleep(1)
        else:
            slot["crashes"] = 0
            if slot["left"] is not None:
                slot["left"] -= slot["batch"]
        if slot["left"] == 0:
            return
    # Recycling: a process runs at most --recycle-after trials, then a fresh one takes over.
    slot["batch"] = min(
        x for x in (slot["left"], args.recycle_after or None, math.inf) if x is not None
    )
    command = [
        sys.executable,
        os.path.abspath(script_path),
        "worker",
        "--mongo",
        args.mongo,
        "--workers",
        "1",
    ]
    if args.exp_key is not None:
        command += ["--exp-key", args.exp_key]
    if slot["batch"] != math.inf:
        command += ["--max-jobs", str(slot["batch"])]
    if args.idle_timeout is not None:
        command += ["--idle-timeout", str(args.idle_timeout)]
    env = dict(os.environ)
    if slot["gpu"] is not None:
        env["CUDA_VISIBLE_DEVICES"] = slot["gpu"]
    parent = os.getpid()
    slot["process"] = subprocess.Popen(
        command, env=env, preexec_fn=lambda: die_with_parent(parent)
    )


def run_mongo_worker(args: argparse.Namespace) -> int:
    """Reserve and run trials until --max-jobs, --idle-timeout or a signal ends it."""
    import socket

    import pymongo.errors

    signal.signal(
        signal.SIGTERM, lambda *unused: sys.exit(143)
    )  # hands the running trial back
    handle = mongo_connect(args.mongo)
    me = f"{socket.gethostname()}:{os.getpid()}"
    experiments = {}
    done = 0
    while args.max_jobs is None or done < args.max_jobs:
        job = reserve_mongo_job(handle, me, args)
        if job is None:
            return WORKER_IDLE_EXIT
        try:
            run_mongo_job(handle, job, me, experiments)
        except pymongo.errors.ConnectionFailure as exc:
            # Could not load the experiment; the job goes back to the queue
            # (or, if the database is away, the driver takes it back later).
            print(
                f"worker {me}: database unavailable ({exc}); retrying", file=sys.stderr
            )
            time.sleep(1.0)
            continue
        done += 1
        if done == 1:
            gc.freeze()  # the data and the framework's state are loaded now too
    return 0


def reserve_mongo_job(
    handle: MongoJobs, me: str, args: argparse.Namespace
) -> dict[str, Any] | None:
    """The next queued job, waiting with a short backoff; None after --idle-timeout."""
    import pymongo.errors

    waited, pause, registered = 0.0, 0.01, 0.0
    while args.idle_timeout is None or waited < args.idle_timeout:
        try:
            if (
                time.time() - registered > 2.0
            ):  # tells the driver how many workers there are
                handle.db.hyperasc_workers.update_one(
                    {"_id": me},
                    {
                        "$set": {
                            "exp_key": args.exp_key,
                            "seen": hyperopt.utils.coarse_utcnow(),
                        }
                    },
                    upsert=True,
                )
                registered = time.time()
            job = handle.reserve(me, exp_key=args.exp_key)
            if job is not None:
                return job
        except pymongo.errors.ConnectionFailure as exc:
            print(
                f"worker {me}: database unavailable ({exc}); retrying", file=sys.stderr
            )
            pause = 1.0
        time.sleep(pause)
        waited += pause
        pause = min(pause * 2, 0.1)
    return None


def run_mongo_job(
    handle: MongoJobs, job: dict[str, Any], me: str, experiments: dict[str, tuple]
) -> None:
    """Evaluate one reserved job and store its result, unless the driver took it back."""
    import pymongo.errors

    try:
        trials, domain = load_mongo_experiment(handle, job["exp_key"], experiments)
        ctrl = MongoCtrl(trials=trials, current_trial=job, read_only=False)
        try:
            result = domain.evaluate(hyperopt.base.spec_from_misc(job["misc"]), ctrl)
        except Exception:
            result = {
                "status": STATUS_FAIL,
                "loss": None,
                "error": traceback.format_exc(),
            }
        finish = {
            "result": hyperopt.base.SONify(result),
            "state": hyperopt.JOB_STATE_DONE,
            "refresh_time": hyperopt.utils.coarse_utcnow(),
            "version": job["version"] + 1,
        }
        mine = {"_id": job["_id"], "owner": me, "version": job["version"]}
        while True:
            try:
                stored = handle.jobs.update_one(mine, {"$set": finish}).matched_count
                break
            except pymongo.errors.ConnectionFailure:
                time.sleep(
                    1.0
                )  # the database restarts: keep the result until it is back
        if not stored:
            print(
                f"worker {me}: trial {job['tid']} was handed to another worker; result dropped",
                file=sys.stderr,
            )
    except BaseException:
        # Stopped mid-trial (SIGTERM, Ctrl-C) or no database: hand the job back.
        with contextlib.suppress(Exception):
            handle.jobs.update_one(
                {"_id": job["_id"], "owner": me},
                {"$set": REQUEUED_JOB, "$inc": {"version": 2}},
            )
        raise


def load_mongo_experiment(
    handle: MongoJobs, exp_key: str, experiments: dict[str, tuple]
) -> tuple[MongoTrials, hyperopt.base.Domain]:
    """The experiment's MongoTrials and hyperopt Domain, unpickled once per version the driver stored.

    A restarted driver stores a new version; looking for one at most every
    few seconds spares the database a query per trial.
    """
    checked, file_id, trials, domain = experiments.get(exp_key, (0.0, None, None, None))
    if time.time() - checked < 5.0:
        return trials, domain
    stored = handle.gfs.find_one(
        {"filename": "FMinIter_Domain", "exp_key": exp_key}, sort=[("uploadDate", -1)]
    )
    if stored is None:
        raise RuntimeError(
            f"experiment {exp_key!r} has no domain in the database; was it started by tune.py?"
        )
    if stored._id != file_id:
        file_id, trials, domain = (
            stored._id,
            MongoTrials(handle, exp_key=exp_key, refresh=False),
            pickle.loads(stored.read()),
        )
        # Modules live for good: keep them out of the collection that
        # TrialScope runs after every trial (else ~0.2 s of CPU per trial).
        gc.freeze()
    experiments[exp_key] = (time.time(), file_id, trials, domain)
    return trials, domain

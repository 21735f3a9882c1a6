"""MongoDB backend.

`tune.py --mongo URL --exp-key KEY` queues trials in the database;
`tune.py worker --mongo URL --exp-key KEY` evaluates them. See
docs/distributed.md in hyperasc for the whole picture.
"""

import contextlib
import copy
import datetime
import gc
import hashlib
import json
import math
import os
import pickle
import signal
import sys
import tempfile
import time
import traceback

import hyperopt
import numpy as np
from hyperopt import STATUS_FAIL, STATUS_OK
from hyperopt.mongoexp import (
    MongoCtrl,
    MongoJobs,
    MongoTrials,
)  # imports without pymongo

from .errors import RunError
from .fileio import write_atomically
from .processes import die_with_parent
from .pruning import shipped_pruning
from .trial import TrialScope, run_trial
from .values import jsonable

MODEL_ATTACHMENT = "best_model.keras"
WORKER_IDLE_EXIT = 4  # a worker process's exit status when it ran out of work
REQUEUED_JOB = {"state": hyperopt.JOB_STATE_NEW, "owner": None, "book_time": None}


def parse_mongo_url(url):
    """mongo://[USER[:PASSWORD]@]HOST[:PORT]/DB[/COLLECTION][?authSource=DB] -> its parts.

    USER and PASSWORD may instead come from HYPERASC_MONGO_USER and
    HYPERASC_MONGO_PASSWORD, so that they appear in no command line.
    """
    import urllib.parse

    parsed = urllib.parse.urlsplit(url if "://" in url else "mongo://" + url)
    if parsed.scheme != "mongo":
        raise RunError(
            f"--mongo must look like mongo://HOST:PORT/DB/jobs, not {masked_url(url)}"
        )
    path = [part for part in parsed.path.split("/") if part]
    if not 1 <= len(path) <= 2:
        raise RunError(
            f"--mongo {masked_url(url)} must name a database: mongo://HOST:PORT/DB/jobs"
        )
    query = urllib.parse.parse_qs(parsed.query)
    user = (
        urllib.parse.unquote(parsed.username)
        if parsed.username
        else os.environ.get("HYPERASC_MONGO_USER")
    )
    password = (
        urllib.parse.unquote(parsed.password)
        if parsed.password
        else os.environ.get("HYPERASC_MONGO_PASSWORD")
    )
    return {
        "host": parsed.hostname or "localhost",
        "port": parsed.port or 27017,
        "user": user,
        "password": password,
        "auth_source": query.get("authSource", [None])[-1],
        "db": path[0],
        "collection": path[1] if len(path) == 2 else "jobs",
    }


def masked_url(url):
    """The URL with its password replaced by ***, for logs and run.json."""
    import re

    return re.sub(r"([^:/@=\s]+:)[^@/\s]*@", r"\1***@", url)


def require_pymongo():
    """Only --mongo and `worker` need pymongo; say so instead of a traceback."""
    try:
        import pymongo  # noqa: F401
    except ImportError:
        raise RunError("MongoDB needs pymongo: pip install pymongo") from None


def mongo_connect(url, check=False):
    """A hyperopt MongoJobs handle for the URL (with the pymongo 4 fixes installed).

    With `check`, make sure the server answers and accepts the credentials,
    and say so in one line if it does not.
    """
    require_pymongo()
    import gridfs
    import pymongo
    from bson import SON

    patch_hyperopt_mongo()
    parts = parse_mongo_url(url)
    credentials = {}
    if parts["user"]:
        credentials = {"username": parts["user"], "password": parts["password"]}
        credentials["authSource"] = parts["auth_source"] or parts["db"]
    client = pymongo.MongoClient(
        parts["host"], parts["port"], document_class=SON, w=1, **credentials
    )
    if check:
        probe = pymongo.MongoClient(
            parts["host"], parts["port"], serverSelectionTimeoutMS=10000, **credentials
        )
        try:
            check_connection(probe, url)
        finally:
            probe.close()
    db = client[parts["db"]]
    return MongoJobs(
        db, db[parts["collection"]], gridfs.GridFS(db), client, None, "spec"
    )


def check_connection(client, url):
    """Ping the server (waiting up to the client's server-selection timeout); a
    RunError that says why when that fails."""
    import pymongo.errors

    where = masked_url(url if "://" in url else "mongo://" + url)
    try:
        client.admin.command("ping")
        client[parse_mongo_url(url)["db"]].list_collection_names()
    except pymongo.errors.OperationFailure as exc:
        if exc.code in (13, 18) or "auth" in str(exc).lower():
            raise RunError(
                f"MongoDB at {where} refused the user name or password ({exc.details.get('errmsg', exc) if exc.details else exc})"
            ) from None
        raise RunError(f"MongoDB at {where} refused the request: {exc}") from None
    except pymongo.errors.PyMongoError as exc:
        reason = (
            "connection refused"
            if "refused" in str(exc).lower()
            else str(exc).split(",")[0]
        )
        raise RunError(f"cannot reach MongoDB at {where} ({reason})") from None


# hyperopt 0.3.0's mongoexp calls pymongo APIs that pymongo 4 removed (insert,
# update, remove, find_and_modify, Cursor.count, Database.authenticate). The
# functions below do the same through the APIs that pymongo 3.13 and 4 share;
# patch_hyperopt_mongo() installs them on hyperopt's classes, which also
# repairs hyperopt's own worker code in this process.


def patch_hyperopt_mongo():
    import hyperopt.mongoexp

    MongoJobs.insert = _jobs_insert
    MongoJobs.delete = _jobs_delete
    MongoJobs.delete_all = _jobs_delete_all
    MongoJobs.reserve = _jobs_reserve
    MongoJobs.update = _jobs_update
    MongoJobs.__len__ = lambda self: self.jobs.count_documents({})
    MongoJobs.new_from_connection_str = classmethod(
        lambda cls, url, *unused: mongo_connect(url)
    )
    MongoTrials._insert_trial_docs = _trials_insert_docs
    MongoTrials.count_by_state_unsynced = _trials_count_by_state
    MongoTrials.new_trial_ids = _trials_new_ids
    hyperopt.mongoexp.number_of_jobs_in_db = lambda options: mongo_connect(
        options.mongo
    ).jobs.count_documents({})


def _jobs_insert(self, job):
    doc = copy.deepcopy(job)
    self.jobs.insert_one(doc)  # adds doc["_id"]
    return doc


def _jobs_delete(self, job):
    self.jobs.delete_one({"_id": job["_id"]})


def _jobs_delete_all(self, cond=None):
    for doc in self.jobs.find(cond or {}, projection=["_id", "_attachments"]):
        for _, file_id in doc.get("_attachments", []):
            self.gfs.delete(file_id)
        self.jobs.delete_one({"_id": doc["_id"]})


def _jobs_reserve(self, host_id, cond=None, exp_key=None):
    from pymongo import ReturnDocument

    query = dict(cond or {}, owner=None, state=hyperopt.JOB_STATE_NEW)
    if exp_key is not None:
        query["exp_key"] = exp_key
    now = hyperopt.utils.coarse_utcnow()
    claim = {
        "owner": host_id,
        "book_time": now,
        "state": hyperopt.JOB_STATE_RUNNING,
        "refresh_time": now,
    }
    return self.jobs.find_one_and_update(
        query, {"$set": claim}, return_document=ReturnDocument.AFTER
    )


def _jobs_update(self, doc, dct, collection=None, do_sanity_checks=True):
    """hyperopt's versioned update: applies only if nobody changed the job since we read it."""
    collection = self.jobs if collection is None else collection
    dct = {k: v for k, v in copy.deepcopy(dct).items() if k != "_id"}
    dct["version"] = doc.get("version", 0) + 1
    query = {"_id": doc["_id"]}
    if "version" in doc:
        query["version"] = doc["version"]
    collection.update_one(query, {"$set": dct})
    doc.update(dct)
    if (
        do_sanity_checks
        and collection.find_one({"_id": doc["_id"], "version": doc["version"]}) is None
    ):
        raise hyperopt.mongoexp.OperationFailure(
            f"job {doc['_id']} changed under us (requeued?)"
        )
    return doc


def _trials_insert_docs(self, docs):
    return self.handle.jobs.insert_many(docs).inserted_ids if docs else []


def _trials_count_by_state(self, arg):
    states = [arg] if isinstance(arg, int) else list(arg)
    query = {"state": {"$in": states}}
    if self._exp_key is not None:
        query["exp_key"] = self._exp_key
    return self.handle.jobs.count_documents(query)


def _trials_new_ids(self, n):
    from pymongo import ReturnDocument

    counter = self.handle.db.job_ids.find_one_and_update(
        {"a": 0},
        {"$inc": {"last_id": n}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return list(range(counter["last_id"] - n, counter["last_id"]))


class DatabaseTrials(MongoTrials):
    """The driver's view of one experiment (exp_key) in MongoDB.

    On top of hyperopt's MongoTrials it
    - numbers trials per experiment from 0, so --seed and --points mean what
      they mean locally, and a restarted driver continues the numbering (so
      SeededAlgorithm never repeats a configuration);
    - takes back jobs whose worker died: a stale heartbeat (--stale-after), or
      an owner process on this host that no longer exists;
    - sizes the queue and the poll interval from the live worker count, since
      hyperopt's defaults (one queued trial, 1 s polls) cap a search near one
      trial per second whatever the number of workers.
    """

    MAINTAIN_EVERY = 1.0  # seconds between checks for dead workers

    def __init__(self, handle, exp_key, stale_after):
        super().__init__(handle, exp_key=exp_key)
        self.stale_after = stale_after
        self.search = None  # the FMinIter, once fmin has started
        self.last_maintained = 0.0
        self.numbering_checked = False

    def new_trial_ids(self, n):
        from pymongo import ReturnDocument

        if not self.numbering_checked:
            # A driver killed between taking ids and queueing their jobs
            # leaves a gap in the numbering; its successor closes it.
            last = self.handle.jobs.find_one(
                {"exp_key": self._exp_key}, sort=[("tid", -1)], projection=["tid"]
            )
            self.handle.db.hyperasc_tids.update_one(
                {"_id": self._exp_key},
                {"$set": {"next": 0 if last is None else last["tid"] + 1}},
                upsert=True,
            )
            self.numbering_checked = True
        counter = self.handle.db.hyperasc_tids.find_one_and_update(
            {"_id": self._exp_key},
            {"$inc": {"next": n}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return list(range(counter["next"] - n, counter["next"]))

    def count_by_state_unsynced(self, arg):
        # fmin asks this in every loop, also while it waits for the last trials.
        if time.time() - self.last_maintained >= self.MAINTAIN_EVERY:
            self.last_maintained = time.time()
            self.requeue_lost_jobs()
            self.adapt_to_workers()
        return super().count_by_state_unsynced(arg)

    def requeue_lost_jobs(self):
        jobs = self.handle.jobs
        running = {"exp_key": self._exp_key, "state": hyperopt.JOB_STATE_RUNNING}
        cutoff = hyperopt.utils.coarse_utcnow() - datetime.timedelta(
            seconds=self.stale_after
        )
        for doc in jobs.find(running, projection=["tid", "owner", "refresh_time"]):
            reason = None
            if doc.get("refresh_time") is not None and doc["refresh_time"] < cutoff:
                reason = f"no heartbeat for {self.stale_after:g} s"
            elif job_owner_is_dead(doc.get("owner")):
                reason = "its process is gone"
            if reason is None:
                continue
            # The version jumps by 2: a late write by the lost worker (which
            # expects version + 1) then matches nothing and fails its check.
            taken = jobs.update_one(
                {
                    "_id": doc["_id"],
                    "owner": doc["owner"],
                    "state": hyperopt.JOB_STATE_RUNNING,
                },
                {"$set": REQUEUED_JOB, "$inc": {"version": 2}},
            )
            if taken.modified_count:
                print(
                    f"requeued trial {doc['tid']}: worker {job_owner_name(doc['owner'])} lost ({reason})",
                    file=sys.stderr,
                )

    def adapt_to_workers(self):
        if self.search is None:
            return
        workers = len(live_mongo_workers(self.handle, self._exp_key))
        durations = [
            t["result"]["duration"]
            for t in self.trials[-20:]
            if t["result"].get("duration")
        ]
        typical = float(np.median(durations)) if durations else 1.0
        # One spare job per worker: a worker that finishes finds the next one
        # waiting, and the driver has a whole trial's time to top the queue
        # up. Polls are frequent enough that the end of the search is seen
        # early, and no more: each costs the database a handful of queries.
        self.search.max_queue_len = max(1, workers)
        self.search.poll_interval_secs = min(1.0, max(0.05, typical / 4))

    def fmin(
        self,
        fn,
        space,
        algo=None,
        max_evals=None,
        timeout=None,
        loss_threshold=None,
        max_queue_len=1,
        rstate=None,
        verbose=False,
        pass_expr_memo_ctrl=None,
        catch_eval_exceptions=False,
        return_argmin=True,
        show_progressbar=True,
        early_stop_fn=None,
        trials_save_file="",
    ):
        """hyperopt.fmin hands the search to this method (as it does for SparkTrials)."""
        domain = hyperopt.base.Domain(
            fn, space, pass_expr_memo_ctrl=pass_expr_memo_ctrl
        )
        self.search = hyperopt.FMinIter(
            algo,
            domain,
            self,
            rstate=rstate,
            max_queue_len=max_queue_len,
            poll_interval_secs=0.1,
            max_evals=max_evals,
            timeout=timeout,
            loss_threshold=loss_threshold,
            verbose=verbose,
            show_progressbar=show_progressbar,
            early_stop_fn=early_stop_fn,
        )
        self.adapt_to_workers()
        self.search.exhaust()
        if early_stop_fn is not None:
            # fmin's loop can see the last trial finish after its last call to
            # early_stop_fn; SearchLog must still record that trial.
            self.refresh()
            early_stop_fn(self, *self.search.early_stop_args)

    def checkpoint_docs(self):
        """The trials as plain data, so that reading the checkpoint needs no pymongo."""
        return [
            plain_trial_data(
                {k: v for k, v in t.items() if k not in ("_id", "_attachments")}
            )
            for t in self.trials
        ]

    def save_best_model(self, tid, run):
        """Write the model a worker shipped with trial `tid` to best_model.keras."""
        doc = self.handle.jobs.find_one({"exp_key": self._exp_key, "tid": tid})
        attachments = self.trial_attachments(doc) if doc is not None else {}
        if MODEL_ATTACHMENT in attachments:
            write_atomically(
                run.file("best_model.keras"), attachments[MODEL_ATTACHMENT]
            )
            run.best_loss = doc["result"]["loss"]


def plain_trial_data(value):
    if isinstance(value, dict):
        return {k: plain_trial_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_trial_data(v) for v in value]
    return value


def job_owner_name(owner):
    """hyperopt's worker stores its owner as ["host:pid"], ours as "host:pid"."""
    return owner[0] if isinstance(owner, (list, tuple)) and owner else owner


def job_owner_is_dead(owner):
    """True when the owner ran on this host and its process no longer exists."""
    import socket

    host, _, pid = str(job_owner_name(owner)).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def live_mongo_workers(handle, exp_key):
    """Worker ids that polled for exp_key lately or are running one of its trials."""
    since = hyperopt.utils.coarse_utcnow() - datetime.timedelta(
        seconds=10
    )  # workers poll every 2 s
    polling = handle.db.hyperasc_workers.find(
        {"exp_key": exp_key, "seen": {"$gte": since}}, projection=["_id"]
    )
    running = handle.jobs.find(
        {"exp_key": exp_key, "state": hyperopt.JOB_STATE_RUNNING}, projection=["owner"]
    )
    return {d["_id"] for d in polling} | {job_owner_name(d["owner"]) for d in running}


def open_database_trials(run, args):
    """The experiment's trials in MongoDB; --out receives the results as for a local run."""
    handle = mongo_connect(args.mongo, check=True)
    os.makedirs(run.path, exist_ok=True)
    return DatabaseTrials(handle, args.exp_key, args.stale_after)


def restarted_driver(run, args):
    """True when --out already records this experiment: the driver was restarted."""
    previous = run.read_json("run.json") or {}
    return (previous.get("mongo") or {}).get("exp_key") == args.exp_key


class ShippedObjective:
    """The objective as MongoDB and Spark workers receive it.

    It pickles as the text of the script, so a worker needs neither tune.py
    on its path nor the same version of it: any process with the packages
    can run the driver's code, including plain hyperopt-mongo-worker. Around
    each trial it sends heartbeats and ships a model that beats the best.
    """

    fmin_pass_expr_memo_ctrl = True

    def __init__(self, script, config):
        self.script = script
        self.config = config  # run seed, whether to seed trials, heartbeat seconds

    def __reduce__(self):
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

    def __call__(self, expr, memo, ctrl):
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

    def __init__(self, jobs, job, every):
        import threading

        self.jobs, self.job, self.every = jobs, job, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self.beat, name="hyperasc-heartbeat", daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()

    def beat(self):
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

    def __init__(self, ctrl):
        self.ctrl = ctrl

    @property
    def best_loss(self):
        ok = {"exp_key": self.ctrl.current_trial["exp_key"], "result.status": STATUS_OK}
        best = self.ctrl.trials.handle.jobs.find_one(
            ok, sort=[("result.loss", 1)], projection=["result.loss"]
        )
        return math.inf if best is None else best["result"]["loss"]

    @best_loss.setter
    def best_loss(self, loss):
        pass  # the database knows the best loss

    def save_model(self, model):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, MODEL_ATTACHMENT)
            model.save(path)
            with open(path, "rb") as f:
                self.ctrl.attachments[MODEL_ATTACHMENT] = f.read()


def run_mongo_workers(args, script_path):
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


def supervise_worker(slot, args, script_path):
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


def run_mongo_worker(args):
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


def reserve_mongo_job(handle, me, args):
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


def run_mongo_job(handle, job, me, experiments):
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


def load_mongo_experiment(handle, exp_key, experiments):
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

"""MongoDB backend: the driver's side, and the connection both sides share.

`tune.py --mongo URL --exp-key KEY` queues trials in the database;
`tune.py worker --mongo URL --exp-key KEY` evaluates them (mongo_worker.py).
See docs/distributed.md in hyperasc for the whole picture.
"""

from __future__ import annotations

import copy
import datetime
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import hyperopt
import numpy as np
from hyperopt.mongoexp import (
    MongoJobs,
    MongoTrials,
)  # imports without pymongo

from .errors import RunError
from .fileio import write_atomically
from .shipping import MODEL_ATTACHMENT

if TYPE_CHECKING:
    import argparse

    from .run_directory import RunDirectory

REQUEUED_JOB = {"state": hyperopt.JOB_STATE_NEW, "owner": None, "book_time": None}


def parse_mongo_url(url: str) -> dict[str, Any]:
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


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***, for logs and run.json."""
    import re

    return re.sub(r"([^:/@=\s]+:)[^@/\s]*@", r"\1***@", url)


def require_pymongo() -> None:
    """Only --mongo and `worker` need pymongo; say so instead of a traceback."""
    try:
        import pymongo  # noqa: F401
    except ImportError:
        raise RunError("MongoDB needs pymongo: pip install pymongo") from None


def mongo_connect(url: str, check: bool = False) -> MongoJobs:
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


def check_connection(client: Any, url: str) -> None:
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


def patch_hyperopt_mongo() -> None:
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

    def __init__(
        self, handle: MongoJobs, exp_key: str | None, stale_after: float
    ) -> None:
        super().__init__(handle, exp_key=exp_key)
        self.stale_after = stale_after
        self.search = None  # the FMinIter, once fmin has started
        self.last_maintained = 0.0
        self.numbering_checked = False

    def new_trial_ids(self, n: int) -> list[int]:
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

    def count_by_state_unsynced(self, arg: int | Iterable[int]) -> int:
        # fmin asks this in every loop, also while it waits for the last trials.
        if time.time() - self.last_maintained >= self.MAINTAIN_EVERY:
            self.last_maintained = time.time()
            self.requeue_lost_jobs()
            self.adapt_to_workers()
        return super().count_by_state_unsynced(arg)

    def requeue_lost_jobs(self) -> None:
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

    def adapt_to_workers(self) -> None:
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
        fn: Callable,
        space: Any,
        algo: Callable | None = None,
        max_evals: int | None = None,
        timeout: float | None = None,
        loss_threshold: float | None = None,
        max_queue_len: int = 1,
        rstate: Any = None,
        verbose: bool = False,
        pass_expr_memo_ctrl: bool | None = None,
        catch_eval_exceptions: bool = False,
        return_argmin: bool = True,
        show_progressbar: Any = True,
        early_stop_fn: Callable | None = None,
        trials_save_file: str = "",
    ) -> None:
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

    def checkpoint_docs(self) -> list[dict[str, Any]]:
        """The trials as plain data, so that reading the checkpoint needs no pymongo."""
        return [
            plain_trial_data(
                {k: v for k, v in t.items() if k not in ("_id", "_attachments")}
            )
            for t in self.trials
        ]

    def save_best_model(self, tid: int, run: RunDirectory) -> None:
        """Write the model a worker shipped with trial `tid` to best_model.keras."""
        doc = self.handle.jobs.find_one({"exp_key": self._exp_key, "tid": tid})
        attachments = self.trial_attachments(doc) if doc is not None else {}
        if MODEL_ATTACHMENT in attachments:
            write_atomically(
                run.file("best_model.keras"), attachments[MODEL_ATTACHMENT]
            )
            run.best_loss = doc["result"]["loss"]


def plain_trial_data(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain_trial_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_trial_data(v) for v in value]
    return value


def job_owner_name(owner: str | list[str] | None) -> str | None:
    """hyperopt's worker stores its owner as ["host:pid"], ours as "host:pid"."""
    return owner[0] if isinstance(owner, (list, tuple)) and owner else owner


def job_owner_is_dead(owner: str | list[str] | None) -> bool:
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


def live_mongo_workers(handle: MongoJobs, exp_key: str | None) -> set[str]:
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


def open_database_trials(run: RunDirectory, args: argparse.Namespace) -> DatabaseTrials:
    """The experiment's trials in MongoDB; --out receives the results as for a local run."""
    handle = mongo_connect(args.mongo, check=True)
    os.makedirs(run.path, exist_ok=True)
    return DatabaseTrials(handle, args.exp_key, args.stale_after)


def restarted_driver(run: RunDirectory, args: argparse.Namespace) -> bool:
    """True when --out already records this experiment: the driver was restarted."""
    previous = run.read_json("run.json") or {}
    return (previous.get("mongo") or {}).get("exp_key") == args.exp_key

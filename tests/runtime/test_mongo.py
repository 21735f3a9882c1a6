"""The MongoDB backend: URL handling and worker supervision (fast); the database parts against
the real MongoDB-compatible server of the `mongo_server` fixture (slow)."""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import pickle
import random
import signal
import socket
import sys
import textwrap
import threading
import time
import uuid

import cloudpickle
import hyperopt
import numpy as np
import pytest
from hyperopt.mongoexp import MongoCtrl, MongoJobs, MongoTrials

from hyperasc.runtime import mongo
from hyperasc.runtime.errors import RunError
from hyperasc.runtime.mongo import (
    WORKER_IDLE_EXIT,
    DatabaseTrials,
    ModelShipper,
    ShippedObjective,
    TrialHeartbeat,
    check_connection,
    job_owner_is_dead,
    job_owner_name,
    live_mongo_workers,
    load_mongo_experiment,
    masked_url,
    mongo_connect,
    open_database_trials,
    parse_mongo_url,
    patch_hyperopt_mongo,
    plain_trial_data,
    require_pymongo,
    reserve_mongo_job,
    restarted_driver,
    run_mongo_job,
    run_mongo_worker,
    run_mongo_workers,
    supervise_worker,
)
from hyperasc.runtime.run_directory import RunDirectory
from hyperasc.runtime.search_log import SearchLog
from hyperasc.runtime.seeding import trial_seed
from hyperasc.runtime.trial import TrialScope


def free_port() -> int:
    """A port nothing listens on (the kernel just handed it out and it was closed again)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- URLs


def test_parse_mongo_url_parts_and_defaults(monkeypatch):
    monkeypatch.delenv("HYPERASC_MONGO_USER", raising=False)
    monkeypatch.delenv("HYPERASC_MONGO_PASSWORD", raising=False)
    assert parse_mongo_url("mongo://db.example:27018/hyper/queue") == {
        "host": "db.example",
        "port": 27018,
        "user": None,
        "password": None,
        "auth_source": None,
        "db": "hyper",
        "collection": "queue",
    }
    parts = parse_mongo_url("localhost/hyper")  # the scheme and port may be left out
    assert (parts["host"], parts["port"], parts["db"], parts["collection"]) == (
        "localhost",
        27017,
        "hyper",
        "jobs",
    )
    parts = parse_mongo_url("mongo://ann:p%40ss%2Fword@h:1/db?authSource=admin")
    assert (parts["user"], parts["password"], parts["auth_source"]) == (
        "ann",
        "p@ss/word",
        "admin",
    )


def test_credentials_may_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HYPERASC_MONGO_USER", "bob")
    monkeypatch.setenv("HYPERASC_MONGO_PASSWORD", "hunter2")
    parts = parse_mongo_url("mongo://h:1/db")
    assert (parts["user"], parts["password"]) == ("bob", "hunter2")
    assert parse_mongo_url("mongo://ann:pw@h:1/db")["user"] == "ann"  # the URL wins


@pytest.mark.parametrize(
    "url, words",
    [
        (
            "http://ann:secret@h:1/db",
            "--mongo must look like mongo://HOST:PORT/DB/jobs, not http://ann:***@h:1/db",
        ),
        ("mongo://ann:secret@h:1/", "must name a database"),
        ("mongo://h:1/db/jobs/extra", "must name a database"),
    ],
)
def test_bad_urls_are_one_line_without_the_password(url, words):
    with pytest.raises(RunError) as info:
        parse_mongo_url(url)
    assert words in str(info.value) and "secret" not in str(info.value)


def test_masked_url_hides_only_the_password():
    assert masked_url("mongo://ann:s3cret@h:1/db/jobs") == "mongo://ann:***@h:1/db/jobs"
    assert (
        masked_url("--mongo=mongo://ann:s3cret@h/db") == "--mongo=mongo://ann:***@h/db"
    )
    assert masked_url("mongo://ann@h:1/db") == "mongo://ann@h:1/db"
    assert masked_url("mongo://h:1/db") == "mongo://h:1/db"


def test_require_pymongo_says_what_to_install(monkeypatch):
    require_pymongo()  # installed here
    monkeypatch.setitem(sys.modules, "pymongo", None)
    with pytest.raises(RunError, match="^MongoDB needs pymongo: pip install pymongo$"):
        require_pymongo()


# --------------------------------------------------------------------------- plain helpers


def test_patch_hyperopt_mongo_installs_the_pymongo_4_methods():
    patch_hyperopt_mongo()
    assert (
        MongoJobs.insert is mongo._jobs_insert
        and MongoJobs.reserve is mongo._jobs_reserve
    )
    assert (
        MongoJobs.update is mongo._jobs_update
        and MongoJobs.delete_all is mongo._jobs_delete_all
    )
    assert MongoTrials.new_trial_ids is mongo._trials_new_ids
    assert MongoTrials.count_by_state_unsynced is mongo._trials_count_by_state


def test_plain_trial_data_turns_database_documents_into_plain_data():
    from bson import SON

    doc = SON(
        [
            ("tid", 3),
            ("misc", SON([("vals", SON([("x", (0.5,))]))])),
            ("result", {"loss": 1.0}),
        ]
    )
    plain = plain_trial_data(doc)
    assert plain == {"tid": 3, "misc": {"vals": {"x": [0.5]}}, "result": {"loss": 1.0}}
    assert type(plain) is dict and type(plain["misc"]["vals"]) is dict
    assert "bson" not in pickle.dumps(plain).decode("latin-1")


def test_job_owner_name_reads_both_owner_forms():
    assert job_owner_name(["host:12"]) == "host:12"  # hyperopt-mongo-worker's
    assert job_owner_name("host:12") == "host:12"  # ours
    assert job_owner_name(None) is None


def dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_job_owner_is_dead_only_for_a_gone_process_on_this_host():
    here = socket.gethostname()
    assert job_owner_is_dead(f"{here}:{dead_pid()}")
    assert job_owner_is_dead([f"{here}:{dead_pid()}"])
    assert not job_owner_is_dead(f"{here}:{os.getpid()}")
    assert not job_owner_is_dead(f"{here}:1")  # exists, not ours to signal: alive
    assert not job_owner_is_dead(
        f"elsewhere.example:{dead_pid()}"
    )  # cannot tell: alive
    assert not job_owner_is_dead(f"{here}:abc") and not job_owner_is_dead(None)


def test_restarted_driver_when_run_json_records_the_experiment(tmp_path):
    run = RunDirectory(str(tmp_path))
    args = argparse.Namespace(exp_key="e1")
    assert not restarted_driver(run, args)
    run.write_json("run.json", {"mongo": {"exp_key": "e1"}})
    assert restarted_driver(run, args)
    assert not restarted_driver(run, argparse.Namespace(exp_key="e2"))


# --------------------------------------------------------------------------- ShippedObjective


def shipped_trial(params):
    return {"loss": (params["x"] - 0.25) ** 2, "draw": random.random(), "model": None}


def rebuild_objective(source, config):
    """Stands in for the bundle's `shipped`, and like it uses no globals: it travels by value."""
    import sys

    import hyperasc.runtime.mongo as backend
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


# --------------------------------------------------------------------------- worker supervision

FAKE_WORKER = textwrap.dedent("""
    import json, os, sys
    with open(os.environ["WORKER_LOG"], "a") as f:
        f.write(json.dumps({"argv": sys.argv[1:], "gpu": os.environ.get("CUDA_VISIBLE_DEVICES")}) + "\\n")
    sys.exit(int(os.environ.get("WORKER_EXIT", "0")))
    """)


@pytest.fixture
def fake_worker(tmp_path, monkeypatch):
    """A stand-in tune.py whose `worker` logs its command line and exits with $WORKER_EXIT."""
    script = tmp_path / "tune.py"
    script.write_text(FAKE_WORKER)
    log = tmp_path / "workers.log"
    monkeypatch.setenv("WORKER_LOG", str(log))
    return script, lambda: (
        [json.loads(line) for line in log.read_text().splitlines()]
        if log.exists()
        else []
    )


def worker_args(**overrides) -> argparse.Namespace:
    values = {
        "mongo": "mongo://127.0.0.1:1/db",
        "exp_key": "e1",
        "workers": 1,
        "gpus": None,
        "max_jobs": None,
        "recycle_after": None,
        "idle_timeout": None,
    }
    return argparse.Namespace(**{**values, **overrides})


def wait_for(slot):
    slot["process"].wait(30)


def test_supervise_worker_recycles_in_batches_and_pins_the_gpu(fake_worker):
    script, logged = fake_worker
    slot = {"gpu": "3", "left": 5, "crashes": 0, "process": None}
    args = worker_args(recycle_after=2, idle_timeout=1.5)
    batches = []
    while True:
        supervise_worker(slot, args, str(script))
        if slot["process"] is None:
            break
        batches.append(slot["batch"])
        wait_for(slot)
    assert batches == [2, 2, 1] and slot["left"] == 0
    runs = logged()
    assert [r["gpu"] for r in runs] == ["3", "3", "3"]
    assert runs[0]["argv"] == [
        "worker",
        "--mongo",
        "mongo://127.0.0.1:1/db",
        "--workers",
        "1",
        "--exp-key",
        "e1",
        "--max-jobs",
        "2",
        "--idle-timeout",
        "1.5",
    ]
    assert runs[2]["argv"][runs[2]["argv"].index("--max-jobs") + 1] == "1"


def test_supervise_worker_stops_a_slot_that_ran_out_of_work_and_counts_crashes(
    fake_worker, monkeypatch, capsys
):
    script, logged = fake_worker
    monkeypatch.setenv("WORKER_EXIT", str(WORKER_IDLE_EXIT))
    slot = {"gpu": None, "left": None, "crashes": 0, "process": None}
    supervise_worker(slot, worker_args(), str(script))
    wait_for(slot)
    assert "--max-jobs" not in logged()[0]["argv"] and logged()[0]["gpu"] is None
    supervise_worker(slot, worker_args(), str(script))
    assert slot["left"] == 0 and slot["process"] is None and len(logged()) == 1

    monkeypatch.setenv("WORKER_EXIT", "9")
    slot = {"gpu": None, "left": None, "crashes": 5, "process": None}
    supervise_worker(slot, worker_args(), str(script))
    wait_for(slot)
    supervise_worker(
        slot, worker_args(), str(script)
    )  # the sixth crash in a row: give up
    assert slot["crashes"] == 6 and slot["left"] == 0 and slot["process"] is None
    assert "died with status 9" in capsys.readouterr().err


def test_run_mongo_workers_supervises_one_process_per_gpu(fake_worker, monkeypatch):
    script, logged = fake_worker
    monkeypatch.setenv("WORKER_EXIT", str(WORKER_IDLE_EXIT))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        # --max-jobs bounds the slots even if a worker exited otherwise than asked.
        assert (
            run_mongo_workers(worker_args(gpus=["0", "1"], max_jobs=3), str(script))
            == 0
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    runs = logged()
    assert sorted(r["gpu"] for r in runs) == [
        "0",
        "1",
    ]  # each ran out of work at once: not restarted
    assert all(r["argv"][r["argv"].index("--max-jobs") + 1] == "3" for r in runs)


# --------------------------------------------------------------------------- against a database

slow = pytest.mark.slow


@pytest.fixture
def database(mongo_server):
    """A fresh database's URL and its MongoJobs handle."""
    url = mongo_server.url(f"t{uuid.uuid4().hex[:8]}", "jobs")
    return url, mongo_connect(url, check=True)


@slow
def test_mongo_connect_checks_the_server_and_gives_a_working_handle(database):
    url, handle = database
    parts = parse_mongo_url(url)
    assert (
        isinstance(handle, MongoJobs)
        and handle.db.name == parts["db"]
        and handle.jobs.name == "jobs"
    )
    job = handle.insert(
        {
            "exp_key": "e1",
            "state": hyperopt.JOB_STATE_NEW,
            "owner": None,
            "tid": 0,
            "version": 0,
        }
    )
    assert "_id" in job and len(handle) == 1
    reserved = handle.reserve("me:1", exp_key="e1")
    assert (
        reserved["owner"] == "me:1" and reserved["state"] == hyperopt.JOB_STATE_RUNNING
    )
    assert handle.reserve("me:1", exp_key="e1") is None  # nothing else queued


@slow
def test_check_connection_names_an_unreachable_server_in_one_line():
    import pymongo

    port = free_port()  # nothing listens there
    client = pymongo.MongoClient("127.0.0.1", port, serverSelectionTimeoutMS=300)
    try:
        with pytest.raises(RunError) as info:
            check_connection(client, f"mongo://ann:secret@127.0.0.1:{port}/db/jobs")
    finally:
        client.close()
    assert (
        str(info.value)
        == f"cannot reach MongoDB at mongo://ann:***@127.0.0.1:{port}/db/jobs (connection refused)"
    )


def trials_for(handle, exp_key, stale_after=60.0) -> DatabaseTrials:
    return DatabaseTrials(handle, exp_key, stale_after)


@slow
def test_database_trials_number_each_experiment_from_zero(database):
    _, handle = database
    a = trials_for(handle, "a")
    taken = a.new_trial_ids(3)
    assert taken == [0, 1, 2] and a.new_trial_ids(1) == [3]
    for tid in taken:
        running_job(handle, "a", tid, "me:1", age_seconds=0)
    assert trials_for(handle, "b").new_trial_ids(2) == [0, 1]  # another experiment
    # A restarted driver continues after the last queued trial; 3 was taken but never queued.
    assert trials_for(handle, "a").new_trial_ids(2) == [3, 4]


def running_job(handle, exp_key, tid, owner, age_seconds):
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


@slow
def test_requeue_lost_jobs_takes_back_stale_and_orphaned_trials(database, capsys):
    _, handle = database
    here = socket.gethostname()
    running_job(
        handle, "e", 0, "far.example:1", age_seconds=120
    )  # no heartbeat for two minutes
    running_job(
        handle, "e", 1, f"{here}:{dead_pid()}", age_seconds=0
    )  # its process is gone
    running_job(
        handle, "e", 2, f"{here}:{os.getpid()}", age_seconds=0
    )  # alive and beating
    running_job(
        handle, "other", 3, "far.example:1", age_seconds=120
    )  # another experiment
    trials_for(handle, "e", stale_after=30).requeue_lost_jobs()
    jobs = {d["tid"]: d for d in handle.jobs.find()}
    for tid in (0, 1):
        assert (jobs[tid]["state"], jobs[tid]["owner"], jobs[tid]["version"]) == (
            hyperopt.JOB_STATE_NEW,
            None,
            3,
        )
    assert jobs[2]["state"] == jobs[3]["state"] == hyperopt.JOB_STATE_RUNNING
    err = capsys.readouterr().err
    assert "requeued trial 0: worker far.example:1 lost (no heartbeat for 30 s)" in err
    assert (
        "requeued trial 1" in err
        and "(its process is gone)" in err
        and "trial 2" not in err
    )


@slow
def test_live_mongo_workers_are_polling_or_running(database):
    _, handle = database
    now = hyperopt.utils.coarse_utcnow()
    handle.db.hyperasc_workers.insert_many(
        [
            {"_id": "h:1", "exp_key": "e", "seen": now},
            {
                "_id": "h:2",
                "exp_key": "e",
                "seen": now - datetime.timedelta(minutes=5),
            },  # gone quiet
            {"_id": "h:3", "exp_key": "other", "seen": now},
        ]
    )
    running_job(handle, "e", 0, ["h:4"], age_seconds=0)
    assert live_mongo_workers(handle, "e") == {"h:1", "h:4"}


@slow
def test_open_database_trials_makes_the_run_directory(database, tmp_path):
    url, _ = database
    run = RunDirectory(str(tmp_path / "run"))
    trials = open_database_trials(
        run, argparse.Namespace(mongo=url, exp_key="e9", stale_after=12.0)
    )
    assert (
        isinstance(trials, DatabaseTrials)
        and trials._exp_key == "e9"
        and trials.stale_after == 12.0
    )
    assert (tmp_path / "run").is_dir()


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


@slow
def test_a_search_with_a_worker_in_this_process(database, tmp_path):
    """Driver (DatabaseTrials.fmin in a thread) and run_mongo_worker here: reserve, run, record."""
    url, handle = database
    run = RunDirectory(str(tmp_path / "run"))
    trials = open_database_trials(
        run, argparse.Namespace(mongo=url, exp_key="e", stale_after=60.0)
    )
    space = {"x": hyperopt.hp.uniform("x", -1, 1)}
    log = SearchLog(
        run,
        trials,
        space,
        [{"name": "x", "parent": None, "options": None, "nested": {}}],
    )
    failures = []

    def driver():
        try:
            hyperopt.fmin(
                shipped_objective({"trial": "model_trial"}),
                space,
                algo=hyperopt.rand.suggest,
                max_evals=3,
                trials=trials,
                rstate=np.random.default_rng(0),
                show_progressbar=False,
                return_argmin=False,
                early_stop_fn=log.after_trial,
            )
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    thread = threading.Thread(target=driver)
    thread.start()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        args = argparse.Namespace(mongo=url, exp_key="e", max_jobs=3, idle_timeout=15.0)
        assert run_mongo_worker(args) == 0, failures
    finally:
        signal.signal(signal.SIGTERM, previous)
        gc.unfreeze()
        thread.join(60)
    assert not failures and not thread.is_alive()
    jobs = sorted(handle.jobs.find({"exp_key": "e"}), key=lambda d: d["tid"])
    assert [d["tid"] for d in jobs] == [0, 1, 2]
    assert all(
        d["state"] == hyperopt.JOB_STATE_DONE and d["result"]["status"] == "ok"
        for d in jobs
    )
    for doc in jobs:  # each trial seeded from (run seed, trial id), as a local one is
        random.seed(trial_seed(5, doc["tid"]))
        assert doc["result"]["draw"] == random.random()
    lines = [
        json.loads(line)
        for line in (tmp_path / "run" / "trials.jsonl").read_text().splitlines()
    ]
    assert sorted(r["tid"] for r in lines) == [0, 1, 2]
    best = min(jobs, key=lambda d: d["result"]["loss"])
    assert (
        tmp_path / "run" / "best_model.keras"
    ).read_bytes() == f"model {best['tid']}".encode()
    assert run.best_loss == best["result"]["loss"]


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


@slow
def test_worker_pieces_one_at_a_time(database):
    """reserve_mongo_job, load_mongo_experiment and run_mongo_job on a queued experiment."""
    url, handle = database
    args = argparse.Namespace(exp_key="e", idle_timeout=0.2)
    assert (
        reserve_mongo_job(handle, "me:1", args) is None
    )  # nothing queued: gives up after the timeout
    with pytest.raises(RuntimeError, match="has no domain in the database"):
        load_mongo_experiment(handle, "e", {})
    trials = trials_for(handle, "e")
    space = {"x": hyperopt.hp.uniform("x", -1, 1)}
    domain = hyperopt.base.Domain(shipped_objective(), space)
    trials.attachments["FMinIter_Domain"] = cloudpickle.dumps(domain)
    docs = hyperopt.rand.suggest(trials.new_trial_ids(1), domain, trials, 0)
    trials.insert_trial_docs(docs)
    job = reserve_mongo_job(handle, "me:1", args)
    assert job["tid"] == 0 and job["owner"] == "me:1"
    assert handle.db.hyperasc_workers.find_one({"_id": "me:1"})["exp_key"] == "e"
    experiments = {}
    try:
        loaded_trials, loaded_domain = load_mongo_experiment(handle, "e", experiments)
        assert isinstance(loaded_domain, hyperopt.base.Domain) and "e" in experiments
        assert (
            load_mongo_experiment(handle, "e", experiments)[1] is loaded_domain
        )  # cached
        run_mongo_job(handle, job, "me:1", experiments)
    finally:
        gc.unfreeze()
    stored = handle.jobs.find_one({"_id": job["_id"]})
    assert (
        stored["state"] == hyperopt.JOB_STATE_DONE
        and stored["result"]["status"] == "ok"
    )
    x = job["misc"]["vals"]["x"][0]
    assert stored["result"]["loss"] == pytest.approx((x - 0.25) ** 2)

"""The MongoDB backend: URL handling and pymongo 4 fixes (fast); the database parts against
the real MongoDB-compatible server of the `mongo_server` fixture (slow)."""

from __future__ import annotations

import argparse
import datetime
import os
import pickle
import socket
import sys

import hyperopt
import pytest
from hyperopt.mongoexp import MongoJobs, MongoTrials

from hyperasc.runtime import mongo
from hyperasc.runtime.errors import RunError
from hyperasc.runtime.mongo import (
    DatabaseTrials,
    check_connection,
    job_owner_is_dead,
    job_owner_name,
    live_mongo_workers,
    masked_url,
    mongo_connect,
    open_database_trials,
    parse_mongo_url,
    patch_hyperopt_mongo,
    plain_trial_data,
    require_pymongo,
    restarted_driver,
)
from hyperasc.runtime.run_directory import RunDirectory

from .conftest import running_job, trials_for


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


# --------------------------------------------------------------------------- against a database

slow = pytest.mark.slow


@slow
def test_mongo_connect_checks_the_server_and_gives_a_working_handle(database):
    url, _ = database
    handle = mongo_connect(url, check=True)
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

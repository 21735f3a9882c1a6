"""`tune.py worker`: supervision of worker processes (fast), and workers against the real
MongoDB-compatible server of the `mongo_server` fixture (slow)."""

from __future__ import annotations

import argparse
import gc
import json
import random
import signal
import textwrap
import threading

import cloudpickle
import hyperopt
import numpy as np
import pytest

from hyperasc.runtime.mongo import (
    open_database_trials,
)
from hyperasc.runtime.mongo_worker import (
    WORKER_IDLE_EXIT,
    load_mongo_experiment,
    reserve_mongo_job,
    run_mongo_job,
    run_mongo_worker,
    run_mongo_workers,
    supervise_worker,
)
from hyperasc.runtime.run_directory import RunDirectory
from hyperasc.runtime.search_log import SearchLog
from hyperasc.runtime.seeding import trial_seed

from .conftest import trials_for


from .test_shipping import shipped_objective

slow = pytest.mark.slow


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

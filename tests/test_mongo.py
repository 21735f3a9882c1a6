"""The generated script on MongoDB: driver, workers and their faults (issue 4).

Every test runs real processes against a real MongoDB-compatible server
(the `mongo_server` fixture in conftest.py), as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from helpers import compile_model, records

from hyperasc.runtime.run_directory import trials_from_checkpoint

ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}

# Each trial logs its start and end (with the worker's pid) to TRIAL_LOG, so a
# test can kill a worker mid-trial and count completions; x > FAIL_ABOVE raises.
LOGGING_MODEL = """
import json
import os
import time


def note(event, x):
    with open(os.environ["TRIAL_LOG"], "a") as f:
        f.write(json.dumps({"event": event, "x": x, "pid": os.getpid()}) + "\\n")


def model():
    x = {{uniform(-1, 1)}}
    note("start", x)
    time.sleep(float(os.environ.get("TRIAL_SLEEP", "0")))
    if x > float(os.environ.get("FAIL_ABOVE", "2")):
        raise ValueError(f"x={x} is too large")
    note("end", x)
    return (x - 0.25) ** 2
"""

pytestmark = pytest.mark.slow


class Processes:
    """Drivers and workers of one test; whatever is still running at the end is killed."""

    def __init__(self, tmp_path: Path, script: Path, env: dict | None = None):
        self.tmp_path, self.script = tmp_path, script
        self.env = {**os.environ, **ENV, **(env or {})}
        self.started: list[subprocess.Popen] = []

    def start(self, *args: str, name: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, str(self.script), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.tmp_path,
        )
        proc.log_path = self.tmp_path / f"{name}.log"
        self.started.append(proc)
        return proc

    def worker(
        self, url: str, exp_key: str, *args: str, name: str = "worker"
    ) -> subprocess.Popen:
        return self.start(
            "worker", "--mongo", url, "--exp-key", exp_key, *args, name=name
        )

    def driver(
        self, url: str, exp_key: str, *args: str, out: Path, name: str = "driver"
    ) -> subprocess.Popen:
        return self.start(
            "--mongo",
            url,
            "--exp-key",
            exp_key,
            "--out",
            str(out),
            "--quiet",
            *args,
            name=name,
        )

    def wait(self, proc: subprocess.Popen, limit: float = 240) -> None:
        try:
            proc.wait(limit)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{proc.args} still running after {limit} s:\n{proc.log_path.read_text()[-3000:]}"
            ) from None
        assert proc.returncode == 0, proc.log_path.read_text()[-3000:]

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.started:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(tmp_path):
    created = []

    def make(script: Path, env: dict | None = None) -> Processes:
        created.append(Processes(tmp_path, script, env))
        return created[-1]

    yield make
    for group in created:
        group.stop_all()


def trial_log(path: Path) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text().splitlines()]
        if path.exists()
        else []
    )


def wait_until(condition, limit: float = 120, what: str = "condition") -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def jobs(server, db: str, exp_key: str) -> list[dict]:
    import pymongo

    client = pymongo.MongoClient("127.0.0.1", server.port)
    try:
        return list(client[db].jobs.find({"exp_key": exp_key}))
    finally:
        client.close()


def new_db() -> str:
    return "t" + uuid.uuid4().hex[:12]


def test_keras_search_with_a_driver_and_two_workers(tmp_path, mongo_server, processes):
    import keras

    script = compile_model(tmp_path)
    group = processes(script)
    db, out = new_db(), tmp_path / "run"
    group.worker(mongo_server.url(db), "digits", "--workers", "2", name="workers")
    driver = group.driver(
        mongo_server.url(db, "jobs"), "digits", "--max-evals", "10", out=out
    )
    group.wait(driver, limit=400)

    found = records(out)
    assert sorted(r["tid"] for r in found) == list(range(10))
    assert all(r["status"] == "ok" and r["history"] for r in found), found
    docs = jobs(mongo_server, db, "digits")
    assert len(docs) == 10 and all(d["state"] == 2 for d in docs)
    assert len({d["owner"] for d in docs}) == 2  # both workers took part
    best = json.loads((out / "best.json").read_text())
    assert best["loss"] == min(r["loss"] for r in found)
    model = keras.models.load_model(out / "best_model.keras")  # shipped through GridFS
    assert model.count_params() > 0
    checkpoint = (out / "checkpoint").read_bytes()  # readable without pymongo types
    assert len(trials_from_checkpoint(checkpoint).trials) == 10
    run = json.loads((out / "run.json").read_text())
    assert run["backend"] == "mongo" and run["mongo"]["exp_key"] == "digits"


def test_sigkill_mid_trial_requeues_and_nothing_completes_twice(
    tmp_path, mongo_server, processes
):
    script = compile_model(tmp_path, LOGGING_MODEL)
    log = tmp_path / "trials.log"
    group = processes(script, {"TRIAL_LOG": str(log), "TRIAL_SLEEP": "1.5"})
    db, out = new_db(), tmp_path / "run"
    victim = group.worker(mongo_server.url(db), "kill", name="victim")
    survivor = group.worker(mongo_server.url(db), "kill", name="survivor")
    driver = group.driver(
        mongo_server.url(db, "jobs"), "kill", "--max-evals", "8", out=out
    )

    # Kill the victim once it is inside its second trial.
    wait_until(
        lambda: sum(
            e["pid"] == victim.pid and e["event"] == "start" for e in trial_log(log)
        )
        >= 2,
        what="the victim's second trial",
    )
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    group.wait(driver)

    assert "requeued trial" in driver.log_path.read_text()
    events = trial_log(log)
    killed = [
        e["x"] for e in events if e["pid"] == victim.pid and e["event"] == "start"
    ][-1]
    assert killed not in [
        e["x"] for e in events if e["pid"] == victim.pid and e["event"] == "end"
    ]
    ends = [e["x"] for e in events if e["event"] == "end"]
    assert len(ends) == len(set(ends)) == 8  # every trial completed exactly once
    assert killed in ends  # the survivor ran the killed trial again
    assert sorted(r["tid"] for r in records(out)) == list(range(8))
    assert survivor.poll() is None


def test_a_trial_that_raises_in_a_worker_is_a_failed_trial(
    tmp_path, mongo_server, processes
):
    script = compile_model(tmp_path, LOGGING_MODEL)
    group = processes(
        script, {"TRIAL_LOG": str(tmp_path / "trials.log"), "FAIL_ABOVE": "0"}
    )
    db, out = new_db(), tmp_path / "run"
    group.worker(mongo_server.url(db), "fail", name="worker")
    driver = group.driver(
        mongo_server.url(db, "jobs"),
        "fail",
        "--max-evals",
        "8",
        "--algo",
        "rand",
        out=out,
    )
    group.wait(driver)

    found = records(out)
    assert len(found) == 8
    failed = [r for r in found if r["params"]["x"] > 0]
    assert failed and all(r["status"] == "fail" for r in failed)
    assert all(
        "Traceback" in r["error"] and "ValueError: x=" in r["error"] for r in failed
    )
    assert all(r["status"] == "ok" for r in found if r["params"]["x"] <= 0)


def test_a_restarted_driver_continues_without_repeating(
    tmp_path, mongo_server, processes
):
    script = compile_model(tmp_path, LOGGING_MODEL)
    group = processes(
        script, {"TRIAL_LOG": str(tmp_path / "trials.log"), "TRIAL_SLEEP": "0.3"}
    )
    db, out = new_db(), tmp_path / "run"
    group.worker(mongo_server.url(db), "restart", "--workers", "2", name="workers")
    first = group.driver(
        mongo_server.url(db, "jobs"),
        "restart",
        "--max-evals",
        "12",
        out=out,
        name="first",
    )
    wait_until(
        lambda: (out / "trials.jsonl").exists() and len(records(out)) >= 4,
        what="4 finished trials",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = group.driver(
        mongo_server.url(db, "jobs"),
        "restart",
        "--max-evals",
        "12",
        out=out,
        name="second",
    )
    group.wait(second)

    docs = jobs(mongo_server, db, "restart")
    assert sorted(d["tid"] for d in docs) == list(range(12)) and all(
        d["state"] == 2 for d in docs
    )
    xs = [d["misc"]["vals"]["x"][0] for d in docs]
    assert len(set(xs)) == 12  # no configuration sampled twice
    assert sorted(r["tid"] for r in records(out)) == list(range(12))


def test_workers_and_driver_survive_a_database_restart(tmp_path, processes):
    from conftest import MongoServer, secantusdb_server

    server = MongoServer(
        secantusdb_server(), tmp_path / "data", tmp_path / "server.log"
    )
    server.start()
    try:
        script = compile_model(tmp_path, LOGGING_MODEL)
        group = processes(
            script, {"TRIAL_LOG": str(tmp_path / "trials.log"), "TRIAL_SLEEP": "0.5"}
        )
        out = tmp_path / "run"
        group.worker(server.url("db"), "dbrestart", name="worker")
        driver = group.driver(
            server.url("db", "jobs"), "dbrestart", "--max-evals", "10", out=out
        )
        wait_until(
            lambda: (out / "trials.jsonl").exists() and len(records(out)) >= 3,
            what="3 finished trials",
        )
        server.stop(signal.SIGTERM)
        time.sleep(3)
        server.start()
        group.wait(driver)
        assert sorted(r["tid"] for r in records(out)) == list(range(10))
        assert all(r["status"] == "ok" for r in records(out))
    finally:
        server.stop()


def test_plain_hyperopt_mongo_worker_runs_the_script_s_trials(
    tmp_path, mongo_server, processes
):
    script = compile_model(tmp_path, LOGGING_MODEL)
    group = processes(script, {"TRIAL_LOG": str(tmp_path / "trials.log")})
    db, out = new_db(), tmp_path / "run"
    driver = group.driver(
        mongo_server.url(db, "jobs"), "plain", "--max-evals", "4", out=out
    )
    # hyperopt's own worker loop, with the script's pymongo 4 fixes (see docs/distributed.md);
    # it runs from another directory: the trials carry the script's code.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import tune; "
        "tune.__hyperasc_runtime__.module('mongo').patch_hyperopt_mongo(); "
        "import hyperopt.mongoexp; hyperopt.mongoexp.main()"
    )
    worker = subprocess.run(
        [
            sys.executable,
            "-c",
            command,
            f"--mongo=127.0.0.1:{mongo_server.port}/{db}",
            "--exp-key=plain",
            "--no-subprocesses",
            "--max-jobs=4",
            "--poll-interval=1.1",
        ],
        cwd=elsewhere,
        env={**os.environ, **ENV, "TRIAL_LOG": str(tmp_path / "trials.log")},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    group.wait(driver)
    assert sorted(r["tid"] for r in records(out)) == list(range(4))
    assert all(
        isinstance(d["owner"], list) for d in jobs(mongo_server, db, "plain")
    )  # hyperopt's owner format


def test_credentials_are_masked_and_urls_parsed():
    from hyperasc.runtime import mongo as tune

    assert (
        tune.masked_url("mongo://alice:s3cret@db.example:27017/hp/jobs")
        == "mongo://alice:***@db.example:27017/hp/jobs"
    )
    assert (
        tune.masked_url("--mongo=alice:s3cret@db.example/hp")
        == "--mongo=alice:***@db.example/hp"
    )
    assert (
        tune.masked_url("mongo://db.example:27017/hp/jobs")
        == "mongo://db.example:27017/hp/jobs"
    )
    parts = tune.parse_mongo_url("db.example:27018/hp")
    assert (parts["host"], parts["port"], parts["db"], parts["collection"]) == (
        "db.example",
        27018,
        "hp",
        "jobs",
    )
    os.environ["HYPERASC_MONGO_PASSWORD"] = "from-env"
    try:
        assert tune.parse_mongo_url("mongo://bob@h:1/d/c")["password"] == "from-env"
    finally:
        del os.environ["HYPERASC_MONGO_PASSWORD"]


def test_pymongo_3_13_driver_script_worker_and_unpatched_plain_worker(
    tmp_path, mongo_server, pymongo3_python
):
    script = compile_model(tmp_path, LOGGING_MODEL)
    env = {
        **os.environ,
        **ENV,
        "TRIAL_LOG": str(tmp_path / "trials.log"),
        "TRIAL_SLEEP": "0.2",
    }
    db, out = new_db(), tmp_path / "run"

    def start(*args, name):
        log = open(tmp_path / f"{name}.log", "wb")
        return subprocess.Popen(
            [pymongo3_python, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )

    driver = start(
        str(script),
        "--mongo",
        mongo_server.url(db, "jobs"),
        "--exp-key",
        "old",
        "--max-evals",
        "6",
        "--out",
        str(out),
        "--quiet",
        name="driver",
    )
    # hyperopt's own worker, exactly as the hyperopt-mongo-worker command runs it, without the script's fixes.
    plain = start(
        "-c",
        "import hyperopt.mongoexp; hyperopt.mongoexp.main()",
        f"--mongo=127.0.0.1:{mongo_server.port}/{db}",
        "--exp-key=old",
        "--no-subprocesses",
        "--max-jobs=2",
        "--poll-interval=1.1",
        name="plain",
    )
    worker = None
    try:
        assert plain.wait(240) == 0, (tmp_path / "plain.log").read_text()[-3000:]
        worker = start(
            str(script),
            "worker",
            "--mongo",
            mongo_server.url(db),
            "--exp-key",
            "old",
            name="worker",
        )
        assert driver.wait(240) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    finally:
        for proc in (driver, plain, worker):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sorted(r["tid"] for r in records(out)) == list(range(6))
    owners = [d["owner"] for d in jobs(mongo_server, db, "old")]
    assert (
        sum(isinstance(o, list) for o in owners) == 2
    )  # the plain worker's two trials


CONDITIONAL = """\
def model():
    kind = {{choice(["adam", "sgd"])}}
    if kind == "sgd":
        return {{uniform(0, 1)}} + 1
    return {{uniform(0, 1)}}
"""


def test_workers_evaluate_a_conditional_space(tmp_path, mongo_server, processes):
    # Handles under an `if` are nested in the choice's options (issue 19): the
    # worker flattens them for the model, the driver records the active ones.
    script = compile_model(tmp_path, CONDITIONAL)
    group = processes(script)
    db, out = new_db(), tmp_path / "run"
    group.worker(mongo_server.url(db), "cond", name="worker")
    driver = group.driver(
        mongo_server.url(db, "jobs"), "cond", "--max-evals", "8", out=out
    )
    group.wait(driver, limit=300)
    found = records(out)
    assert sorted(r["tid"] for r in found) == list(range(8))
    for record in found:
        params = record["params"]
        assert record["status"] == "ok", record
        sgd = params["kind"] == "sgd"
        # The handle after the branch's return stays unconditional (sound, not optimal).
        expected = {"kind", "return_value"} | (
            {"kind=sgd.return_value"} if sgd else set()
        )
        assert set(params) == expected, params
        assert (record["loss"] >= 1) == sgd

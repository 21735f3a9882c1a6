"""ParallelTrials: N trials at a time in forked processes, with plain Python objectives.

Everything here runs real hyperopt and real processes; nothing trains Keras.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import hyperopt
import numpy as np
import pytest
from hyperopt import hp
from hyperopt.exceptions import AllTrialsFailed

from hyperasc.runtime import parallel
from hyperasc.runtime.devices import plan_slots
from hyperasc.runtime.parallel import ParallelTrials

SPACE = {"x": hp.uniform("x", -5, 5), "kind": hp.choice("kind", ["a", "b", "c"])}


def search(trials, fn, max_evals, algo=hyperopt.rand.suggest, seed=0, **kwargs):
    hyperopt.fmin(
        fn,
        SPACE,
        algo=algo,
        max_evals=max_evals,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        return_argmin=False,
        **kwargs,
    )
    return trials


def sleeper(seconds):
    def objective(params):
        started = time.time()
        time.sleep(seconds)
        return {
            "loss": params["x"] ** 2,
            "status": "ok",
            "pid": os.getpid(),
            "began": started,
            "ended": time.time(),
        }

    return objective


def greatest_overlap(results):
    """The most trials that were running at one moment."""
    events = sorted(
        [(r["began"], 1) for r in results] + [(r["ended"], -1) for r in results]
    )
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


# -- the search ---------------------------------------------------------------


def test_all_slots_are_busy_at_once():
    trials = ParallelTrials(4)
    started = time.time()
    search(trials, sleeper(0.6), max_evals=8)
    elapsed = time.time() - started
    results = trials.results
    assert len(results) == 8 and all(r["status"] == "ok" for r in results)
    assert greatest_overlap(results) == 4
    assert elapsed < 2 * 0.6 + 1.0  # two rounds, not eight trials in a row
    assert len({r["pid"] for r in results}) >= 4
    assert all(r["device"] is None for r in results)


def test_rand_evaluates_the_configurations_of_a_sequential_run():
    def loss(params):
        return {"loss": params["x"] ** 2, "status": "ok"}

    sequential = search(hyperopt.Trials(), loss, max_evals=12, seed=3)
    together = search(ParallelTrials(3), loss, max_evals=12, seed=3)

    def configurations(trials):
        return {t["tid"]: json.dumps(t["misc"]["vals"]) for t in trials.trials}

    assert configurations(together) == configurations(sequential)
    assert sorted(r["loss"] for r in together.results) == sorted(
        r["loss"] for r in sequential.results
    )


def test_a_trial_process_killed_mid_trial_fails_that_trial_only(tmp_path):
    marker = tmp_path / "killed"

    def objective(params):
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGKILL)
        return {"loss": params["x"] ** 2, "status": "ok", "pid": os.getpid()}

    trials = search(ParallelTrials(2), objective, max_evals=10)
    failed = [r for r in trials.results if r["status"] == "fail"]
    assert len(trials.results) == 10
    assert len(failed) == 1
    assert "the trial process died with signal 9" in failed[0]["error"]
    assert failed[0]["duration"] >= 0.2
    assert int(marker.read_text()) not in {r.get("pid") for r in trials.results}


def linger():
    time.sleep(60)


def test_a_trial_process_killed_while_its_child_lives_is_seen_dead(tmp_path):
    """Issue 17 item 5: the child holds the pipe open; the search sees the exit."""
    import multiprocessing

    marker = tmp_path / "killed"

    def objective(params):
        try:
            first = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return {"loss": params["x"] ** 2, "status": "ok"}
        child = multiprocessing.get_context("fork").Process(target=linger)
        child.start()
        os.write(first, str(child.pid).encode())
        os.close(first)
        os.kill(os.getpid(), signal.SIGKILL)
        return {"loss": params["x"] ** 2, "status": "ok"}

    def too_long(*unused):
        raise TimeoutError("the search did not see the trial process die")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(60)
    started = time.time()
    try:
        trials = search(ParallelTrials(2), objective, max_evals=4)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.time() - started < 30
    failed = [r for r in trials.results if r["status"] == "fail"]
    assert len(trials.results) == 4 and len(failed) == 1
    assert "the trial process died with signal 9" in failed[0]["error"]
    # The child was in the trial process's group, and ended with it.
    child = int(marker.read_text())
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with open(f"/proc/{child}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.02)
    else:
        raise AssertionError("the trial's child outlived it")


def test_an_exception_is_a_failed_trial_with_its_traceback():
    def objective(params):
        if params["kind"] == "b":
            raise RuntimeError("broken configuration")
        return params["x"] ** 2

    trials = search(ParallelTrials(2), objective, max_evals=12)
    failed = [r for r in trials.results if r["status"] == "fail"]
    assert len(trials.results) == 12
    assert failed and all(
        "RuntimeError: broken configuration" in r["error"] for r in failed
    )
    assert all("Traceback" in r["error"] for r in failed)


def test_a_result_that_cannot_be_sent_back_is_a_failed_trial():
    def objective(params):
        return {"loss": 1.0, "status": "ok", "model": lambda: None}

    trials = ParallelTrials(2)
    with pytest.raises(AllTrialsFailed):  # as hyperopt's fmin says it
        search(trials, objective, max_evals=2)
    assert [r["status"] for r in trials.results] == ["fail", "fail"]
    assert "cannot be sent back" in trials.results[0]["error"]


def test_each_slot_sees_its_own_device_environment():
    def objective(params):
        time.sleep(0.3)  # long enough that every slot takes trials
        seen = {
            name: os.environ.get(name)
            for name in ("CUDA_VISIBLE_DEVICES", "TF_FORCE_GPU_ALLOW_GROWTH")
        }
        return {"loss": 0.0, "status": "ok", "seen": seen}

    slots = plan_slots(None, ["0", "0", "MIG-9"])
    before = dict(os.environ)
    trials = search(ParallelTrials(slots), objective, max_evals=6)
    assert dict(os.environ) == before  # only the children are pinned
    devices = set()
    for result in trials.results:
        devices.add(result["device"])
        assert result["seen"]["CUDA_VISIBLE_DEVICES"] == result["device"]
        growth = "true" if result["device"] == "0" else None
        assert result["seen"]["TF_FORCE_GPU_ALLOW_GROWTH"] == growth
    assert devices == {"0", "MIG-9"}
    assert ParallelTrials(slots).devices() == ["0", "MIG-9"]


def test_child_setup_runs_once_in_each_fresh_process():
    def setup(slot):
        os.environ["SETUP_PID"] = str(os.getpid())

    def objective(params):
        return {
            "loss": 0.0,
            "status": "ok",
            "setup": os.environ.get("SETUP_PID"),
            "pid": os.getpid(),
        }

    trials = search(
        ParallelTrials(1, trials_per_process=2, child_setup=setup), objective, 6
    )
    assert all(r["setup"] == str(r["pid"]) for r in trials.results)
    assert "SETUP_PID" not in os.environ


def test_trial_processes_are_replaced_every_k_trials():
    def objective(params):
        return {"loss": 0.0, "status": "ok", "pid": os.getpid()}

    trials = search(ParallelTrials(1, trials_per_process=2), objective, max_evals=6)
    pids = [r["pid"] for r in trials.results]
    assert len(set(pids)) == 3
    assert pids[0] == pids[1] and pids[2] == pids[3] and pids[4] == pids[5]
    for pid in set(pids):
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # each was reaped


def test_a_slot_starts_its_next_process_only_once_the_last_one_is_gone(tmp_path):
    last = tmp_path / "last-pid"

    class SlowExit:
        def flush(self):  # what a trial process does last: it now takes 0.5 s to exit
            time.sleep(0.5)

    def objective(params):
        previous = int(last.read_text()) if last.exists() else None
        last.write_text(str(os.getpid()))
        sys.stdout = SlowExit()
        return {
            "loss": 0.0,
            "status": "ok",
            "previous_alive": previous is not None and alive(previous),
        }

    trials = search(ParallelTrials(1, trials_per_process=1), objective, max_evals=5)
    assert [r["previous_alive"] for r in trials.results] == [False] * 5


def test_timeout_starts_no_trial_after_it():
    started = time.time()
    trials = search(ParallelTrials(2), sleeper(0.5), max_evals=100, timeout=1.2)
    elapsed = time.time() - started
    assert 2 <= len(trials.trials) <= 8
    assert trials.unfinished_tids() == []  # running ones finished, queued ones dropped
    assert (
        max(r["began"] for r in trials.results) < started + 1.2 + 0.5
    )  # a poll, under load
    assert elapsed < 4.0


def test_loss_threshold_stops_the_search():
    def objective(params):
        time.sleep(0.2)
        return -1.0

    trials = search(ParallelTrials(2), objective, max_evals=50, loss_threshold=0.0)
    assert 1 <= len(trials.trials) <= 6
    assert trials.unfinished_tids() == []


def test_early_stop_sees_every_finished_trial():
    seen = []

    def early_stop(trials, *state):
        # hyperopt's no_progress_loss reads the newest trial, which is still
        # queued in an asynchronous search: count finished trials instead.
        done = {
            t["tid"] for t in trials.trials if t["state"] == hyperopt.JOB_STATE_DONE
        }
        seen.append(done)
        return len(done) >= 3, []

    trials = search(
        ParallelTrials(2), sleeper(0.1), max_evals=50, early_stop_fn=early_stop
    )
    assert 3 <= len(trials.trials) < 8
    assert trials.unfinished_tids() == []
    assert seen[-1] == {t["tid"] for t in trials.trials}  # the last call saw them all


def test_new_trial_ids_fill_the_gaps_of_lost_trials():
    trials = ParallelTrials(1)
    for doc in search(hyperopt.Trials(), lambda p: 0.0, max_evals=5).trials:
        if doc["tid"] != 2:  # trial 2 was running when the search was killed
            trials.insert_trial_docs([doc])
    trials.refresh()
    assert trials.new_trial_ids(3) == [2, 5, 6]


def test_local_trials_hold_a_resumed_run_and_rerun_its_lost_ids():
    previous = search(hyperopt.Trials(), lambda p: 0.0, max_evals=4)
    previous._dynamic_trials.pop(1)  # trial 1 was running when the search was killed
    previous.attachments["note"] = b"kept"
    previous.refresh()
    trials = parallel.LocalTrials.holding(previous)
    assert [t["tid"] for t in trials.trials] == [0, 2, 3]
    assert trials.attachments["note"] == b"kept"
    search(trials, lambda p: 0.0, max_evals=5)  # sequential, as without --parallel
    assert sorted(t["tid"] for t in trials.trials) == [0, 1, 2, 3, 4]


def test_evaluate_here_runs_the_trial_in_this_process():
    from hyperasc.runtime.trial import TrialScope

    TrialScope.configure(None, 5, seeding=False, process=parallel.evaluate_here)
    try:
        result = parallel.evaluate_here(
            lambda sampled: sampled["x"] * 2, {"x": 0.25}, 3, None
        )
    finally:
        TrialScope.configure(None, 0)
    assert result["status"] == "ok" and result["loss"] == 0.5


# -- stopping: Ctrl-C and a killed search process --------------------------------

DRIVER = """
import json, os, sys, time
import numpy as np, hyperopt
from hyperopt import hp
from hyperasc.runtime.parallel import ParallelTrials

pids = sys.argv[1]

def objective(params):
    open(os.path.join(pids, str(os.getpid())), "w").close()
    time.sleep(60)
    return 0.0

trials = ParallelTrials(2)
try:
    hyperopt.fmin(objective, hp.uniform("x", 0, 1), algo=hyperopt.rand.suggest,
                  max_evals=10, trials=trials, rstate=np.random.default_rng(0),
                  show_progressbar=False)
except KeyboardInterrupt:
    print(json.dumps(trials.unfinished_tids()))
    sys.exit(130)
"""


def start_driver(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    pids = tmp_path / "pids"
    pids.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(pids)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job
    )
    deadline = time.time() + 60
    while len(list(pids.iterdir())) < 2:
        assert time.time() < deadline and process.poll() is None, "no trials started"
        time.sleep(0.05)
    return process, pids


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # zombies are gone
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.time() + seconds
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_children_die_within_seconds_of_a_sigkilled_search(tmp_path):
    process, pid_dir = start_driver(tmp_path)
    children = [int(p.name) for p in pid_dir.iterdir()]
    assert all(alive(p) for p in children)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert wait_gone(children, 5.0) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_ctrl_c_stops_the_children_and_keeps_the_unfinished_trials(tmp_path):
    process, pid_dir = start_driver(tmp_path)
    children = [int(p.name) for p in pid_dir.iterdir()]
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends to the job
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    unfinished = json.loads(out)
    assert set(unfinished) >= {0, 1}  # the two running trials: --resume reruns them
    assert wait_gone(children, 5.0) == []


# -- the generated script's pieces ------------------------------------------------


class FileModel:
    """Stands for a Keras model: save() writes its loss where it is told."""

    def __init__(self, loss):
        self.loss = loss

    def save(self, path):
        time.sleep(0.05)  # saving takes a while, so processes overlap
        Path(path).write_text(str(self.loss))


def test_best_model_is_replaced_only_by_a_better_one_across_processes(tmp_path):
    from hyperasc.runtime.run_directory import RunDirectory

    run = RunDirectory(str(tmp_path))
    run.best_loss = 0.5  # as a resumed run knows it
    best = parallel.SharedBestModel(run)
    losses = [0.9, 0.3, 0.7, 0.1, 0.4, 0.2, 0.6, 0.05, 0.8]
    pids = []
    for loss in losses:
        pid = os.fork()
        if pid == 0:  # what TrialScope.report does in a trial process
            code = 1
            try:
                if loss < best.best_loss:
                    best.save_model(FileModel(loss))
                    best.best_loss = loss
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert best.best_loss == 0.05
    assert (tmp_path / "best_model.keras").read_text() == "0.05"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.keras"]


def test_open_parallel_trials_continues_a_resumed_run(tmp_path):
    from argparse import Namespace

    from hyperasc.runtime.run_directory import RunDirectory

    previous = search(hyperopt.Trials(), lambda p: p["x"] ** 2, max_evals=3)
    run = RunDirectory(str(tmp_path))
    args = Namespace(
        slots=plan_slots(2, None),
        trials_per_process=3,
        seed=7,
        trial_seed=True,
    )
    trials = parallel.open_parallel_trials(run, previous, args)
    assert [t["tid"] for t in trials.trials] == [0, 1, 2]
    assert len(trials.slots) == 2
    search(
        trials, lambda p: {"loss": 0.0, "status": "ok", "pid": os.getpid()}, max_evals=6
    )
    assert [t["tid"] for t in trials.trials] == [0, 1, 2, 3, 4, 5]
    assert {r.get("pid") for r in trials.results[3:]}.isdisjoint({os.getpid()})


@pytest.mark.slow  # imports TensorFlow
def test_deterministic_ops_are_on_in_every_tensorflow_trial_process():
    code = textwrap.dedent("""
        import os
        os.environ.pop("KERAS_BACKEND", None)
        import hyperopt, numpy as np
        from hyperasc.runtime import parallel
        assert parallel.enable_determinism() == "tensorflow"
        from tensorflow.python.framework import config

        def objective(params):
            return {"loss": 0.0, "status": "ok", "on": config.is_op_determinism_enabled()}

        trials = parallel.ParallelTrials(2)
        hyperopt.fmin(objective, hyperopt.hp.uniform("x", 0, 1), algo=hyperopt.rand.suggest,
                      max_evals=4, trials=trials, rstate=np.random.default_rng(0),
                      show_progressbar=False)
        print([r["on"] for r in trials.results])
        """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[True, True, True, True]"


def test_deterministic_ops_for_jax_are_an_xla_flag(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    assert parallel.enable_determinism() == "jax"
    assert (
        os.environ["XLA_FLAGS"]
        == "--xla_dump_to=/tmp/x --xla_gpu_deterministic_ops=true"
    )

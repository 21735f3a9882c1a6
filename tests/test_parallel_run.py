"""The generated script with --parallel and --gpus (issue 11), run as a user runs it.

Each test compiles a model file and runs the script in a subprocess. No GPU is
needed: device pinning is checked through the environment each trial process
saw.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_tuning_run import compile_model, load_checkpoint, records, run, wait_for_lines

from hyperasc.runtime import options
from hyperasc.runtime.script import Script

# Each trial notes its process and the device environment it saw.
PINNED_MODEL = """
import os
import time


def model():
    x = {{uniform(-5, 5)}}
    kind = {{choice(["a", "b", "c"])}}
    folder = os.environ.get("PID_DIR")
    if folder:
        open(os.path.join(folder, str(os.getpid())), "w").close()
    time.sleep(float(os.environ.get("TRIAL_SLEEP", "0")))
    return {
        "loss": x ** 2,
        "status": "ok",
        "pid": os.getpid(),
        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "growth": os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH"),
        "began": time.time() - float(os.environ.get("TRIAL_SLEEP", "0")),
        "ended": time.time(),
    }
"""


def results(out: Path) -> dict[int, dict]:
    return {t["tid"]: t["result"] for t in load_checkpoint(out).trials}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.time() + seconds
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


# -- the command line -----------------------------------------------------------


def parse(*argv: str):
    return options.parse_args(
        Script(path="tune.py", trial=None, model_file="model.py"), list(argv)
    )


def test_gpus_make_one_pinned_slot_per_device_without_probing():
    args = parse("--gpus", "0,1,MIG-5c1e")
    assert [s.device for s in args.slots] == ["0", "1", "MIG-5c1e"]
    assert args.slots[2].env == {"CUDA_VISIBLE_DEVICES": "MIG-5c1e"}
    assert parse("--parallel", "3").slots == options.plan_slots(3, None)
    assert parse().slots is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--parallel", "0"], "--parallel must be at least 1"),
        (["--parallel", "2", "--spark", "2"], "they exclude --mongo and --spark"),
        (["--gpus", "0", "--in-process"], "they exclude --in-process"),
        (
            ["--parallel", "1", "--gpus", "0,1"],
            "--parallel 1 is less than the 2 devices",
        ),
        (["--gpus", "0,,1"], "expected a list like 0,1 or all"),
        (["--gpus", "all"], "no GPU is visible"),
        (
            ["--deterministic", "--spark", "2"],
            "--deterministic applies to trials run on this machine",
        ),
    ],
)
def test_bad_parallel_options_are_one_line_errors(argv, message, monkeypatch, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error and error.startswith("usage:") is False


def test_gpus_all_takes_the_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,GPU-8a")
    assert [s.device for s in parse("--gpus", "all").slots] == ["3", "GPU-8a"]
    worker = options.parse_args(
        Script(path="tune.py", trial=None),
        ["worker", "--mongo", "mongo://h/db", "--gpus", "all"],
    )
    assert worker.gpus == ["3", "GPU-8a"]


def test_list_devices_says_what_gpus_all_would_use(monkeypatch, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,2")
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi here
    with pytest.raises(SystemExit) as exit_info:
        parse("--list-devices")
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    assert "--gpus all uses 1,2" in captured.out
    assert "nvidia-smi lists no GPU" in captured.err


# -- runs -------------------------------------------------------------------------


@pytest.mark.slow  # runs the compiled script
def test_parallel_rand_runs_the_sequential_configurations_with_devices_recorded(
    tmp_path,
):
    script = compile_model(tmp_path, PINNED_MODEL)
    common = ["--algo", "rand", "--max-evals", "8", "--seed", "4", "--quiet"]
    run(script, *common, "--out", str(tmp_path / "one"))
    run(
        script,
        *common,
        "--out",
        str(tmp_path / "two"),
        "--gpus",
        "0,0,7",
        env={"TRIAL_SLEEP": "0.3"},
    )
    sequential, parallel = records(tmp_path / "one"), records(tmp_path / "two")
    assert [r["tid"] for r in parallel] != [] and sorted(
        r["tid"] for r in parallel
    ) == list(range(8))
    by_tid = {r["tid"]: r for r in parallel}
    assert all(by_tid[r["tid"]]["params"] == r["params"] for r in sequential)
    assert all(by_tid[r["tid"]]["loss"] == r["loss"] for r in sequential)
    assert {r["device"] for r in parallel} == {"0", "7"}
    for tid, result in results(tmp_path / "two").items():
        assert result["cuda"] == result["device"] == by_tid[tid]["device"]
        assert result["growth"] == ("true" if result["device"] == "0" else None)
    info = json.loads((tmp_path / "two" / "run.json").read_text())
    assert info["parallel"] == {
        "processes": 3,
        "devices": ["0", "0", "7"],
        "trials_per_process": 3,
    }
    assert info["deterministic"] is False
    assert (
        json.loads((tmp_path / "one" / "run.json").read_text()).get("parallel") is None
    )


@pytest.mark.slow  # runs the compiled script
def test_parallel_keeps_every_slot_busy(tmp_path):
    script = compile_model(tmp_path, PINNED_MODEL)
    out = tmp_path / "run"
    run(
        script,
        "--max-evals",
        "6",
        "--parallel",
        "3",
        "--out",
        str(out),
        "--quiet",
        env={"TRIAL_SLEEP": "1"},
    )
    found = list(results(out).values())
    events = sorted(
        [(r["began"], 1) for r in found] + [(r["ended"], -1) for r in found]
    )
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert most == 3
    assert max(r["ended"] for r in found) - min(r["began"] for r in found) < 2 * 1 + 1.5


@pytest.mark.slow
def test_sigkill_then_resume_loses_and_repeats_nothing_and_leaves_no_process(tmp_path):
    script = compile_model(tmp_path, PINNED_MODEL)
    out, pids = tmp_path / "run", tmp_path / "pids"
    pids.mkdir()
    args = [
        sys.executable,
        str(script),
        "--max-evals",
        "8",
        "--seed",
        "2",
        "--algo",
        "rand",
        "--out",
        str(out),
        "--quiet",
        "--parallel",
        "2",
    ]
    env = {**os.environ, "TRIAL_SLEEP": "0.5", "PID_DIR": str(pids)}
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    wait_for_lines(out / "trials.jsonl", 3, proc)
    time.sleep(0.2)  # two trials running
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    children = [int(p.name) for p in pids.iterdir()]
    assert wait_gone(children, 5.0) == []
    finished = records(out)
    assert len(finished) == len(load_checkpoint(out).trials) >= 3

    run(script, *args[2:], "--resume", env={"TRIAL_SLEEP": "0.1"})
    resumed = records(out)
    assert sorted(r["tid"] for r in resumed) == list(
        range(8)
    )  # each trial once, none lost
    assert resumed[: len(finished)] == finished
    assert sorted(results(out)) == list(range(8))

    uninterrupted = tmp_path / "whole"
    run(
        script,
        *args[2:4],
        "--seed",
        "2",
        "--algo",
        "rand",
        "--out",
        str(uninterrupted),
        "--quiet",
    )
    assert sorted((r["tid"], json.dumps(r["params"])) for r in resumed) == sorted(
        (r["tid"], json.dumps(r["params"])) for r in records(uninterrupted)
    )


@pytest.mark.slow
def test_a_sequential_resume_after_a_killed_parallel_run_reuses_the_lost_ids(tmp_path):
    script = compile_model(tmp_path, PINNED_MODEL)
    out = tmp_path / "run"
    args = [
        sys.executable,
        str(script),
        "--max-evals",
        "6",
        "--out",
        str(out),
        "--quiet",
        "--parallel",
        "2",
    ]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "TRIAL_SLEEP": "0.7"},
    )
    wait_for_lines(out / "trials.jsonl", 2, proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Sequential: an option of where trials run replaces the run's --parallel.
    run(script, *args[2:-2], "--resume", "--trials-per-process", "3")
    assert sorted(r["tid"] for r in records(out)) == list(range(6))


@pytest.mark.slow
def test_ctrl_c_exits_130_stops_the_children_and_resume_finishes(tmp_path):
    script = compile_model(tmp_path, PINNED_MODEL)
    out, pids = tmp_path / "run", tmp_path / "pids"
    pids.mkdir()
    args = [
        sys.executable,
        str(script),
        "--max-evals",
        "6",
        "--out",
        str(out),
        "--quiet",
        "--parallel",
        "2",
    ]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRIAL_SLEEP": "0.6", "PID_DIR": str(pids)},
        start_new_session=True,
    )
    wait_for_lines(out / "trials.jsonl", 2, proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole job
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "--resume runs them again" in stderr and "Traceback" not in stderr
    assert wait_gone([int(p.name) for p in pids.iterdir()], 5.0) == []
    saved = len(load_checkpoint(out).trials)
    assert saved >= 2 and len(records(out)) == saved
    run(script, *args[2:], "--resume")
    assert sorted(r["tid"] for r in records(out)) == list(range(6))


@pytest.mark.slow
def test_a_trial_process_killed_mid_trial_is_a_failed_trial(tmp_path):
    script = compile_model(
        tmp_path,
        """
        import os
        import signal


        def model():
            x = {{uniform(0, 1)}}
            if x > 0.7:
                os.kill(os.getpid(), signal.SIGKILL)
            return x
        """,
    )
    out = tmp_path / "run"
    run(
        script,
        "--max-evals",
        "12",
        "--algo",
        "rand",
        "--out",
        str(out),
        "--quiet",
        "--parallel",
        "2",
    )
    lines = records(out)
    failed = [r for r in lines if r["status"] == "fail"]
    assert len(lines) == 12 and failed and len(failed) < 12
    assert all(
        r["error"].startswith("the trial process died with signal 9") for r in failed
    )
    assert all(r["params"]["x"] > 0.7 for r in failed)


@pytest.mark.slow
def test_timeout_early_stop_loss_threshold_and_points_with_parallel(tmp_path):
    script = compile_model(
        tmp_path,
        """
        import time


        def model():
            x = {{uniform(0, 1)}}
            time.sleep(0.3)
            return 5.0 + x
        """,
    )
    common = ["--max-evals", "40", "--quiet", "--parallel", "2"]
    run(script, *common, "--early-stop", "3", "--out", str(tmp_path / "a"))
    assert (
        4 <= len(records(tmp_path / "a")) <= 6
    )  # the trials running when it stopped finish
    run(script, *common, "--loss-threshold", "6", "--out", str(tmp_path / "b"))
    assert 1 <= len(records(tmp_path / "b")) <= 3
    started = time.time()
    run(script, *common, "--timeout", "1.5", "--out", str(tmp_path / "c"))
    assert 2 <= len(records(tmp_path / "c")) <= 12 and time.time() - started < 30
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}]))
    run(
        script,
        "--max-evals",
        "5",
        "--quiet",
        "--parallel",
        "2",
        "--points",
        str(points),
        "--out",
        str(tmp_path / "d"),
    )
    by_tid = {r["tid"]: r for r in records(tmp_path / "d")}
    assert [by_tid[t]["params"]["x"] for t in (0, 1, 2)] == [0.25, 0.5, 0.75]


@pytest.mark.slow
def test_keras_trials_in_parallel_are_deterministic_and_keep_the_best_model(tmp_path):
    script = compile_model(tmp_path)  # examples/digits_mlp.py
    losses = []
    for name in ("a", "b"):
        out = tmp_path / name
        run(
            script,
            "--max-evals",
            "4",
            "--seed",
            "3",
            "--out",
            str(out),
            "--quiet",
            "--gpus",
            "0,0",
            "--deterministic",
        )
        lines = records(out)
        assert all(r["status"] == "ok" and r["device"] == "0" for r in lines), lines
        losses.append({r["tid"]: r["loss"] for r in lines})
        best = json.loads((out / "best.json").read_text())
        assert best["loss"] == min(r["loss"] for r in lines)
        assert (out / "best_model.keras").read_bytes()[:2] == b"PK"
        assert not [p.name for p in out.iterdir() if p.name.startswith(".best_model")]
        info = json.loads((out / "run.json").read_text())
        assert info["deterministic"] == "tensorflow"
    assert losses[0] == losses[1]


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /proc and ps --ppid"
)
def test_a_sigkilled_worker_supervisor_takes_its_workers_with_it(
    tmp_path, mongo_server
):
    script = compile_model(tmp_path, PINNED_MODEL)
    supervisor = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "worker",
            "--mongo",
            mongo_server.url("orphans"),
            "--exp-key",
            "k",
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while len(child_pids(supervisor.pid)) < 2:
        assert (
            time.time() < deadline and supervisor.poll() is None
        ), "the workers did not start"
        time.sleep(0.1)
    workers = child_pids(supervisor.pid)
    time.sleep(2)  # the workers are past their imports, polling the database
    assert all(alive(p) for p in workers)
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait()
    assert wait_gone(workers, 5.0) == []

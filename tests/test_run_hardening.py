"""The run directory and the script's failure paths, as users hit them (issue 9).

Every path ends in one plainly worded line and an exit status, never a
traceback, and no run directory is left that can be neither resumed nor
restarted.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import QUICK_MODEL, compile_text, run_script

pytestmark = pytest.mark.slow

MODEL = QUICK_MODEL  # a deterministic loss; TRIAL_SLEEP slows it down


def script_for(tmp_path: Path, text: str = MODEL, name: str = "tune.py") -> Path:
    path = tmp_path / name
    path.write_text(compile_text(text))
    return path


def tids(out: Path) -> list[int]:
    return [
        json.loads(line)["tid"]
        for line in (out / "trials.jsonl").read_text().splitlines()
    ]


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def test_killed_during_the_first_trial_resumes_from_zero(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    env = {**os.environ, "TRIAL_SLEEP": "30"}
    proc = subprocess.Popen(
        [sys.executable, str(script), "--out", str(out), "--quiet", "--max-evals", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not (out / "run.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (out / "run.json").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "checkpoint").exists()
    result = run_script(script, out, "--max-evals", "2", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert tids(out) == [0, 1]


def test_arguments_are_checked_before_anything_is_written(tmp_path):
    script = script_for(tmp_path)
    bad_points = tmp_path / "points.json"
    bad_points.write_text('[{"x": 1.0}]')
    for args, words in (
        (["--points", str(bad_points)], "--points"),
        (["--points", str(tmp_path / "missing.json")], "cannot read --points"),
        (["--seed", "-5"], "--seed must be between"),
        (["--timeout", "0"], "--timeout must be positive"),
    ):
        out = tmp_path / "run"
        result = run_script(script, out, *args)
        assert result.returncode in (1, 2), (args, result.stderr)
        assert words in result.stderr
        no_traceback(result)
        assert not out.exists(), args


def test_resume_refuses_a_changed_space_and_leaves_run_json_alone(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "2").returncode == 0
    before = (out / "run.json").read_bytes()
    changed = script_for(
        tmp_path, MODEL.replace("uniform(-5, 5)", "uniform(-5, 6)"), "tune2.py"
    )
    result = run_script(changed, out, "--max-evals", "3", "--resume")
    assert result.returncode == 1
    assert "search space changed" in result.stderr and "x" in result.stderr
    no_traceback(result)
    assert (out / "run.json").read_bytes() == before
    # A comment or a moved line is not a change of space.
    moved = script_for(tmp_path, "# a comment\n\n" + MODEL, "tune3.py")
    result = run_script(moved, out, "--max-evals", "3", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert tids(out) == [0, 1, 2]


def test_resume_keeps_the_seed_and_every_command_line(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "2", "--seed", "7").returncode == 0
    refused = run_script(script, out, "--max-evals", "3", "--resume", "--seed", "8")
    assert (
        refused.returncode == 1
        and "--seed 7" in refused.stderr
        and "--reseed" in refused.stderr
    )
    no_traceback(refused)
    assert run_script(script, out, "--max-evals", "3", "--resume").returncode == 0
    assert (
        run_script(
            script, out, "--max-evals", "4", "--resume", "--seed", "8", "--reseed"
        ).returncode
        == 0
    )
    info = json.loads((out / "run.json").read_text())
    assert info["argv"][info["argv"].index("--seed") + 1] == "7"
    assert [r["argv"][r["argv"].index("--max-evals") + 1] for r in info["resumes"]] == [
        "3",
        "4",
    ]
    assert info["seed"] == 8 and tids(out) == [0, 1, 2, 3]


@pytest.mark.parametrize("damage", [b"", b"\x80\x04\x95garbage", None])
def test_a_damaged_checkpoint_is_rebuilt_from_trials_jsonl(tmp_path, damage):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "3").returncode == 0
    first = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    if damage is None:
        (out / "checkpoint").unlink()
    else:
        (out / "checkpoint").write_bytes(damage)
    result = run_script(script, out, "--max-evals", "5", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rebuilding the search from 3 trial(s)" in result.stderr
    no_traceback(result)
    records = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    assert [r["tid"] for r in records] == [0, 1, 2, 3, 4]
    assert records[:3] == first


def test_a_search_where_every_trial_failed_exits_1_with_the_first_error(tmp_path):
    text = "def model():\n    x = {{uniform(0, 1)}}\n    raise ValueError(f'units must be an int, got {x!r}'[:24])\n"
    script = script_for(tmp_path, text)
    result = run_script(script, tmp_path / "run", "--max-evals", "2", "--in-process")
    assert result.returncode == 1
    assert "every trial failed" in result.stderr
    assert "ValueError: units must be an int" in result.stderr
    no_traceback(result)


def test_an_unreachable_mongodb_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    script = script_for(tmp_path)
    started = time.time()
    result = run_script(
        script,
        tmp_path / "run",
        "--mongo",
        f"mongo://alice:secret@127.0.0.1:{port}/db/jobs",
        "--exp-key",
        "e1",
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        f"cannot reach MongoDB at mongo://alice:***@127.0.0.1:{port}/db/jobs"
        in result.stderr
    )
    assert "secret" not in result.stderr
    no_traceback(result)
    assert time.time() - started < 60
    assert len(result.stderr.strip().splitlines()) == 1


def test_unexpected_errors_are_one_line_unless_debug_is_asked(tmp_path):
    # A data() that raises, called to build the space (a bound reads its value).
    text = "def data():\n    raise OSError('no such dataset')\n\n\ndef model(a):\n    return {{uniform(0, a)}}\n"
    script = script_for(tmp_path, text)
    result = run_script(script, tmp_path / "run", "--in-process")
    assert result.returncode == 1, result.stderr
    assert "OSError: no such dataset" in result.stderr
    no_traceback(result)
    debug = subprocess.run(
        [
            sys.executable,
            str(script),
            "--out",
            str(tmp_path / "run2"),
            "--debug",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" in debug.stderr and debug.returncode != 0


def test_a_refused_mongodb_password_is_one_line(tmp_path):
    import pymongo

    from conftest import MongoServer, secantusdb_server

    server = MongoServer(
        secantusdb_server(), tmp_path / "data", tmp_path / "server.log"
    )
    server.start()
    try:  # provision a user, then restart the server requiring authentication
        client = pymongo.MongoClient("127.0.0.1", server.port)
        client["db"].command("createUser", "alice", pwd="right", roles=["readWrite"])
        client.close()
    finally:
        server.stop()
    launcher = server.launcher
    server.launcher = tmp_path / "secantusd-auth"
    server.launcher.write_text(f'#!/bin/sh\nexec {launcher} --auth "$@"\n')
    server.launcher.chmod(0o755)
    server.start()
    try:
        script = script_for(tmp_path)
        result = run_script(
            script,
            tmp_path / "run",
            "--mongo",
            f"mongo://alice:wrong@127.0.0.1:{server.port}/db/jobs",
            "--exp-key",
            "e1",
            timeout=120,
        )
    finally:
        server.stop()
    assert result.returncode == 1
    assert (
        f"MongoDB at mongo://alice:***@127.0.0.1:{server.port}/db/jobs refused the user name or password"
        in result.stderr
    )
    assert "wrong" not in result.stderr
    no_traceback(result)
    assert len(result.stderr.strip().splitlines()) == 1

"""Issue 17 items 5, 6 and 8: a dying trial is seen dead, nothing is lost or
repeated, damaged records never crash --resume. Real processes throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import QUICK_MODEL, compile_text, run_script

pytestmark = pytest.mark.slow

# The first trial starts a child process, then is killed as by the OOM
# killer; the child inherits the trial process's end of the pipe and lives on.
ORPHANING_MODEL = """
import multiprocessing
import os
import time


def data():
    return 0


def linger():
    time.sleep(120)


def model(unused):
    x = {{uniform(-5, 5)}}
    try:
        marker = os.open(os.environ["MARKER"], os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return x * x
    child = multiprocessing.get_context("fork").Process(target=linger)
    child.start()
    os.write(marker, str(child.pid).encode())
    os.close(marker)
    os.kill(os.getpid(), 9)
"""

# A computed choice: the compiler cannot record its options.
COMPUTED_MODEL = """
import os
import time

SIZES = [16, 32, 64]


def data():
    return 0


def model(unused):
    n = {{choice(list(range(3)))}}
    size = {{choice(SIZES)}}
    x = {{uniform(-5, 5)}}
    time.sleep(float(os.environ.get("TRIAL_SLEEP", "0")))
    return x * x + n + size / 64
"""


def script_for(tmp_path: Path, text: str = QUICK_MODEL) -> Path:
    path = tmp_path / "tune.py"
    path.write_text(compile_text(text))
    return path


def lines_of(out: Path) -> list[dict]:
    return [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]


def gone(pid: int) -> bool:
    """Not running: exited, or a zombie nobody has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# -- item 5 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode",
    [["--trials-per-process", "2"], ["--parallel", "2"]],
    ids=["forked", "parallel"],
)
def test_a_trial_killed_while_its_child_lives_is_recorded_failed(tmp_path, mode):
    script = script_for(tmp_path, ORPHANING_MODEL)
    out = tmp_path / "run"
    marker = tmp_path / "marker"
    env = {**os.environ, "MARKER": str(marker)}
    started = time.time()
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(out), "--quiet"]
        + ["--max-evals", "4", *mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,  # before the fix: forever
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.time() - started < 90
    found = lines_of(out)
    assert sorted(r["tid"] for r in found) == [0, 1, 2, 3]
    failed = [r for r in found if r["status"] == "fail"]
    assert len(failed) == 1
    assert "the trial process died with signal 9" in failed[0]["error"]
    child = int(marker.read_text())
    deadline = time.time() + 10
    while not gone(child) and time.time() < deadline:
        time.sleep(0.05)
    assert gone(child)  # ended with the trial process's group


# -- item 6: rebuilt runs ------------------------------------------------------


def test_a_record_that_no_longer_fits_keeps_its_tid(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "3").returncode == 0
    found = lines_of(out)
    found[1]["params"]["kind"] = "z"  # not an option of the space
    (out / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in found))
    (out / "checkpoint").unlink()
    result = run_script(script, out, "--max-evals", "5", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    notes = [line for line in result.stderr.splitlines() if "no longer fit" in line]
    assert len(notes) == 1 and "(1; trial 1: " in notes[0]
    assert [r["tid"] for r in lines_of(out)] == [0, 1, 2, 3, 4]  # 1 never reused
    # The next resume reads the checkpoint, which keeps tid 1 taken.
    result = run_script(script, out, "--max-evals", "6", "--resume")
    assert result.returncode == 0 and "rebuilding" not in result.stderr
    assert [r["tid"] for r in lines_of(out)] == [0, 1, 2, 3, 4, 5]
    assert "1 failed" in result.stdout


def test_computed_choice_options_survive_a_rebuild(tmp_path):
    script = script_for(tmp_path, COMPUTED_MODEL)
    whole, out = tmp_path / "whole", tmp_path / "run"
    assert run_script(script, whole, "--max-evals", "6").returncode == 0
    env = {**os.environ, "TRIAL_SLEEP": "0.5", "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(
        [sys.executable, str(script), "--out", str(out), "--quiet"]
        + ["--max-evals", "6"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        path = out / "trials.jsonl"
        if path.exists() and len(path.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = lines_of(out)
    assert 3 <= len(before) < 6
    (out / "checkpoint").write_bytes(b"")  # damaged: rebuilt from trials.jsonl
    result = run_script(script, out, "--max-evals", "6", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"rebuilding the search from {len(before)} trial(s)" in result.stderr
    assert "no longer fit" not in result.stderr
    after = lines_of(out)
    assert after[: len(before)] == before  # finished trials were not rerun
    assert sorted(r["tid"] for r in after) == list(range(6))
    # Resumed equals uninterrupted, choices of computed options included.
    assert [r["params"] for r in sorted(after, key=lambda r: r["tid"])] == [
        r["params"] for r in lines_of(whole)
    ]


# -- item 6: --points ----------------------------------------------------------


@pytest.mark.parametrize(
    "point, words",
    [
        ({"x": float("nan"), "kind": "a"}, "point 0: x = nan is not a finite number"),
        ({"x": 7.5, "kind": "a"}, "point 0: x = 7.5 is outside [-5, 5] (uniform)"),
        ({"x": "1", "kind": "a"}, "point 0: x = '1' is not a number"),
        ({"x": 1.0, "kind": "d"}, "point 0: 'd' is not an option of kind"),
        ({"x": 1.0, "kind": "a", "y": 2}, "unknown names ['y']"),
    ],
)
def test_points_outside_the_space_are_refused_before_anything_is_written(
    tmp_path, point, words
):
    script = script_for(tmp_path)
    points = tmp_path / "points.json"
    points.write_text(json.dumps([point]))  # NaN as JSON's NaN
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "3", "--points", str(points))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: --points {points}: " + result.stderr.split(f"{points}: ", 1)[1].strip()
    ]
    assert words in result.stderr
    assert not out.exists()


def test_points_of_computed_choices_are_checked_against_their_options(tmp_path):
    script = script_for(tmp_path, COMPUTED_MODEL)
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"n": 2, "size": 64, "x": 0.0}]))
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "2", "--points", str(points))
    assert result.returncode == 0, result.stderr[-3000:]
    assert lines_of(out)[0]["params"] == {"n": 2, "size": 64, "x": 0.0}
    points.write_text(json.dumps([{"n": 2, "size": 48, "x": 0.0}]))
    result = run_script(
        script, tmp_path / "other", "--max-evals", "2", "--points", str(points)
    )
    assert result.returncode == 1
    assert "48 is not an option of size" in result.stderr
    assert not (tmp_path / "other").exists()


# -- item 8: damaged records ---------------------------------------------------


def test_resume_with_damaged_records_notes_each_and_goes_on(tmp_path):
    script = script_for(tmp_path)
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "4").returncode == 0
    found = lines_of(out)
    found[0]["tid"] = "0"
    del found[1]["tid"]
    found[2]["loss"], found[2]["status"] = None, "ok"
    (out / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in found))
    (out / "checkpoint").unlink()
    result = run_script(script, out, "--max-evals", "6", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes[1:] == [
        "note: record 1 of trials.jsonl has no usable tid ('0'); skipped",
        "note: record 2 of trials.jsonl has no usable tid (None); skipped",
        "note: trial 2 of trials.jsonl is damaged (status ok with loss None); "
        "it counts as failed",
    ]
    tids = [r.get("tid") for r in lines_of(out)]
    # 0 and 1 had no usable record: they run again; 2 and 3 stay as they were.
    assert tids[:4] == ["0", None, 2, 3] and sorted(tids[4:]) == [0, 1, 4, 5]


# -- item 6: Spark -------------------------------------------------------------

DYING_WORKER_MODEL = """
import os


def model():
    x = {{uniform(-1, 1)}}
    for name, how in (("EXIT_MARKER", "exit"), ("KILL_MARKER", "kill")):
        try:
            os.close(os.open(os.environ[name], os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except (KeyError, FileExistsError):
            continue
        if how == "exit":
            os._exit(1)  # the Python worker dies
        os.kill(os.getpid(), 9)
    if os.environ.get("ALWAYS_FAIL"):
        raise ValueError("every trial fails")
    return x * x
"""


def spark_search(tmp_path: Path, out: Path, evals: int, **env: str):
    pytest.importorskip("pyspark")
    script = script_for(tmp_path, DYING_WORKER_MODEL)
    full = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", **env}
    return subprocess.run(
        [sys.executable, str(script), "--spark", "2", "--out", str(out), "--quiet"]
        + ["--max-evals", str(evals)],
        capture_output=True,
        text=True,
        env=full,
        cwd=tmp_path,
        timeout=600,
    )


def test_spark_trials_whose_worker_dies_are_recorded_failed(tmp_path):
    out = tmp_path / "run"
    result = spark_search(
        tmp_path,
        out,
        6,
        EXIT_MARKER=str(tmp_path / "exit"),
        KILL_MARKER=str(tmp_path / "kill"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = lines_of(out)
    assert sorted(r["tid"] for r in found) == list(range(6))
    failed = [r for r in found if r["status"] == "fail"]
    assert len(failed) == 2
    assert all("Spark task failed" in r["error"] for r in failed)
    assert "4 ok, 2 failed" in result.stdout


def test_spark_search_where_every_trial_fails_writes_trials_jsonl(tmp_path):
    out = tmp_path / "run"
    result = spark_search(tmp_path, out, 3, ALWAYS_FAIL="1")
    assert result.returncode == 1
    assert "every trial failed" in result.stderr
    found = lines_of(out)
    assert sorted(r["tid"] for r in found) == [0, 1, 2]
    assert all("every trial fails" in r["error"] for r in found)

"""One writer per run directory: RunLock on DIR/lock, with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from hyperasc.runtime.errors import RunError
from hyperasc.runtime.run_lock import RunLock, describe, read_holder

HOLD = textwrap.dedent("""
    import sys, time
    from hyperasc.runtime.run_lock import RunLock
    lock = RunLock.acquire(sys.argv[1])
    print("held", flush=True)
    time.sleep(60)
    """)


def holder_process(directory) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_with_the_holders_pid_host_and_start(tmp_path):
    proc = holder_process(tmp_path / "run")
    try:
        holder = read_holder(str(tmp_path / "run"))
        assert holder["pid"] == proc.pid and holder["host"] and holder["started"]
        with pytest.raises(RunError) as caught:
            RunLock.acquire(str(tmp_path / "run"))
        message = str(caught.value)
        assert f"pid {proc.pid} on {holder['host']}, started {holder['started']}" in (
            message
        )
        assert "\n" not in message and "in use by another search" in message
    finally:
        proc.kill()
        proc.wait()
    # The kernel released the dead holder's lock: the next one takes over.
    lock = RunLock.acquire(str(tmp_path / "run"))
    assert lock.held and read_holder(str(tmp_path / "run"))["pid"] == os.getpid()
    lock.release()
    assert not lock.held


def test_release_lets_the_next_search_in_and_remove_cleans_up(tmp_path):
    lock = RunLock.acquire(str(tmp_path / "new"))
    assert lock.created_directory and lock.created_file
    with pytest.raises(RunError):
        RunLock.acquire(str(tmp_path / "new"))  # another open file: refused too
    lock.release(remove=True)
    assert not (tmp_path / "new").exists()
    lock.release()  # twice is harmless
    again = RunLock.acquire(str(tmp_path / "new"))
    again.release()
    assert os.listdir(tmp_path / "new") == ["lock"]  # kept: removing it races


def test_a_stale_record_does_not_block(tmp_path):
    stale = json.dumps({"pid": 999999, "host": "gone"})
    (tmp_path / "lock").write_text(stale)
    lock = RunLock.acquire(str(tmp_path))
    assert read_holder(str(tmp_path))["pid"] == os.getpid()
    lock.release(remove=True)  # a refused start leaves the file as it found it
    assert (tmp_path / "lock").read_text() == stale


def test_a_link_planted_at_the_lock_is_not_opened(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep me")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "lock").symlink_to(target)
    with pytest.raises(RunError, match="cannot lock"):
        RunLock.acquire(str(tmp_path / "run"))
    assert target.read_text() == "keep me"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked children")
def test_a_forked_child_neither_holds_nor_releases_the_lock(tmp_path):
    lock = RunLock.acquire(str(tmp_path))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its copy of the descriptor is already closed
        try:
            lock.release()  # does nothing here
            os.write(write_end, b"1" if lock.fd is None and not lock.held else b"0")
        finally:
            os._exit(0)
    os.close(write_end)
    assert os.read(read_end, 1) == b"1"
    os.waitpid(pid, 0)
    assert lock.held
    with pytest.raises(RunError):
        RunLock.acquire(str(tmp_path))  # still held by this process
    lock.release()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked children")
def test_a_killed_holder_with_a_living_child_leaves_the_directory_free(tmp_path):
    script = textwrap.dedent("""
        import os, sys, time
        from hyperasc.runtime.run_lock import RunLock
        lock = RunLock.acquire(sys.argv[1])
        if os.fork() == 0:  # a trial process that outlives its parent
            time.sleep(30)
            os._exit(0)
        print("held", flush=True)
        time.sleep(60)
        """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # The child (alive for 30 s more) closes its copy as soon as it runs.
        deadline = time.time() + 10
        while True:
            try:
                lock = RunLock.acquire(str(tmp_path))
                break
            except RunError:
                assert time.time() < deadline, "the living child kept the lock"
                time.sleep(0.05)
        lock.release()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


def test_describe_what_is_known_of_the_holder():
    assert describe({}) == "holder unknown"
    assert describe({"pid": 7, "host": "h", "started": "T"}) == "pid 7 on h, started T"
    assert describe({"pid": 7}) == "pid 7"

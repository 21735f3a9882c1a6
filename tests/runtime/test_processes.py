"""ForkedWorker (recycled trial processes) and children that die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from hyperasc.runtime.processes import ForkedWorker, describe_exit, die_with_parent

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forked processes")


def pid_and(value):
    return os.getpid(), value * 2


def crash(code):
    os._exit(code)


def kill_myself(sig):
    os.kill(os.getpid(), sig)


def read_env(name):
    return os.environ.get(name)


def test_calls_run_in_a_child_that_is_replaced_after_limit_calls():
    worker = ForkedWorker(pid_and, limit=2)
    try:
        replies = [worker(i) for i in range(5)]
    finally:
        worker.stop()
    assert [value for _, value in replies] == [0, 2, 4, 6, 8]
    pids = [pid for pid, _ in replies]
    assert os.getpid() not in pids
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


def test_environ_applies_in_the_child_only():
    worker = ForkedWorker(read_env, limit=1, environ={"HYPERASC_TEST_PIN": "3"})
    assert worker("HYPERASC_TEST_PIN") == "3"
    assert "HYPERASC_TEST_PIN" not in os.environ
    assert worker.pid is None  # limit 1: the child already exited


def test_a_child_that_dies_is_a_child_process_error_and_the_next_call_gets_a_new_child():
    worker = ForkedWorker(crash, limit=10)
    with pytest.raises(ChildProcessError, match="died with exit code 3"):
        worker(3)
    assert worker.conn is None
    with pytest.raises(
        ChildProcessError, match=r"died with signal 9 \(killed: out of memory\?\)"
    ):
        ForkedWorker(kill_myself, limit=10)(signal.SIGKILL)
    assert ForkedWorker(pid_and, limit=1)(5)[1] == 10


def test_an_exception_in_the_child_ends_it_with_status_one():
    worker = ForkedWorker(int, limit=10)
    with pytest.raises(ChildProcessError, match="exit code 1"):
        worker("not a number")


def test_stop_returns_the_wait_status_and_is_idempotent():
    worker = ForkedWorker(pid_and, limit=10)
    worker(1)
    assert worker.stop() == 0  # the child exits cleanly when the pipe closes
    assert worker.stop() == 0 and worker.pid is None


def test_describe_exit_reads_wait_statuses():
    assert describe_exit(3 << 8) == "the trial process died with exit code 3"
    assert (
        describe_exit(signal.SIGKILL)
        == "the trial process died with signal 9 (killed: out of memory?)"
    )
    assert (
        describe_exit(signal.SIGSEGV)
        == f"the trial process died with signal {int(signal.SIGSEGV)}"
    )


def test_die_with_parent_exits_at_once_when_the_parent_is_already_someone_else():
    pid = os.fork()
    if pid == 0:
        die_with_parent(os.getppid() + 100000)  # not our parent: as if it had died
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"
)
def test_die_with_parent_kills_the_child_when_the_parent_is_killed(tmp_path):
    # A parent process forks a child that asks to die with it; the parent then
    # prints the child's pid and waits to be SIGKILLed, which runs no cleanup.
    code = textwrap.dedent("""
        import os, sys, time
        from hyperasc.runtime.processes import die_with_parent
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            die_with_parent(parent)
            time.sleep(60)
            os._exit(0)
        print(pid, flush=True)
        time.sleep(60)
        """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    child = int(proc.stdout.readline())
    assert alive(child)
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while alive(child) and time.time() < deadline:
        time.sleep(0.02)
    assert not alive(child)


def alive(pid: int) -> bool:
    """Running, not a zombie that no one has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

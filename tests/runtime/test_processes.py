"""ForkedWorker (recycled trial processes) and children that die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from hyperasc.runtime.processes import (
    ForkedWorker,
    describe_exit,
    die_with_parent,
    end_group,
    exited,
    flush_quietly,
    own_group,
    reap,
    receive,
)

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


# Issue 17 item 5: a trial process killed while a child of its own lives.
ORPHANING_TRIAL = textwrap.dedent("""
    import multiprocessing, os, sys, time
    from hyperasc.runtime.processes import ForkedWorker

    def sleep():
        time.sleep(60)

    def trial(path):
        child = multiprocessing.Process(target=sleep)
        child.start()  # it inherits the trial process's end of the pipe
        with open(path, "w") as f:
            f.write(str(child.pid))
        os.kill(os.getpid(), 9)  # as the OOM killer would

    multiprocessing.set_start_method("fork")
    worker = ForkedWorker(trial, limit=3)
    try:
        worker(sys.argv[1])
    except ChildProcessError as exc:
        print(exc, flush=True)
    """)


def test_a_trial_process_killed_while_its_child_holds_the_pipe_is_seen_dead(tmp_path):
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", ORPHANING_TRIAL, str(tmp_path / "child")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "the trial process died with signal 9 (killed: out of memory?)"
    ]
    assert time.time() - started < 30
    # The child it started was in its process group, and ended with it.
    assert not alive(int((tmp_path / "child").read_text()))


def test_own_group_end_group_exited_and_reap():
    pid = os.fork()
    if pid == 0:
        own_group()
        time.sleep(60)
        os._exit(0)
    own_group(pid)
    assert os.getpgid(pid) == pid != os.getpgid(0)
    assert not exited(pid)
    end_group(pid)
    deadline = time.time() + 10
    while not exited(pid) and time.time() < deadline:
        time.sleep(0.01)
    assert exited(pid)  # and still there to be reaped
    assert os.WTERMSIG(reap(pid)) == signal.SIGKILL
    assert reap(pid) == 0 and exited(pid)  # gone: nothing left to wait for


def test_receive_reads_a_reply_or_raises_eof_once_the_child_is_dead():
    import multiprocessing

    parent_end, child_end = multiprocessing.Pipe()
    pid = os.fork()
    if pid == 0:
        parent_end.close()
        child_end.send("hello")
        os._exit(0)
    assert receive(parent_end, pid) == "hello"  # sent before it exited
    with pytest.raises(EOFError):
        receive(parent_end, pid)  # its copy of the pipe is still open here
    child_end.close()
    reap(pid)


def noisy(value):
    print("printed by", value, end="")
    print(" in the child")
    print("to stderr", file=sys.stderr)
    return value


def test_what_the_child_prints_comes_to_output_whole_before_its_result():
    seen = []
    worker = ForkedWorker(noisy, limit=2)
    worker.output = lambda name, line: seen.append((name, line))
    assert worker(1) == 1
    # All of the call's output is in before the call returns.
    assert seen == [("stdout", "printed by 1 in the child"), ("stderr", "to stderr")]
    worker.stop()


def test_receive_hands_on_the_childs_lines_and_flush_quietly_never_raises():
    import multiprocessing

    from hyperasc.runtime.terminal import OutputPipes

    parent_end, child_end = multiprocessing.Pipe()
    pipes = OutputPipes()
    pid = os.fork()
    if pid == 0:
        parent_end.close()
        pipes.child()
        print("a line")
        sys.stdout.write("and half a line")
        flush_quietly()
        child_end.send("done")
        sys.stdout.close()  # flushing a closed stream is no error either
        flush_quietly()
        os._exit(0)
    pipes.parent()
    seen = []
    assert receive(parent_end, pid, pipes, lambda n, line: seen.append(line)) == "done"
    assert seen == ["a line", "and half a line"]
    child_end.close()
    reap(pid)
    pipes.close()

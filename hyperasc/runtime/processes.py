"""Forked trial processes, and children that never outlive their parent."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .terminal import OutputPipes, Route, route_for

# Loaded in the parent: a child between fork and exec (subprocess's
# preexec_fn) must not import or load anything, or it can deadlock on a lock
# another thread of the parent held at the fork.
try:
    _LIBC = ctypes.CDLL(None)
except OSError:  # not a POSIX C library: no parent-death signal
    _LIBC = None


class ForkedWorker:
    """Computes function(*args) in a forked process, which exits after `limit` calls.

    TensorFlow keeps every traced graph alive even after clear_session, so a
    search in one process grows by megabytes per trial. A recycled process
    takes that memory with it when it exits. `environ` is applied in the
    child before it runs anything (a pinned GPU, for example).

    What the child prints comes back through pipes: each whole line goes to
    `output` (set it before a call), so it never lands in the middle of the
    search's progress bar.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        limit: int,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.function, self.limit = function, limit
        self.environ = dict(environ or {})
        self.conn = self.pid = None
        self.pipes: OutputPipes | None = None
        self.output: Route | None = None
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        if self.conn is None:
            self.start()
        try:
            self.conn.send(args)
            reply = receive(
                self.conn, self.pid, self.pipes, self.output or route_for(None)
            )
        except (EOFError, OSError):
            status = self.stop()
            raise ChildProcessError(describe_exit(status)) from None
        except BaseException:  # Ctrl-C: the trial, in a group of its own, ends too
            end_group(self.pid)
            self.stop()
            raise
        self.calls += 1
        if self.calls >= self.limit:
            self.stop()
        return reply

    def start(self) -> None:
        import multiprocessing

        parent_end, child_end = multiprocessing.Pipe()
        pipes = OutputPipes()
        parent = os.getpid()
        # A Ctrl-C that lands in fork()'s own bookkeeping (at-fork handlers)
        # would be printed and dropped; hold it until the fork is done.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if pid == 0:
            parent_end.close()
            pipes.child()
            own_group()
            die_with_parent(parent)
            os.environ.update(self.environ)
            code = 0
            try:
                while True:
                    reply = self.function(*child_end.recv())
                    flush_quietly()  # its output first, then its result
                    child_end.send(reply)
            except EOFError:
                pass  # the search process is done with us
            except BaseException:  # Ctrl-C included: the search process reports it
                code = 1
            flush_quietly()
            os._exit(code)
        own_group(pid)
        child_end.close()
        pipes.parent()
        self.conn, self.pid, self.calls = parent_end, pid, 0
        self.pipes = pipes

    def stop(self) -> int:
        """Close the pipe (the child exits) and return the child's wait status.

        Whatever the child started in its process group ends with it.
        """
        if self.conn is None:
            return 0
        self.conn.close()
        status = reap(self.pid)
        self.pipes.close(self.output or route_for(None))
        self.conn = self.pid = self.pipes = None
        return status


def flush_quietly() -> None:
    """Flush sys.stdout and sys.stderr in a process about to exit; a closed pipe is no error."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def own_group(pid: int = 0) -> None:
    """Put a trial process (pid 0: this one) in a process group of its own.

    Called in both the child and the parent after a fork, so that the group
    exists whichever runs first. Everything the trial starts (a
    multiprocessing.Process, a data loader's workers) joins the group, and
    `end_group` ends them all when the trial process is gone.
    """
    try:
        os.setpgid(pid, 0)
    except (OSError, AttributeError):  # it already exited, or not POSIX
        pass


def end_group(pid: int) -> None:
    """SIGKILL the process group of trial process `pid`, itself included.

    Called while `pid` is not yet reaped (running, or a zombie), so its
    number still names this group and no other.
    """
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:  # it never made its group
            os.kill(pid, signal.SIGKILL)
    except (OSError, AttributeError):  # reaped already, or not POSIX
        pass


def exited(pid: int) -> bool:
    """Whether child `pid` has ended (or is not ours); it is left for `reap`."""
    try:
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, pid, flags) is not None
    except ChildProcessError:
        return True


def reap(pid: int) -> int:
    """End child `pid`'s process group once it has exited; its wait status.

    Waits for `pid` first: a child that is still running finishes on its own.
    """
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        return 0
    end_group(pid)
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def receive(
    conn: Any, pid: int, pipes: OutputPipes | None = None, output: Route | None = None
) -> Any:
    """The next message from child `pid` on `conn`; EOFError once the child is dead.

    Waits on the process as well as on the pipe: a child the trial started
    keeps the pipe open after the trial process itself was killed, so the
    pipe alone would never tell. Meanwhile the lines the child prints into
    `pipes` go to `output`, all of them before its message is returned.
    """
    from multiprocessing.connection import wait

    watch = _pidfd(pid)
    try:
        while True:
            printed = pipes.fds if pipes is not None else []
            if watch is None:
                ready = wait([conn, *printed], timeout=0.2)
            else:
                ready = wait([conn, watch, *printed])
            if pipes is not None:
                pipes.drain(output)
            if exited(pid):
                end_group(pid)  # now nothing holds the pipe: recv cannot hang
                if pipes is not None:
                    pipes.drain(output, whole=True)
                if conn.poll(0):
                    return conn.recv()  # sent before it died
                raise EOFError
            if conn in ready:
                if pipes is not None:
                    pipes.drain(output, whole=True)
                return conn.recv()
    finally:
        if watch is not None:
            os.close(watch)


def _pidfd(pid: int) -> int | None:
    """A descriptor that turns readable when `pid` exits (Linux), or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def describe_exit(status: int) -> str:
    """A wait status as the one line a failed trial records."""
    if os.WIFSIGNALED(status):
        hint = " (killed: out of memory?)" if os.WTERMSIG(status) == 9 else ""
        return f"the trial process died with signal {os.WTERMSIG(status)}{hint}"
    return f"the trial process died with exit code {os.waitstatus_to_exitcode(status)}"


def die_with_parent(parent_pid: int | None = None) -> None:
    """Linux: SIGKILL this process when its parent dies, however the parent died.

    If the parent died before the request took effect, exit at once.
    """
    prctl = getattr(_LIBC, "prctl", None)  # Linux only
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)

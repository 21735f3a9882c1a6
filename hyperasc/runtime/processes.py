"""Forked trial processes, and children that never outlive their parent."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

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
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        if self.conn is None:
            self.start()
        try:
            self.conn.send(args)
            reply = self.conn.recv()
        except (EOFError, OSError):
            status = self.stop()
            raise ChildProcessError(describe_exit(status)) from None
        self.calls += 1
        if self.calls >= self.limit:
            self.stop()
        return reply

    def start(self) -> None:
        import multiprocessing

        parent_end, child_end = multiprocessing.Pipe()
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
            die_with_parent(parent)
            os.environ.update(self.environ)
            code = 0
            try:
                while True:
                    child_end.send(self.function(*child_end.recv()))
            except EOFError:
                pass  # the search process is done with us
            except BaseException:  # Ctrl-C included: the search process reports it
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        child_end.close()
        self.conn, self.pid, self.calls = parent_end, pid, 0

    def stop(self) -> int:
        """Close the pipe (the child exits) and return the child's wait status."""
        if self.conn is None:
            return 0
        self.conn.close()
        _, status = os.waitpid(self.pid, 0)
        self.conn = self.pid = None
        return status


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

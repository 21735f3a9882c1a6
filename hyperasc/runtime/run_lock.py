"""One writer per run directory: an OS lock on DIR/lock, held for the life of a search.

The lock is the kernel's (flock on Linux and macOS, msvcrt.locking on
Windows), taken on a file that stays open while the search runs, so a search
that dies, however it dies, leaves nothing held: the next start takes over.
The file also holds a small JSON record of the holder (pid, host, start time)
for the message a second start gets.

Forked trial processes close their copy of the descriptor at once (an at-fork
handler): they can never release the parent's lock, and a search killed with
SIGKILL does not leave its directory locked by a child that outlives it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import weakref
from typing import Any

from .errors import RunError
from .run_files import LOCK, utc_now

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None

# Windows locks a byte range: one byte far past the record, so readers can read it.
_WINDOWS_LOCK_OFFSET = 1 << 30
_HELD: weakref.WeakSet[RunLock] = weakref.WeakSet()


class RunLock:
    """The lock of one run directory, held by this process until `release`."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, LOCK)
        self.fd: int | None = None
        self.owner = os.getpid()
        self.created_directory = False
        self.created_file = False
        self.previous = b""

    @classmethod
    def acquire(cls, directory: str) -> RunLock:
        """Lock `directory` (created if needed) or raise RunError naming the holder."""
        lock = cls(directory)
        lock._acquire()
        return lock

    def _acquire(self) -> None:
        if not os.path.isdir(self.directory):
            try:
                os.makedirs(self.directory)
                self.created_directory = True
            except FileExistsError:
                pass
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                self.created_file = True
            except FileExistsError:
                # O_NOFOLLOW: a link planted at DIR/lock is not opened.
                flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0)
                try:
                    fd = os.open(self.path, flags)
                except FileNotFoundError:
                    continue  # removed in between: create it
                except OSError as exc:
                    raise RunError(f"cannot lock {self.path}: {exc}") from exc
            if not _try_lock(fd):
                holder = read_holder(self.directory)
                os.close(fd)
                raise RunError(
                    f"{self.directory} is in use by another search ({describe(holder)}); "
                    "wait for it to finish or choose another --out"
                )
            # The file may have been removed and made anew while we waited:
            # only a lock on the file that is there now counts.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": utc_now(),
        }
        data = (json.dumps(record) + "\n").encode("utf-8")
        os.lseek(fd, 0, os.SEEK_SET)
        self.previous = os.read(fd, 1 << 16)  # put back if the start is refused
        os.ftruncate(fd, 0)
        _write_at_start(fd, data)
        _HELD.add(self)

    @property
    def held(self) -> bool:
        return self.fd is not None and os.getpid() == self.owner

    def release(self, remove: bool = False) -> None:
        """Let go of the lock; with `remove`, undo what acquire did to the files.

        Does nothing in a forked child, which never held the lock.
        """
        if not self.held:
            return
        fd, self.fd = self.fd, None
        _HELD.discard(self)
        if remove and not self.created_file:  # as it was before this start
            os.ftruncate(fd, 0)
            _write_at_start(fd, self.previous)
        if remove and self.created_file:
            # Still locked while it goes: a waiter that opened it sees it gone.
            _unlink_quietly(self.path)
            if self.created_directory:
                try:
                    os.rmdir(self.directory)
                except OSError:
                    pass
        os.close(fd)  # closing the last descriptor releases the lock

    def _forget_in_child(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd = None

    def __del__(self) -> None:
        if self.held:
            try:
                os.close(self.fd)
            except OSError:
                pass


def read_holder(directory: str) -> dict[str, Any]:
    """The holder's record in DIR/lock, or {} when it cannot be read."""
    path = os.path.join(directory, LOCK)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            data = json.loads(f.read(4096).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe(holder: dict[str, Any]) -> str:
    """'pid 123 on host, started T', from what the holder's record has."""
    parts = []
    if holder.get("pid") is not None:
        parts.append(f"pid {holder['pid']}")
    if holder.get("host"):
        parts.append(f"on {holder['host']}")
    text = " ".join(parts) or "holder unknown"
    if holder.get("started"):
        text += f", started {holder['started']}"
    return text


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:  # a file system without locks: run unlocked
            print(f"warning: cannot lock the run directory ({exc})", file=sys.stderr)
        return True
    if msvcrt is not None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
    return True


def _write_at_start(fd: int, data: bytes) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _forget_locks_in_child() -> None:
    for lock in list(_HELD):
        lock._forget_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_in_child)

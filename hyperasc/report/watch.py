"""`hyperasc report DIR --watch`: rewrite the report as trials finish.

trials.jsonl (and run.json, which --resume rewrites) is polled for a change
of size or modification time; each change rewrites the report, every file
atomically (a browser that reloads never sees half a page), and report.html
reloads itself every interval while watching. The watch ends when the
search has finished: trials.jsonl holds run.json's max_evals trials and no
search holds the run's lock (a `--resume` asking for more trials takes the
lock and rewrites run.json, so it is not mistaken for the end). A search
killed before then is watched on (it may be resumed) until Ctrl-C. Either
way the last page is written without the reload. A directory that is not
yet a run directory (the watch started before the search) is waited for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..runtime.run_files import LOCK, RUN_JSON, TRIALS_JSONL
from .render import write_report
from .run import Run

try:
    import fcntl
except ImportError:  # Windows: the lock is not probed; max_evals alone ends the watch
    fcntl = None  # type: ignore[assignment]

DEFAULT_INTERVAL = 5.0


def _state(run_dir: Path) -> tuple[Any, ...]:
    """What changes when a trial finishes or the search is resumed."""
    out: list[Any] = []
    for name in (TRIALS_JSONL, RUN_JSON):
        try:
            st = os.stat(run_dir / name, follow_symlinks=False)
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def search_running(run_dir: Path) -> bool:
    """Whether a search holds the run's lock (runtime/run_lock.py), without taking it.

    A shared lock is asked for without waiting and given back at once: it is
    refused while a search holds its exclusive one.
    """
    path = run_dir / LOCK
    if fcntl is None or path.is_symlink() or not path.is_file():
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # a file system without locks: nothing to learn here
        return False
    finally:
        os.close(fd)  # closing gives a shared lock back
    return False


def finished(run: Run) -> bool:
    """All of run.json's max_evals trials are in, and no search holds the lock."""
    max_evals = run.info.get("max_evals")
    if isinstance(max_evals, bool) or not isinstance(max_evals, int):
        return False
    return len(run.trials) >= max_evals and not search_running(run.run_dir)


def watch(
    run_dir: Path,
    report_dir: Path | None,
    fmt: str,
    interval: float = DEFAULT_INTERVAL,
    note: Callable[[str], None] | None = None,
    wrote: Callable[[list[Path], Run], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Rewrite the report at every change until the search finishes; return why it stopped.

    `wrote` is told the files and the run after each rewrite while watching
    (not of the last one, which only drops the reload). Ctrl-C ends it
    too (the last page is then written without the reload, and "interrupted"
    returned); a second Ctrl-C during that write leaves the previous page.
    """
    run_dir = Path(run_dir)
    seen_notes: set[str] = set()
    state: tuple[Any, ...] | None = None
    runs: list[Run] = []

    def once_each(
        text: str,
    ) -> None:  # a half-written last line is noted once, not per poll
        if note is not None and text not in seen_notes:
            seen_notes.add(text)
            note(text)

    def write(refresh: float | None) -> None:
        runs.clear()
        written = write_report(
            run_dir, report_dir, fmt, once_each, refresh, on_read=runs.append
        )
        if wrote is not None and refresh is not None:
            wrote(written, runs[0])

    try:
        while True:
            now = _state(run_dir)
            if now == (None, None):  # the search has not started writing yet
                once_each(f"waiting for a search to write {run_dir}")
            elif now != state:
                state = now
                write(interval)
            if runs and finished(runs[0]):
                write(None)
                return "finished"
            sleep(interval)
    except KeyboardInterrupt:
        write(None)
        return "interrupted"

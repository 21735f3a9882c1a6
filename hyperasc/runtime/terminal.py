"""The terminal during a search: trial output above the progress bar, or in log files.

A trial's output reaches the search process whole, line by line: from a
trial run here through `LineWriter`s that stand in for sys.stdout and
sys.stderr, from a forked trial process through the pipes of its standard
output and error (`OutputPipes`). `Terminal` then writes each line above the
bar (the bar is cleared and drawn again, so the two never share a line) or,
with --quiet, appends it to the trial's log file in the run directory.

Only the standard library: the script's early block (early.py) uses this
module before the model file's imports run, so that --help answers at once.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .run_files import LOGS_DIR, trial_log_name

# The information and warning lines TensorFlow and XLA write from C++ (absl's
# format: severity, date, time, thread, file:line]), and absl's note that
# precedes them. Errors (E, F) stay: they may say why a trial failed.
LIBRARY_LOG = re.compile(
    r"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]\s]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)
# Options answered before the model file's imports run.
EARLY_OPTIONS = ("-h", "--help", "--version", "--list-devices")

Route = Callable[[str, str], None]  # (stream name "stdout" or "stderr", line)
# "stderr": the terminal's own standard error, around quiet_library_logs' filter;
# "quieted": `early` set TF_CPP_MIN_LOG_LEVEL, the user did not.
_UNFILTERED: dict[str, Any] = {}


def is_library_log(line: str) -> bool:
    """Whether `line` is a log line of TensorFlow's C++ side (or absl's), not the model's."""
    return LIBRARY_LOG.match(line) is not None


def quieted_by_us() -> None:
    """Note that TF_CPP_MIN_LOG_LEVEL was set by early.py, not by the user."""
    _UNFILTERED["quieted"] = True


def library_logs_wanted(argv: Sequence[str]) -> bool:
    """Library log lines stay on the terminal with --debug or HYPERASC_DEBUG=1,
    and when the user set TF_CPP_MIN_LOG_LEVEL (`early` sets it otherwise)."""
    chosen = "TF_CPP_MIN_LOG_LEVEL" in os.environ and not _UNFILTERED.get("quieted")
    debug = os.environ.get("HYPERASC_DEBUG", "") not in ("", "0")
    return "--debug" in argv or debug or chosen


class LineSplitter:
    """Text in pieces -> whole lines. A carriage return starts the line afresh,
    as a terminal would show it, so a redrawn progress line is one line."""

    def __init__(self) -> None:
        self.pending = ""

    def feed(self, text: str) -> list[str]:
        """The lines `text` completes, without their line ends."""
        parts = (self.pending + text).split("\n")
        self.pending = parts.pop()
        return [shown_line(part) for part in parts]

    def rest(self) -> list[str]:
        """The unfinished line, if any, as a last line."""
        pending, self.pending = self.pending, ""
        line = shown_line(pending)
        return [line] if line else []


def shown_line(text: str) -> str:
    """What a terminal shows of a line that carriage returns redraw: its last drawing."""
    text = text.rstrip("\r")
    return text.rsplit("\r", 1)[-1]


class LineWriter(io.TextIOBase):
    """A stand-in for sys.stdout or sys.stderr that hands on whole lines.

    It says it is no terminal, so Keras prints one line per epoch instead of
    redrawing a bar of its own.
    """

    def __init__(self, name: str, route: Route) -> None:
        super().__init__()
        self.name, self.route = name, route
        self.splitter = LineSplitter()

    @property
    def encoding(self) -> str:
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        for line in self.splitter.feed(str(text)):
            self.route(self.name, line)
        return len(text)

    def finish(self) -> None:
        """Hand on an unfinished last line."""
        for line in self.splitter.rest():
            self.route(self.name, line)


class OutputPipes:
    """The read ends of a forked process's standard output and error.

    `child()` runs in the new process after the fork: its descriptors 1 and 2
    become the pipes. The search process `drain`s them without blocking.
    """

    def __init__(self) -> None:
        self.streams: dict[int, tuple[str, LineSplitter]] = {}
        self.write_ends: list[int] = []
        for name in ("stdout", "stderr"):
            read, write = os.pipe()
            os.set_blocking(read, False)
            self.streams[read] = (name, LineSplitter())
            self.write_ends.append(write)

    @property
    def fds(self) -> list[int]:
        """The read ends still open, for multiprocessing.connection.wait."""
        return list(self.streams)

    def child(self) -> None:
        """In the forked process: print into the pipes, plainly, line by line."""
        for fd in self.streams:
            os.close(fd)
        self.streams = {}
        for target, write in zip((1, 2), self.write_ends):
            sys.stdout.flush() if target == 1 else sys.stderr.flush()
            os.dup2(write, target)
            os.close(write)
        self.write_ends = []
        Terminal.current = None  # the search process shows what this one prints
        sys.stdout = _plain_stream(1)
        sys.stderr = _plain_stream(2)

    def abandon(self) -> None:
        """In another forked process: let go of these pipes without reading them."""
        for fd in list(self.streams) + self.write_ends:
            os.close(fd)
        self.streams, self.write_ends = {}, []

    def parent(self) -> None:
        """In the search process, after the fork: only the child writes."""
        for fd in self.write_ends:
            os.close(fd)
        self.write_ends = []

    def drain(self, route: Route | None, whole: bool = False) -> None:
        """Hand every whole line the process has written so far to `route`;
        `whole`: an unfinished last line too (the trial that printed it is over)."""
        for fd in list(self.streams):
            name, splitter = self.streams[fd]
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno == errno.EINTR:
                        continue
                    chunk = b""
                if not chunk:  # every writer is gone
                    lines = splitter.rest()
                    os.close(fd)
                    del self.streams[fd]
                else:
                    lines = splitter.feed(chunk.decode("utf-8", "replace"))
                for line in lines:
                    if route is not None:
                        route(name, line)
                if not chunk:
                    break
            if whole and fd in self.streams:
                for line in splitter.rest():
                    if route is not None:
                        route(name, line)

    def close(self, route: Route | None = None) -> None:
        """Drain what is left (the process has exited), then close the read ends."""
        self.drain(route)
        for fd, (name, splitter) in list(self.streams.items()):
            for line in splitter.rest():
                if route is not None:
                    route(name, line)
            os.close(fd)
        self.streams = {}
        self.parent()


def route_for(tid: int | None) -> Route:
    """Where trial `tid`'s lines go: the search's Terminal, or else plainly to
    this process's sys.stdout and sys.stderr."""
    terminal = Terminal.current
    if terminal is not None:
        return terminal.route(tid)
    return _plain_route


def _plain_route(name: str, line: str) -> None:
    stream = sys.stderr if name == "stderr" else sys.stdout
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def _plain_stream(fd: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )


class Terminal:
    """Where the output of a search's trials goes: above the bar, or to log files.

    One per search process (`Terminal.current`); forked trial processes have
    none, and print into pipes that the search process reads.
    """

    current: Terminal | None = None

    def __init__(
        self,
        run_path: str | None,
        quiet: bool = False,
        library_logs: bool = False,
        stdout: Any = None,
        stderr: Any = None,
    ) -> None:
        self.run_path = run_path
        self.quiet = quiet
        self.library_logs = library_logs
        self.stdout = stdout or sys.stdout
        # Around quiet_library_logs' filter: its thread would write later than the bar.
        self.stderr = stderr or _UNFILTERED.get("stderr") or sys.stderr
        self.bar: Any = None
        self.tid: int | None = None  # the trial running in this process, if any
        self.lock = threading.RLock()

    @classmethod
    def start(cls, run_path: str | None, quiet: bool, library_logs: bool) -> Terminal:
        cls.current = cls(run_path, quiet, library_logs)
        return cls.current

    def route(self, tid: int | None) -> Route:
        """Where the lines of trial `tid` (None: of the search itself) go."""
        return lambda name, line: self.line(tid, name, line)

    def line(self, tid: int | None, name: str, line: str) -> None:
        """One whole line that trial `tid` printed on stream `name`."""
        if self.quiet and tid is not None and self.run_path is not None:
            self.append_log(tid, [line])
        elif self.library_logs or not is_library_log(line):
            self.show(line, self.stderr if name == "stderr" else self.stdout)

    def show(self, line: str, stream: Any) -> None:
        """Write `line` on the terminal, above the bar."""
        with self.lock:
            bar = self.bar
            if bar is not None:
                bar.clear()
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # a closed terminal loses the line, not the search
            if bar is not None:
                bar.refresh()

    def append_log(self, tid: int, lines: Sequence[str]) -> None:
        """Append to logs/trial-<tid>.log, and close it: a crash loses nothing written."""
        path = os.path.join(self.run_path, trial_log_name(tid))
        os.makedirs(os.path.join(self.run_path, LOGS_DIR), exist_ok=True)
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write("".join(line + "\n" for line in lines))

    def finished(self, tid: int | None, result: dict[str, Any]) -> dict[str, Any]:
        """A trial's result once its output is all in: with --quiet, a failure's
        text joins the log, and the result names the log file."""
        if not self.quiet or tid is None or self.run_path is None:
            return result
        if result.get("error"):
            self.append_log(tid, str(result["error"]).rstrip("\n").split("\n"))
        name = trial_log_name(tid)
        if os.path.exists(os.path.join(self.run_path, name)):
            result["log"] = name
        return result

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """sys.stdout and sys.stderr hand whole lines to this terminal meanwhile."""
        saved = sys.stdout, sys.stderr
        writers = [LineWriter(n, self._here) for n in ("stdout", "stderr")]
        sys.stdout, sys.stderr = writers
        try:
            yield
        finally:
            for writer in writers:
                writer.finish()
            sys.stdout, sys.stderr = saved

    def _here(self, name: str, line: str) -> None:
        self.line(self.tid, name, line)

    @contextlib.contextmanager
    def trial_here(self, tid: int | None) -> Iterator[None]:
        """Lines printed meanwhile belong to trial `tid`, which runs in this process."""
        previous, self.tid = self.tid, tid
        try:
            yield
        finally:
            for stream in (sys.stdout, sys.stderr):
                if isinstance(stream, LineWriter):
                    stream.finish()
            self.tid = previous

    def progress(
        self, counts: Callable[[], Mapping[str, int]] | None = None
    ) -> Callable[[int, int], Any]:
        """fmin's show_progressbar: hyperopt's bar on standard output (none with
        --quiet), with trial output above it meanwhile."""

        @contextlib.contextmanager
        def progress(initial: int = 0, total: int | None = None) -> Iterator[Any]:
            bar = None
            if not self.quiet:
                from tqdm import tqdm

                bar = tqdm(
                    total=total,
                    initial=initial,
                    file=self.stdout,
                    postfix={"best loss": "?"},
                    dynamic_ncols=True,
                    unit="trial",
                )
            shown = bar if bar is None or counts is None else _counting(bar, counts)
            self.bar = bar
            try:
                with self.capture():
                    yield shown if shown is not None else _NoBar()
            finally:
                self.bar = None
                if bar is not None:
                    bar.close()

        return progress


def _counting(bar: Any, counts: Callable[[], Mapping[str, int]]) -> Any:
    from .pruning import CountingBar

    return CountingBar(bar, counts)


class _NoBar:
    postfix = ""

    def update(self, n: int) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass


def quiet_library_logs() -> Callable[[], None] | None:
    """Keep TensorFlow's C++ log lines off this process's standard error.

    Some are written before TensorFlow reads TF_CPP_MIN_LOG_LEVEL, so the
    descriptor itself goes through a filter: a thread hands on every other
    line at once. The returned function (also run at exit) puts it back.
    """
    try:
        original = os.dup(2)
        read, write = os.pipe()
    except OSError:
        return None
    sys.stderr.flush()
    os.dup2(write, 2)
    os.close(write)
    _UNFILTERED["stderr"] = _plain_stream(original)

    def forward() -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(read, 65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            kept = [
                line + b"\n"
                for line in lines
                if not is_library_log(line.decode("utf-8", "replace"))
            ]
            # An unfinished line goes on at once (a prompt, say), unless it
            # may be the start of a library's line.
            if pending and not _may_be_library_log(pending):
                kept.append(pending)
                pending = b""
            _write_all(original, b"".join(kept))
        _write_all(original, pending)
        os.close(read)

    thread = threading.Thread(target=forward, name="hyperasc-stderr", daemon=True)
    thread.start()

    def restore() -> None:
        if thread.is_alive():
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(original, 2)  # our end of the pipe closes: the thread ends
            thread.join(timeout=1)
            _UNFILTERED.pop("stderr", None)

    import atexit

    atexit.register(restore)
    return restore


def _may_be_library_log(data: bytes) -> bool:
    text = data.decode("utf-8", "replace")
    return bool(re.match(r"^[IW]\d{0,4}( |$)", text)) or (
        "WARNING: All log messages".startswith(text[:26])
    )


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data) :]
        except InterruptedError:
            continue
        except OSError:
            return

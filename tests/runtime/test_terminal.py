"""The terminal during a search: whole lines above the bar, --quiet's logs, library noise."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from hyperasc.runtime.run_files import trial_log_name
from hyperasc.runtime.terminal import (
    LineSplitter,
    LineWriter,
    OutputPipes,
    Terminal,
    is_library_log,
    library_logs_wanted,
    quieted_by_us,
    route_for,
    shown_line,
)

TF_INFO = "I0000 00:00:1796629773.665698    8024 port.cc:153] oneDNN custom operations are on."
ABSL_NOTE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def test_is_library_log_knows_tensorflows_info_and_warning_lines_only():
    assert is_library_log(TF_INFO)
    assert is_library_log(ABSL_NOTE)
    assert is_library_log(
        "W1207 08:01:02.123456   77 gpu_device.cc:2345] Cannot dlopen some GPU libraries."
    )
    # Errors stay, and so does anything a model prints.
    assert not is_library_log(
        "E1207 08:01:02.123456   77 cuda_driver.cc:1] failed call to cuInit"
    )
    assert not is_library_log("I0000 is my own line")
    assert not is_library_log("epoch 3: loss 0.1")


@pytest.fixture
def unfiltered(monkeypatch):
    """terminal.py's process-wide notes, fresh for one test."""
    state = {}
    monkeypatch.setattr("hyperasc.runtime.terminal._UNFILTERED", state)
    return state


def test_library_logs_wanted_with_debug_or_the_users_log_level(monkeypatch, unfiltered):
    monkeypatch.delenv("HYPERASC_DEBUG", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert not library_logs_wanted(["--max-evals", "3"])
    assert library_logs_wanted(["--debug"])
    monkeypatch.setenv("HYPERASC_DEBUG", "1")
    assert library_logs_wanted([])
    monkeypatch.setenv("HYPERASC_DEBUG", "0")
    assert not library_logs_wanted([])
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's
    assert library_logs_wanted([])
    unfiltered["quieted"] = True  # hyperasc's own
    assert not library_logs_wanted([])


def test_line_splitter_hands_on_whole_lines_and_the_last_drawing_of_a_redrawn_one():
    splitter = LineSplitter()
    assert splitter.feed("partial") == []
    assert splitter.feed(" line\nepoch") == ["partial line"]
    assert splitter.feed(" 1/3\repoch 2/3\repoch 3/3\r\n") == ["epoch 3/3"]
    assert splitter.feed("left over") == []
    assert splitter.rest() == ["left over"] and splitter.rest() == []
    assert shown_line("a\rbc\r") == "bc" and shown_line("plain") == "plain"


def test_line_writer_routes_whole_lines_and_is_no_terminal():
    seen = []
    writer = LineWriter("stderr", lambda name, line: seen.append((name, line)))
    print("one", "two", file=writer)
    writer.write("three")
    assert seen == [("stderr", "one two")]
    writer.finish()
    assert seen[-1] == ("stderr", "three")
    assert not writer.isatty() and writer.writable() and writer.encoding == "utf-8"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked processes")
def test_output_pipes_bring_a_forked_processs_lines_back_whole():
    pipes = OutputPipes()
    pid = os.fork()
    if pid == 0:
        try:
            pipes.child()
            assert Terminal.current is None
            print("from the child", end="")
            print(" and more")
            print("on stderr", file=sys.stderr)
            os.write(1, b"fd level\n")
            sys.stdout.write("unfinished")
            sys.stdout.flush()
        finally:
            os._exit(0)
    pipes.parent()
    os.waitpid(pid, 0)
    seen = []
    pipes.drain(lambda name, line: seen.append((name, line)))
    assert ("stdout", "from the child and more") in seen
    assert ("stderr", "on stderr") in seen and ("stdout", "fd level") in seen
    # The child has exited: its unfinished line comes too, once.
    assert ("stdout", "unfinished") in seen
    pipes.close(lambda name, line: seen.append((name, line)))
    assert seen.count(("stdout", "unfinished")) == 1 and pipes.fds == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked processes")
def test_output_pipes_drain_whole_hands_on_an_unfinished_line_of_a_live_process():
    pipes = OutputPipes()
    go_on_read, go_on_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            pipes.child()
            sys.stdout.write("no newline yet")
            sys.stdout.flush()
            os.read(go_on_read, 1)  # alive until the test is done
        finally:
            os._exit(0)
    pipes.parent()
    seen = []
    route = lambda name, line: seen.append(line)  # noqa: E731
    import select

    assert select.select(pipes.fds[:1], [], [], 30)[0]  # it has printed
    pipes.drain(route)
    assert seen == []  # not a whole line yet: the process may go on with it
    pipes.drain(route, whole=True)
    assert seen == ["no newline yet"]
    os.write(go_on_write, b"x")
    os.waitpid(pid, 0)
    pipes.close(route)
    os.close(go_on_read)
    os.close(go_on_write)


def test_output_pipes_abandon_closes_every_end():
    pipes = OutputPipes()
    pipes.abandon()
    assert pipes.fds == [] and pipes.write_ends == []


class FakeBar:
    """What Terminal needs of tqdm: clear and refresh around each line."""

    def __init__(self, out):
        self.out = out

    def clear(self):
        self.out.write("<clear>")

    def refresh(self):
        self.out.write("<bar>")


def test_terminal_writes_lines_above_the_bar_and_drops_library_noise():
    out, err = io.StringIO(), io.StringIO()
    terminal = Terminal(None, stdout=out, stderr=err)
    terminal.bar = FakeBar(out)
    terminal.route(3)("stdout", "epoch 1")
    terminal.line(3, "stderr", TF_INFO)
    terminal.line(None, "stderr", "a warning")
    # The library's line is dropped; the others are written between clear and redraw.
    assert out.getvalue() == "<clear>epoch 1\n<bar><clear><bar>"
    assert err.getvalue() == "a warning\n"
    loud = Terminal(None, library_logs=True, stdout=out, stderr=err)
    loud.show(TF_INFO, err)
    assert TF_INFO in err.getvalue()


def test_quiet_terminal_appends_each_trials_lines_to_its_log(tmp_path):
    out = io.StringIO()
    terminal = Terminal(str(tmp_path), quiet=True, stdout=out, stderr=out)
    terminal.line(4, "stdout", "epoch 1")
    terminal.append_log(4, ["epoch 2"])
    terminal.line(None, "stdout", "the search's own line")
    result = terminal.finished(4, {"status": "fail", "error": "Traceback\nBoom\n"})
    log = tmp_path / trial_log_name(4)
    assert log.read_text() == "epoch 1\nepoch 2\nTraceback\nBoom\n"
    assert result["log"] == "logs/trial-4.log"
    assert out.getvalue() == "the search's own line\n"
    # A trial that printed nothing and succeeded has no log.
    assert "log" not in terminal.finished(5, {"status": "ok", "error": None})
    assert "log" not in Terminal(str(tmp_path)).finished(4, {"error": "x"})


def test_capture_and_trial_here_route_prints_to_the_running_trial(tmp_path):
    terminal = Terminal(str(tmp_path), quiet=True, stdout=io.StringIO())
    saved = sys.stdout
    with terminal.capture():
        assert sys.stdout is not saved
        with terminal.trial_here(7):
            print("inside trial 7", end="")
        print("between trials")
    assert sys.stdout is saved
    assert (tmp_path / trial_log_name(7)).read_text() == "inside trial 7\n"
    assert terminal.stdout.getvalue() == "between trials\n"


class TtyText(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_the_bar_and_captures_meanwhile():
    tty = TtyText()
    terminal = Terminal(None, stdout=tty, stderr=tty)
    with terminal.progress()(0, 3) as bar:
        bar.update(1)
        print("a trial line")
        assert terminal.bar is not None
    assert terminal.bar is None
    text = tty.getvalue()
    assert "1/3" in text and "\ra trial line\n" in text and "best loss" in text
    quiet = io.StringIO()
    terminal = Terminal(None, quiet=True, stdout=quiet, stderr=quiet)
    with terminal.progress(lambda: {"ok": 1})(0, 3) as bar:
        bar.update(1)
        bar.postfix = "best loss: 1"
        print("plain line")
    assert quiet.getvalue() == "plain line\n"  # no bar: only what was printed


def test_progress_with_counts_shows_them(monkeypatch):
    from hyperasc.runtime.pruning_rules import COMPLETE, FAIL, PRUNED

    tty = TtyText()
    terminal = Terminal(None, stdout=tty)
    counts = {COMPLETE: 2, PRUNED: 1, FAIL: 0}
    with terminal.progress(lambda: counts)(0, 4) as bar:
        bar.postfix = "best loss: 0.5"
        bar.update(1)
    assert "2 completed, 1 pruned" in tty.getvalue()


def test_route_for_without_a_terminal_prints_plainly(capsys):
    Terminal.current = None
    route_for(1)("stdout", "plain out")
    route_for(1)("stderr", "plain err")
    captured = capsys.readouterr()
    assert captured.out == "plain out\n" and captured.err == "plain err\n"
    terminal = Terminal.start(None, quiet=False, library_logs=False)
    try:
        assert Terminal.current is terminal
    finally:
        Terminal.current = None


def test_quiet_library_logs_filters_standard_error_of_the_process(tmp_path):
    code = textwrap.dedent(f"""
        import os, sys
        from hyperasc.runtime.terminal import quiet_library_logs
        restore = quiet_library_logs()
        os.write(2, {TF_INFO!r}.encode() + b"\\n")
        os.write(2, {ABSL_NOTE!r}.encode() + b"\\nkept line\\n")
        print("python's stderr", file=sys.stderr)
        sys.stderr.write("no newline")
        """)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert proc.returncode == 0
    assert proc.stderr == "kept line\npython's stderr\nno newline"


def test_a_log_level_early_set_is_not_the_users_choice(monkeypatch, unfiltered):
    monkeypatch.delenv("HYPERASC_DEBUG", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    assert library_logs_wanted([])  # set by the user: their choice stands
    quieted_by_us()
    assert not library_logs_wanted([])  # set by early.py: the filter stays

"""The terminal stays readable (issue 18): compiled scripts run as a user runs them.

Trial output is whole lines above the progress bar (checked on a real
pseudo-terminal), --quiet sends it to logs/trial-<tid>.log, TensorFlow's log
lines stay off the terminal, and --help answers before the model's imports.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from helpers import EXAMPLE, compile_model, records

pytestmark = pytest.mark.slow

# Prints in pieces, on both streams, and fails now and then; sleeps so that the
# bar is drawn between its lines.
PRINTING_MODEL = """
import sys
import time


def model():
    x = {{uniform(-5, 5)}}
    print("model line A", round(x, 3), end="")
    sys.stdout.flush()
    time.sleep(0.15)
    print(" continued")
    print("model line B on stderr", file=sys.stderr)
    time.sleep(0.15)
    if x > 3:
        raise ValueError("model failure")
    return x * x
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_pty(args: list[str], cwd: Path, env: dict | None = None, limit=240):
    """Run a command with a pseudo-terminal as stdin, stdout and stderr; its output, exit status."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})},
        close_fds=True,
    )
    os.close(slave)
    chunks, deadline = [], time.time() + limit
    while time.time() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=30)
    return b"".join(chunks).decode("utf-8", "replace"), code


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows, line by line: a carriage return goes back to the
    line's start, and what follows overwrites it."""
    shown = []
    for physical in ANSI.sub("", raw).split("\n"):
        cells: list[str] = []
        for segment in physical.split("\r"):
            for column, char in enumerate(segment):
                if column < len(cells):
                    cells[column] = char
                else:
                    cells.append(char)
        shown.append("".join(cells).rstrip())
    return shown


def assert_whole_lines_above_the_bar(raw: str, trials: int) -> list[str]:
    shown = screen_lines(raw)
    model = [line for line in shown if "model line" in line]
    for line in model:
        assert re.fullmatch(
            r"model line A -?\d+(\.\d+)? continued|model line B on stderr", line
        ), f"a model line shares its line: {line!r}\n{raw!r}"
    assert sum("continued" in line for line in model) == trials
    assert sum("on stderr" in line for line in model) == trials
    return shown


@pytest.mark.parametrize(
    "mode",
    [[], ["--in-process"], ["--parallel", "2"]],
    ids=["forked", "in-process", "parallel"],
)
def test_trial_output_is_whole_lines_above_the_progress_bar(tmp_path, mode):
    script = compile_model(tmp_path, PRINTING_MODEL)
    raw, code = run_in_pty(
        [sys.executable, str(script), "--max-evals", "4", "--out", "run", *mode],
        tmp_path,
    )
    assert code == 0, raw
    assert "best loss" in raw and "4/4" in raw  # the bar was there
    shown = assert_whole_lines_above_the_bar(raw, 4)
    assert any(line.startswith("Search finished") for line in shown)
    assert not (tmp_path / "run" / "logs").exists()


def test_quiet_sends_trial_output_to_log_files_and_records_them(tmp_path):
    script = compile_model(tmp_path, PRINTING_MODEL)
    raw, code = run_in_pty(
        [sys.executable, str(script), "--max-evals", "6", "--out", "run", "--quiet"],
        tmp_path,
        {"HYPERASC_TEST": "1"},
    )
    assert code == 0, raw
    assert "model line" not in raw and "%|" not in raw  # nothing from trials, no bar
    assert "Search finished" in raw
    run = tmp_path / "run"
    failed = 0
    for record in records(run):
        assert record["log"] == f"logs/trial-{record['tid']}.log"
        log = (run / record["log"]).read_text()
        assert re.search(r"^model line A -?[\d.]+ continued$", log, re.M)
        assert "model line B on stderr\n" in log
        if record["status"] == "fail":  # the traceback is in the log too
            failed += 1
            assert "ValueError: model failure" in log and "Traceback" in log
            assert "ValueError: model failure" in record["error"]
    assert failed >= 1  # seed 0 samples x > 3 in six trials


def test_quiet_keeps_the_output_of_a_trial_whose_process_died(tmp_path):
    script = compile_model(
        tmp_path,
        """
        import os


        def model():
            x = {{uniform(0, 1)}}
            print("last words", flush=True)
            os._exit(3)
        """,
    )
    proc = subprocess.run(
        [sys.executable, str(script), "--max-evals", "1", "--out", "run", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "last words" not in proc.stdout + proc.stderr
    (record,) = records(tmp_path / "run")
    log = (tmp_path / "run" / record["log"]).read_text()
    assert log == "last words\nthe trial process died with exit code 3\n"


SLOW_IMPORT_MODEL = """
import time
time.sleep(30)
import a_module_that_does_not_exist_anywhere


def model():
    return {{uniform(0, 1)}}
"""


def test_help_version_and_list_devices_answer_before_the_models_imports(tmp_path):
    text = SLOW_IMPORT_MODEL + "\n\nmax_evals = 1\n"
    script = compile_model(tmp_path, text)
    for args, expected in (
        (["--help"], "--max-evals"),
        (["-h"], "--quiet"),
        (["--version"], "generated by hyperasc"),
        (["worker", "--help"], "--mongo"),
        (["--list-devices"], ""),
    ):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=25,  # the model's import sleeps for 30 s
        )
        took = time.perf_counter() - started
        assert proc.returncode == 0, proc.stderr
        assert expected in proc.stdout and "Traceback" not in proc.stderr
        assert took < 10, took
    # A search does run the imports, and says what is missing.
    proc = subprocess.run(
        [sys.executable, str(script), "--max-evals", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert proc.returncode != 0


def test_help_shows_the_defaults_the_search_uses(tmp_path):
    script = compile_model(
        tmp_path,
        """
        from hyperas import optim
        from hyperopt import Trials, rand


        def model():
            return {{uniform(0, 1)}}


        if __name__ == "__main__":
            optim.minimize(model=model, data=None, algo=rand.suggest, max_evals=3, trials=Trials())
        """,
    )
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"\(default:\s+3\)", help_text)
    assert re.search(r"\(default:\s+rand\)", help_text)
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "run"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert len(records(tmp_path / "run")) == 3 and run_json["algo"] == "rand"


def test_tensorflows_log_lines_stay_off_the_terminal_in_a_real_search(tmp_path):
    script = compile_model(tmp_path)  # the Keras example
    assert EXAMPLE.exists()
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, str(script), "--max-evals", "1", "--out", "run", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    noise = re.compile(r"^[IW]\d{4} |absl::InitializeLog", re.M)
    assert not noise.search(proc.stderr), proc.stderr
    assert not noise.search(proc.stdout)
    assert "Search finished" in proc.stdout

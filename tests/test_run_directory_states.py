"""Issue 17 item 9: the run directory as a state machine, with real processes.

A compiled tuning script (a very cheap model) is started, killed with SIGKILL
at random moments, resumed, raced by a second writer and has its trials.jsonl
damaged, in the orders hypothesis picks. After every step:

- each tid appears at most once among the finished records of trials.jsonl;
- no finished trial disappears (except the one a step truncated on purpose);

and at the end, once resumed to completion, the run's finished trials have the
params of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from helpers import QUICK_MODEL, compile_text

pytestmark = pytest.mark.slow

MAX_EVALS, SEED = 6, 4
ENV = {
    **{k: v for k, v in os.environ.items() if k != "TRIAL_SLEEP"},
    "PYTHONHASHSEED": "0",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
_WORK = Path(tempfile.mkdtemp(prefix="hyperasc-states-"))
_cache: dict[str, object] = {}


def script() -> Path:
    if "script" not in _cache:
        path = _WORK / "tune.py"
        path.write_text(compile_text(QUICK_MODEL))
        _cache["script"] = path
    return _cache["script"]


def command(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(script()),
        "--max-evals",
        str(MAX_EVALS),
        "--seed",
        str(SEED),
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def finished(out: Path) -> list[dict]:
    """The finished records of trials.jsonl, in file order; damaged lines skipped."""
    path = out / "trials.jsonl"
    found = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("status") in ("ok", "fail"):
            found.append(record)
    return found


def reference() -> dict[int, dict]:
    """tid -> params of one uninterrupted run with the same seed (made once)."""
    if "reference" not in _cache:
        out = _WORK / "reference"
        proc = subprocess.run(
            command(out), env=ENV, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        _cache["reference"] = {r["tid"]: r["params"] for r in finished(out)}
        assert sorted(_cache["reference"]) == list(range(MAX_EVALS))
    return _cache["reference"]


def holds_lock(out: Path, pid: int) -> bool:
    try:
        return json.loads((out / "lock").read_text()).get("pid") == pid
    except (OSError, ValueError, AttributeError):
        return False


class RunDirectory(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.out = Path(tempfile.mkdtemp(dir=_WORK)) / "run"
        self.proc: subprocess.Popen | None = None
        self.seen: dict[int, dict] = {}  # tid -> params of every finished record seen
        self.log: list[str] = []  # the steps, for the failure message

    # ------------------------------------------------------------------ helpers

    def launch(self, *extra: str, sleep: float = 0.3) -> None:
        self.proc = subprocess.Popen(
            command(self.out, *extra),
            env={**ENV, "TRIAL_SLEEP": str(sleep)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def reap(self) -> str:
        """Wait for the process (already ended or killed); its stderr."""
        assert self.proc is not None
        _, err = self.proc.communicate(timeout=300)
        code, self.proc = self.proc.returncode, None
        self.log.append(f"  exit {code}")
        return f"exit {code}: {err[-3000:]}"

    # ------------------------------------------------------------------ rules

    @precondition(lambda self: self.proc is None and not self.has_run())
    @rule()
    def start(self):
        self.log.append("start")
        self.launch()

    def has_run(self) -> bool:
        return (self.out / "run.json").exists()

    @precondition(lambda self: self.proc is None and self.has_run())
    @rule()
    def resume(self):
        self.log.append("resume")
        self.launch("--resume")

    @precondition(lambda self: self.proc is not None)
    @rule(
        how=st.one_of(
            st.tuples(st.just("after"), st.floats(0.0, 2.5)),
            st.tuples(st.just("trials"), st.integers(1, MAX_EVALS - 1)),
        )
    )
    def kill(self, how):
        kind, amount = how
        self.log.append(f"kill -9 {kind} {amount}")
        if kind == "after":
            time.sleep(amount)
        else:
            deadline = time.time() + 120
            while (
                len(finished(self.out)) < amount
                and self.running()
                and time.time() < deadline
            ):
                time.sleep(0.02)
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        self.reap()

    @precondition(lambda self: self.proc is not None)
    @rule()
    def wait(self):
        self.log.append("wait")
        err = self.reap()
        assert err.startswith("exit 0"), (self.log, err)

    @precondition(lambda self: self.proc is not None)
    @rule(resume=st.booleans())
    def second_writer(self, resume):
        self.log.append(f"second writer{' --resume' if resume else ''}")
        deadline = time.time() + 120
        while (
            not holds_lock(self.out, self.proc.pid)
            and self.running()
            and time.time() < deadline
        ):
            time.sleep(0.02)
        if not self.running():
            return  # it ended before it held the directory: nothing to race
        other = subprocess.run(
            command(self.out, *(["--resume"] if resume else [])),
            env={**ENV, "TRIAL_SLEEP": "0"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in other.stderr, other.stderr[-3000:]
        if not resume:  # refused: the directory is in use, or (once free) holds a run
            assert other.returncode == 1, (self.log, other.stderr[-3000:])
            assert (
                "in use by another search" in other.stderr
                or "already holds a run" in other.stderr
            ), other.stderr[-3000:]
        elif other.returncode != 0:
            assert other.returncode == 1, (self.log, other.stderr[-3000:])
            assert "in use by another search" in other.stderr, other.stderr[-3000:]
        else:  # it resumed: only once the first had let go of the directory
            err = self.reap()
            assert err.startswith("exit 0"), (self.log, err)

    @precondition(lambda self: self.proc is None and self.has_run())
    @rule(how=st.sampled_from(["garbage", "half", "truncate"]))
    def damage(self, how):
        self.log.append(f"damage {how}")
        path = self.out / "trials.jsonl"
        text = path.read_text() if path.exists() else ""
        if how == "garbage":
            text += "{not json at all\n"
        elif how == "half":
            text += '{"tid": 99, "status": "o'  # a record cut while appending
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                last = lines.pop()
                try:  # this trial is lost on purpose: a resume may run it again
                    self.seen.pop(json.loads(last)["tid"], None)
                except (ValueError, KeyError, TypeError):
                    pass
                lines.append(last[: len(last) // 2])
            text = "".join(lines)
        path.write_text(text)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def each_tid_once_and_none_lost(self):
        records = finished(self.out)
        tids = [r["tid"] for r in records]
        assert len(tids) == len(set(tids)), (self.log, tids)
        now = {r["tid"]: r["params"] for r in records}
        for tid, params in self.seen.items():
            assert tid in now, (self.log, f"finished trial {tid} was lost", tids)
            assert now[tid] == params, (self.log, tid, params, now[tid])
        self.seen.update(now)

    def teardown(self):
        try:
            if self.running():
                self.proc.send_signal(signal.SIGKILL)
            if self.proc is not None:
                self.reap()
            # Finish the run and compare it with the uninterrupted one.
            extra = ["--resume"] if self.has_run() else []
            self.log.append("finish" + (" --resume" if extra else ""))
            self.launch(*extra, sleep=0)
            err = self.reap()
            assert err.startswith("exit 0"), (self.log, err)
            self.each_tid_once_and_none_lost()
            got = {r["tid"]: r["params"] for r in finished(self.out)}
            assert got == reference(), (self.log, got, reference())
        finally:
            if self.running():
                self.proc.kill()
                self.proc.wait()


RunDirectory.TestCase.settings = settings(
    max_examples=5, stateful_step_count=6, deadline=None
)
test_run_directory_states = RunDirectory.TestCase

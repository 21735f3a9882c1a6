"""Reading a run directory into plain records for the report.

The format is specified in docs/run-directory.md and named in
runtime/run_files.py; this module only reads it, never through hyperopt or
Keras, so a report can be made on a machine that has neither.

A run directory may be damaged (a killed writer, a hand edit) or hostile (a
downloaded one): every value is checked against the documented type here, and
one that does not fit is left out with one note naming the file, the line and
the field. The plots and the page then see only well-typed values.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..runtime.contract import option_values
from ..runtime.run_files import RUN_JSON, TRIALS_JSONL, kept_models, trial_log_name

CHOICE_DISTRIBUTIONS = frozenset({"choice", "pchoice"})
LOG_DISTRIBUTIONS = frozenset({"loguniform", "qloguniform", "lognormal", "qlognormal"})
MAX_TID = 2**53  # a tid past this would not survive a float (matplotlib's axes)
MAX_NOTES = 100  # notes listed one by one; the rest are counted in one more
READ_LIMIT = 1 << 31  # bytes of run.json / trials.jsonl read at most


class ReportError(Exception):
    """A user error: not a run directory, unwritable report folder, matplotlib missing."""


@dataclass
class Trial:
    tid: Any
    status: str
    loss: float | None
    duration: float | None
    error: str | None
    params: dict[str, Any]
    start: datetime | None
    end: datetime | None
    history: list[dict[str, list[float]]]
    epochs: int | None = None  # a pruned trial: the epochs it trained
    log: str | None = None  # --quiet: the trial's log, relative to the run directory

    @property
    def pruned(self) -> bool:
        return self.status == "pruned"

    @property
    def ok(self) -> bool:
        # Only these trials go into loss plots; a non-finite "ok" loss would wreck the axes.
        return (
            self.status == "ok" and self.loss is not None and math.isfinite(self.loss)
        )


@dataclass
class Run:
    run_dir: Path
    info: dict[str, Any]
    trials: list[Trial]
    skipped_lines: int
    notes: list[str] = field(default_factory=list)
    kept_models: dict[int, str] = field(
        default_factory=dict
    )  # --keep-best: tid -> file

    @functools.cached_property
    def space(self) -> dict[str, dict[str, Any]]:
        out = {}
        for entry in self.info.get("space") or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                out[entry["name"]] = entry
        return out

    @property
    def param_names(self) -> list[str]:
        # Declared order first (run.json), then anything only seen in trials.
        names = dict.fromkeys(self.space)
        for t in self.trials:
            names.update(dict.fromkeys(t.params))
        return list(names)

    @property
    def best(self) -> Trial | None:
        ok = [t for t in self.trials if t.ok]
        return min(ok, key=lambda t: t.loss) if ok else None

    @property
    def objective(self) -> dict[str, Any] | None:
        """run.json's objective record (what the loss is), when it has a usable one."""
        record = self.info.get("objective")
        return record if isinstance(record, dict) else None

    def option_index(self, trial: Trial, name: str) -> int | None:
        """Which option of the choice `name` the trial took, or None when unknown.

        A distribution nested in an option records its sampled value, not the
        option: the nested parameter, listed beside it while active, tells which.
        """
        if name not in trial.params:
            return None
        spec = self.space.get(name, {})
        value = trial.params[name]
        nested = spec.get("nested") or {}
        for index, inner in nested.items():
            if inner in trial.params and _same(trial.params[inner], value):
                return int(index)
        values = option_values(spec) or []
        for i, option in enumerate(values):
            if str(i) not in nested and _same(option, value):
                return i
        # A run.json without `nested` (an earlier version): the one option that is a
        # distribution's text stands for the values no literal option matches.
        calls = [
            i
            for i, option in enumerate(values)
            if str(i) in nested
            or (isinstance(option, str) and _DISTRIBUTION_CALL.match(option))
        ]
        return calls[0] if len(calls) == 1 else None

    def is_active(self, trial: Trial, name: str, _depth: int = 0) -> bool:
        """Whether the parameter was sampled in the trial: listed, and (when run.json
        says which options of its parent choice run it) its parent took one of them."""
        if name not in trial.params:
            return False
        spec = self.space.get(name, {})
        parent, active = spec.get("parent"), spec.get("active")
        if not isinstance(parent, str) or not isinstance(active, list) or _depth > 50:
            return True
        if not self.is_active(trial, parent, _depth + 1):
            return False
        index = self.option_index(trial, parent)
        return index is None or index in active

    def active_params(self, trial: Trial) -> dict[str, Any]:
        """The trial's parameters that were sampled in it, in the trial's order."""
        if not any(self.space.get(n, {}).get("parent") for n in trial.params):
            return trial.params  # the common case, without a parent to look at
        return {n: v for n, v in trial.params.items() if self.is_active(trial, n)}


_DISTRIBUTION_CALL = re.compile(
    r"\s*(hp\.)?(q?log)?(uniform|normal|randint|choice|pchoice|uniformint)\s*\("
)


def _same(a: Any, b: Any) -> bool:
    """Equal as trials record values (1 and 1.0 alike, True and 1 not)."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    try:
        return bool(a == b)
    except (
        Exception
    ):  # noqa: BLE001 - a value from a damaged file compares as different
        return False


def _number(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (a bool, a 400-digit int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _finite(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and math.isfinite(number) else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:  # Python 3.10's fromisoformat does not accept a trailing "Z"
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _history(value: Any) -> tuple[list[dict[str, list[float]]], bool]:
    """The fits of a history, and whether anything in it did not fit the format."""
    fits, damaged = [], not isinstance(value, list)
    for fit in value if isinstance(value, list) else []:
        if not isinstance(fit, dict):
            damaged = True
            continue
        curves = {}
        for k, v in fit.items():
            if not isinstance(v, list):
                damaged = True
                continue
            curve = [_finite(x) for x in v]
            damaged = damaged or None in curve
            curves[str(k)] = [math.nan if x is None else x for x in curve]
        fits.append(curves)
    return fits, damaged


class _Notes:
    """Notes on what was left out, each once, the first MAX_NOTES one by one."""

    def __init__(self, notes: list[str]):
        self.notes, self.more = notes, 0

    def add(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)
        else:
            self.more += 1

    def close(self) -> None:
        if self.more:
            self.notes.append(f"{self.more} more damaged value(s) left out, not listed")


def _trial(obj: dict[str, Any], where: str, notes: _Notes) -> Trial | None:
    """The record as a Trial, its damaged values left out; None when tid or status is damaged."""
    tid = obj.get("tid")
    if isinstance(tid, bool) or not isinstance(tid, int) or not 0 <= tid < MAX_TID:
        notes.add(f"{where}: tid is not a trial id (an integer from 0); skipped")
        return None
    status = obj.get("status")
    if not isinstance(status, str):
        notes.add(f"{where}: status is not a string; skipped")
        return None

    def check(key: str, ok: Any, what: str) -> Any:
        value = obj.get(key)
        if value is None or ok(value):
            return value
        notes.add(f"{where}: {key} is not {what}; left out")
        return None

    loss = check("loss", lambda v: _finite(v) is not None, "a finite number")
    duration = check(
        "duration", lambda v: _finite(v) is not None and v >= 0, "a number of seconds"
    )
    epochs = check(
        "epochs",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < MAX_TID,
        "a count of epochs",
    )
    error = check("error", lambda v: isinstance(v, str), "a string")
    params = check("params", lambda v: isinstance(v, dict), "an object")
    start, end = (
        check(k, lambda v: _timestamp(v) is not None, "an ISO 8601 timestamp")
        for k in ("start", "end")
    )
    # Only the file --quiet names is linked: never a path of the file's choosing.
    log = check("log", lambda v: v == trial_log_name(tid), "this trial's log file")
    raw_history = obj.get("history")
    history, damaged = _history([] if raw_history is None else raw_history)
    if damaged:
        notes.add(f"{where}: history is not lists of numbers; the rest left out")
    return Trial(
        tid=tid,
        status=status,
        loss=None if loss is None else float(loss),
        duration=None if duration is None else float(duration),
        error=error,
        params=params or {},
        start=_timestamp(start),
        end=_timestamp(end),
        history=history,
        epochs=epochs,
        log=log,
    )


def _space_entry(entry: Any, where: str, notes: _Notes) -> dict[str, Any] | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        notes.add(f"{where}: not a parameter with a name; skipped")
        return None
    clean = {"name": entry["name"]}
    for key, ok, what in (
        ("distribution", lambda v: isinstance(v, str), "a string"),
        ("args", lambda v: isinstance(v, list), "a list"),
        ("options", lambda v: isinstance(v, list), "a list"),
        ("values", lambda v: isinstance(v, list), "a list"),
        ("parent", lambda v: isinstance(v, str), "a string"),
        (
            "active",
            lambda v: isinstance(v, list)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in v),
            "a list of option indices",
        ),
        (
            "nested",
            lambda v: isinstance(v, dict)
            and all(isinstance(x, str) and x.isascii() and x.isdigit() for x in v)
            and all(isinstance(x, str) for x in v.values()),
            "a map of option indices to names",
        ),
    ):
        if key not in entry:
            continue
        if entry[key] is None or ok(entry[key]):
            clean[key] = entry[key]
        else:
            notes.add(f"{where}: {key} of {entry['name']!r} is not {what}; left out")
    return clean


def _read_text(path: Path, notes: _Notes) -> str | None:
    """A regular file's text; None if it is missing or a link (a downloaded run
    directory's link could point at any file, or at a FIFO that never ends)."""
    if path.is_symlink():
        notes.add(f"{path.name} is a symbolic link; not followed, not read")
        return None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO opens at once, to be refused
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ReportError(f"{path} is not a regular file")
            return f.read(READ_LIMIT).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror or e}") from e


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        return ValueError


def _read_info(run_json: Path, notes: _Notes) -> dict[str, Any]:
    if run_json.is_symlink():
        _read_text(run_json, notes)
        return {}
    text = _read_text(run_json, notes)
    if text is None:
        notes.add(
            "run.json is missing; provenance and parameter distributions are unknown"
        )
        return {}
    loaded = _json(text)
    if not isinstance(loaded, dict):
        notes.add("run.json is not a JSON object; provenance is missing")
        return {}
    space = loaded.get("space")
    if space is not None and not isinstance(space, list):
        notes.add("run.json: space is not a list; left out")
        space = None
    entries = [
        _space_entry(e, f"run.json: space entry {i + 1}", notes)
        for i, e in enumerate(space or [])
    ]
    loaded["space"] = [e for e in entries if e is not None]
    objective = loaded.get("objective")
    if objective is not None and not _objective_ok(objective):
        notes.add("run.json: objective is not an objective record; left out")
        loaded["objective"] = None
    if "started" in loaded and _timestamp(loaded["started"]) is None:
        notes.add("run.json: started is not an ISO 8601 timestamp; left out")
        loaded["started"] = None
    return loaded


def _objective_ok(record: Any) -> bool:
    """An objective record as contract.objective writes it (see runtime/contract.py)."""
    if not isinstance(record, dict):
        return False
    expression, function, line = (
        record.get(k) for k in ("expression", "function", "line")
    )
    metric, sign, offset = (record.get(k) for k in ("metric", "sign", "offset"))
    return (
        isinstance(expression, str)
        and (function is None or isinstance(function, str))
        and (line is None or (isinstance(line, int) and not isinstance(line, bool)))
        and (metric is None or isinstance(metric, str))
        and (sign is None or sign in (1, -1) and not isinstance(sign, bool))
        and (offset is None or _finite(offset) is not None)
    )


def _one_clock(info: dict[str, Any], trials: list[Trial], notes: _Notes) -> None:
    """Leave out the timestamps without a time zone when others have one (they cannot be compared)."""
    started = _timestamp(info.get("started"))
    stamps = [started] + [s for t in trials for s in (t.start, t.end)]
    aware = sum(s.tzinfo is not None for s in stamps if s is not None)
    naive = sum(s.tzinfo is None for s in stamps if s is not None)
    if not aware or not naive:
        return
    if started is not None and started.tzinfo is None:
        notes.add("run.json: started has no time zone, unlike others; left out")
        info["started"] = None
    for t in trials:
        for key in ("start", "end"):
            stamp = getattr(t, key)
            if stamp is not None and stamp.tzinfo is None:
                notes.add(
                    f"trial {t.tid}: {key} has no time zone, unlike others; left out"
                )
                setattr(t, key, None)


def read_run(run_dir: Path) -> Run:
    """Read a run directory, tolerating a run that is still going (see docs/run-directory.md)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir} is not a directory")
    run_json, trials_jsonl = run_dir / RUN_JSON, run_dir / TRIALS_JSONL
    if not any(p.exists() or p.is_symlink() for p in (run_json, trials_jsonl)):
        raise ReportError(
            f"{run_dir} is not a run directory (it has neither run.json nor trials.jsonl)"
        )
    notes_list: list[str] = []
    notes = _Notes(notes_list)
    info = _read_info(run_json, notes)
    text = _read_text(trials_jsonl, notes) or ""
    trials: list[Trial] = []
    seen: set[int] = set()
    skipped = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        record = _json(line)
        if not isinstance(record, dict):
            skipped += 1
            continue
        trial = _trial(record, f"trials.jsonl line {number}", notes)
        if trial is not None and trial.tid in seen:
            notes.add(
                f"trials.jsonl line {number}: tid {trial.tid} was already read; skipped"
            )
        elif trial is not None:
            seen.add(trial.tid)
            trials.append(trial)
    if skipped:
        notes.add(
            f"skipped {skipped} line(s) of trials.jsonl that did not parse "
            "(a run still in progress may have a half-written last line)"
        )
    _one_clock(info, trials, notes)
    notes.close()
    return Run(run_dir, info, trials, skipped, notes_list, kept_models(run_dir))

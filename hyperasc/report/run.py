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

import json
import math
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..runtime.run_files import RUN_JSON, TRIALS_JSONL, kept_models

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

    @property
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
    if "started" in loaded and _timestamp(loaded["started"]) is None:
        notes.add("run.json: started is not an ISO 8601 timestamp; left out")
        loaded["started"] = None
    return loaded


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

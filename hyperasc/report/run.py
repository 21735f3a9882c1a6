"""Reading a run directory into plain records for the report.

The format is specified in docs/run-directory.md and named in
runtime/run_files.py; this module only reads it, never through hyperopt or
Keras, so a report can be made on a machine that has neither.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..runtime.run_files import RUN_JSON, TRIALS_JSONL, kept_models, read_trials

CHOICE_DISTRIBUTIONS = frozenset({"choice", "pchoice"})
LOG_DISTRIBUTIONS = frozenset({"loguniform", "qloguniform", "lognormal", "qlognormal"})


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
        names = list(self.space)
        for t in self.trials:
            names.extend(n for n in t.params if n not in names)
        return names

    @property
    def best(self) -> Trial | None:
        ok = [t for t in self.trials if t.ok]
        return min(ok, key=lambda t: t.loss) if ok else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:  # Python 3.10's fromisoformat does not accept a trailing "Z"
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _history(value: Any) -> list[dict[str, list[float]]]:
    fits = []
    for fit in value if isinstance(value, list) else []:
        if isinstance(fit, dict):
            fits.append(
                {
                    str(k): [
                        float(x) if _number(x) is not None else math.nan for x in v
                    ]
                    for k, v in fit.items()
                    if isinstance(v, list)
                }
            )
    return fits


def _trial(obj: dict[str, Any]) -> Trial:
    params = obj.get("params")
    error = obj.get("error")
    return Trial(
        tid=obj.get("tid"),
        status=str(obj.get("status") or ""),
        loss=_number(obj.get("loss")),
        duration=_number(obj.get("duration")),
        error=None if error is None else str(error),
        params=params if isinstance(params, dict) else {},
        start=_timestamp(obj.get("start")),
        end=_timestamp(obj.get("end")),
        history=_history(obj.get("history")),
        epochs=int(obj["epochs"]) if _number(obj.get("epochs")) is not None else None,
    )


def read_run(run_dir: Path) -> Run:
    """Read a run directory, tolerating a run that is still going (see docs/run-directory.md)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir} is not a directory")
    run_json, trials_jsonl = run_dir / RUN_JSON, run_dir / TRIALS_JSONL
    if not run_json.is_file() and not trials_jsonl.is_file():
        raise ReportError(
            f"{run_dir} is not a run directory (it has neither run.json nor trials.jsonl)"
        )

    notes: list[str] = []
    info: dict[str, Any] = {}
    if run_json.is_file():
        try:
            loaded = json.loads(run_json.read_text(encoding="utf-8"))
            info = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError) as e:
            notes.append(f"run.json could not be read ({e}); provenance is missing")
    else:
        notes.append(
            "run.json is missing; provenance and parameter distributions are unknown"
        )

    records, skipped = read_trials(trials_jsonl)
    trials = [_trial(record) for record in records]
    if skipped:
        notes.append(
            f"skipped {skipped} line(s) of trials.jsonl that did not parse "
            "(a run still in progress may have a half-written last line)"
        )
    return Run(run_dir, info, trials, skipped, notes, kept_models(run_dir))

"""The run directory's files: their names and how to read them.

Only the standard library: `hyperasc report` reads run directories through
this module without hyperopt. run_directory.py writes them.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from typing import Any

from .contract import SPACE_IDENTITY, SPACE_KEYS, space_record

RUN_JSON = "run.json"
TRIALS_JSONL = "trials.jsonl"
BEST_JSON = "best.json"
BEST_MODEL = "best_model.keras"
CHECKPOINT = "checkpoint"
MODELS_DIR = "models"  # --keep-best K: models/trial-<tid>.keras
LOCK = "lock"  # held by the search that writes the directory (run_lock.py)
LOGS_DIR = "logs"  # --quiet: logs/trial-<tid>.log, a trial's printed output
# A directory holding any of these holds a run.
RUN_FILES = (RUN_JSON, CHECKPOINT, TRIALS_JSONL)
# run.json's `space` and what --resume compares of it are the contract's (contract.py).
__all__ = [
    "SPACE_IDENTITY",
    "SPACE_KEYS",
    "space_record",
    "utc_now",
    "iso_time",
    "read_trials",
    "read_json",
    "kept_model_name",
    "kept_models",
    "trial_log_name",
]


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="milliseconds"
    )


def iso_time(timestamp: float | None) -> str | None:
    """A POSIX timestamp as UTC ISO 8601, or None."""
    if timestamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def read_trials(path: str) -> tuple[list[dict[str, Any]], int]:
    """The records of a trials.jsonl file and the number of lines that did not parse.

    The writer appends one line per trial, so a run that is going or was
    killed may end in a half-written line; it is skipped, not fatal.
    """
    records, skipped = [], 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return records, skipped
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            skipped += 1
    return records, skipped


def read_json(path: str) -> dict[str, Any] | None:
    """A JSON object file's content, or None when it is missing or damaged."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def kept_model_name(tid: int) -> str:
    """Where --keep-best keeps trial `tid`'s model, relative to the run directory."""
    return f"{MODELS_DIR}/trial-{tid}.keras"


def kept_models(run_dir: str) -> dict[int, str]:
    """{tid: path} of the models --keep-best kept in `run_dir`."""
    folder = os.path.join(run_dir, MODELS_DIR)
    found = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        match = re.fullmatch(r"trial-(\d+)\.keras", name)
        if match:
            found[int(match.group(1))] = os.path.join(folder, name)
    return found


def trial_log_name(tid: int) -> str:
    """Where --quiet writes trial `tid`'s output, relative to the run directory;
    trials.jsonl's `log` field names it."""
    return f"{LOGS_DIR}/trial-{tid}.log"

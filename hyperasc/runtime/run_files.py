"""The run directory's files: their names and how to read them.

Only the standard library: `hyperasc report` reads run directories through
this module without hyperopt. run_directory.py writes them.
"""

import datetime
import json
import os
import re

RUN_JSON = "run.json"
TRIALS_JSONL = "trials.jsonl"
BEST_JSON = "best.json"
BEST_MODEL = "best_model.keras"
CHECKPOINT = "checkpoint"
MODELS_DIR = "models"  # --keep-best K: models/trial-<tid>.keras
# A directory holding any of these holds a run.
RUN_FILES = (RUN_JSON, CHECKPOINT, TRIALS_JSONL)
SPACE_KEYS = ("name", "distribution", "args", "line", "column", "options")
# What must match for --resume: where a parameter is written may change.
SPACE_IDENTITY = ("name", "distribution", "args", "options")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="milliseconds"
    )


def iso_time(timestamp):
    """A POSIX timestamp as UTC ISO 8601, or None."""
    if timestamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def space_record(parameters):
    """run.json's `space`: each parameter as `hyperasc space --json` prints it."""
    return [{k: p[k] for k in SPACE_KEYS} for p in parameters]


def read_trials(path):
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


def read_json(path):
    """A JSON object file's content, or None when it is missing or damaged."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def kept_model_name(tid):
    """Where --keep-best keeps trial `tid`'s model, relative to the run directory."""
    return f"{MODELS_DIR}/trial-{tid}.keras"


def kept_models(run_dir):
    """{tid: path} of the models --keep-best kept in `run_dir`."""
    folder = os.path.join(run_dir, MODELS_DIR)
    found = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        match = re.fullmatch(r"trial-(\d+)\.keras", name)
        if match:
            found[int(match.group(1))] = os.path.join(folder, name)
    return found

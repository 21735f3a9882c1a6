"""Curve stores: where every trial process, and every worker, reads the curves
of all trials while they run.

Both stores keep the conventions of pruning_rules.py: oriented curves, one
value per step, and a state for each finished trial.
"""

from __future__ import annotations

import json
import os
from typing import Any

CURVES_FILE = "curves.jsonl"  # in the run directory
CURVES_COLLECTION = "hyperasc_curves"  # in the MongoDB database of --mongo


class FileCurveStore:
    """Curves in one JSON-lines file of the run directory, `curves.jsonl`.

    Lines are {"tid", "step", "value"} or {"tid", "state"}. Each is written
    with one write() on a file opened for appending, then fsynced, so the
    trial processes of one machine can append side by side and a killed
    search loses at most the line being written. A later line for a step
    replaces that step and drops the steps after it, and a step 1 clears
    the trial's state: a trial run again (after --resume, hyperopt may reuse
    the id of an unfinished trial) starts afresh. Readers skip a line that does not parse, and a writer
    that finds the file ending in a torn line starts on a new line.
    """

    def __init__(self, path: str):
        self.path = path
        self._offset = 0
        self._curves: dict[int, list[float]] = {}
        self._states: dict[int, str] = {}

    def append(self, tid: int, step: int, value: float) -> None:
        self._write({"tid": tid, "step": step, "value": value})

    def finished(self, tid: int, state: str) -> None:
        self._write({"tid": tid, "state": state})

    def curves(self) -> dict[int, list[float]]:
        self._read()
        return {tid: list(curve) for tid, curve in self._curves.items()}

    def states(self) -> dict[int, str]:
        self._read()
        return dict(self._states)

    def _write(self, record: dict) -> None:
        line = (json.dumps(record) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _read(self) -> None:
        """Take in the lines appended since the last read, whole lines only."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
                tid = int(record["tid"])
                if "state" in record:
                    self._states[tid] = str(record["state"])
                else:
                    _set_step(self._curves, tid, record["step"], record["value"])
                    if record["step"] <= 1:
                        self._states.pop(tid, None)
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line


def _set_step(curves: dict, tid: int, step: int, value: float) -> None:
    curve = curves.setdefault(tid, [])
    del curve[max(0, step - 1) :]
    curve.append(float(value))


class MongoCurveStore:
    """Curves in a MongoDB collection, so that workers on any host share them.

    One document per trial: {"key": KEY, "tid": TID, "values": [...],
    "state": STATE}. Appending a step puts the value at its position and
    drops the steps after it, in one atomic update, with the same meaning
    as FileCurveStore (step 1 clears the state too). `key` tells
    experiments in one collection apart.
    """

    def __init__(self, collection: Any, key: str | None = None):
        self.collection, self.key = collection, key

    def _id(self, tid: int) -> dict:
        return {"key": self.key, "tid": int(tid)}

    def append(self, tid: int, step: int, value: float) -> None:
        position = max(0, step - 1)
        update = {
            "$push": {
                "values": {
                    "$each": [float(value)],
                    "$position": position,
                    "$slice": position + 1,
                }
            }
        }
        if position == 0:
            update["$unset"] = {"state": ""}
        self.collection.update_one(self._id(tid), update, upsert=True)

    def finished(self, tid: int, state: str) -> None:
        self.collection.update_one(
            self._id(tid), {"$set": {"state": state}}, upsert=True
        )

    def curves(self) -> dict[int, list[float]]:
        return {
            int(doc["tid"]): [float(v) for v in doc.get("values") or []]
            for doc in self.collection.find({"key": self.key}, {"tid": 1, "values": 1})
        }

    def states(self) -> dict[int, str]:
        return {
            int(doc["tid"]): str(doc["state"])
            for doc in self.collection.find(
                {"key": self.key, "state": {"$exists": True}}, {"tid": 1, "state": 1}
            )
        }

"""Curve stores: a JSON-lines file shared by processes, and a MongoDB collection."""

from __future__ import annotations

import json
import math
import multiprocessing
import os

import pytest

from hyperasc.runtime import curve_stores
from hyperasc.runtime.pruning_rules import COMPLETE, PRUNED

# --------------------------------------------------------------------------- file store


def test_file_store_round_trip_and_resume(tmp_path):
    path = str(tmp_path / "curves.jsonl")
    store = curve_stores.FileCurveStore(path)
    assert store.curves() == {} and store.states() == {}
    store.append(0, 1, 0.9)
    store.append(0, 2, 0.7)
    store.append(1, 1, math.inf)
    store.finished(0, COMPLETE)
    assert store.curves() == {0: [0.9, 0.7], 1: [math.inf]}
    store.append(1, 2, 2.0)  # read incrementally after the first read
    store.finished(1, PRUNED)
    assert store.curves() == {0: [0.9, 0.7], 1: [math.inf, 2.0]}
    # A new store on the same file, as after --resume, sees it all.
    again = curve_stores.FileCurveStore(path)
    assert again.curves() == store.curves()
    assert again.states() == {0: COMPLETE, 1: PRUNED}
    lines = (tmp_path / "curves.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["tid"] in (0, 1) for line in lines)


def test_file_store_a_rerun_trial_starts_its_curve_afresh(tmp_path):
    store = curve_stores.FileCurveStore(str(tmp_path / "curves.jsonl"))
    for step, value in enumerate([0.9, 0.8, 0.7], start=1):
        store.append(4, step, value)
    store.append(4, 1, 0.5)  # killed, resumed: trial 4 runs again
    assert store.curves() == {4: [0.5]}


def test_file_store_survives_a_torn_line(tmp_path):
    path = tmp_path / "curves.jsonl"
    store = curve_stores.FileCurveStore(str(path))
    store.append(0, 1, 0.9)
    with open(path, "ab") as f:
        f.write(b'{"tid": 0, "step": 2, "va')  # a writer killed mid-line
    assert store.curves() == {0: [0.9]}
    store.append(1, 1, 0.4)  # starts on a new line
    store.finished(1, COMPLETE)
    assert store.curves() == {0: [0.9], 1: [0.4]}
    assert curve_stores.FileCurveStore(str(path)).states() == {1: COMPLETE}
    assert path.read_bytes().count(b"\n") == 4


def _append_many(path, tid, count):
    store = curve_stores.FileCurveStore(path)
    for step in range(1, count + 1):
        store.append(tid, step, tid + step / 1000)
    store.finished(tid, COMPLETE)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="trial processes are forked")
def test_file_store_shared_by_processes_appending_at_once(tmp_path):
    path = str(tmp_path / "curves.jsonl")
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_append_many, args=(path, tid, 150)) for tid in range(3)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    store = curve_stores.FileCurveStore(path)
    assert store.curves() == {
        tid: [tid + step / 1000 for step in range(1, 151)] for tid in range(3)
    }
    assert store.states() == {0: COMPLETE, 1: COMPLETE, 2: COMPLETE}


def test_a_trial_run_again_starts_afresh_and_is_no_longer_finished(tmp_path):
    store = curve_stores.FileCurveStore(str(tmp_path / "curves.jsonl"))
    store.append(3, 1, 0.9)
    store.append(3, 2, 0.8)
    store.finished(3, COMPLETE)
    assert store.states() == {3: COMPLETE}
    store.append(3, 1, 0.7)
    assert store.curves() == {3: [0.7]} and store.states() == {}


# --------------------------------------------------------------------------- MongoDB


@pytest.mark.slow
def test_mongo_store(mongo_server):
    pymongo = pytest.importorskip("pymongo")
    client = pymongo.MongoClient("127.0.0.1", mongo_server.port)
    try:
        collection = client["test_pruning_store"]["curves"]
        store = curve_stores.MongoCurveStore(collection, key="exp")
        other = curve_stores.MongoCurveStore(collection, key="other")
        store.append(0, 1, 0.9)
        store.append(0, 2, 0.7)
        store.append(1, 1, math.inf)
        other.append(0, 1, 5.0)
        store.finished(0, COMPLETE)
        assert store.curves() == {0: [0.9, 0.7], 1: [math.inf]}
        assert store.states() == {0: COMPLETE}
        store.append(0, 2, 0.6)  # a rerun step replaces and drops what follows
        store.append(0, 3, 0.5)
        store.append(0, 1, 0.8)  # trial 0 runs again: no longer complete
        assert store.curves()[0] == [0.8] and store.states() == {}
        store.finished(0, PRUNED)
        # Another connection (another worker) sees the same curves.
        second = pymongo.MongoClient("127.0.0.1", mongo_server.port)
        try:
            shared = curve_stores.MongoCurveStore(
                second["test_pruning_store"]["curves"], "exp"
            )
            assert shared.curves() == {0: [0.8], 1: [math.inf]}
        finally:
            second.close()
        assert store.states() == {0: PRUNED}
        assert other.curves() == {0: [5.0]} and other.states() == {}
        assert other.curves() == {0: [5.0]} and other.states() == {}
    finally:
        client.drop_database("test_pruning_store")
        client.close()

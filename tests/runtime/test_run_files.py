"""The run directory's file names and readers (stdlib only: `hyperasc report` uses them)."""

from __future__ import annotations

import datetime
import json

from hyperasc.runtime import run_files
from hyperasc.runtime.run_files import (
    SPACE_IDENTITY,
    SPACE_KEYS,
    iso_time,
    kept_model_name,
    kept_models,
    read_json,
    read_trials,
    space_record,
    utc_now,
)

from .conftest import PARAMETERS


def test_file_names_are_those_of_the_documented_format():
    assert (run_files.RUN_JSON, run_files.TRIALS_JSONL, run_files.BEST_JSON) == (
        "run.json",
        "trials.jsonl",
        "best.json",
    )
    assert (run_files.BEST_MODEL, run_files.CHECKPOINT) == (
        "best_model.keras",
        "checkpoint",
    )
    assert set(run_files.RUN_FILES) == {"run.json", "checkpoint", "trials.jsonl"}
    assert set(run_files.SPACE_IDENTITY) <= set(run_files.SPACE_KEYS)


def test_utc_now_is_iso_8601_in_utc_with_milliseconds():
    text = utc_now()
    moment = datetime.datetime.fromisoformat(text)
    assert moment.utcoffset() == datetime.timedelta(0)
    assert (
        abs((datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds()) < 5
    )
    assert len(text.split(".")[1]) == len("123+00:00")


def test_iso_time_of_a_timestamp_or_none():
    assert iso_time(None) is None
    assert iso_time(0) == "1970-01-01T00:00:00.000+00:00"
    assert iso_time(1700000000.25) == "2023-11-14T22:13:20.250+00:00"


def test_space_record_keeps_the_contracts_space_keys():
    record = space_record(PARAMETERS)
    assert [p["name"] for p in record] == [p["name"] for p in PARAMETERS]
    assert record[2] == {
        "name": "rate",
        "distribution": "choice",
        "args": ["[None, uniform(0, 0.5)]"],
        "values": [None, "uniform(0, 0.5)"],
        "parent": None,
        "active": None,
        "nested": {"1": "rate_opt1"},
    }
    assert record[3]["parent"] == "rate" and record[3]["active"] == [1]
    assert SPACE_KEYS == tuple(record[2])
    assert set(SPACE_IDENTITY) <= set(SPACE_KEYS)
    json.dumps(record)


def test_read_trials_skips_damaged_lines_and_counts_them(tmp_path):
    path = tmp_path / "trials.jsonl"
    assert read_trials(str(path)) == ([], 0)  # no file yet: no trials
    path.write_bytes(
        b'{"tid": 0}\n\n[1, 2]\n{"tid": 1, "loss": 0.5}\n\xff\xfe\n{"tid": 2, "sta'
    )
    records, skipped = read_trials(str(path))
    assert records == [{"tid": 0}, {"tid": 1, "loss": 0.5}]
    assert skipped == 3  # a list, undecodable bytes, a half-written last line


def test_read_json_gives_an_object_or_none(tmp_path):
    path = tmp_path / "run.json"
    assert read_json(str(path)) is None
    path.write_text('{"seed": 3}')
    assert read_json(str(path)) == {"seed": 3}
    for damaged in ('{"seed": ', "[1, 2]", ""):
        path.write_text(damaged)
        assert read_json(str(path)) is None


def test_kept_models_are_found_by_their_names(tmp_path):
    assert kept_model_name(12) == "models/trial-12.keras"
    assert kept_models(str(tmp_path)) == {}
    (tmp_path / "models").mkdir()
    for name in (
        "trial-3.keras",
        "trial-12.keras",
        "trial-x.keras",
        ".trial-4.keras.99.tmp.keras",
        "notes.txt",
    ):
        (tmp_path / "models" / name).write_text("")
    assert kept_models(str(tmp_path)) == {
        3: str(tmp_path / kept_model_name(3)),
        12: str(tmp_path / kept_model_name(12)),
    }


def test_a_trial_log_lives_in_the_logs_folder():
    assert run_files.trial_log_name(7) == "logs/trial-7.log"
    assert run_files.trial_log_name(7).startswith(run_files.LOGS_DIR + "/")

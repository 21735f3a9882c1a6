"""RunDirectory: the files of one search, written and read back."""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import sys

import hyperopt
import numpy as np
import pytest

from hyperasc.runtime.errors import RunError
from hyperasc.runtime.run_directory import (
    keras_backend,
    RunDirectory,
    checkpoint_bytes,
    is_loss,
    is_tid,
    print_note,
    trials_from_checkpoint,
    list_devices,
    package_versions,
    rebuild_trials,
    space_changes,
    visible_devices,
)
from hyperasc.runtime.parallel import LocalTrials
from hyperasc.runtime.script import Script
from hyperasc.runtime.search_log import SearchLog

from .conftest import PARAMETERS, loss_of, make_space, rand_search


def finished_search(run: RunDirectory, max_evals: int = 6) -> hyperopt.Trials:
    """A real search over PARAMETERS' space, recorded in `run` as tune.py does."""
    trials = run.open(resume=False)
    log = SearchLog(run, trials, make_space(), PARAMETERS)
    return rand_search(trials, max_evals, 1, early_stop_fn=log.after_trial)


def provenance_args(**overrides) -> argparse.Namespace:
    return argparse.Namespace(**{"seed": 4, "algo": "tpe", "max_evals": 6, **overrides})


def test_file_and_existing(tmp_path):
    run = RunDirectory(str(tmp_path))
    assert run.file("best.json") == os.path.join(str(tmp_path), "best.json")
    assert run.existing() == [] and run.best_loss == math.inf
    (tmp_path / "trials.jsonl").write_text("")
    (tmp_path / "best.json").write_text("{}")  # not one of the files that make a run
    assert run.existing() == ["trials.jsonl"]


def test_check_start_refuses_to_overwrite_a_run(tmp_path):
    run = RunDirectory(str(tmp_path))
    assert run.check_start(False, PARAMETERS, None) == 0
    assert run.check_start(False, PARAMETERS, 7) == 7
    run.write_json("run.json", {"seed": 3, "space": PARAMETERS})
    with pytest.raises(
        RunError, match=r"already holds a run \(run.json\); pass --resume"
    ):
        run.check_start(False, PARAMETERS, None)


def test_check_start_on_resume_checks_space_and_seed(tmp_path):
    run = RunDirectory(str(tmp_path))
    (tmp_path / "lock").write_text("{}")  # a start killed before run.json
    with pytest.raises(RunError, match="no run to continue in .* \\(no run.json"):
        run.check_start(True, PARAMETERS, None)  # nothing to resume
    # Records of earlier versions also held each parameter's line and column.
    moved = [dict(p, line=14, column=3) for p in PARAMETERS]
    run.write_json("run.json", {"seed": 3, "space": moved})
    assert (
        run.check_start(True, PARAMETERS, None) == 3
    )  # the run's own seed; moved lines are fine
    assert run.check_start(True, PARAMETERS, 3) == 3
    with pytest.raises(
        RunError,
        match="was searched with --seed 3, not 5; drop --seed, or add --reseed",
    ):
        run.check_start(True, PARAMETERS, 5)
    assert run.check_start(True, PARAMETERS, 5, reseed=True) == 5
    changed = [dict(p, args=["0", "1"]) if p["name"] == "x" else p for p in PARAMETERS]
    with pytest.raises(RunError, match=r"search space changed \(changed x\)"):
        run.check_start(True, changed, None)
    (tmp_path / "run.json").write_text("{damaged")
    with pytest.raises(RunError, match="run.json is damaged"):
        run.check_start(True, PARAMETERS, None)


def test_space_changes_in_a_few_words():
    assert space_changes(PARAMETERS, PARAMETERS) == ""
    after = [p for p in PARAMETERS if p["name"] != "units"] + [
        dict(PARAMETERS[0], name="width")
    ]
    after = [
        dict(p, args=["[1, 2]"], values=[1, 2]) if p["name"] == "act" else p
        for p in after
    ]
    assert space_changes(PARAMETERS, after) == "added width; removed units; changed act"


def test_open_a_new_run_and_resume_from_the_checkpoint(tmp_path):
    run = RunDirectory(str(tmp_path / "run"))
    trials = finished_search(run)
    assert isinstance(trials, hyperopt.Trials) and (tmp_path / "run").is_dir()
    again = RunDirectory(str(tmp_path / "run"))
    resumed = again.open(resume=True, parameters=PARAMETERS)
    assert [t["tid"] for t in resumed.trials] == list(range(6))
    assert [t["misc"]["vals"] for t in resumed.trials] == [
        t["misc"]["vals"] for t in trials.trials
    ]
    assert again.best_loss == min(t["result"]["loss"] for t in trials.trials)
    assert len(RunDirectory(str(tmp_path / "other")).open(resume=True).trials) == 0


@pytest.mark.parametrize("damage", ["missing", "truncated", "empty"])
def test_a_lost_checkpoint_is_rebuilt_from_trials_jsonl(tmp_path, damage, capsys):
    run = RunDirectory(str(tmp_path))
    trials = finished_search(run)
    checkpoint = tmp_path / "checkpoint"
    if damage == "missing":
        checkpoint.unlink()
    else:
        checkpoint.write_bytes(
            checkpoint.read_bytes()[:40] if damage == "truncated" else b""
        )
    rebuilt = RunDirectory(str(tmp_path)).open(resume=True, parameters=PARAMETERS)
    assert [t["misc"]["vals"] for t in rebuilt.trials] == [
        t["misc"]["vals"] for t in trials.trials
    ]
    assert [t["result"]["loss"] for t in rebuilt.trials] == [
        t["result"]["loss"] for t in trials.trials
    ]
    err = capsys.readouterr().err
    assert "rebuilding the search from 6 trial(s)" in err
    assert ("is damaged" in err) == (damage != "missing")


def test_rebuild_trials_encodes_real_values_and_skips_foreign_records():
    records = [
        {
            "tid": 1,
            "status": "fail",
            "loss": None,
            "params": {"units": 16, "act": 'str("relu")', "rate": None, "x": 0.0},
            "error": "boom",
        },
        {
            "tid": 0,
            "status": "ok",
            "loss": 1.5,
            "params": {"units": 32, "act": 'str("tanh")', "rate": 0.2, "x": 1.0},
            "history": [{"loss": [2.0, 1.5]}],
            "duration": 0.3,
        },
        {
            "tid": 2,
            "status": "ok",
            "loss": 0.1,
            "params": {"units": 99, "act": 'str("relu")', "rate": None, "x": 0.0},
        },
    ]
    notes = []
    trials = rebuild_trials(records, PARAMETERS, note=notes.append)
    # Sorted; a point outside the space is kept failed, with no values, so
    # that its tid is never handed out again (issue 17 item 6).
    assert [t["tid"] for t in trials.trials] == [0, 1, 2]
    ok, failed, unfit = trials.trials
    assert unfit["result"]["status"] == "fail" and unfit["result"]["loss"] is None
    assert "99 is not an option of units" in unfit["result"]["error"]
    assert all(v == [] for v in unfit["misc"]["vals"].values())
    assert len(notes) == 1 and notes[0].startswith(
        "1 trial(s) of trials.jsonl no longer fit the search space (2; trial 2: "
    )
    assert ok["misc"]["vals"] == {
        "units": [1],
        "act": [1],
        "rate": [1],
        "rate_opt1": [0.2],
        "x": [1.0],
    }
    assert ok["result"] == {
        "status": "ok",
        "loss": 1.5,
        "history": [{"loss": [2.0, 1.5]}],
        "duration": 0.3,
    }
    assert (
        failed["misc"]["vals"]["rate_opt1"] == []
        and failed["result"]["status"] == "fail"
    )
    assert failed["result"]["error"] == "boom" and failed["result"]["loss"] is None
    assert all(t["state"] == hyperopt.JOB_STATE_DONE for t in trials.trials)
    # hyperopt can search on from it.
    hyperopt.fmin(
        loss_of,
        make_space(),
        algo=hyperopt.tpe.suggest,
        max_evals=4,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert [t["tid"] for t in trials.trials] == [0, 1, 2, 3]


def test_save_checkpoint_keeps_only_finished_trials(tmp_path):
    run = RunDirectory(str(tmp_path))
    trials = finished_search(run, 3)
    running = trials.new_trial_docs(
        [3], [None], [{"status": "new"}], [dict(trials.trials[0]["misc"], tid=3)]
    )
    running[0]["state"] = hyperopt.JOB_STATE_RUNNING
    trials.insert_trial_docs(running)
    trials.refresh()
    run.save_checkpoint(trials)
    stored = trials_from_checkpoint((tmp_path / "checkpoint").read_bytes())
    assert [t["tid"] for t in stored.trials] == [
        0,
        1,
        2,
    ]  # the running one runs again on --resume


def test_write_provenance_records_the_start_and_each_resume(tmp_path, monkeypatch):
    script_path = tmp_path / "tune.py"
    script_path.write_text("# a tuning script\n")
    script = Script(
        path=str(script_path),
        trial=loss_of,
        parameters=PARAMETERS,
        model_file="model.py",
        model_sha256="abc",
    )
    run = RunDirectory(str(tmp_path / "run"))
    os.makedirs(run.path)
    monkeypatch.setattr(sys, "argv", ["tune.py", "--seed", "4"])
    run.write_provenance(script, provenance_args(), "local")
    info = run.read_json("run.json")
    assert info["hyperasc_version"] == "unbundled"
    assert (
        info["script"]["path"] == str(script_path)
        and len(info["script"]["sha256"]) == 64
    )
    assert info["model"] == {"path": "model.py", "sha256": "abc"}
    assert (
        info["argv"] == ["tune.py", "--seed", "4"]
        and info["resumed"] == []
        and info["resumes"] == []
    )
    assert (info["seed"], info["algo"], info["max_evals"], info["backend"]) == (
        4,
        "tpe",
        6,
        "local",
    )
    assert info["space"][0]["name"] == "units" and "object" not in info["space"][0]
    assert info["devices"] == (
        ["CPU"] if "tensorflow" not in sys.modules else visible_devices()
    )
    assert info["versions"]["hyperopt"] == hyperopt.__version__

    assert info["keras_backend"] == keras_backend()

    monkeypatch.setattr(sys, "argv", ["tune.py", "--resume"])
    run.write_provenance(
        script,
        provenance_args(max_evals=9),
        "local",
        {"argv": ["masked"], "spark": {"n": 2}},
    )
    again = run.read_json("run.json")
    assert (
        again["argv"] == info["argv"] and again["started"] == info["started"]
    )  # the first start's
    assert len(again["resumed"]) == 1 and again["resumes"] == [
        {"at": again["resumed"][0], "argv": ["masked"]}
    ]
    assert again["max_evals"] == 9 and again["spark"] == {"n": 2}
    changed = provenance_args(max_evals=12)
    changed.resume_changes = {"max_evals": [9, 12]}
    run.write_provenance(script, changed, "local")
    assert run.read_json("run.json")["resumes"][-1]["changed"] == {"max_evals": [9, 12]}


def test_write_json_and_read_json(tmp_path):
    run = RunDirectory(str(tmp_path))
    run.write_json("best.json", {"tid": 1, "loss": 0.5, "odd": {1, 2}.__class__})
    assert json.loads((tmp_path / "best.json").read_text())["odd"] == repr(set)
    assert run.read_json("best.json")["loss"] == 0.5
    assert run.read_json("missing.json") is None


def test_append_trial_and_recorded_tids_cut_a_half_written_line(tmp_path):
    run = RunDirectory(str(tmp_path))
    assert run.recorded_tids() == set()
    run.append_trial({"tid": 0, "loss": np.float64(0.5)})
    run.append_trial({"tid": 1, "loss": 0.25})
    with open(tmp_path / "trials.jsonl", "a") as f:
        f.write('{"tid": 2, "lo')  # killed while appending
    assert run.recorded_tids() == {0, 1}
    assert (tmp_path / "trials.jsonl").read_text().endswith('"loss": 0.25}\n')
    run.append_trial({"tid": 2})
    assert [
        json.loads(line)["tid"]
        for line in (tmp_path / "trials.jsonl").read_text().splitlines()
    ] == [0, 1, 2]


def test_save_model_writes_best_model_keras_in_one_step(tmp_path):
    class Model:
        def save(self, path):
            assert path.endswith(".keras")  # Keras 3 insists on the suffix
            with open(path, "w") as f:
                f.write("weights")

    run = RunDirectory(str(tmp_path))
    run.save_model(Model())
    assert os.listdir(tmp_path) == ["best_model.keras"]
    assert (tmp_path / "best_model.keras").read_text() == "weights"


def test_package_versions_names_every_package():
    versions = package_versions()
    assert set(versions) == {"python", "hyperopt", "keras", "tensorflow", "numpy"}
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["numpy"] == np.__version__


def test_devices_without_tensorflow_are_the_cpu(monkeypatch):
    monkeypatch.setitem(
        sys.modules, "tensorflow", None
    )  # as if the model did not import it
    assert list_devices() == ["CPU"]
    assert visible_devices() == ["CPU"]  # asked in a forked child


@pytest.mark.slow
def test_save_model_with_a_real_keras_model(tmp_path):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    run = RunDirectory(str(tmp_path))
    run.save_model(model)
    loaded = keras.models.load_model(tmp_path / "best_model.keras")
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert sorted(os.listdir(tmp_path)) == ["best_model.keras"]


class TextModel:
    def __init__(self, text: str):
        self.text = text

    def save(self, path):
        with open(path, "w") as f:
            f.write(self.text)


def test_keep_model_and_keep_only_hold_the_k_best(tmp_path):
    assert (
        RunDirectory(str(tmp_path)).keep_threshold == -math.inf
    )  # without --keep-best nothing enters
    run = RunDirectory(str(tmp_path), keep_best=2)
    assert run.keep_threshold == math.inf  # until K models are kept, every model enters
    for tid in range(3):
        run.keep_model(TextModel(f"trial {tid}"), tid)
    assert (tmp_path / "models" / "trial-1.keras").read_text() == "trial 1"
    run.keep_only([(0.1, 2), (0.2, 0), (0.5, 1)], made=range(3))
    assert sorted(os.listdir(tmp_path / "models")) == ["trial-0.keras", "trial-2.keras"]
    assert run.keep_threshold == 0.2
    # no --keep-best: leaves the folder alone
    RunDirectory(str(tmp_path)).keep_only([], made=range(3))
    assert len(os.listdir(tmp_path / "models")) == 2


def test_keep_only_deletes_only_the_models_this_run_made(tmp_path):
    run = RunDirectory(str(tmp_path), keep_best=1)
    models = tmp_path / "models"
    models.mkdir()
    theirs = ["trial-2023-baseline.h5", "trial-1.keras", "trial-x.keras", "notes.txt"]
    for name in theirs:
        (models / name).write_text("the user's")
    run.keep_model(TextModel("trial 0"), 0)
    run.keep_model(TextModel("trial 3"), 3)
    run.keep_only([(0.1, 3), (0.2, 0), (0.3, 1)], made=[0, 3])
    assert sorted(os.listdir(models)) == sorted([*theirs, "trial-3.keras"])
    assert all((models / name).read_text() == "the user's" for name in theirs)


def test_the_checkpoint_is_plain_json_and_resumes_exactly(tmp_path):
    run = RunDirectory(str(tmp_path))
    trials = finished_search(run)
    content = json.loads((tmp_path / "checkpoint").read_text())
    assert content["format"] == "hyperasc-checkpoint" and content["version"] == 1
    assert [t["tid"] for t in content["trials"]] == list(range(6))
    stored = trials_from_checkpoint((tmp_path / "checkpoint").read_bytes())
    for before, after in zip(trials.trials, stored.trials):
        assert after["misc"]["vals"] == before["misc"]["vals"]
        assert after["result"] == before["result"]
        assert after["book_time"] == before["book_time"]  # datetimes come back
        assert after["misc"]["cmd"] == before["misc"]["cmd"]  # a tuple again
    data = checkpoint_bytes(stored.trials, {"blob": b"\x00\x01", "n": np.int64(3)})
    again = trials_from_checkpoint(data)
    assert again.attachments == {"blob": b"\x00\x01", "n": 3}
    with pytest.raises(ValueError):
        trials_from_checkpoint(b'{"format": "something else"}')


def test_an_old_pickled_checkpoint_is_never_unpickled(tmp_path, capsys):
    run = RunDirectory(str(tmp_path))
    trials = finished_search(run)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "checkpoint").write_bytes(pickle.dumps(Exploit()))
    rebuilt = RunDirectory(str(tmp_path)).open(resume=True, parameters=PARAMETERS)
    assert not marker.exists()
    assert [t["misc"]["vals"] for t in rebuilt.trials] == [
        t["misc"]["vals"] for t in trials.trials
    ]
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and "old pickled checkpoint, which is never unpickled" in err[0]
    )
    assert "rebuilding the search from 6 trial(s)" in err[0]


def test_check_start_refuses_run_files_that_are_links(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("someone's file\n")
    run_dir = tmp_path / "run"
    run = RunDirectory(str(run_dir))
    finished_search(run, 2)
    (run_dir / "trials.jsonl").unlink()
    (run_dir / "trials.jsonl").symlink_to(elsewhere)
    with pytest.raises(RunError, match=r"trials.jsonl is a symbolic link"):
        RunDirectory(str(run_dir)).check_start(True, PARAMETERS, None)
    with pytest.raises(OSError):  # and appending never goes through it
        run.append_trial({"tid": 9})
    assert elsewhere.read_text() == "someone's file\n"
    RunDirectory(str(tmp_path / "new")).check_no_links()


def test_damaged_records_are_skipped_or_failed_with_one_note_each(tmp_path, capsys):
    """Issue 17 item 8: hostile values in trials.jsonl never crash --resume."""
    good = {"units": 16, "act": 'str("relu")', "rate": None, "x": 0.5}
    lines = [
        {"tid": 0, "status": "ok", "loss": 0.5, "params": good},
        {"tid": "1", "status": "ok", "loss": 0.4, "params": good},  # a string tid
        {"status": "ok", "loss": 0.3, "params": good},  # no tid
        {"tid": 2, "status": "ok", "loss": None, "params": good},  # a null loss
        {"tid": 3, "status": "ok", "loss": 0.2, "params": [1, 2]},  # no params
        {"tid": 0, "status": "ok", "loss": 0.1, "params": good},  # tid 0 again
        {"tid": [4], "status": "ok", "loss": 0.1, "params": good},  # unhashable
        {"tid": True, "status": "ok", "loss": 0.1, "params": good},
    ]
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    run = RunDirectory(str(tmp_path))
    assert run.recorded_tids() == {0, 2, 3}
    trials = run.open(resume=True, parameters=PARAMETERS)
    notes = [
        line
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("note:")
    ]
    assert notes[0].startswith("note: rebuilding the search from 8 trial(s)")
    assert notes[1:] == [
        "note: record 2 of trials.jsonl has no usable tid ('1'); skipped",
        "note: record 3 of trials.jsonl has no usable tid (None); skipped",
        "note: trial 2 of trials.jsonl is damaged (status ok with loss None); "
        "it counts as failed",
        "note: trial 3 of trials.jsonl is damaged (params [1, 2]); it counts as failed",
        "note: record 6 of trials.jsonl repeats tid (0); skipped",
        "note: record 7 of trials.jsonl has no usable tid ([4]); skipped",
        "note: record 8 of trials.jsonl has no usable tid (True); skipped",
    ]
    assert [t["tid"] for t in trials.trials] == [0, 2, 3]
    assert [t["result"]["status"] for t in trials.trials] == ["ok", "fail", "fail"]
    assert run.best_loss == 0.5
    # TPE searches on past its random start; no tid is handed out twice.
    hyperopt.fmin(
        loss_of,
        make_space(),
        algo=hyperopt.tpe.suggest,
        max_evals=25,
        trials=LocalTrials.holding(trials),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )


def test_is_tid_and_is_loss():
    assert is_tid(0) and is_tid(7)
    assert not any(is_tid(v) for v in ("1", None, -1, 1.0, True, [1]))
    assert is_loss(0) and is_loss(-2.5)
    assert not any(is_loss(v) for v in (None, "0.1", math.nan, math.inf, False))


def test_a_checkpoint_with_hostile_documents_is_rebuilt(tmp_path, capsys):
    run = RunDirectory(str(tmp_path))
    finished_search(run)
    content = json.loads((tmp_path / "checkpoint").read_text())
    content["trials"][2]["result"]["loss"] = None  # "ok" with no loss
    (tmp_path / "checkpoint").write_text(json.dumps(content))
    trials = RunDirectory(str(tmp_path)).open(resume=True, parameters=PARAMETERS)
    err = capsys.readouterr().err
    assert "is damaged (ValueError)" in err and "rebuilding the search" in err
    assert [t["tid"] for t in trials.trials] == list(range(6))
    for bad in ("tid", "misc"):
        content = json.loads(checkpoint_bytes([{"tid": 0, "misc": {}}]))
        content["trials"][0][bad] = "x"
        with pytest.raises(ValueError):
            trials_from_checkpoint(json.dumps(content).encode())


def test_print_note_writes_one_line_to_stderr(capsys):
    print_note("a thing happened")
    assert capsys.readouterr().err == "note: a thing happened\n"


def test_a_nan_value_from_an_old_run_never_reaches_the_algorithm(tmp_path, capsys):
    """A NaN --points value, accepted before, made TPE assert at every resume."""
    run = RunDirectory(str(tmp_path))
    finished_search(run)
    content = json.loads((tmp_path / "checkpoint").read_text())
    content["trials"][1]["misc"]["vals"]["x"] = [math.nan]
    (tmp_path / "checkpoint").write_text(json.dumps(content))
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    record["params"]["x"] = math.nan
    lines[1] = json.dumps(record)
    (tmp_path / "trials.jsonl").write_text("\n".join(lines) + "\n")
    trials = RunDirectory(str(tmp_path)).open(resume=True, parameters=PARAMETERS)
    err = capsys.readouterr().err
    assert "checkpoint is damaged (ValueError)" in err
    assert "no longer fit the search space (1; trial 1: x = nan is not a finite" in err
    assert trials.trials[1]["result"]["status"] == "fail"
    assert all(v == [] for v in trials.trials[1]["misc"]["vals"].values())
    hyperopt.fmin(
        loss_of,
        make_space(),
        algo=hyperopt.tpe.suggest,
        max_evals=24,
        trials=LocalTrials.holding(trials),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )


KERAS_BACKEND_OF = """
import importlib, json, os, sys
from hyperasc.runtime.run_directory import keras_backend
before = keras_backend()  # nothing imported Keras: nothing is imported for it
if "keras" in sys.modules:
    raise SystemExit("keras_backend imported keras")
import keras
name = os.environ["KERAS_BACKEND"]
version = importlib.import_module(name).__version__
print(json.dumps([before, keras_backend(), version]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_keras_backend_names_the_backend_in_use_and_its_version(backend):
    import importlib.util
    import subprocess

    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    proc = subprocess.run(
        [sys.executable, "-c", KERAS_BACKEND_OF],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    before, after, version = json.loads(proc.stdout.splitlines()[-1])
    assert before is None
    assert after == {"name": backend, "version": version}

"""TrialScope and the functions that run one trial: results, failures, seeding, best model."""

from __future__ import annotations

import math
import os
import random

import numpy as np
import pytest
from hyperopt import STATUS_FAIL, STATUS_OK

from hyperasc.runtime.processes import ForkedWorker
from hyperasc.runtime.run_directory import RunDirectory
from hyperasc.runtime.seeding import trial_seed
from hyperasc.runtime.trial import (
    RECORD_FIELDS,
    TrialScope,
    evaluate_trial,
    forked_trials,
    real_loss,
    run_trial,
    split_extra,
    standing_of,
    trial_result,
)

RESULT_KEYS = {"status", "loss", "error", "history", "start", "end", "duration"}


class FileModel:
    """Anything with save(path) is a model to keep: this one writes its name."""

    def __init__(self, name: str):
        self.name = name

    def save(self, path):
        with open(path, "w") as f:
            f.write(self.name)


def scope_result(returned, tid=0):
    with TrialScope(tid, {}) as trial:
        trial.report(returned)
    return trial.result


def test_trial_result_times_the_trial_up_to_now():
    result = trial_result(
        STATUS_OK, 0.5, None, started=100.0, histories=[{"loss": [1.0]}]
    )
    assert set(result) == RESULT_KEYS
    assert (result["status"], result["loss"], result["error"]) == ("ok", 0.5, None)
    assert result["history"] == [{"loss": [1.0]}] and result["start"] == 100.0
    assert result["duration"] == result["end"] - 100.0 > 0


@pytest.mark.parametrize(
    "returned, loss, extra",
    [
        (0.25, 0.25, {}),
        (np.float32(0.5), 0.5, {}),
        (
            {"loss": 1, "status": "ok", "accuracy": np.float64(0.9), "tags": ("a",)},
            1.0,
            {"accuracy": 0.9, "tags": ["a"]},
        ),
        (
            {"loss": 2.0, "duration": "mine"},
            2.0,
            {"user": {"duration": "mine"}},
        ),  # the runtime's own keys are not overridden: the user's are kept apart
    ],
)
def test_report_accepts_a_loss_or_hyperas_result_dict(returned, loss, extra):
    result = scope_result(returned)
    assert (
        result["status"] == STATUS_OK
        and result["loss"] == loss
        and type(result["loss"]) is float
    )
    assert {k: v for k, v in result.items() if k not in RESULT_KEYS} == extra
    assert isinstance(result["duration"], float)


@pytest.mark.parametrize(
    "returned, words",
    [
        (float("nan"), "the loss is nan"),
        ({"loss": float("inf")}, "the loss is inf"),
        ({"status": "ok", "accuracy": 0.5}, "no usable loss: None"),
        ("low", "no usable loss: 'low'"),
        ({"loss": 1.0, "status": "fail"}, "returned status 'fail'"),
    ],
)
def test_a_bad_result_is_a_failed_trial_with_a_reason(returned, words):
    result = scope_result(returned)
    assert result["status"] == STATUS_FAIL and result["loss"] is None
    assert words in result["error"]


@pytest.mark.parametrize(
    "loss", ["1.5", "nan", b"1", True, False, np.bool_(True), None, 1 + 0j, [0.5]]
)
def test_a_loss_that_is_not_a_real_number_is_a_failed_trial(loss):
    for returned in (loss, {"loss": loss, "status": "ok"}):
        result = scope_result(returned)
        assert result["status"] == STATUS_FAIL and result["loss"] is None
        assert "the loss must be a real number" in result["error"]
        assert repr(loss) in result["error"]


def test_real_loss_takes_numbers_of_any_real_kind():
    assert real_loss(1) == 1.0 and type(real_loss(1)) is float
    assert real_loss(np.float32(0.5)) == 0.5 and real_loss(np.int64(3)) == 3.0
    assert [real_loss(v) for v in ("1.5", True, None, 2j, np.complex64(1))] == [
        None
    ] * 5
    assert math.isnan(
        real_loss(float("nan"))
    )  # a failure too, told as "the loss is nan"


@pytest.mark.parametrize(
    "field, value",
    [
        ("pruned", True),
        ("device", "9"),
        ("epochs", 99),
        ("curve", [0.0]),
        ("tid", 7),
        ("kept_model", "models/trial-0.keras"),
        ("user", {"a": 1}),
        ("error", "none"),
    ],
)
def test_a_returned_key_never_overwrites_a_record_field(field, value):
    returned = {"loss": 0.5, field: value, "accuracy": 0.9}
    result = scope_result(returned)
    assert result["status"] == STATUS_OK and result["loss"] == 0.5
    assert result["accuracy"] == 0.9
    assert result["user"] == {field: value}
    if field not in ("error", "user"):
        assert field not in result
    assert result["error"] is None


def test_split_extra_keeps_other_keys_by_name_and_clashing_ones_under_user():
    assert split_extra({"acc": 1, "pruned": True}) == {
        "acc": 1,
        "user": {"pruned": True},
    }
    assert split_extra({"acc": 1}) == {"acc": 1}
    assert {"pruned", "device", "epochs", "curve", "tid", "status"} <= RECORD_FIELDS


def test_an_exception_is_a_failed_trial_with_its_traceback_and_is_not_raised():
    with TrialScope(0, {}) as trial:
        raise ValueError("boom in the model")
    assert trial.result["status"] == STATUS_FAIL
    assert (
        trial.result["error"].startswith("Traceback")
        and "ValueError: boom in the model" in trial.result["error"]
    )


def test_out_of_memory_is_named_and_keyboard_interrupt_is_not_swallowed():
    with TrialScope(0, {}) as trial:
        raise MemoryError()
    assert trial.result["error"].startswith("out of memory: Traceback")
    with pytest.raises(KeyboardInterrupt):
        with TrialScope(0, {}):
            raise KeyboardInterrupt


def test_a_trial_that_reports_nothing_fails():
    with TrialScope(0, {}) as trial:
        pass
    assert (
        trial.result["status"] == STATUS_FAIL
        and "returned nothing" in trial.result["error"]
    )


def test_each_trial_is_seeded_from_run_seed_and_trial_id():
    TrialScope.configure(None, run_seed=9)
    with TrialScope(4, {}):
        inside = (random.random(), np.random.rand())
    random.seed(trial_seed(9, 4))
    np.random.seed(trial_seed(9, 4))
    assert inside == (random.random(), np.random.rand())
    TrialScope.configure(None, run_seed=9, seeding=False)
    random.seed(trial_seed(9, 4))
    with TrialScope(4, {}):
        assert random.random() != inside[0]  # --no-trial-seed: left alone


def test_configure_sets_the_class_wide_run_seed_and_backend():
    run = RunDirectory("somewhere")
    worker = ForkedWorker(evaluate_trial, 2)
    TrialScope.configure(run, 5, seeding=False, process=worker)
    assert (
        TrialScope.run,
        TrialScope.run_seed,
        TrialScope.seeding,
        TrialScope.process,
    ) == (run, 5, False, worker)


def test_a_better_model_is_saved_and_a_worse_one_is_not(tmp_path):
    run = RunDirectory(str(tmp_path))
    TrialScope.configure(run, 0)
    assert scope_result({"loss": 0.5, "model": FileModel("first")})["loss"] == 0.5
    assert (
        tmp_path / "best_model.keras"
    ).read_text() == "first" and run.best_loss == 0.5
    scope_result({"loss": 0.7, "model": FileModel("worse")})
    scope_result({"loss": 0.1, "model": "not a model"})  # nothing to save: no save()
    assert (
        tmp_path / "best_model.keras"
    ).read_text() == "first" and run.best_loss == 0.5
    scope_result({"loss": 0.2, "model": FileModel("better")})
    assert (
        tmp_path / "best_model.keras"
    ).read_text() == "better" and run.best_loss == 0.2


def test_evaluate_trial_runs_the_body_here_and_takes_the_callers_standing(tmp_path):
    run = RunDirectory(str(tmp_path))
    TrialScope.configure(run, 0)
    seen = []
    standing = {"best_loss": 4.0, "keep_threshold": math.inf}
    result = evaluate_trial(
        lambda p: seen.append(os.getpid()) or p["x"] ** 2, {"x": 3.0}, 0, standing
    )
    assert (
        result["status"] == STATUS_OK
        and result["loss"] == 9.0
        and seen == [os.getpid()]
    )
    assert run.best_loss == 4.0  # as the search process knows it
    assert not (tmp_path / "best_model.keras").exists()


def test_standing_of_is_what_a_trial_process_needs_to_know():
    assert standing_of(None) is None
    run = RunDirectory("somewhere", keep_best=2)
    run.best_loss = 0.5
    assert standing_of(run) == {"best_loss": 0.5, "keep_threshold": math.inf}
    run.keep_only([(0.1, 4), (0.3, 1), (0.9, 0)])
    assert standing_of(run) == {
        "best_loss": 0.5,
        "keep_threshold": 0.3,
    }  # the second best enters no more


def test_keep_best_keeps_models_that_can_enter_the_k_best(tmp_path):
    run = RunDirectory(str(tmp_path), keep_best=2)
    TrialScope.configure(run, 0)
    made = set()
    for tid, loss in enumerate([0.5, 0.7, 0.6, 0.9]):
        with TrialScope(tid, {}) as trial:
            trial.report({"loss": loss, "model": FileModel(f"trial {tid}")})
        if "kept_model" in trial.result:  # what the search process learns of it
            assert trial.result["kept_model"] == f"models/trial-{tid}.keras"
            made.add(tid)
        run.keep_only(sorted([(0.5, 0), (0.7, 1), (0.6, 2), (0.9, 3)][: tid + 1]), made)
    assert made == {0, 1, 2}  # trial 3 could not enter the two best
    assert sorted(os.listdir(tmp_path / "models")) == ["trial-0.keras", "trial-2.keras"]
    assert (tmp_path / "models" / "trial-2.keras").read_text() == "trial 2"


def test_run_trial_in_this_process():
    result = run_trial(lambda p: p["x"] + 1, {"x": 1.5}, 3)
    assert (result["status"], result["loss"]) == (STATUS_OK, 2.5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked trial processes")
def test_run_trial_in_forked_processes_updates_the_best_loss_and_survives_a_crash(
    tmp_path,
):
    run = RunDirectory(str(tmp_path))
    TrialScope.configure(run, 0, process=forked_trials(2))

    body = forked_body
    first = run_trial(body, {"x": 0.5}, 0)
    assert first["status"] == STATUS_OK and first["pid"] != os.getpid()
    assert run.best_loss == 0.5 and (tmp_path / "best_model.keras").read_text() == str(
        first["pid"]
    )
    crashed = run_trial(body, {"x": 0.1, "crash": True}, 1)
    assert (
        crashed["status"] == STATUS_FAIL and "died with exit code 7" in crashed["error"]
    )
    assert set(crashed) == RESULT_KEYS and run.best_loss == 0.5
    worse = run_trial(body, {"x": 0.9}, 2)
    assert worse["loss"] == 0.9 and run.best_loss == 0.5
    assert (tmp_path / "best_model.keras").read_text() == str(first["pid"])


def forked_body(params):
    """A trial body a forked trial process can receive (pickled by reference)."""
    if params.get("crash"):
        os._exit(7)
    return {
        "loss": params["x"],
        "model": FileModel(str(os.getpid())),
        "pid": os.getpid(),
    }


def test_forked_trials_is_a_recycled_worker_or_none():
    assert forked_trials(0) is None
    worker = forked_trials(3)
    assert (
        isinstance(worker, ForkedWorker)
        and worker.limit == 3
        and worker.function is evaluate_trial
    )


@pytest.mark.slow
def test_trial_scope_records_keras_history_and_saves_the_best_model(tmp_path):
    keras = pytest.importorskip("keras")
    run = RunDirectory(str(tmp_path))
    TrialScope.configure(run, 1)
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")

    trained = []

    def body(params):
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")]
        )
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, epochs=params["epochs"], validation_split=0.25, verbose=0)
        model.fit(x, y, epochs=1, verbose=0)
        trained.append(model)
        return {"loss": float(model.evaluate(x, y, verbose=0)), "model": model}

    original_fit = keras.Model.fit
    result = evaluate_trial(body, {"epochs": 3}, 0)
    assert keras.Model.fit is original_fit  # the wrapper is gone after the trial
    assert result["status"] == STATUS_OK and math.isfinite(result["loss"])
    first, second = result["history"]
    assert set(first) == {"loss", "val_loss"} and len(first["loss"]) == 3
    assert list(second) == ["loss"] and len(second["loss"]) == 1
    assert all(type(v) is float for v in first["loss"])
    saved = keras.models.load_model(tmp_path / "best_model.keras")
    np.testing.assert_allclose(
        saved.predict(x, verbose=0), trained[0].predict(x, verbose=0), rtol=1e-6
    )
    assert run.best_loss == result["loss"]

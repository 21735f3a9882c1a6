"""A search's pruning: results settled, states recorded and counted, options read."""

from __future__ import annotations

import json
import os

import pytest

from hyperasc.runtime import curve_stores, keras_callback, pruning, pruning_rules
from hyperasc.runtime.pruning_rules import COMPLETE, FAIL, PRUNED

from .conftest import completed_store, digits_model


def test_is_pruned():
    assert pruning.is_pruned({"status": "ok", "loss": 1e100, "pruned": True})
    assert not pruning.is_pruned({"status": "ok", "loss": 0.3})
    assert not pruning.is_pruned(None)


def test_result_state_and_counts():
    assert pruning.result_state({"status": "ok", "loss": 1.0}) == COMPLETE
    assert pruning.result_state({"status": "ok", "pruned": True}) == PRUNED
    assert pruning.result_state({"status": "fail"}) == FAIL
    assert pruning.result_state(None) == FAIL
    docs = [
        {"state": 2, "result": {"status": "ok", "loss": 1.0}},
        {"state": 2, "result": {"status": "ok", "loss": 1e100, "pruned": True}},
        {"state": 3, "result": {"status": "new"}},
        {"state": 1, "result": {"status": "new"}},  # still running: not counted
    ]
    assert pruning.count_states(docs) == {COMPLETE: 1, PRUNED: 1, FAIL: 1}


def test_pruning_settles_results_and_records_states(tmp_path):
    store = completed_store(tmp_path)
    setup = pruning.Pruning(store, "asha", metric="loss", warmup=1, startup=5, eta=3)
    assert isinstance(setup.rule, pruning_rules.AshaRule) and setup.rule.eta == 3
    assert setup.config == {
        "rule": "asha",
        "metric": "loss",
        "warmup": 1,
        "startup": 5,
        "eta": 3,
    }
    kept = setup.reporter(20)
    kept.epoch_end({"loss": 0.5})
    result = {"status": "ok", "loss": 0.4, "error": None}
    assert setup.settle(kept, result) == result
    pruned = setup.reporter(21)
    assert pruned.epoch_end({"loss": 5.0})
    # The model function failed after catching TrialPruned: still pruned.
    settled = setup.settle(pruned, {"status": "fail", "loss": None, "error": "boom"})
    assert settled["status"] == "ok" and settled["error"] is None
    assert (
        settled["loss"] == pruning_rules.pruned_loss(1, 5.0) and settled["epochs"] == 1
    )
    setup.record(22, {"status": "fail"})  # a trial process that died
    assert {t: store.states()[t] for t in (20, 21, 22)} == {
        20: COMPLETE,
        21: PRUNED,
        22: FAIL,
    }


def test_progress_bar_shows_completed_and_pruned_counts(capsys):
    import hyperopt
    import numpy as np

    def objective(x):
        if x > 0.5:
            return {
                "status": "ok",
                "loss": pruning_rules.pruned_loss(1, x),
                "pruned": True,
            }
        return {"status": "ok", "loss": x}

    trials = hyperopt.Trials()
    hyperopt.fmin(
        objective,
        hyperopt.hp.uniform("x", 0, 1),
        algo=hyperopt.rand.suggest,
        max_evals=8,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=pruning.progress_with_counts(
            lambda: pruning.count_states(trials.trials)
        ),
    )
    counts = pruning.count_states(trials.trials)
    assert counts[COMPLETE] + counts[PRUNED] == 8 and counts[PRUNED] > 0
    shown = capsys.readouterr().out  # hyperopt's bar writes to stdout
    assert f"{counts[COMPLETE]} completed, {counts[PRUNED]} pruned" in shown
    assert "best loss" in shown


def test_counting_bar_adds_counts_to_the_best_loss():
    import io

    from tqdm import tqdm

    counts = {COMPLETE: 3, PRUNED: 2, FAIL: 0}
    with tqdm(total=5, file=io.StringIO()) as bar:
        counting = pruning.CountingBar(bar, lambda: counts)
        counting.postfix = "best loss: 0.25"
        assert counting.postfix == "best loss: 0.25"
        assert bar.postfix == "best loss: 0.25, 3 completed, 2 pruned"
        counts[PRUNED] = 3
        counting.update(1)
        assert bar.n == 1 and bar.postfix.endswith("3 completed, 3 pruned")


def test_a_pruned_record_ranks_again_as_when_it_was_pruned(tmp_path):
    # Completed trials reached an AUC of 0.9, stored as -0.9.
    store = completed_store(tmp_path, {tid: [-0.9] for tid in range(5)})
    reporter = keras_callback.Reporter(
        9, pruning_rules.MedianRule(), store, metric="val_auc"
    )
    assert reporter.epoch_end({"val_auc": 0.5})  # -0.5 is worse than the median
    fields = reporter.pruned_fields()
    record = {
        "status": "pruned",
        "loss": None,
        **{k: fields[k] for k in fields if k != "loss"},
    }
    rebuilt = pruning.pruned_result(json.loads(json.dumps(record)))
    assert rebuilt == dict(fields, status="ok")
    assert rebuilt["loss"] == pruning_rules.pruned_loss(1, -0.5)


def test_search_pruning_from_the_options(tmp_path):
    import argparse

    args = argparse.Namespace(
        prune="none",
        prune_metric=None,
        prune_warmup=2,
        prune_startup=3,
        prune_eta=4,
        exp_key=None,
    )
    assert pruning.search_pruning(args, str(tmp_path)) is None
    args.prune = "asha"
    setup = pruning.search_pruning(args, str(tmp_path))
    assert isinstance(setup.store, curve_stores.FileCurveStore)
    assert setup.store.path == str(tmp_path / curve_stores.CURVES_FILE)
    assert (setup.rule.warmup, setup.rule.startup, setup.rule.eta) == (2, 3, 4)
    assert pruning.shipped_pruning(None, object(), "key") is None
    assert pruning.shipped_pruning(setup.config, None, "key") is None


@pytest.mark.slow
def test_trial_scope_records_a_pruned_trial_and_never_saves_its_model(tmp_path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_digits

    from hyperasc.runtime.run_directory import RunDirectory
    from hyperasc.runtime.trial import TrialScope, evaluate_trial

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    # Completed trials whose validation loss never went below 3: a rate of
    # 0.1 (about 2 after one epoch) is fine, a rate of 50 (above 20) is not.
    store = completed_store(tmp_path, {tid: [3.0] * 4 for tid in range(5)})
    run = RunDirectory(str(tmp_path / "run"))
    os.makedirs(run.path)
    saved = (TrialScope.run, TrialScope.run_seed, TrialScope.seeding)
    saved += (TrialScope.process, TrialScope.pruning)
    caught = []

    def body(sampled):
        model = digits_model(keras, sampled["rate"])
        try:
            model.fit(x, y, epochs=4, validation_split=0.25, verbose=0)
        except keras_callback.TrialPruned as exc:
            caught.append(exc.step)
            with pytest.raises(keras_callback.TrialPruned):
                model.fit(x, y, epochs=1, verbose=0)  # trains nothing
        return {"loss": -1.0, "status": "ok", "model": model}  # ignored when pruned

    try:
        TrialScope.configure(run, 0, True, None)
        TrialScope.pruning = pruning.Pruning(store, "median", warmup=2, startup=5)
        bad = evaluate_trial(body, {"rate": 50.0}, 7)
        assert not os.path.exists(run.file("best_model.keras"))
        good = evaluate_trial(body, {"rate": 0.1}, 8)
    finally:
        TrialScope.configure(*saved[:4])
        TrialScope.pruning = saved[4]
    assert caught == [2]
    assert bad["status"] == "ok" and bad["pruned"] and bad["epochs"] == 2
    assert bad["loss"] == pruning_rules.pruned_loss(2, bad["curve"][-1])
    assert bad["error"] is None and [len(h["loss"]) for h in bad["history"]] == [2]
    assert good["status"] == "ok" and good["loss"] == -1.0 and "pruned" not in good
    assert os.path.exists(run.file("best_model.keras"))  # the good trial's
    assert {t: store.states()[t] for t in (7, 8)} == {7: PRUNED, 8: COMPLETE}


@pytest.mark.slow
def test_the_driver_and_a_worker_share_the_experiments_curves(mongo_server):
    import argparse

    pymongo = pytest.importorskip("pymongo")
    from hyperasc.runtime.mongo import mongo_connect

    client = pymongo.MongoClient("127.0.0.1", mongo_server.port)
    try:
        handle = mongo_connect(mongo_server.url("test_pruning_shared"))
        args = argparse.Namespace(
            prune="median",
            prune_metric="loss",
            prune_warmup=1,
            prune_startup=5,
            prune_eta=3,
            exp_key="exp",
        )
        driver = pruning.search_pruning(args, "unused", handle)
        worker = pruning.shipped_pruning(driver.config, handle, "exp")
        worker.store.append(7, 1, 0.5)
        assert driver.store.curves()[7] == [0.5]
        assert (
            isinstance(worker.rule, pruning_rules.MedianRule)
            and worker.metric == "loss"
        )
        collection = handle.db[curve_stores.CURVES_COLLECTION]
        assert collection.count_documents({"key": "exp"}) == 1
    finally:
        client.drop_database("test_pruning_shared")
        client.close()

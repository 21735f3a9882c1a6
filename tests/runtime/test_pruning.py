"""Pruning rules, the pruned-trial ranking, curve stores and the Keras callback."""

from __future__ import annotations

import json
import math
import multiprocessing
import os

import pytest

from hyperasc.runtime import pruning
from hyperasc.runtime.pruning import COMPLETE, FAIL, PRUNED

# Five completed trials. Their best values so far, step by step, have the
# medians 1.0, 0.85, 0.65, 0.55, 0.45 at steps 1..5.
COMPLETED = {
    0: [1.0, 0.8, 0.6, 0.5, 0.4],
    1: [1.1, 0.9, 0.7, 0.6, 0.5],
    2: [0.9, 0.7, 0.5, 0.4, 0.3],
    3: [1.2, 1.0, 0.8, 0.7, 0.6],
    4: [1.0, 0.85, 0.65, 0.55, 0.45],
}


def first_prune(rule, curve, others=COMPLETED, states=None, tid=99):
    """Feed `curve` to the rule a step at a time; the step it prunes at, or None."""
    states = {t: COMPLETE for t in others} if states is None else states
    for step in range(1, len(curve) + 1):
        curves = {**others, tid: curve[:step]}
        if rule.should_prune(tid, curves, states):
            return step
    return None


# --------------------------------------------------------------------------- median


def test_median_prunes_when_best_so_far_is_worse_than_the_median():
    rule = pruning.MedianRule(warmup=1, startup=5)
    # 0.95 <= 1.0 and 0.84 <= 0.85 go on; at step 3 the best, 0.7, is above 0.65.
    assert first_prune(rule, [0.95, 0.84, 0.7, 0.7, 0.7]) == 3
    # Equal to the median is not worse: Vizier stops only strictly worse trials.
    assert first_prune(rule, [1.0, 0.85, 0.65, 0.55, 0.45]) is None
    # A good step earlier keeps counting: the best so far, not the last value.
    assert first_prune(rule, [0.9, 0.3, 5.0, 5.0, 5.0]) is None


def test_median_warmup_delays_the_first_decision():
    assert first_prune(pruning.MedianRule(warmup=1), [2.0, 3.0]) == 1
    assert first_prune(pruning.MedianRule(warmup=2), [2.0, 3.0]) == 2
    # Best so far at step 4 is 0.7 > 0.55.
    assert first_prune(pruning.MedianRule(warmup=4), [0.95, 0.84, 0.7, 0.7]) == 4


def test_median_waits_for_startup_completed_trials():
    four = {t: COMPLETED[t] for t in range(4)}
    assert first_prune(pruning.MedianRule(startup=5), [9.0, 9.0], others=four) is None
    assert first_prune(pruning.MedianRule(startup=4), [9.0, 9.0], others=four) == 1
    # Pruned and failed trials are not completed ones, however many there are.
    states = {0: COMPLETE, 1: PRUNED, 2: FAIL, 3: PRUNED, 4: PRUNED}
    rule = pruning.MedianRule(startup=2)
    assert first_prune(rule, [9.0], states=states) is None


def test_median_ignores_pruned_and_running_trials():
    rule = pruning.MedianRule(startup=1)
    others = {0: [1.0, 0.9], 1: [0.1, 0.1], 2: [0.1, 0.1]}
    states = {0: COMPLETE, 1: PRUNED}  # 2 is still running
    # The median of the completed trials alone is 1.0 at step 1, 0.9 at step 2.
    assert first_prune(rule, [0.95, 0.95], others=others, states=states) == 2


def test_completed_trials_keep_their_final_best_after_they_stop():
    assert pruning.value_at([3.0, 1.0, 2.0], 2, complete=False) == 1.0
    assert pruning.value_at([3.0, 1.0], 5, complete=True) == 1.0
    assert pruning.value_at([3.0, 1.0], 5, complete=False) is None
    assert pruning.value_at([], 1, complete=True) is None
    # Completed trials that early-stopped after 2 steps still set the median at step 4.
    short = {t: [1.0, 0.5] for t in range(5)}
    assert first_prune(pruning.MedianRule(warmup=3), [0.9, 0.8, 0.7, 0.6], short) == 3


# --------------------------------------------------------------------------- ASHA


def test_asha_rungs():
    rule = pruning.AshaRule(warmup=1, eta=3)
    assert [s for s in range(1, 30) if rule.is_rung(s)] == [1, 3, 9, 27]
    rule = pruning.AshaRule(warmup=2, eta=2)
    assert [s for s in range(1, 30) if rule.is_rung(s)] == [2, 4, 8, 16]


def test_asha_keeps_the_top_third_at_each_rung():
    rule = pruning.AshaRule(warmup=1, startup=5, eta=3)
    # Rung 1 values of COMPLETED: 1.0, 1.1, 0.9, 1.2, 1.0. With the new trial
    # there are 6 peers, so the best 6 // 3 = 2 go on: at most the 2nd, 1.0.
    assert first_prune(rule, [1.0]) is None
    assert first_prune(rule, [1.01]) == 1
    # Between rungs nothing happens; at rung 3 the peers' values are 0.6, 0.7,
    # 0.5, 0.8, 0.65: 0.62 is 3rd of 6, out.
    assert first_prune(rule, [0.8, 5.0, 0.62, 0.1]) == 3
    assert first_prune(rule, [0.8, 5.0, 0.55, 0.1]) is None
    # Past the last rung that a 5-step run can reach (9), it is never stopped.
    assert first_prune(rule, [0.8, 5.0, 0.55, 9.0, 9.0]) is None


def test_asha_warmup_and_startup():
    rule = pruning.AshaRule(warmup=2, startup=5, eta=3)
    assert first_prune(rule, [9.0, 9.0, 9.0]) == 2
    four = {t: COMPLETED[t] for t in range(4)}
    assert first_prune(rule, [9.0, 9.0, 9.0, 9.0, 9.0, 9.0], others=four) is None


def test_asha_counts_every_trial_that_reached_the_rung():
    rule = pruning.AshaRule(warmup=1, startup=1, eta=3)
    # Running and pruned trials that reached rung 1 are peers; a pruned one
    # that did not reach rung 3 is not. Completed trials are peers at any rung.
    others = {0: [2.0], 1: [0.5], 2: [0.6], 3: [0.7, 0.7, 0.7], 4: [0.4, 0.3, 0.2]}
    states = {0: COMPLETE, 1: PRUNED}
    # Rung 1: peers 2.0, 0.5, 0.6, 0.7, 0.4 and 0.55 -> the best 2 are 0.4, 0.5.
    assert first_prune(rule, [0.55], others, states) == 1
    # Rung 3: peers 2.0 (completed), 0.7, 0.2 and 0.45 -> the best 4 // 3 = 1.
    assert first_prune(rule, [0.45, 0.45, 0.45], others, states) == 3
    # Fewer than eta trials at a rung: only the best goes on.
    rule = pruning.AshaRule(warmup=1, startup=1, eta=3)
    assert first_prune(rule, [0.3, 0.3, 0.3], {0: [0.2, 0.2, 0.2]}) == 1


def test_nan_and_inf_values_are_the_worst():
    assert pruning.orient(float("nan"), higher_is_better=False) == math.inf
    assert pruning.orient(0.9, higher_is_better=True) == -0.9
    rule = pruning.MedianRule()
    assert first_prune(rule, [math.inf]) == 1


def test_make_rule():
    assert pruning.make_rule("none") is None
    median = pruning.make_rule("median", warmup=3, startup=2)
    assert isinstance(median, pruning.MedianRule)
    assert (median.warmup, median.startup) == (3, 2)
    asha = pruning.make_rule("asha", warmup=2, startup=0, eta=4)
    assert isinstance(asha, pruning.AshaRule) and asha.eta == 4
    with pytest.raises(ValueError, match="unknown pruning rule"):
        pruning.make_rule("hyperband")
    with pytest.raises(ValueError, match="warm-up"):
        pruning.make_rule("median", warmup=0)
    with pytest.raises(ValueError, match="eta"):
        pruning.make_rule("asha", eta=1)


# --------------------------------------------------------------------------- ranking


def test_pruned_trials_rank_after_completed_ones_by_steps_then_last_value():
    completed = [0.01, 3.5, 1e12, 1e90]
    pruned = {
        "far, good": pruning.pruned_loss(9, 0.30),
        "far, worse": pruning.pruned_loss(9, 0.31),
        "far, diverged": pruning.pruned_loss(9, math.nan),
        "middle, best": pruning.pruned_loss(3, -1e9),
        "early, good": pruning.pruned_loss(1, 0.1),
        "early, bad": pruning.pruned_loss(1, 40.0),
    }
    assert max(completed) < min(pruned.values())
    assert sorted(pruned, key=pruned.get) == list(pruned)
    # The step order holds however far apart the last values are, to 30,000 steps.
    assert pruning.pruned_loss(30001, math.inf) < pruning.pruned_loss(30000, -math.inf)
    # Close last values stay apart.
    assert pruning.pruned_loss(5, 1.0) < pruning.pruned_loss(5, 1.00001)
    assert all(math.isfinite(v) for v in pruned.values())


def test_is_pruned():
    assert pruning.is_pruned({"status": "ok", "loss": 1e100, "pruned": True})
    assert not pruning.is_pruned({"status": "ok", "loss": 0.3})
    assert not pruning.is_pruned(None)


# --------------------------------------------------------------------------- file store


def test_file_store_round_trip_and_resume(tmp_path):
    path = str(tmp_path / "curves.jsonl")
    store = pruning.FileCurveStore(path)
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
    again = pruning.FileCurveStore(path)
    assert again.curves() == store.curves()
    assert again.states() == {0: COMPLETE, 1: PRUNED}
    lines = (tmp_path / "curves.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["tid"] in (0, 1) for line in lines)


def test_file_store_a_rerun_trial_starts_its_curve_afresh(tmp_path):
    store = pruning.FileCurveStore(str(tmp_path / "curves.jsonl"))
    for step, value in enumerate([0.9, 0.8, 0.7], start=1):
        store.append(4, step, value)
    store.append(4, 1, 0.5)  # killed, resumed: trial 4 runs again
    assert store.curves() == {4: [0.5]}


def test_file_store_survives_a_torn_line(tmp_path):
    path = tmp_path / "curves.jsonl"
    store = pruning.FileCurveStore(str(path))
    store.append(0, 1, 0.9)
    with open(path, "ab") as f:
        f.write(b'{"tid": 0, "step": 2, "va')  # a writer killed mid-line
    assert store.curves() == {0: [0.9]}
    store.append(1, 1, 0.4)  # starts on a new line
    store.finished(1, COMPLETE)
    assert store.curves() == {0: [0.9], 1: [0.4]}
    assert pruning.FileCurveStore(str(path)).states() == {1: COMPLETE}
    assert path.read_bytes().count(b"\n") == 4


def _append_many(path, tid, count):
    store = pruning.FileCurveStore(path)
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
    store = pruning.FileCurveStore(path)
    assert store.curves() == {
        tid: [tid + step / 1000 for step in range(1, 151)] for tid in range(3)
    }
    assert store.states() == {0: COMPLETE, 1: COMPLETE, 2: COMPLETE}


# --------------------------------------------------------------------------- reporter


def completed_store(tmp_path, curves=COMPLETED):
    store = pruning.FileCurveStore(str(tmp_path / "curves.jsonl"))
    for tid, curve in curves.items():
        for step, value in enumerate(curve, start=1):
            store.append(tid, step, value)
        store.finished(tid, COMPLETE)
    return store


def test_reporter_numbers_steps_across_fits_and_prunes(tmp_path):
    store = completed_store(tmp_path)
    reporter = pruning.Reporter(7, pruning.MedianRule(), store)
    # First fit: two epochs, both at or below the median.
    assert not reporter.epoch_end({"loss": 2.0, "val_loss": 0.95})
    assert not reporter.epoch_end({"loss": 1.0, "val_loss": 0.84})
    # Second fit (k-fold): its first epoch is step 3, where 0.7 > 0.65.
    assert reporter.epoch_end({"loss": 1.0, "val_loss": 0.7})
    assert reporter.pruned and reporter.pruned_at == 3 and reporter.metric == "val_loss"
    assert store.curves()[7] == [0.95, 0.84, 0.7]
    fields = reporter.pruned_fields()
    assert fields["loss"] == pruning.pruned_loss(3, 0.7)
    assert fields["pruned"] is True and fields["epochs"] == 3
    assert fields["curve"] == [0.95, 0.84, 0.7]
    reporter.finish(PRUNED)
    assert store.states()[7] == PRUNED
    with pytest.raises(pruning.TrialPruned):
        pruning.add_callback(reporter, (), {})  # a later fit() trains nothing


def test_reporter_without_a_rule_only_records(tmp_path):
    store = completed_store(tmp_path)
    reporter = pruning.Reporter(7, None, store)
    assert not any(reporter.epoch_end({"loss": 50.0}) for _ in range(3))
    assert reporter.metric == "loss" and store.curves()[7] == [50.0, 50.0, 50.0]


def test_reporter_metric_choice(tmp_path, capsys):
    store = completed_store(tmp_path, {})
    # The fit's EarlyStopping monitor is a hint; accuracy is negated in the store.
    reporter = pruning.Reporter(1, None, store)
    assert reporter.choose_metric({"loss": 1, "val_accuracy": 0.5}, "val_accuracy")
    reporter.epoch_end({"loss": 1.0, "val_accuracy": 0.5})
    assert reporter.metric == "val_accuracy" and store.curves()[1] == [-0.5]
    # --prune-metric wins over the hint; a missing one falls back, with a warning.
    reporter = pruning.Reporter(2, None, store, metric="val_auc")
    assert reporter.choose_metric({"loss": 1, "val_loss": 2}, "loss") == "val_loss"
    assert "--prune-metric val_auc" in capsys.readouterr().err
    # Epochs without the metric (validation every other epoch) are no steps.
    reporter = pruning.Reporter(3, None, store)
    reporter.epoch_end({"loss": 1.0, "val_loss": 3.0})
    reporter.epoch_end({"loss": 0.9})
    reporter.epoch_end({"loss": 0.8, "val_loss": 2.0})
    assert reporter.step == 2 and store.curves()[3] == [3.0, 2.0]


def test_higher_is_better():
    assert pruning.higher_is_better("val_accuracy")
    assert pruning.higher_is_better("auc")
    assert pruning.higher_is_better("val_sparse_categorical_accuracy")
    assert not pruning.higher_is_better("val_loss")
    assert not pruning.higher_is_better("mean_absolute_error")


# --------------------------------------------------------------------------- MongoDB


@pytest.mark.slow
def test_mongo_store(mongo_server):
    import argparse

    pymongo = pytest.importorskip("pymongo")
    client = pymongo.MongoClient("127.0.0.1", mongo_server.port)
    try:
        collection = client["test_pruning_store"]["curves"]
        store = pruning.MongoCurveStore(collection, key="exp")
        other = pruning.MongoCurveStore(collection, key="other")
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
            shared = pruning.MongoCurveStore(
                second["test_pruning_store"]["curves"], "exp"
            )
            assert shared.curves() == {0: [0.8], 1: [math.inf]}
        finally:
            second.close()
        assert store.states() == {0: PRUNED}
        assert other.curves() == {0: [5.0]} and other.states() == {}
        # The driver's and a worker's Pruning share the experiment's curves.
        from hyperasc.runtime.mongo import mongo_connect

        handle = mongo_connect(mongo_server.url("test_pruning_store"))
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
        assert isinstance(worker.rule, pruning.MedianRule) and worker.metric == "loss"
        assert handle.db[pruning.CURVES_COLLECTION].count_documents({"key": "exp"}) == 1
    finally:
        client.drop_database("test_pruning_store")
        client.close()


# --------------------------------------------------------------------------- Keras


def digits_model(keras, learning_rate):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.layers.Input((64,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.mark.slow
@pytest.mark.parametrize("rule_name", ["median", "asha"])
def test_keras_callback_prunes_a_diverging_learning_rate(tmp_path, rule_name):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = x / 16.0

    def fit(model, reporter, epochs, **kwargs):
        args, kwargs = pruning.add_callback(
            reporter, (x, y), dict(kwargs, epochs=epochs, verbose=0)
        )
        return model.fit(*args, validation_split=0.25, batch_size=64, **kwargs)

    # A reference curve of a good learning rate; five completed trials are it,
    # scaled by 0.9, 1.1, 1.2, 1.3 and 1.4.
    plain = pruning.Reporter(0, None, pruning.FileCurveStore(str(tmp_path / "ref")))
    fit(digits_model(keras, 0.1), plain, 6)
    reference = plain.curve
    scaled = {
        tid: [v * s for v in reference]
        for tid, s in enumerate([0.9, 1.1, 1.2, 1.3, 1.4], start=1)
    }
    store = completed_store(tmp_path, scaled)
    rule = pruning.make_rule(rule_name, warmup=2, startup=5, eta=3)

    # The good rate again: 2nd best at every ASHA rung, below the median.
    good = pruning.Reporter(10, rule, store)
    history = fit(digits_model(keras, 0.1), good, 6)
    assert not good.pruned and len(history.history["val_loss"]) == 6

    # A learning rate of 50 diverges: pruned at the end of the warm-up, in the
    # second of two fit() calls of one epoch... then three.
    bad = pruning.Reporter(11, rule, store)
    model = digits_model(keras, 50.0)
    first = fit(model, bad, 1)
    assert not bad.pruned and len(first.history["val_loss"]) == 1
    second = fit(model, bad, 3)
    assert bad.pruned_at == 2 and len(second.history["val_loss"]) == 1
    assert bad.metric == "val_loss" and store.curves()[11] == bad.curve
    assert bad.pruned_fields()["loss"] > 1e99
    with pytest.raises(pruning.TrialPruned):
        fit(model, bad, 3)


@pytest.mark.slow
def test_keras_callback_follows_early_stopping_on_accuracy(tmp_path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    reporter = pruning.Reporter(0, None, pruning.FileCurveStore(str(tmp_path / "c")))
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=5)
    callback = pruning.make_callback(reporter, [stop])
    assert (
        isinstance(callback, keras.callbacks.Callback)
        and callback.hint == "val_accuracy"
    )
    args, kwargs = pruning.add_callback(
        reporter, (x / 16.0, y), {"epochs": 2, "verbose": 0, "callbacks": [stop]}
    )
    assert kwargs["callbacks"][0] is stop and len(kwargs["callbacks"]) == 2
    history = digits_model(keras, 0.1).fit(*args, validation_split=0.25, **kwargs)
    assert reporter.metric == "val_accuracy" and reporter.higher
    assert reporter.curve == history.history["val_accuracy"]
    assert reporter.store.curves()[0] == [-v for v in reporter.curve]


# --------------------------------------------------------------------------- a search


def test_a_trial_run_again_starts_afresh_and_is_no_longer_finished(tmp_path):
    store = pruning.FileCurveStore(str(tmp_path / "curves.jsonl"))
    store.append(3, 1, 0.9)
    store.append(3, 2, 0.8)
    store.finished(3, COMPLETE)
    assert store.states() == {3: COMPLETE}
    store.append(3, 1, 0.7)
    assert store.curves() == {3: [0.7]} and store.states() == {}


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
    assert isinstance(setup.rule, pruning.AshaRule) and setup.rule.eta == 3
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
    assert settled["loss"] == pruning.pruned_loss(1, 5.0) and settled["epochs"] == 1
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
            return {"status": "ok", "loss": pruning.pruned_loss(1, x), "pruned": True}
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
    reporter = pruning.Reporter(9, pruning.MedianRule(), store, metric="val_auc")
    assert reporter.epoch_end({"val_auc": 0.5})  # -0.5 is worse than the median
    fields = reporter.pruned_fields()
    record = {
        "status": "pruned",
        "loss": None,
        **{k: fields[k] for k in fields if k != "loss"},
    }
    rebuilt = pruning.pruned_result(json.loads(json.dumps(record)))
    assert rebuilt == dict(fields, status="ok")
    assert rebuilt["loss"] == pruning.pruned_loss(1, -0.5)


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
    assert isinstance(setup.store, pruning.FileCurveStore)
    assert setup.store.path == str(tmp_path / pruning.CURVES_FILE)
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
        except pruning.TrialPruned as exc:
            caught.append(exc.step)
            with pytest.raises(pruning.TrialPruned):
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
    assert bad["loss"] == pruning.pruned_loss(2, bad["curve"][-1])
    assert bad["error"] is None and [len(h["loss"]) for h in bad["history"]] == [2]
    assert good["status"] == "ok" and good["loss"] == -1.0 and "pruned" not in good
    assert os.path.exists(run.file("best_model.keras"))  # the good trial's
    assert {t: store.states()[t] for t in (7, 8)} == {7: PRUNED, 8: COMPLETE}

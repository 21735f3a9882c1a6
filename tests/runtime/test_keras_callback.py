"""The Reporter of a trial's epochs and the Keras callback that feeds it."""

from __future__ import annotations

import os

import pytest

from hyperasc.runtime import curve_stores, keras_callback, pruning_rules
from hyperasc.runtime.pruning_rules import PRUNED

from .conftest import completed_store, digits_model

# --------------------------------------------------------------------------- reporter


def test_reporter_numbers_steps_across_fits_and_prunes(tmp_path):
    store = completed_store(tmp_path)
    reporter = keras_callback.Reporter(7, pruning_rules.MedianRule(), store)
    # First fit: two epochs, both at or below the median.
    assert not reporter.epoch_end({"loss": 2.0, "val_loss": 0.95})
    assert not reporter.epoch_end({"loss": 1.0, "val_loss": 0.84})
    # Second fit (k-fold): its first epoch is step 3, where 0.7 > 0.65.
    assert reporter.epoch_end({"loss": 1.0, "val_loss": 0.7})
    assert reporter.pruned and reporter.pruned_at == 3 and reporter.metric == "val_loss"
    assert store.curves()[7] == [0.95, 0.84, 0.7]
    fields = reporter.pruned_fields()
    assert fields["loss"] == pruning_rules.pruned_loss(3, 0.7)
    assert fields["pruned"] is True and fields["epochs"] == 3
    assert fields["curve"] == [0.95, 0.84, 0.7]
    reporter.finish(PRUNED)
    assert store.states()[7] == PRUNED
    with pytest.raises(keras_callback.TrialPruned):
        keras_callback.add_callback(reporter, (), {})  # a later fit() trains nothing


def test_reporter_without_a_rule_only_records(tmp_path):
    store = completed_store(tmp_path)
    reporter = keras_callback.Reporter(7, None, store)
    assert not any(reporter.epoch_end({"loss": 50.0}) for _ in range(3))
    assert reporter.metric == "loss" and store.curves()[7] == [50.0, 50.0, 50.0]


def test_reporter_metric_choice(tmp_path, capsys):
    store = completed_store(tmp_path, {})
    # The fit's EarlyStopping monitor is a hint; accuracy is negated in the store.
    reporter = keras_callback.Reporter(1, None, store)
    assert reporter.choose_metric({"loss": 1, "val_accuracy": 0.5}, "val_accuracy")
    reporter.epoch_end({"loss": 1.0, "val_accuracy": 0.5})
    assert reporter.metric == "val_accuracy" and store.curves()[1] == [-0.5]
    # --prune-metric wins over the hint; a missing one falls back, with a warning.
    reporter = keras_callback.Reporter(2, None, store, metric="val_auc")
    assert reporter.choose_metric({"loss": 1, "val_loss": 2}, "loss") == "val_loss"
    assert "--prune-metric val_auc" in capsys.readouterr().err
    # Epochs without the metric (validation every other epoch) are no steps.
    reporter = keras_callback.Reporter(3, None, store)
    reporter.epoch_end({"loss": 1.0, "val_loss": 3.0})
    reporter.epoch_end({"loss": 0.9})
    reporter.epoch_end({"loss": 0.8, "val_loss": 2.0})
    assert reporter.step == 2 and store.curves()[3] == [3.0, 2.0]


# --------------------------------------------------------------------------- Keras


@pytest.mark.slow
@pytest.mark.parametrize("rule_name", ["median", "asha"])
def test_keras_callback_prunes_a_diverging_learning_rate(tmp_path, rule_name):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = x / 16.0

    def fit(model, reporter, epochs, **kwargs):
        args, kwargs = keras_callback.add_callback(
            reporter, (x, y), dict(kwargs, epochs=epochs, verbose=0)
        )
        return model.fit(*args, validation_split=0.25, batch_size=64, **kwargs)

    # A reference curve of a good learning rate; five completed trials are it,
    # scaled by 0.9, 1.1, 1.2, 1.3 and 1.4.
    plain = keras_callback.Reporter(
        0, None, curve_stores.FileCurveStore(str(tmp_path / "ref"))
    )
    fit(digits_model(keras, 0.1), plain, 6)
    reference = plain.curve
    scaled = {
        tid: [v * s for v in reference]
        for tid, s in enumerate([0.9, 1.1, 1.2, 1.3, 1.4], start=1)
    }
    store = completed_store(tmp_path, scaled)
    rule = pruning_rules.make_rule(rule_name, warmup=2, startup=5, eta=3)

    # The good rate again: 2nd best at every ASHA rung, below the median.
    good = keras_callback.Reporter(10, rule, store)
    history = fit(digits_model(keras, 0.1), good, 6)
    assert not good.pruned and len(history.history["val_loss"]) == 6

    # A learning rate of 50 diverges: pruned at the end of the warm-up, in the
    # second of two fit() calls of one epoch... then three.
    bad = keras_callback.Reporter(11, rule, store)
    model = digits_model(keras, 50.0)
    first = fit(model, bad, 1)
    assert not bad.pruned and len(first.history["val_loss"]) == 1
    second = fit(model, bad, 3)
    assert bad.pruned_at == 2 and len(second.history["val_loss"]) == 1
    assert bad.metric == "val_loss" and store.curves()[11] == bad.curve
    assert bad.pruned_fields()["loss"] > 1e99
    with pytest.raises(keras_callback.TrialPruned):
        fit(model, bad, 3)


@pytest.mark.slow
def test_keras_callback_follows_early_stopping_on_accuracy(tmp_path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    reporter = keras_callback.Reporter(
        0, None, curve_stores.FileCurveStore(str(tmp_path / "c"))
    )
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=5)
    callback = keras_callback.make_callback(reporter, [stop])
    assert (
        isinstance(callback, keras.callbacks.Callback)
        and callback.hint == "val_accuracy"
    )
    args, kwargs = keras_callback.add_callback(
        reporter, (x / 16.0, y), {"epochs": 2, "verbose": 0, "callbacks": [stop]}
    )
    assert kwargs["callbacks"][0] is stop and len(kwargs["callbacks"]) == 2
    history = digits_model(keras, 0.1).fit(*args, validation_split=0.25, **kwargs)
    assert reporter.metric == "val_accuracy" and reporter.higher
    assert reporter.curve == history.history["val_accuracy"]
    assert reporter.store.curves()[0] == [-v for v in reporter.curve]

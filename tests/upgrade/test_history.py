"""History family: keys and monitor= names as Keras 3 logs them."""

from __future__ import annotations

from .util import rules_of, upgraded


def test_history_keys_through_an_alias():
    text = (
        "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "hist = model.fit(x, y)\n"
        "h = hist.history\n"
        "print(h['acc'], h.get('val_acc'), hist.history.get('val_acc'))\n"
    )
    assert upgraded(text) == text.replace("acc'", "accuracy'")


def test_long_metric_names_follow_compile():
    text = (
        "from keras.callbacks import ReduceLROnPlateau\n"
        "model.compile(loss='mse', optimizer='sgd', metrics=['mae'])\n"
        "r = ReduceLROnPlateau(monitor='mean_absolute_error')\n"
        "e = EarlyStopping(monitor='val_mean_absolute_error')\n"
    )
    assert upgraded(text) == text.replace("mean_absolute_error'", "mae'")


def test_function_metrics_log_their_long_names():
    text = (
        "from keras import metrics\n"
        "model.compile(loss='mse', optimizer='sgd', metrics=[metrics.mean_absolute_error])\n"
        "e = EarlyStopping(monitor='val_mean_absolute_error')\n"
        "f = EarlyStopping(monitor='val_mae')\n"
    )
    assert upgraded(text) == text.replace("'val_mae'", "'val_mean_absolute_error'")


def test_acc_without_an_accuracy_metric_is_a_warning():
    text = (
        "model.compile(loss='mse', optimizer='sgd')\nbest = max(h.history['val_acc'])\n"
    )
    assert upgraded(text) == text
    assert [r for _, _, r in rules_of(text)] == ["'val_acc'"]


def test_show_accuracy_makes_acc_keys_accuracy():
    text = (
        "model.compile(loss='categorical_crossentropy', optimizer='sgd')\n"
        "h = model.fit(x, y, show_accuracy=True, validation_data=(a, b))\n"
        "best = max(h.history['val_acc'])\n"
    )
    assert upgraded(text) == (
        "model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])\n"
        "h = model.fit(x, y, validation_data=(a, b))\n"
        "best = max(h.history['val_accuracy'])\n"
    )

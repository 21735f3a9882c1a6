"""Callbacks family: ModelCheckpoint paths and period=, ReduceLROnPlateau(epsilon=)."""

from __future__ import annotations

import pytest

from .util import rules_of, upgraded

HEAD = "from keras.callbacks import ModelCheckpoint, ReduceLROnPlateau\n"


@pytest.mark.parametrize(
    "before, after",
    [
        ("ModelCheckpoint('best.hdf5')", "ModelCheckpoint('best.keras')"),
        (
            'ModelCheckpoint(filepath="model-{epoch:03d}.h5", monitor="val_loss", period=1)',
            'ModelCheckpoint(filepath="model-{epoch:03d}.keras", monitor="val_loss")',
        ),
        (
            "ModelCheckpoint('w.h5', save_weights_only=True)",
            "ModelCheckpoint('w.weights.h5', save_weights_only=True)",
        ),
        ("ModelCheckpoint('m.keras')", "ModelCheckpoint('m.keras')"),
        (
            "ReduceLROnPlateau(monitor='val_loss', epsilon=1e-4)",
            "ReduceLROnPlateau(monitor='val_loss', min_delta=1e-4)",
        ),
    ],
)
def test_rewrites(before, after):
    assert upgraded(HEAD + before + "\n") == HEAD + after + "\n"


def test_period_above_one_and_unknown_paths_warn():
    text = (
        HEAD
        + "ModelCheckpoint(path, period=5)\nModelCheckpoint('w.h5', save_weights_only=flag)\n"
    )
    assert upgraded(text) == text
    assert [(line, rule) for line, _, rule in rules_of(text)] == [
        (2, "period="),
        (3, "ModelCheckpoint"),
    ]


def test_someone_elses_model_checkpoint_is_left():
    text = "from lightning.callbacks import ModelCheckpoint\nModelCheckpoint('best.h5', period=2)\n"
    assert upgraded(text) == text
    assert rules_of(text) == []


def test_the_checkpoint_path_elsewhere_follows():
    text = (
        HEAD
        + "c = ModelCheckpoint(filepath='w.best.hdf5')\nbest = load_model('w.best.hdf5')\n"
    )
    assert upgraded(text) == text.replace(".hdf5", ".keras")

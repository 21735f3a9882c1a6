"""Conditional parameters: handles in branches that a choice decides (issue 19)."""

from tensorflow import keras
from tensorflow.keras import layers


def data():
    return (16,)


def extra_dense(units):
    # Called from both branches of `depth` below: sampled in every trial.
    return layers.Dense(units, activation={{choice(["relu", "elu"])}})


def create_model(width):
    model = keras.Sequential([layers.Input(shape=(width,))])
    depth = {{choice(["shallow", "deep", "deeper"])}}
    if depth == "shallow":
        model.add(extra_dense(32))
    elif depth in ("deep", "deeper"):
        model.add(extra_dense(64))
        model.add(layers.Dropout({{uniform(0, 0.5)}}))
    if depth != "shallow":
        model.add(layers.Dense({{choice([16, 32])}}))
    model.add(layers.Dense(10, activation="softmax"))
    if {{choice(["adam", "sgd"])}} == "adam":
        optimizer = keras.optimizers.Adam(learning_rate={{loguniform(-9, -2)}})
    else:
        optimizer = keras.optimizers.SGD(
            learning_rate={{loguniform(-9, -2)}},
            momentum={{uniform(0, 0.9)}},
            nesterov={{choice([True, False])}} if {{choice([True, False, None])}} else False,
        )
    batch = {{choice([32, 64])}}
    batch = batch * 2
    if batch == 64:
        epochs = {{choice([1, 2])}}  # `batch` is bound twice: a note, not a branch
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return 0.0

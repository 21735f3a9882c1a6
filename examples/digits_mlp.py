"""A small Keras MLP on scikit-learn's bundled digits, tuned with hyperasc.

    hyperasc compile examples/digits_mlp.py -o tune.py
    python tune.py --max-evals 10
"""

import numpy as np
from keras import layers, models
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

NUM_CLASSES = 10


def data():
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    return x_train, y_train, x_test, y_test


def create_model(x_train, y_train, x_test, y_test):
    model = models.Sequential()
    model.add(layers.Input(shape=(x_train.shape[1],)))
    model.add(layers.Dense({{choice([32, 64, 128])}}, activation={{choice(["relu", "tanh"])}}))
    model.add(layers.Dropout({{uniform(0, 0.5)}}))
    # A conditional layer: the search decides whether it exists.
    if {{choice("layers", ["one", "two"])}} == "two":
        model.add(layers.Dense(32, activation="relu"))
        model.add(layers.Dropout({{uniform(0, 0.5)}}))
    # An object choice: each option is a layer built afresh in every trial.
    model.add({{choice([layers.BatchNormalization(), layers.Activation("linear")])}})
    model.add(layers.Dense(NUM_CLASSES, activation="softmax"))
    model.compile(
        optimizer={{choice(["adam", "rmsprop"])}},
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        batch_size={{choice([32, 64])}},
        epochs=5,
        validation_split=0.1,
        verbose=0,
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {"loss": -accuracy, "status": "ok", "model": model}

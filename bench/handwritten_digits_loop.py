"""The baseline for bench/memory_growth.py: the hyperopt loop a user writes by hand.

It trains the same model as examples/digits_mlp.py on the same configurations
(read from a hyperasc run's trials.jsonl and replayed with hyperopt's
points_to_evaluate), with no session clearing. After each trial it appends a
line to PROGRESS so the benchmark can sample this process's memory.

    python bench/handwritten_digits_loop.py TRIALS_JSONL PROGRESS
"""

import json
import sys

from hyperopt import STATUS_OK, fmin, hp, tpe
from hyperopt.fmin import generate_trials_to_calculate
from keras import layers, models
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

CHOICES = {
    "Dense": [32, 64, 128],
    "activation": ["relu", "tanh"],
    "if_cond": ["one", "two"],
    "add": ["layers.BatchNormalization()", 'layers.Activation("linear")'],
    "optimizer": ["adam", "rmsprop"],
    "batch_size": [32, 64],
}

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=0.25, random_state=0, stratify=y
)

space = {name: hp.choice(name, options) for name, options in CHOICES.items()}
space["Dropout"] = hp.uniform("Dropout", 0, 0.5)
space["Dropout_1"] = hp.uniform("Dropout_1", 0, 0.5)


def objective(params):
    model = models.Sequential()
    model.add(layers.Input(shape=(x_train.shape[1],)))
    model.add(layers.Dense(params["Dense"], activation=params["activation"]))
    model.add(layers.Dropout(params["Dropout"]))
    if params["if_cond"] == "two":
        model.add(layers.Dense(32, activation="relu"))
        model.add(layers.Dropout(params["Dropout_1"]))
    if params["add"] == "layers.BatchNormalization()":
        model.add(layers.BatchNormalization())
    else:
        model.add(layers.Activation("linear"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=params["optimizer"],
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        batch_size=params["batch_size"],
        epochs=5,
        validation_split=0.1,
        verbose=0,
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    with open(sys.argv[2], "a") as f:
        f.write("done\n")
    return {"loss": -accuracy, "status": STATUS_OK}


def as_indices(params):
    point = {k: v for k, v in params.items() if k not in CHOICES}
    point.update({k: CHOICES[k].index(params[k]) for k in CHOICES})
    return point


configs = [json.loads(line)["params"] for line in open(sys.argv[1])]
trials = generate_trials_to_calculate([as_indices(p) for p in configs])
fmin(
    objective,
    space,
    algo=tpe.suggest,
    max_evals=len(configs),
    trials=trials,
    show_progressbar=False,
)

"""The Keras model bench/conditional.py tunes: a tiny MLP on scikit-learn's digits.

One epoch on 600 training images, so a trial takes well under a second on a CPU.
The optimizer is a branch: Adam with its own learning rate, or SGD with its own
learning rate and a momentum; the depth is another (a second hidden layer with
its own width). The loss is the validation cross-entropy on 400 held-out images.
"""

import numpy as np
from keras import layers, models, optimizers
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def data():
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, train_size=600, test_size=400, random_state=0, stratify=y
    )
    return x_train, y_train, x_test, y_test


def create_model(x_train, y_train, x_test, y_test):
    model = models.Sequential()
    model.add(layers.Input(shape=(x_train.shape[1],)))
    model.add(layers.Dense({{choice([16, 32, 64])}}, activation="relu"))
    if {{choice(["one", "two"])}} == "two":
        model.add(layers.Dense({{choice([16, 32, 64])}}, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    if {{choice(["adam", "sgd"])}} == "adam":
        optimizer = optimizers.Adam(learning_rate={{loguniform(np.log(1e-4), np.log(1e-1))}})
    else:
        optimizer = optimizers.SGD(
            learning_rate={{loguniform(np.log(1e-3), np.log(1.0))}},
            momentum={{uniform(0, 0.95)}},
        )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
    return model.evaluate(x_test, y_test, verbose=0)

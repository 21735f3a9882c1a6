"""The model bench/pruning.py tunes: an MLP on scikit-learn's digits.

Trained with plain SGD for up to 30 epochs with early stopping, so the good
learning rates need many epochs, while a rate too small crawls and one too
large diverges: both are plain to see after an epoch or two.
"""

import numpy as np
from keras import callbacks, layers, models, optimizers
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


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
    model.add(layers.Dense({{choice([16, 32, 64])}}, activation={{choice(["relu", "tanh"])}}))
    model.add(layers.Dropout({{uniform(0, 0.5)}}))
    model.add(layers.Dense(10, activation="softmax"))
    optimizer = optimizers.SGD(
        learning_rate={{loguniform(np.log(1e-4), np.log(3.0))}},
        momentum={{uniform(0, 0.9)}},
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    model.fit(
        x_train,
        y_train,
        batch_size=64,
        epochs=30,
        validation_split=0.2,
        callbacks=[stop],
        verbose=0,
    )
    return model.evaluate(x_test, y_test, verbose=0)

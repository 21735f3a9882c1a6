"""A small Keras CNN on scikit-learn's digits, reshaped to 8x8x1 images.

    hyperasc compile examples/digits_cnn.py -o tune_cnn.py
    python tune_cnn.py --max-evals 10
"""

import numpy as np
from keras import layers, models, optimizers
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

IMAGE_SHAPE = (8, 8, 1)
NUM_CLASSES = 10


def data():
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32").reshape((-1, *IMAGE_SHAPE))
    y = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    return x_train, y_train, x_test, y_test


def conv_block(model, filters):
    # A helper the model calls: its handle takes the current trial's value.
    model.add(layers.Conv2D(filters, kernel_size={{choice([2, 3])}}, padding="same", activation="relu"))


def create_model(x_train, y_train, x_test, y_test):
    model = models.Sequential()
    model.add(layers.Input(shape=IMAGE_SHAPE))
    filters = {{choice([8, 16])}}
    for _ in range({{choice([1, 2])}}):
        conv_block(model, filters)
    model.add(layers.MaxPooling2D(pool_size=2))
    model.add(layers.Flatten())
    model.add(layers.Dropout({{uniform(0, 0.4)}}))
    model.add(layers.Dense(NUM_CLASSES, activation="softmax"))
    learning_rate = {{loguniform(np.log(1e-3), np.log(1e-2))}}
    model.compile(
        optimizer=optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=4, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {"loss": -accuracy, "status": "ok", "model": model}

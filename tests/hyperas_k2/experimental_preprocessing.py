"""Rescaling inside the model with the experimental preprocessing layers (TF 2.3, 2020)."""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.layers.experimental.preprocessing import Rescaling
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    x = digits.images[:300].reshape(-1, 8, 8, 1).astype('float32')
    y = digits.target[:300]
    return x[:200], y[:200], x[200:], y[200:]


x_train, y_train, x_test, y_test = data()
print(x_train.shape, x_test.shape)


def create_model(x_train, y_train, x_test, y_test):
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        Rescaling(1. / 16),
        layers.experimental.preprocessing.RandomFlip('horizontal'),
        layers.Conv2D({{choice([8, 16])}}, 3, padding='same', activation='relu'),
        layers.Flatten(),
        layers.Dropout({{uniform(0, 0.5)}}),
        layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=1, verbose=2)
    best_loss = np.Inf
    best_acc = np.NaN
    for loss, acc in zip(history.history['val_loss'], history.history['val_accuracy']):
        if loss < best_loss:
            best_loss, best_acc = loss, acc
    return {'loss': -best_acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

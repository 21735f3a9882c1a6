"""Accuracy on the test digits computed with keras.metrics.accuracy (tf.keras era, 2019)."""
import numpy as np
import keras
from keras.models import Sequential
from keras.layers import Dense, Dropout
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    x = digits.data[:300] / 16.
    y = digits.target[:300]
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, activation='relu', input_shape=(64,)))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss=keras.losses.sparse_categorical_crossentropy,
                  optimizer=keras.optimizers.Adadelta(lr={{choice([0.5, 1.0])}}),
                  metrics=['accuracy'])
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
    predicted = np.argmax(model.predict(x_test), axis=1)
    acc = float(np.mean(keras.metrics.accuracy(y_test, predicted)))
    print('Test accuracy:', acc)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

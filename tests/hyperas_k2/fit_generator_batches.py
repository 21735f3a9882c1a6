'''Feeding batches from a Python generator (Keras 2.1, 2018).'''
import numpy as np
from keras.models import Sequential
from keras.layers import Dense, Dropout
from keras.optimizers import Adam
from keras.utils import to_categorical
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def batches(x, y, batch_size):
    while True:
        idx = np.random.permutation(len(x))
        for i in range(0, len(x) - batch_size + 1, batch_size):
            j = idx[i:i + batch_size]
            yield x[j], y[j]


def data():
    digits = load_digits()
    x = digits.data[:300] / 16.
    y = to_categorical(digits.target[:300], 10)
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_test, y_test):
    batch_size = {{choice([16, 32])}}
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, activation='relu', input_dim=64))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer=Adam(lr=0.003), metrics=['accuracy'])
    model.fit_generator(generator=batches(x_train, y_train, batch_size),
                        steps_per_epoch=len(x_train) // batch_size,
                        epochs=1, verbose=2,
                        workers=1, use_multiprocessing=False)
    loss, acc = model.evaluate_generator(batches(x_test, y_test, 20), steps=5)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

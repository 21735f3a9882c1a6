from __future__ import print_function

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

import numpy as np
from sklearn.datasets import load_digits
from keras.models import Sequential
from keras.layers import Merge
from keras.layers.core import Dense, Dropout, Activation
from keras.constraints import maxnorm
from keras.utils import np_utils, to_categorical


def data():
    digits = load_digits()
    x = digits.data[:300].astype('float32') / 16.
    y = to_categorical(digits.target[:300], 10)
    x_train, x_test = x[:200], x[200:]
    y_train, y_test = y[:200], y[200:]
    return x_train, y_train, x_test, y_test


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_dim=64, kernel_constraint=maxnorm(3)))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax', kernel_constraint=maxnorm({{choice([2, 3, 4])}})))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['acc'])
    hist = model.fit(x_train, y_train, epochs=1, batch_size=32,
                     validation_split=0.1, verbose=2)
    h = hist.history
    acc = np.amax(h['acc'])
    print('Training accuracy:', acc)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    trials = Trials()
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=trials)
    print(best_run)

"""Choosing the optimizer class and its learning rate separately (hyperas issue #98 style)."""
import numpy as np
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation
from keras.optimizers import RMSprop, Adam, SGD
from keras.utils import np_utils
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    X = digits.data[:300] / 16.
    Y = np_utils.to_categorical(digits.target[:300], 10)
    return X[:200], Y[:200], X[200:], Y[200:]


def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_dim=64, init='glorot_uniform'))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10))
    model.add(Activation('softmax'))
    lr = {{choice([0.001, 0.01])}}
    optim_cls = {{choice([RMSprop, Adam, SGD])}}
    model.compile(loss='categorical_crossentropy', optimizer=optim_cls(lr=lr), metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=2)
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

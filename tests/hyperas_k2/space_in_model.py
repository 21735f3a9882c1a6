from __future__ import print_function

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

import numpy as np
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation
from keras.utils import np_utils
from sklearn.datasets import load_digits


def data():
    digits = load_digits()
    X = digits.data[:300] / 16.
    Y = np_utils.to_categorical(digits.target[:300], 10)
    return X[:200], Y[:200], X[200:], Y[200:]


X_train, Y_train, X_test, Y_test = data()
print('train shape', X_train.shape)


def model(X_train, Y_train, X_test, Y_test):
    print('Params testing: ', space)
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_dim=64))
    model.add(Activation({{choice(['relu', 'sigmoid'])}}))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    hist = model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=2,
                     validation_data=(X_test, Y_test))
    acc = hist.history['val_acc'][-1]
    print('Accuracy', acc, 'with', space)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    trials = Trials()
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=trials)
    for trial in trials:
        print(trial)
    print("Evalutation of best performing model:")
    print(best_model.evaluate(X_test, Y_test))
    print(best_run)

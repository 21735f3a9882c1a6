'''Functional API as Keras 1.1 spelled it (2016).'''
from __future__ import print_function
import numpy as np
from keras.layers import Input
from keras.layers.core import Dense, Dropout
from keras.models import Model
from keras.regularizers import l2
from keras.utils import np_utils
from keras.utils.visualize_util import plot
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
    inputs = Input(shape=(64,))
    x = Dense(output_dim={{choice([32, 64])}}, activation='relu', init='he_normal',
              W_regularizer=l2({{choice([0.0, 1e-4])}}), b_regularizer=l2(0.0))(inputs)
    x = Dropout({{uniform(0, 0.5)}})(x)
    predictions = Dense(output_dim=10, activation='softmax')(x)
    model = Model(input=inputs, output=predictions)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    model.fit(X_train, Y_train, nb_epoch=1, batch_size=32, verbose=2)
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

"""Two-branch functional model (Keras 2.1, 2018): wide and deep on the digits."""
import numpy as np
from keras import backend as K
from keras.layers import Input, Dense, Dropout
from keras.layers.merge import concatenate
from keras.models import Model
from keras.optimizers import SGD
from keras.utils import to_categorical
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    x = digits.data[:300] / 16.0
    y = to_categorical(digits.target[:300], 10)
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_test, y_test):
    inp = Input(shape=(64,))
    with K.name_scope('deep'):
        deep = Dense({{choice([32, 64])}}, activation='relu')(inp)
        deep = Dropout({{uniform(0, 0.5)}})(deep)
        deep = Dense(32, activation='relu')(deep)
    with K.name_scope('wide'):
        wide = Dense(16, activation='linear')(inp)
    merged = concatenate([deep, wide])
    out = Dense(10, activation='softmax')(merged)
    model = Model(input=inp, output=out)
    sgd = SGD(lr={{choice([0.01, 0.1])}}, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    score = model.evaluate(x_test, y_test, verbose=0)
    return {'loss': -score[1], 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=10, trials=Trials())
    print(best_run)

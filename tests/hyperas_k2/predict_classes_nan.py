import numpy as np
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation
from keras.utils import np_utils, to_categorical
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    X = digits.data[:300] / 16.
    y = digits.target[:300]
    return X[:200], np_utils.to_categorical(y[:200], 10), X[200:], y[200:]


def model(X_train, Y_train, X_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_dim=64))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=0)
    y_pred = model.predict_classes(X_test, verbose=0)
    f1 = np.NaN
    if len(set(y_pred)) > 1:
        f1 = f1_score(y_test, y_pred, average='macro')
    return {'loss': -f1, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

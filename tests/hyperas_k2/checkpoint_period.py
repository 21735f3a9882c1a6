"""Keep the best weights of each trial on disk (Keras 2.2, 2018)."""
import numpy as np
from keras.models import Sequential, load_model
from keras.layers import Dense, Dropout, Activation
from keras.callbacks import ModelCheckpoint, EarlyStopping
from keras.utils import to_categorical
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    x = digits.data[:300] / 16.
    y = to_categorical(digits.target[:300], 10)
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_shape=(64,)))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    checkpointer = ModelCheckpoint(filepath='weights.best.hdf5', monitor='val_acc', verbose=1,
                                   save_best_only=True, mode='max', period=1)
    early = EarlyStopping(monitor='val_acc', patience=3, mode='max')
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=2,
              validation_data=(x_test, y_test), callbacks=[checkpointer, early])
    best = load_model('weights.best.hdf5')
    score, acc = best.evaluate(x_test, y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': best}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

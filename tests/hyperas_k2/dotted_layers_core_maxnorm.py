# Keras 2.0 (2017): modules imported whole, as the Keras docs of the time did.
import numpy as np
import keras
import keras.layers.core as core
import keras.layers.convolutional
from keras.constraints import maxnorm
from keras.models import Sequential
from keras.optimizers import SGD
from keras.utils import np_utils
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    X = digits.images[:300].reshape(300, 8, 8, 1) / 16.
    Y = np_utils.to_categorical(digits.target[:300], 10)
    return X[:200], Y[:200], X[200:], Y[200:]


def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(keras.layers.convolutional.Conv2D(16, (3, 3), padding='same', activation='relu',
                                                input_shape=(8, 8, 1), kernel_constraint=maxnorm(3)))
    model.add(keras.layers.convolutional.MaxPooling2D(pool_size=(2, 2)))
    model.add(core.Flatten())
    model.add(core.Dense({{choice([32, 64])}}, activation='relu', kernel_constraint=maxnorm(3)))
    model.add(core.Dropout({{uniform(0, 0.5)}}))
    model.add(keras.layers.core.Dense(10, activation='softmax'))
    sgd = SGD(lr=0.01, momentum=0.9, decay=0.01 / 25, nesterov=False)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    model.fit(X_train, Y_train, validation_data=(X_test, Y_test), epochs=1, batch_size=32, verbose=2)
    scores = model.evaluate(X_test, Y_test, verbose=0)
    print("Accuracy: %.2f%%" % (scores[1] * 100))
    return {'loss': -scores[1], 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

"""A model file written for hyperas; hyperasc compiles it unchanged.

    hyperasc compile examples/hyperas_style.py -o tune_hyperas.py
    python tune_hyperas.py --max-evals 5
"""

from __future__ import print_function

from hyperas import optim
from hyperas.distributions import choice, uniform
from hyperopt import STATUS_OK, Trials, tpe
from keras.layers import Activation, Dense, Dropout, Input
from keras.models import Sequential
from keras.utils import to_categorical
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def data():
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = to_categorical(digits.target, 10)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    return x_train, y_train, x_test, y_test


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Input(shape=(64,)))
    model.add(Dense({{choice([32, 64])}}))
    model.add(Activation({{choice(['relu', 'sigmoid'])}}))
    model.add(Dropout({{uniform(0, 1)}}))

    if {{choice(['three', 'four'])}} == 'four':
        model.add(Dense(32))
        model.add({{choice([Dropout(0.5), Activation('linear')])}})
        model.add(Activation('relu'))

    model.add(Dense(10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', metrics=['accuracy'],
                  optimizer={{choice(['rmsprop', 'adam', 'sgd'])}})

    model.fit(x_train, y_train,
              batch_size={{choice([32, 64])}},
              epochs=4,
              verbose=0,
              validation_data=(x_test, y_test))
    score, acc = model.evaluate(x_test, y_test, verbose=0)
    print('Test accuracy:', acc)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model,
                                          data=data,
                                          algo=tpe.suggest,
                                          max_evals=5,
                                          trials=Trials())
    x_train, y_train, x_test, y_test = data()
    print("Evaluation of best performing model:")
    print(best_model.evaluate(x_test, y_test))
    print(best_run)

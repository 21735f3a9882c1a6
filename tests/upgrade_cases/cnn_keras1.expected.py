# -*- coding: utf-8 -*-
"""A Keras 1 CNN tuned with hyperas (cifar10_cnn style), with Keras 1's layer keywords."""
from hyperas import optim
from hyperas.distributions import choice, uniform
from hyperopt import STATUS_OK, Trials, tpe
import numpy as np
from keras.datasets import cifar10
from keras.models import Sequential, Model
from keras.layers import Input, Merge
from keras.layers import Dense, Dropout, Activation, Flatten
from keras.layers import Conv1D, Conv2D, MaxPooling1D, MaxPooling2D
from keras.layers import BatchNormalization
from keras.layers import LeakyReLU
from keras.regularizers import l2
from keras.constraints import max_norm as maxnorm
from keras import optimizers
from keras.utils import to_categorical


def data():
    (X_train, y_train), (X_test, y_test) = cifar10.load_data()
    Y_train = to_categorical(y_train, 10)
    Y_test = to_categorical(y_test, 10)
    return X_train / 255.0, Y_train, X_test / 255.0, Y_test


def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Conv2D(32, (3, 3), padding='same', input_shape=(32, 32, 3),
                            kernel_initializer='he_normal', kernel_regularizer=l2(0.01), bias_regularizer=l2(0.01),
                            kernel_constraint=maxnorm(3), data_format='channels_last'))
    model.add(LeakyReLU(alpha=0.1))
    model.add(Conv2D({{choice([32, 64])}}, (3, 3), strides=(2, 2)))
    model.add(BatchNormalization())
    model.add(MaxPooling2D(pool_size=(2, 2), padding='valid'))
    model.add(Dropout({{uniform(0, 1)}}))
    model.add(Flatten())
    model.add(Dense(units=512, activation='relu'))
    model.add(Dense(10, activation='softmax'))

    sgd = optimizers.SGD(learning_rate={{choice([0.1, 0.01])}}, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, epochs=2, validation_data=(X_test, Y_test))
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    print(np.argmax(model.predict(X_test[:10]), axis=-1))
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


def text_branch():
    """Keras 1's branch-and-merge style: no safe rewrite, a warning."""
    left = Sequential()
    left.add(Conv1D(64, 3, padding='same', input_shape=(100, 8)))
    left.add(MaxPooling1D(pool_size=2))
    right = Sequential()
    right.add(Dense(64, input_dim=8))
    merged = Sequential()
    merged.add(Merge([left, right], mode='concat'))
    return merged


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

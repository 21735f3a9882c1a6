'''Trains a small convnet on the digits, Keras 1 style (keras/examples/mnist_cnn.py, 2016).'''
from __future__ import print_function
import numpy as np
np.random.seed(1337)  # for reproducibility

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

from sklearn.datasets import load_digits
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation, Flatten
from keras.layers.convolutional import Convolution2D, MaxPooling2D
from keras.optimizers import Adadelta
from keras.utils import np_utils


def data():
    digits = load_digits()
    X = digits.images[:300].reshape(300, 8, 8, 1).astype('float32') / 16.
    Y = np_utils.to_categorical(digits.target[:300], 10)
    return X[:200], Y[:200], X[200:], Y[200:]


def create_model(X_train, Y_train, X_test, Y_test):
    nb_filters = 16
    nb_conv = 3
    model = Sequential()
    model.add(Convolution2D(nb_filters, nb_conv, nb_conv,
                            border_mode='same', subsample=(1, 1),
                            dim_ordering='tf',
                            input_shape=(8, 8, 1)))
    model.add(Activation('relu'))
    model.add(Convolution2D(nb_filters, nb_conv, nb_conv, border_mode='valid'))
    model.add(Activation({{choice(['relu', 'tanh'])}}))
    model.add(MaxPooling2D(pool_size=(2, 2), dim_ordering='tf'))
    model.add(Dropout({{uniform(0, 0.5)}}))

    model.add(Flatten())
    model.add(Dense(64))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10))
    model.add(Activation('softmax'))

    model.compile(loss='categorical_crossentropy',
                  optimizer=Adadelta(lr={{choice([0.5, 1.0])}}),
                  metrics=['accuracy'])

    result = model.fit(X_train, Y_train, batch_size=32, nb_epoch=1,
                       verbose=2, validation_data=(X_test, Y_test))
    validation_acc = np.amax(result.history['val_acc'])
    print('Best validation acc of epoch:', validation_acc)
    return {'loss': -validation_acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model,
                                          data=data,
                                          algo=tpe.suggest,
                                          max_evals=10,
                                          trials=Trials())
    print(best_run)

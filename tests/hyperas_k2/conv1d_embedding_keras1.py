'''Keras 1 imdb_cnn.py (2016) on random token sequences.'''
from __future__ import print_function
import numpy as np
np.random.seed(1337)

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

from keras.preprocessing import sequence
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation, Flatten
from keras.layers.embeddings import Embedding
from keras.layers.convolutional import Convolution1D, MaxPooling1D


def data():
    max_features = 200
    maxlen = 20
    rng = np.random.RandomState(0)
    X = [list(rng.randint(1, max_features, size=rng.randint(5, 30))) for _ in range(200)]
    y = np.array([int(sum(s) % 2) for s in X])
    X = sequence.pad_sequences(X, maxlen=maxlen)
    return X[:150], y[:150], X[150:], y[150:]


def model(X_train, y_train, X_test, y_test):
    model = Sequential()
    model.add(Embedding(200, {{choice([8, 16])}}, input_length=20, dropout=0.2))
    model.add(Convolution1D(nb_filter={{choice([8, 16])}},
                            filter_length=3,
                            border_mode='valid',
                            activation='relu',
                            subsample_length=1))
    model.add(MaxPooling1D(pool_length=2))
    model.add(Flatten())
    model.add(Dense(16))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Activation('relu'))
    model.add(Dense(1))
    model.add(Activation('sigmoid'))
    model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
    model.fit(X_train, y_train, batch_size=32, nb_epoch=1,
              validation_data=(X_test, y_test), show_accuracy=True, verbose=2)
    score, acc = model.evaluate(X_test, y_test, batch_size=32, show_accuracy=True)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

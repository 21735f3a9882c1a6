'''LSTM classifier on random sequences, written for Keras 1.2 (2017).'''
from __future__ import print_function
import numpy as np

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation
from keras.layers.recurrent import LSTM
from keras.optimizers import RMSprop


def data():
    np.random.seed(7)
    timesteps, features = 10, 4
    X = np.random.rand(200, timesteps, features).astype('float32')
    y = (X[:, :, 0].mean(axis=1) > 0.5).astype('int32')
    return X[:150], y[:150], X[150:], y[150:]


def model(X_train, y_train, X_test, y_test):
    model = Sequential()
    model.add(LSTM(output_dim={{choice([8, 16])}}, input_dim=4, inner_init='orthogonal',
                   dropout_W={{uniform(0, 0.3)}}, dropout_U={{uniform(0, 0.3)}}))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(1))
    model.add(Activation('sigmoid'))
    model.compile(loss='binary_crossentropy', optimizer=RMSprop(lr=0.01), metrics=['accuracy'])
    hist = model.fit(X_train, y_train, batch_size=32, nb_epoch=1,
                     validation_data=(X_test, y_test), verbose=2)
    h = hist.history
    print('train acc', h['acc'][-1])
    acc = h['val_acc'][-1]
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

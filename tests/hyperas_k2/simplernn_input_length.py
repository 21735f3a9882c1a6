'''SimpleRNN and GRU on random sequences, Keras 1.2 (2017).'''
import numpy as np
from keras.models import Sequential
from keras.layers.core import Dense, Activation
from keras.layers.recurrent import SimpleRNN, GRU
from keras.optimizers import Adam
from keras.utils import np_utils

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    look_back = 6
    rng = np.random.RandomState(2)
    X = rng.randn(200, look_back, 3).astype('float32')
    y = np_utils.to_categorical((X[:, :, 2].sum(axis=1) > 0).astype(int), 2)
    return X[:150], y[:150], X[150:], y[150:]


def model(X_train, y_train, X_test, y_test):
    model = Sequential()
    if {{choice(['rnn', 'gru'])}} == 'rnn':
        model.add(SimpleRNN(output_dim=16, input_dim=3, input_length=look_back, init='glorot_uniform'))
    else:
        model.add(GRU(16, input_dim=3, input_length=look_back, dropout_U={{uniform(0, 0.3)}}))
    model.add(Dense(2))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer=Adam(lr={{choice([0.001, 0.01])}}),
                  metrics=['accuracy'])
    hist = model.fit(X_train, y_train, batch_size=32, nb_epoch=1, verbose=2,
                     validation_data=(X_test, y_test))
    acc = hist.history['val_acc'][-1]
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

"""CuDNNLSTM on the lab GPU, Keras 2.1 with some Keras 1 leftovers (2018)."""
import numpy as np
import tensorflow as tf
from keras.models import Sequential
from keras.layers import CuDNNLSTM, Dense, Dropout
from keras.optimizers import Adam

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

tf.logging.set_verbosity(tf.logging.ERROR)


def data():
    rng = np.random.RandomState(11)
    x = rng.rand(200, 15, 2).astype('float32')
    y = (x[:, -5:, 1].sum(axis=1) > 2.5).astype('float32')
    return x[:150], y[:150], x[150:], y[150:]


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(CuDNNLSTM({{choice([8, 16])}}, input_shape=(15, 2)))
    model.add(Dropout(p={{uniform(0, 0.5)}}))
    model.add(Dense(1, activation='sigmoid'))
    model.compile(loss='binary_crossentropy', optimizer=Adam(lr=0.01), metrics=['accuracy'])
    result = model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=2,
                       validation_data=(x_test, y_test))
    acc = result.history['val_acc'][-1]
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

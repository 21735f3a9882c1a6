"""Regression on random features; the learning rate drops when MAE plateaus (Keras 2.2, 2018)."""
import numpy as np
import keras
from keras.models import Sequential
from keras.layers import Dense, Dropout
from keras.optimizers import RMSprop
from keras.callbacks import ReduceLROnPlateau, EarlyStopping

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    rng = np.random.RandomState(0)
    x = rng.rand(200, 8).astype('float32')
    y = (x.dot(np.arange(8)) + 0.1 * rng.randn(200)).astype('float32')
    return x[:150], y[:150], x[150:], y[150:]


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, activation='relu', input_shape=(8,)))
    model.add(Dropout({{uniform(0, 0.3)}}))
    model.add(Dense(1))
    model.compile(loss=keras.losses.MSE, optimizer=RMSprop(lr={{choice([0.001, 0.01])}}),
                  metrics=['mae'])
    reduce_lr = ReduceLROnPlateau(monitor='mean_absolute_error', factor=0.5, patience=2, min_lr=1e-5)
    early = EarlyStopping(monitor='val_mean_absolute_error', patience=5)
    hist = model.fit(x_train, y_train, epochs=1, batch_size=16, verbose=2,
                     validation_data=(x_test, y_test), callbacks=[reduce_lr, early])
    best = np.Inf
    for v in hist.history['val_mean_absolute_error']:
        best = min(best, v)
    print('best val MAE', best)
    return {'loss': best, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=15, trials=Trials())
    print(best_run)

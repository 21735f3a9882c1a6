"""Regression with the Keras 2 loss aliases (Keras 2.2.4, 2019)."""
import numpy as np
from keras import losses, metrics
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import Adam
from keras.callbacks import ReduceLROnPlateau

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    rng = np.random.RandomState(5)
    x = rng.randn(200, 6).astype('float32')
    y = (np.sin(x[:, 0]) + x[:, 1] ** 2).reshape(-1, 1).astype('float32')
    return x[:150], y[:150], x[150:], y[150:]


def create_model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, activation={{choice(['relu', 'tanh'])}}, input_dim=6))
    model.add(Dense(1))
    opt = Adam(lr={{uniform(0.001, 0.01)}}, epsilon=None, decay=0.0)
    model.compile(loss=losses.MSE, optimizer=opt, metrics=[metrics.mae])
    plateau = ReduceLROnPlateau(monitor='val_mean_absolute_error', patience=2, verbose=1)
    model.fit(x_train, y_train, epochs=1, batch_size=16, verbose=2,
              validation_data=(x_test, y_test), callbacks=[plateau])
    mse, mae = model.evaluate(x_test, y_test, verbose=0)
    return {'loss': mae, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model, data=data, algo=tpe.suggest,
                                          max_evals=10, trials=Trials())
    print(best_run)

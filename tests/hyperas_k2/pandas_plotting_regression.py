"""House-price style regression on a small DataFrame (Keras 2.0, pandas 0.19, 2017)."""
import numpy as np
import pandas as pd
from pandas.tools.plotting import scatter_matrix
from keras.models import Sequential
from keras.layers import Dense, Dropout
from keras.callbacks import EarlyStopping, ReduceLROnPlateau

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    rng = np.random.RandomState(1)
    df = pd.DataFrame(rng.rand(200, 5), columns=['a', 'b', 'c', 'd', 'e'])
    df['price'] = 3 * df['a'] - 2 * df['b'] + df['c'] * df['d'] + 0.05 * rng.randn(200)
    x = df[['a', 'b', 'c', 'd', 'e']].values.astype('float32')
    y = df['price'].values.astype('float32')
    return x[:150], y[:150], x[150:], y[150:]


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, input_dim=5, init='normal', activation='relu'))
    model.add(Dropout({{uniform(0, 0.2)}}))
    model.add(Dense(1, init='normal'))
    model.compile(loss='mean_squared_error', optimizer={{choice(['adam', 'rmsprop'])}},
                  metrics=['mae'])
    callbacks = [EarlyStopping(monitor='val_loss', patience=3),
                 ReduceLROnPlateau(monitor='mean_absolute_error', factor=0.2, patience=1)]
    model.fit(x_train, y_train, epochs=1, batch_size=16, verbose=2,
              validation_data=(x_test, y_test), callbacks=callbacks)
    mse, mae = model.evaluate(x_test, y_test, verbose=0)
    return {'loss': mae, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    x_train, y_train, x_test, y_test = data()
    scatter_matrix(pd.DataFrame(x_train))
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=10, trials=Trials())
    print(best_run)

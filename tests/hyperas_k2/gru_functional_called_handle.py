import numpy as np
from keras.layers import Input
from keras.layers.core import Dense, Dropout
from keras.layers.recurrent import GRU
from keras.models import Model
from keras.optimizers import RMSprop, Adam, SGD

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    rng = np.random.RandomState(3)
    x = rng.randn(200, 12, 3).astype('float32')
    y = np.eye(3)[(x.sum(axis=(1, 2)) > 0).astype(int) + (x[:, 0, 0] > 1).astype(int)]
    return x[:160], y[:160], x[160:], y[160:]


def create_model(x_train, y_train, x_test, y_test):
    lr = {{choice([0.001, 0.01])}}
    inputs = Input(shape=(12, 3))
    h = GRU({{choice([8, 16])}}, return_sequences=False)(inputs)
    h = Dropout({{uniform(0, 0.5)}})(h)
    outputs = Dense(3, activation='softmax')(h)
    model = Model(input=inputs, output=outputs)
    optimizer = {{choice([RMSprop, Adam, SGD])}}(lr=lr)
    model.compile(loss='categorical_crossentropy', optimizer=optimizer, metrics=['accuracy'])
    result = model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=2,
                       validation_data=(x_test, y_test))
    validation_acc = np.amax(result.history['val_acc'])
    print('Best validation acc of epoch:', validation_acc)
    return {'loss': -validation_acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model, data=data,
                                          algo=tpe.suggest, max_evals=10, trials=Trials())
    print(best_run)

# tf.keras on TensorFlow 1.13 (2019).
import numpy as np
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras import optimizers
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform, loguniform

tf.logging.set_verbosity(tf.logging.ERROR)
tf.set_random_seed(0)


def data():
    digits = load_digits()
    x = digits.data[:300].astype(np.float32) / 16.
    y = tf.keras.utils.to_categorical(digits.target[:300], 10)
    return x[:200], y[:200], x[200:], y[200:]


def create_model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, activation='relu', input_shape=(64,)))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    opt = optimizers.Adam(lr={{loguniform(-7, -3)}}, decay={{choice([0.0, 1e-5])}})
    model.compile(loss='categorical_crossentropy', optimizer=opt, metrics=['acc'])
    history = model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=2,
                        validation_data=(x_test, y_test))
    val_acc = history.history['val_acc'][-1]
    return {'loss': -val_acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model, data=data, algo=tpe.suggest,
                                          max_evals=10, trials=Trials())
    print(best_run)

import numpy as np
import tensorflow as tf
from tensorflow import set_random_seed
from keras.backend.tensorflow_backend import set_session
from keras.models import Sequential
from keras.layers import Dense, Dropout, BatchNormalization
from keras.callbacks import ModelCheckpoint, EarlyStopping
from keras.utils import to_categorical
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

np.random.seed(42)
set_random_seed(42)
tf.logging.set_verbosity(tf.logging.ERROR)


def data():
    digits = load_digits()
    x = digits.data[:300] / 16.0
    y = to_categorical(digits.target[:300])
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_val, y_val):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, activation={{choice(['relu', 'elu'])}}, input_shape=(64,)))
    model.add(BatchNormalization())
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    callbacks = [EarlyStopping(monitor='val_loss', patience=3),
                 ModelCheckpoint('best.hdf5', monitor='val_loss', save_best_only=True)]
    result = model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=2,
                       validation_data=(x_val, y_val), callbacks=callbacks)
    val_acc = result.history['val_acc'][-1]
    return {'loss': -val_acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=10, trials=Trials())
    print('Best run:', best_run)

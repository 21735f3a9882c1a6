"""A Keras 2 / tf.keras 1.x LSTM tuned with hyperas: generators, CuDNN layers, several GPUs."""
import numpy as np
import tensorflow as tf
from hyperas import optim
from hyperas.distributions import choice, loguniform
from hyperopt import STATUS_OK, Trials, tpe
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import LSTM, GRU, Dense, Embedding
from tensorflow.keras.callbacks import EarlyStopping, ModelCheckpoint
from tensorflow.keras import optimizers
from keras.utils.training_utils import multi_gpu_model
from keras.preprocessing.sequence import pad_sequences


def batches(x, y, size):
    while True:
        for i in range(0, len(x), size):
            yield x[i:i + size], y[i:i + size]


def data():
    x = np.random.randint(0, 1000, size=(512, 40))
    y = np.random.randint(0, 2, size=(512, 1))
    return pad_sequences(x, maxlen=40), y, x[:64], y[:64]


def create_model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Embedding(1000, 64, input_length=40))
    model.add(LSTM({{choice([32, 64])}}, return_sequences=True))
    model.add(GRU(32))
    model.add(Dense(1, activation='sigmoid'))
    model = multi_gpu_model(model, gpus=2)
    opt = optimizers.RMSprop(learning_rate={{loguniform(-9, -4)}})
    model.compile(loss='binary_crossentropy', optimizer=opt, metrics=['acc'])
    callbacks = [EarlyStopping(monitor='val_acc', patience=2),
                 ModelCheckpoint('best.keras', monitor='val_acc', save_best_only=True)]
    history = model.fit(batches(x_train, y_train, 32),
                                  steps_per_epoch=16,
                                  epochs={{choice([2, 4])}},
                                  validation_data=(x_test, y_test),
                                  callbacks=callbacks)
    loss, acc = model.evaluate(batches(x_test, y_test, 32), steps=2)
    model.predict(batches(x_test, y_test, 32), steps=2)
    print(model.predict_classes(x_test))
    best = max(history.history['val_acc'])
    return {'loss': -best, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model, data=data, algo=tpe.suggest,
                                          max_evals=3, trials=Trials())

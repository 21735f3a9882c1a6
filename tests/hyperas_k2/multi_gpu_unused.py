# Tuning on our 4-GPU box (2018). multi_gpu_model is imported for the final training run.
import numpy as np
import tensorflow as tf
import keras.backend as K
from keras.models import Sequential
from keras.layers import Dense, Dropout, Activation
from keras.optimizers import Adam
from keras.utils import multi_gpu_model, to_categorical
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform, loguniform

config = tf.ConfigProto()
config.gpu_options.allow_growth = True
sess = tf.Session(config=config)
K.set_session(sess)


def data():
    digits = load_digits()
    x = digits.data[:300] / 16.0
    y = to_categorical(digits.target[:300], num_classes=10)
    return x[:200], y[:200], x[200:], y[200:]


def create_model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_shape=(64,)))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    adam = Adam(lr={{loguniform(-7, -3)}}, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0, amsgrad=False)
    model.compile(loss='categorical_crossentropy', optimizer=adam, metrics=['accuracy'])
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print('Test accuracy:', acc)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model, data=data,
                                          algo=tpe.suggest, max_evals=20,
                                          trials=Trials())
    print("Best performing model chosen hyper-parameters:")
    print(best_run)
    # parallel_model = multi_gpu_model(best_model, gpus=4)

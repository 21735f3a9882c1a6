# Keras 2.1 on TensorFlow 1.8 (2018): grab GPU memory as needed, fixed seeds.
import os
import random
import numpy as np
import tensorflow as tf
from keras import backend as K
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation
from keras.utils import np_utils
from sklearn.datasets import load_digits

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

os.environ['PYTHONHASHSEED'] = '0'
np.random.seed(42)
random.seed(12345)
session_conf = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1,
                              gpu_options=tf.GPUOptions(allow_growth=True))
tf.set_random_seed(1234)
sess = tf.Session(graph=tf.get_default_graph(), config=session_conf)
K.set_session(sess)


def data():
    digits = load_digits()
    X = digits.data[:300] / 16.
    Y = np_utils.to_categorical(digits.target[:300], 10)
    return X[:200], Y[:200], X[200:], Y[200:]


def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_shape=(64,)))
    model.add(Activation({{choice(['relu', 'sigmoid'])}}))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='rmsprop', metrics=['accuracy'])
    result = model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=2,
                       validation_data=(X_test, Y_test))
    validation_acc = np.amax(result.history['val_acc'])
    return {'loss': -validation_acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

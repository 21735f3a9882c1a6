"""hyperas's README example (Keras 1, 2016), on the 8x8 digits so it runs in seconds."""
from __future__ import print_function

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

from sklearn.datasets import load_digits
from keras.layers.core import Dense, Dropout, Activation
from keras.models import Sequential
from keras.regularizers import l2
from keras.utils import np_utils


def data():
    """
    Data providing function:

    This function is separated from model() so that hyperopt
    won't reload data for each evaluation run.
    """
    digits = load_digits()
    X = digits.data[:300].astype('float32') / 16.
    y = digits.target[:300]
    nb_classes = 10
    X_train, X_test = X[:200], X[200:]
    Y_train = np_utils.to_categorical(y[:200], nb_classes)
    Y_test = np_utils.to_categorical(y[200:], nb_classes)
    return X_train, Y_train, X_test, Y_test


def model(X_train, Y_train, X_test, Y_test):
    """
    Model providing function:

    Create Keras model with double curly brackets dropped-in as needed.
    Return value has to be a valid python dictionary with two customary keys:
        - loss: Specify a numeric evaluation metric to be minimized
        - status: Just use STATUS_OK and see hyperopt documentation if not feasible
    The last one is optional, though recommended, namely:
        - model: specify the model just created so that we can later use it again.
    """
    model = Sequential()
    model.add(Dense(output_dim={{choice([32, 64])}}, input_dim=64, init='glorot_uniform',
                    W_regularizer=l2(0.0001)))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, init='he_normal'))
    model.add(Activation('softmax'))

    model.compile(loss='categorical_crossentropy', metrics=['accuracy'],
                  optimizer={{choice(['rmsprop', 'adam', 'sgd'])}})

    model.fit(X_train, Y_train,
              batch_size={{choice([32, 64])}},
              nb_epoch=1,
              show_accuracy=True,
              verbose=2,
              validation_data=(X_test, Y_test))
    score, acc = model.evaluate(X_test, Y_test, show_accuracy=True, verbose=0)
    print('Test accuracy:', acc)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model,
                                          data=data,
                                          algo=tpe.suggest,
                                          max_evals=5,
                                          trials=Trials())
    X_train, Y_train, X_test, Y_test = data()
    print("Evalutation of best performing model:")
    print(best_model.evaluate(X_test, Y_test))
    print("Best performing model chosen hyper-parameters:")
    print(best_run)

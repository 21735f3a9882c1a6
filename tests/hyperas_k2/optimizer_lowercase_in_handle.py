from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

from sklearn.datasets import load_digits
from keras.models import Sequential
from keras.layers import Dense, Dropout
from keras.optimizers import adam, rmsprop, sgd
from keras.utils import to_categorical


def data():
    digits = load_digits()
    x = digits.data[:300] / 16.
    y = to_categorical(digits.target[:300], 10)
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, activation='relu', input_shape=(64,)))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy',
                  optimizer={{choice([adam(lr=0.001), rmsprop(lr=0.001), sgd(lr=0.01, momentum=0.9)])}},
                  metrics=['accuracy'])
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=2)
    score, acc = model.evaluate(x_test, y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model,
                                          data=data,
                                          algo=tpe.suggest,
                                          max_evals=5,
                                          trials=Trials())
    print("Best performing model chosen hyper-parameters:")
    print(best_run)

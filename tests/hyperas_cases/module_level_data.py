"""hyperas style: data() is called at module level, as many scripts did to
evaluate the best model after the search."""
from __future__ import print_function

import numpy as np
from hyperas import optim
from hyperas.distributions import choice, loguniform
from hyperopt import STATUS_OK, Trials, tpe
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

SEED = 7
np.random.seed(SEED)


def data():
    digits = load_digits()
    x = digits.data[:400] / 16.0
    y = digits.target[:400]
    return x[:300], y[:300], x[300:], y[300:]


def model(x_train, y_train, x_test, y_test):
    clf = LogisticRegression(C={{loguniform(-3, 2)}}, max_iter={{choice([50, 100])}})
    clf.fit(x_train, y_train)
    acc = clf.score(x_test, y_test)
    print('Test accuracy:', acc)
    return {'loss': -acc, 'status': STATUS_OK, 'model': clf}


x_train, y_train, x_test, y_test = data()
baseline = LogisticRegression().fit(x_train, y_train).score(x_test, y_test)

if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model,
                                          data=data,
                                          algo=tpe.suggest,
                                          max_evals=3,
                                          trials=Trials())
    print(best_model.score(x_test, y_test), baseline)

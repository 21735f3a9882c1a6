"""hyperas style: the model function takes no arguments and reads the data
as globals. hyperas pasted data()'s body at module level, so this worked."""
from hyperas import optim
from hyperas.distributions import uniform
from hyperopt import STATUS_OK, Trials, tpe
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression


def data():
    digits = load_digits()
    x_train, y_train = digits.data[:200] / 16.0, digits.target[:200]
    x_test, y_test = digits.data[200:300] / 16.0, digits.target[200:300]
    return x_train, y_train, x_test, y_test


def model():
    clf = LogisticRegression(C={{uniform(0.1, 10)}}, max_iter=200).fit(x_train, y_train)
    return {'loss': -clf.score(x_test, y_test), 'status': STATUS_OK}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest, max_evals=5, trials=Trials())

"""hyperas style: two model functions and two searches in one file."""
from hyperas import optim
from hyperas.distributions import choice, uniform
from hyperopt import STATUS_OK, Trials, tpe
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier


def data():
    digits = load_digits()
    x, y = digits.data[:300] / 16.0, digits.target[:300]
    return x[:200], y[:200], x[200:], y[200:]


def linear_model(x_train, y_train, x_test, y_test):
    clf = LogisticRegression(C={{uniform(0.1, 10)}}, max_iter=200).fit(x_train, y_train)
    return {'loss': -clf.score(x_test, y_test), 'status': STATUS_OK}


def tree_model(x_train, y_train, x_test, y_test):
    clf = DecisionTreeClassifier(max_depth={{choice([2, 4, 8])}}, random_state=0).fit(x_train, y_train)
    return {'loss': -clf.score(x_test, y_test), 'status': STATUS_OK}


if __name__ == '__main__':
    best_linear, _ = optim.minimize(model=linear_model, data=data, algo=tpe.suggest,
                                    max_evals=4, trials=Trials())
    best_tree, _ = optim.minimize(model=tree_model, data=data, algo=tpe.suggest,
                                  max_evals=6, trials=Trials())

"""hyperas style: the model and the bounds read variables that data() sets."""
from hyperas import optim
from hyperas.distributions import choice, uniform
from hyperopt import STATUS_OK, Trials, rand
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier


def scaled(x):
    # A helper: hyperas pasted data()'s body at module level, so helpers saw its locals too.
    return x / scale


def data():
    num_classes = 10
    num_features = 64
    scale = 16.0
    digits = load_digits()
    x, y = digits.data[:400], digits.target[:400]
    return x[:300], y[:300], x[300:], y[300:]


def model(x_train, y_train, x_test, y_test):
    assert x_train.shape[1] == num_features
    clf = KNeighborsClassifier(n_neighbors={{choice([num_classes // 5, num_classes // 2, 3])}},
                               p={{uniform(1, num_features / 32)}})
    clf.fit(scaled(x_train), y_train)
    acc = clf.score(scaled(x_test), y_test)
    return {'loss': -acc, 'status': STATUS_OK}


if __name__ == '__main__':
    optim.minimize(model=model, data=data, algo=rand.suggest, max_evals=2, trials=Trials())

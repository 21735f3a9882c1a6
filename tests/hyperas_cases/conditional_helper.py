"""hyperas style: conditional() around a handle, and hyperas imported inside functions."""
from hyperopt import STATUS_OK
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, RidgeClassifier


def data():
    from hyperas.distributions import choice  # noqa: F401  (hyperas users did this too)
    digits = load_digits()
    x, y = digits.data[:300] / 16.0, digits.target[:300]
    return x[:200], y[:200], x[200:], y[200:]


def create_model(x_train, y_train, x_test, y_test):
    from hyperas.distributions import choice, conditional, uniform
    if conditional({{choice(['linear', 'ridge'])}}) == 'ridge':
        clf = RidgeClassifier(alpha={{uniform(0.1, 2)}})
    else:
        clf = LogisticRegression(max_iter=200)
    clf.fit(x_train, y_train)
    return {'loss': -clf.score(x_test, y_test), 'status': STATUS_OK}

"""hyperas style: an ensemble of the best models, MongoTrials, data() reading
sys.argv, and module-level set-up (seeds, GPU memory growth)."""
import random
import sys

import numpy as np
import tensorflow as tf
from hyperas import optim
from hyperas.distributions import choice
from hyperopt import STATUS_OK, tpe
from hyperopt.mongoexp import MongoTrials
from sklearn.datasets import load_digits
from sklearn.tree import DecisionTreeClassifier

np.random.seed(1337)
random.seed(1337)
gpus = tf.config.experimental.list_physical_devices('GPU')
for gpu in gpus:
    tf.config.experimental.set_memory_growth(gpu, True)


def data():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300
    digits = load_digits()
    x, y = digits.data[:rows], digits.target[:rows]
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_test, y_test):
    clf = DecisionTreeClassifier(max_depth={{choice([2, 4, 8])}}, random_state=0).fit(x_train, y_train)
    return {'loss': -clf.score(x_test, y_test), 'status': STATUS_OK, 'model': clf}


if __name__ == '__main__':
    trials = MongoTrials('mongo://localhost:1234/hyperas_db/jobs', exp_key='exp1')
    ensemble = optim.best_ensemble(nb_ensemble_models=3, model=model, data=data,
                                   algo=tpe.suggest, max_evals=5, trials=trials)

from __future__ import print_function

from hyperas import optim
from hyperas.distributions import choice, uniform, conditional
from hyperopt import Trials, STATUS_OK, tpe
try:
    import cPickle as pickle
except ImportError:
    import pickle
import numpy as np
from collections import OrderedDict as OD


def data():
    x = np.arange(12.0).reshape(6, 2)
    y = np.arange(6)
    return x, y


def model(x, y):
    config = OD()
    config['rate'] = {{uniform(0, 1)}}
    if {{choice(['three', 'four'])}} == 'four':
        config['extra'] = {{choice([None, uniform(0, 0.5)])}}
    for _ in range({{choice([1, 2, 3])}}):
        config.setdefault('loops', 0)
    config['batch'] = dict(batch_size={{choice([16, 32])}})
    loss = float(config['rate'])
    return {'loss': loss, 'status': STATUS_OK, 'model': pickle.dumps(config)}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)

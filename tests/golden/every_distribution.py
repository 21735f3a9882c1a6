"""Every hyperopt distribution, each in a different kind of place."""

import math


def data():
    return [1.0, 2.0, 3.0], 4


def create_model(values, width):
    lr = {{loguniform(math.log(1e-4), math.log(1e-1))}}
    layers = {{randint(1, 4)}}
    units = {{quniform(8, 64, 8)}}
    noise = {{normal(0, 1)}}
    shift = {{qnormal(0, 10, 1)}}
    scale = {{lognormal(0, 1)}}
    steps = {{qlognormal(0, 1, 1)}}
    epochs = {{qloguniform(0, 3, 1)}}
    depth = {{uniformint(1, width)}}
    optimizer = {{pchoice([(0.25, 'sgd'), (0.75, 'adam')])}}
    pick = {{randint(3)}}
    total = sum(v * {{uniform(0, 1)}} for v in values)
    return lr + layers + units + noise + shift + scale + steps + epochs + depth + total + pick

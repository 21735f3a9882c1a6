"""A synthetic objective with conditional parameters, for bench/conditional.py.

Nothing trains: the loss is a deterministic function of the parameters the
trial actually used, shaped like a small network's tuning problem. Each branch
has parameters of its own that matter only when the branch runs: an optimizer
choice (Adam with its learning rate; SGD with another learning rate and a
momentum) and a depth choice (one, two or three hidden layers, each with its
width and dropout). Two distractors barely matter (batch size) or not at all
(a seed-like offset).

The best loss, 0.05, takes SGD (learning rate e^-3.5, momentum 0.8) and three
layers (widths 192, 96, 64, dropouts 0.2, 0.3, 0.1) with a batch of 32.
"""

import math


def model():
    loss = 0.05
    if {{choice(["adam", "sgd"])}} == "adam":
        adam_lr = {{loguniform(-9, -2)}}
        loss += 0.15 + 0.1 * (math.log(adam_lr) + 6.9) ** 2
    else:
        sgd_lr = {{loguniform(-9, -2)}}
        momentum = {{uniform(0, 0.9)}}
        loss += 0.1 * (math.log(sgd_lr) + 3.5) ** 2 + 3.0 * (momentum - 0.8) ** 2

    units1 = {{quniform(16, 256, 16)}}
    dropout1 = {{uniform(0, 0.5)}}
    layers = 1.0 * ((units1 - 192) / 128) ** 2 + 2.0 * (dropout1 - 0.2) ** 2
    if {{choice(["one", "more"])}} == "more":
        units2 = {{quniform(16, 256, 16)}}
        dropout2 = {{uniform(0, 0.5)}}
        layers += ((units2 - 96) / 128) ** 2 + 2.0 * (dropout2 - 0.3) ** 2 - 0.1
        if {{choice(["two", "three"])}} == "three":
            units3 = {{quniform(16, 256, 16)}}
            dropout3 = {{uniform(0, 0.5)}}
            layers += ((units3 - 64) / 128) ** 2 + 2.0 * (dropout3 - 0.1) ** 2 - 0.1
    loss += 0.2 + layers

    batch_size = {{choice([16, 32, 64, 128])}}
    offset = {{uniform(0, 1)}}
    loss += 0.01 * abs(math.log2(batch_size) - 5) + 0.0 * offset
    return {"loss": loss, "status": "ok"}

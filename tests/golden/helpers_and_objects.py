import functools

from keras import layers

NUM_CLASSES = 10
UNUSED = "not carried"


@functools.lru_cache(maxsize=None)
def base_width():
    return 16


def block(model):
    # A helper with a handle: its value comes from the current trial.
    model.append(layers.Dense(base_width(), activation={{choice(['relu', 'elu'])}}))


def load():
    return [[0.0] * 8], [0]


def build(x, y):
    units = base_width() * 2
    model = []
    block(model)
    model.append({{choice([layers.Dropout(0.5), layers.Dense(units), layers.Activation('linear')])}})
    model.append(layers.Dense({{choice('width', [NUM_CLASSES, units_default()])}}))
    model.append(layers.Dropout({{uniform('dropout_in', 0, len(x[0]) / 16)}}))
    model.append(layers.Dropout({{uniform(0, 1)}}))
    opt = {{choice([{'lr': 0.1}, {'lr': 0.01}])}}
    return len(model) * opt['lr']


def units_default():
    return 32

"""Each family end to end: a small hyperas-style file in the style of old hyperas examples,
upgraded, compiled, and trained for one trial on tiny data (slow), and its `--diff` lists
every line the upgrade changes (fast)."""

from __future__ import annotations

import difflib
import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import invoke, run_hyperasc, run_script  # noqa: E402

HEAD = """\
import numpy as np
from sklearn.datasets import load_digits
from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform
"""
DATA = """

def data():
    digits = load_digits()
    X = digits.data[:200] / 16.
    Y = np_utils.to_categorical(digits.target[:200], 10)
    return X[:150], Y[:150], X[150:], Y[150:]
"""
MAIN = """

if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
"""

FILES = {
    "imports": HEAD
    + """\
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation
from keras.layers import Merge
from keras.utils import np_utils, to_categorical, multi_gpu_model
from keras.wrappers.scikit_learn import KerasClassifier
from keras.preprocessing.image import ImageDataGenerator
import keras.backend.tensorflow_backend as KTF
"""
    + DATA
    + """

def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, input_dim=64, init='uniform'))
    model.add(Activation('relu'))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=0)
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}
"""
    + MAIN,
    "tf1": HEAD
    + """\
import tensorflow as tf
from tensorflow import set_random_seed
from keras import backend as K
from keras.models import Sequential
from keras.layers import Dense
from keras.utils import np_utils

tf.logging.set_verbosity(tf.logging.ERROR)
config = tf.ConfigProto(intra_op_parallelism_threads=1)
config.gpu_options.allow_growth = True
sess = tf.Session(graph=tf.get_default_graph(), config=config)
K.set_session(sess)
set_random_seed(2)
tf.set_random_seed(3)
"""
    + DATA
    + """

def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, input_dim=64, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='rmsprop', metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, epochs=1, verbose=0)
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}
"""
    + MAIN,
    "history_and_fit": HEAD
    + """\
from keras.models import Sequential
from keras.layers import Dense
from keras.utils import np_utils
"""
    + DATA
    + """

def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense(output_dim={{choice([16, 32])}}, input_dim=64, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam')
    hist = model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=0,
                     show_accuracy=True, validation_data=(X_test, Y_test))
    h = hist.history
    best = max(h['val_acc'])
    score, acc = model.evaluate(X_test, Y_test, show_accuracy=True, verbose=0)
    return {'loss': -best, 'status': STATUS_OK, 'model': model}
"""
    + MAIN,
    "callbacks": HEAD
    + """\
from keras.models import Sequential, load_model
from keras.layers import Dense
from keras.callbacks import ModelCheckpoint, ReduceLROnPlateau, EarlyStopping
from keras.utils import np_utils
"""
    + DATA
    + """

def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, input_dim=64, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['mae', 'accuracy'])
    checkpointer = ModelCheckpoint(filepath='weights.best.hdf5', monitor='val_acc',
                                   save_best_only=True, mode='max', period=1)
    plateau = ReduceLROnPlateau(monitor='val_mean_absolute_error', epsilon=1e-4, patience=1)
    early = EarlyStopping(monitor='val_acc', patience=2)
    model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=0,
              validation_data=(X_test, Y_test), callbacks=[checkpointer, plateau, early])
    best = load_model('weights.best.hdf5')
    score, mae, acc = best.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': best}
"""
    + MAIN,
    "optimizers": HEAD
    + """\
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import RMSprop, Adam, SGD, adam, sgd
from keras.utils import np_utils
"""
    + DATA
    + """

def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, input_dim=64, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    lr = {{choice([0.001, 0.01])}}
    first = Adam(lr=lr, epsilon=None, decay=0.0)
    second = {{choice([RMSprop, Adam, SGD])}}(lr=lr)
    third = {{choice([adam(lr=0.001), sgd(lr=0.01, momentum=0.9)])}}
    model.compile(loss='categorical_crossentropy', optimizer=[first, second, third][{{choice([0, 1, 2])}}],
                  metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=0)
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}
"""
    + MAIN,
    "aliases": HEAD
    + """\
import keras
from keras import backend as K
from keras.models import Model
from keras.layers import Input, Dense, LSTM, Reshape, concatenate
from keras.constraints import maxnorm
from keras.utils import np_utils
"""
    + DATA
    + """

def model(X_train, Y_train, X_test, Y_test):
    inp = Input(shape=(64,))
    with K.name_scope('deep'):
        deep = Dense({{choice([16, 32])}}, activation='relu', W_constraint=maxnorm(3))(inp)
    seq = Reshape((8, 8))(inp)
    wide = LSTM(8, input_dim=8, input_length=8)(seq)
    out = Dense(10, activation='softmax')(concatenate([deep, wide]))
    model = Model(input=inp, output=out)
    model.compile(loss=keras.losses.MSE, optimizer='adam', metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, epochs=1, verbose=0)
    predicted = keras.utils.to_categorical(np.argmax(model.predict(X_test, verbose=0), axis=1), 10)
    acc = float(np.mean(keras.metrics.accuracy(Y_test, predicted)))
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}
"""
    + MAIN,
    "around": HEAD
    + """\
from sklearn.cross_validation import train_test_split
from sklearn.externals import joblib
from keras.models import Sequential
from keras.layers import Dense
from keras.utils import np_utils


def data():
    digits = load_digits()
    X = digits.data[:200] / 16.
    Y = np_utils.to_categorical(digits.target[:200], 10)
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
    return X_train, Y_train, X_test, Y_test


def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([16, 32])}}, input_dim=64, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, epochs=1, verbose=0)
    best = np.Inf
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    best = min(best, score) if not np.isnan(score) else np.NaN
    joblib.dump({'score': score}, 'score.pkl')
    return {'loss': best, 'status': STATUS_OK, 'model': model}
"""
    + MAIN,
    "layers": HEAD
    + """\
from keras.models import Sequential
from keras.layers.core import Dense, Dropout, Activation, Flatten, Reshape
from keras.layers.convolutional import Convolution2D, MaxPooling2D
from keras.utils import np_utils
"""
    + DATA
    + """

def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Reshape((8, 8, 1), input_shape=(64,)))
    model.add(Convolution2D({{choice([4, 8])}}, 3, 3, border_mode='same', init='he_normal'))
    model.add(Activation('relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(p={{uniform(0, 0.5)}}))
    model.add(Flatten())
    model.add(Dense(output_dim=10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adadelta', metrics=['accuracy'])
    model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=0)
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}
"""
    + MAIN,
}


def upgrade(tmp_path: Path, name: str) -> tuple[Path, Path, str]:
    source = tmp_path / f"{name}.py"
    source.write_text(FILES[name])
    out = tmp_path / "up.py"
    result = invoke(["upgrade", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return source, out, result.stderr


@pytest.mark.parametrize("name", sorted(FILES))
def test_upgrade_leaves_no_warning_and_diff_lists_every_rewrite(name, tmp_path):
    source, out, stderr = upgrade(tmp_path, name)
    assert ": warning: " not in stderr, stderr
    changed = [
        line
        for line in difflib.unified_diff(
            source.read_text().splitlines(),
            out.read_text().splitlines(),
            lineterm="",
            n=0,
        )
        if not line.startswith(("---", "+++", "@@"))
    ]
    assert changed, "the sample has something to upgrade"
    diff = invoke(["upgrade", str(source), "--diff"])
    assert diff.exit_code == 0
    shown = set(diff.stdout.splitlines())
    assert [line for line in changed if line not in shown] == []
    again = invoke(["upgrade", str(out), "--diff"])
    assert again.stdout == "" and "would rewrite 0 " in again.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FILES))
def test_upgraded_sample_trains_one_trial(name, tmp_path):
    _, out, _ = upgrade(tmp_path, name)
    script = tmp_path / "tune.py"
    compiled = run_hyperasc(["compile", str(out), "-o", str(script)], cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr.decode()
    assert b"Keras 1/2" not in compiled.stderr  # nothing left for the compile note
    run = tmp_path / "run"
    result = run_script(script, run, "--max-evals", "1", timeout=300)
    trials = run / "trials.jsonl"
    assert trials.exists(), result.stderr[-3000:]
    [record] = [json.loads(line) for line in trials.read_text().splitlines()]
    assert record.get("status") == "ok", (record, result.stderr[-3000:])
    assert isinstance(record["loss"], (int, float)) and math.isfinite(record["loss"])

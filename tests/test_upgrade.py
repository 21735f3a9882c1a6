"""`hyperasc upgrade`: Keras 1/2 spellings to Keras 3, token by token.

Fast unit tests: nothing here imports or runs Keras. The sample files under
tests/upgrade_cases/ are written the way old hyperas examples were (Keras 1
scripts, a Keras 2 / tf.keras script, a notebook); each has the exact
expected result beside it.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperasc.compile.scanner import scan, substitute
from hyperasc.upgrade import compile_note, find, upgrade_file, upgrade_text
from hyperasc.upgrade.core import apply

from helpers import invoke

CASES = Path(__file__).parent / "upgrade_cases"
SCRIPTS = sorted(p for p in CASES.glob("*.py") if not p.name.endswith(".expected.py"))
NOTEBOOK = CASES / "mnist_keras2.ipynb"


def upgraded(text: str) -> str:
    return upgrade_text(textwrap.dedent(text))[0]


def warnings_of(text: str) -> list[tuple[int, int, str, str]]:
    plan = find(textwrap.dedent(text))
    return [
        (f.line, f.column, f.rule, f.message + " / " + (f.hint or ""))
        for f in plan.findings
    ]


def parses(text: str) -> bool:
    try:
        ast.parse(substitute(text, scan(text)))
    except SyntaxError:
        return False
    return True


# --- One test per rewrite -------------------------------------------------------------

REWRITES = {
    "keras.layers.core": (
        "from keras.layers.core import Dense, Dropout, Activation\n",
        "from keras.layers import Dense, Dropout, Activation\n",
    ),
    "keras.layers.convolutional": (
        "from keras.layers.convolutional import Conv2D, MaxPooling2D\n",
        "from keras.layers import Conv2D, MaxPooling2D\n",
    ),
    "keras.layers.recurrent": (
        "from keras.layers.recurrent import LSTM\n",
        "from keras.layers import LSTM\n",
    ),
    "keras.layers.pooling": (
        "from keras.layers.pooling import GlobalAveragePooling1D\n",
        "from keras.layers import GlobalAveragePooling1D\n",
    ),
    "keras.layers.embeddings": (
        "from keras.layers.embeddings import Embedding\n",
        "from keras.layers import Embedding\n",
    ),
    "keras.layers.normalization": (
        "from keras.layers.normalization import BatchNormalization\n",
        "from keras.layers import BatchNormalization\n",
    ),
    "keras.layers.merge": (
        "from keras.layers.merge import concatenate\n",
        "from keras.layers import concatenate\n",
    ),
    "keras.layers.advanced_activations": (
        "from keras.layers.advanced_activations import LeakyReLU, PReLU\n",
        "from keras.layers import LeakyReLU, PReLU\n",
    ),
    "tensorflow.keras": (
        "from tensorflow.keras.layers.core import Dense\n",
        "from tensorflow.keras.layers import Dense\n",
    ),
    "import as": (
        "import keras.layers.core as core\nx = core.Dense(3)\n",
        "import keras.layers as core\nx = core.Dense(3)\n",
    ),
    "dotted use": (
        "import keras\nx = keras.layers.core.Dense(3)\n",
        "import keras\nx = keras.layers.Dense(3)\n",
    ),
    "np_utils": (
        """\
        from keras.utils import np_utils

        def data():
            Y_train = np_utils.to_categorical(y_train, nb_classes)
            return Y_train
        """,
        """\
        from keras.utils import to_categorical

        def data():
            Y_train = to_categorical(y_train, nb_classes)
            return Y_train
        """,
    ),
    "keras.utils.np_utils": (
        "from keras.utils.np_utils import to_categorical\n",
        "from keras.utils import to_categorical\n",
    ),
    "np_utils other use": (
        "from keras.utils import np_utils\nutils = np_utils\n",
        "from keras import utils as np_utils\nutils = np_utils\n",
    ),
    "lr= Adam": (
        "from keras.optimizers import Adam\nopt = Adam(lr=0.001, beta_1=0.9)\n",
        "from keras.optimizers import Adam\nopt = Adam(learning_rate=0.001, beta_1=0.9)\n",
    ),
    "lr= keras.optimizers.SGD": (
        "import keras\nopt = keras.optimizers.SGD(lr=0.01, momentum=0.9)\n",
        "import keras\nopt = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)\n",
    ),
    "lr= optimizers.RMSprop": (
        "from keras import optimizers\nopt = optimizers.RMSprop(lr={{choice([1e-3, 1e-4])}})\n",
        "from keras import optimizers\nopt = optimizers.RMSprop(learning_rate={{choice([1e-3, 1e-4])}})\n",
    ),
    "lr= tf.keras": (
        "import tensorflow as tf\nopt = tf.keras.optimizers.Adam(lr=1e-3)\n",
        "import tensorflow as tf\nopt = tf.keras.optimizers.Adam(learning_rate=1e-3)\n",
    ),
    "decay=0": (
        "from keras.optimizers import SGD\nsgd = SGD(lr=0.1, decay=0.0, momentum=0.9)\n",
        "from keras.optimizers import SGD\nsgd = SGD(learning_rate=0.1, momentum=0.9)\n",
    ),
    "nb_epoch=": (
        "model.fit(X_train, Y_train, batch_size=128, nb_epoch=10, verbose=2)\n",
        "model.fit(X_train, Y_train, batch_size=128, epochs=10, verbose=2)\n",
    ),
    "nb_epoch= fit_generator": (
        "model.fit_generator(gen, steps_per_epoch=10, nb_epoch={{choice([1, 2])}})\n",
        "model.fit(gen, steps_per_epoch=10, epochs={{choice([1, 2])}})\n",
    ),
    "Convolution2D(n, r, c)": (
        "from keras.layers import Convolution2D\nmodel.add(Convolution2D(32, 3, 3, input_shape=(28, 28, 1)))\n",
        "from keras.layers import Conv2D\nmodel.add(Conv2D(32, (3, 3), input_shape=(28, 28, 1)))\n",
    ),
    "Convolution2D with handles": (
        "from keras.layers import Convolution2D\n"
        "model.add(Convolution2D({{choice([32, 64])}}, {{choice([3, 5])}}, {{choice([3, 5])}}))\n",
        "from keras.layers import Conv2D\n"
        "model.add(Conv2D({{choice([32, 64])}}, ({{choice([3, 5])}}, {{choice([3, 5])}})))\n",
    ),
    "Convolution2D Keras 2": (
        "from keras.layers import Convolution2D\nmodel.add(Convolution2D(32, (3, 3), strides=2))\n",
        "from keras.layers import Conv2D\nmodel.add(Conv2D(32, (3, 3), strides=2))\n",
    ),
    "Convolution2D aliased": (
        "from keras.layers import Convolution2D as C\nmodel.add(C(32, 5, 5))\n",
        "from keras.layers import Conv2D as C\nmodel.add(C(32, (5, 5)))\n",
    ),
    "Convolution1D": (
        "from keras.layers import Convolution1D\nx = Convolution1D(64, 3, border_mode='same')(x)\n",
        "from keras.layers import Conv1D\nx = Conv1D(64, 3, padding='same')(x)\n",
    ),
    "border_mode= subsample= init=": (
        "from keras.layers import Conv2D\nConv2D(32, (3, 3), border_mode='valid', subsample=(2, 2), init='he_normal')\n",
        "from keras.layers import Conv2D\n"
        "Conv2D(32, (3, 3), padding='valid', strides=(2, 2), kernel_initializer='he_normal')\n",
    ),
    "W_regularizer= b_regularizer= W_constraint=": (
        "from keras.layers import Dense\nDense(64, W_regularizer=l2(0.01), b_regularizer=l1(0.1), W_constraint=maxnorm(2))\n",
        "from keras.layers import Dense\n"
        "Dense(64, kernel_regularizer=l2(0.01), bias_regularizer=l1(0.1), kernel_constraint=maxnorm(2))\n",
    ),
    "output_dim= Dense": (
        "from keras.layers import Dense\nmodel.add(Dense(output_dim={{choice([256, 512])}}, input_dim=784))\n",
        "from keras.layers import Dense\nmodel.add(Dense(units={{choice([256, 512])}}, input_dim=784))\n",
    ),
    "output_dim= Embedding stays": (
        "from keras.layers import Embedding\nEmbedding(input_dim=1000, output_dim=64)\n",
        "from keras.layers import Embedding\nEmbedding(input_dim=1000, output_dim=64)\n",
    ),
    "pool_length=": (
        "from keras.layers import MaxPooling1D, MaxPooling2D\nMaxPooling1D(pool_length=2)\nMaxPooling2D(pool_length=2)\n",
        "from keras.layers import MaxPooling1D, MaxPooling2D\nMaxPooling1D(pool_size=2)\nMaxPooling2D(pool_size=2)\n",
    ),
    "dim_ordering=": (
        "from keras.layers import MaxPooling2D\nMaxPooling2D((2, 2), dim_ordering='th')\n",
        "from keras.layers import MaxPooling2D\nMaxPooling2D((2, 2), data_format='channels_first')\n",
    ),
    "Dropout(p=)": (
        "from keras.layers import Dropout\nDropout(p=0.5)\n",
        "from keras.layers import Dropout\nDropout(rate=0.5)\n",
    ),
    "CuDNNLSTM CuDNNGRU": (
        "from keras.layers import CuDNNLSTM, CuDNNGRU\nmodel.add(CuDNNLSTM(64, return_sequences=True))\n"
        "model.add(CuDNNGRU(32))\nlayer = CuDNNGRU\n",
        "from keras.layers import LSTM, GRU\nmodel.add(LSTM(64, return_sequences=True))\nmodel.add(GRU(32))\nlayer = GRU\n",
    ),
    "CuDNNLSTM beside LSTM": (
        "from keras.layers import LSTM, CuDNNLSTM, Dense\nx = CuDNNLSTM(8)\n",
        "from keras.layers import LSTM, Dense\nx = LSTM(8)\n",
    ),
    "CuDNNLSTM dotted": (
        "import keras\nx = keras.layers.CuDNNLSTM(8)\n",
        "import keras\nx = keras.layers.LSTM(8)\n",
    ),
    "fit_generator": (
        "h = model.fit_generator(generator=batches(), steps_per_epoch=10)\n",
        "h = model.fit(x=batches(), steps_per_epoch=10)\n",
    ),
    "evaluate_generator predict_generator": (
        "score = model.evaluate_generator(gen, steps=5)\np = model.predict_generator(gen, steps=5)\n",
        "score = model.evaluate(gen, steps=5)\np = model.predict(gen, steps=5)\n",
    ),
    "predict_classes": (
        "import numpy as np\nmodel.compile(loss='categorical_crossentropy', optimizer='adam')\n"
        "classes = model.predict_classes(X_test, batch_size=32)\n",
        "import numpy as np\nmodel.compile(loss='categorical_crossentropy', optimizer='adam')\n"
        "classes = np.argmax(model.predict(X_test, batch_size=32), axis=-1)\n",
    ),
    "show_accuracy= middle": (
        "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "model.fit(X, Y, show_accuracy=True, verbose=2)\n",
        "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\nmodel.fit(X, Y, verbose=2)\n",
    ),
    "show_accuracy= last": (
        "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "score = model.evaluate(X_test, Y_test,\n                       show_accuracy=True)\n",
        "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "score = model.evaluate(X_test, Y_test)\n",
    ),
    "show_accuracy= own line": (
        "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "model.fit(X, Y,\n          show_accuracy=True,  # Keras 0\n          nb_epoch=3)\n",
        "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "model.fit(X, Y,\n          epochs=3)\n",
    ),
    "val_acc history key": (
        "model.compile(loss='categorical_crossentropy', metrics=['accuracy'], optimizer='adam')\n"
        "result = model.fit(X, Y)\nvalidation_acc = np.amax(result.history['val_acc'])\n"
        'train_acc = result.history["acc"][-1]\n',
        "model.compile(loss='categorical_crossentropy', metrics=['accuracy'], optimizer='adam')\n"
        "result = model.fit(X, Y)\nvalidation_acc = np.amax(result.history['val_accuracy'])\n"
        'train_acc = result.history["accuracy"][-1]\n',
    ),
    "monitor='val_acc'": (
        "from keras.callbacks import EarlyStopping\nmodel.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "stop = EarlyStopping(monitor='val_acc', patience=3)\n",
        "from keras.callbacks import EarlyStopping\nmodel.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\n"
        "stop = EarlyStopping(monitor='val_accuracy', patience=3)\n",
    ),
    "nb_words=": (
        "from keras.datasets import imdb\n(X_train, y_train), _ = imdb.load_data(nb_words=20000)\n",
        "from keras.datasets import imdb\n(X_train, y_train), _ = imdb.load_data(num_words=20000)\n",
    ),
    "class_mode=": (
        "model.compile(loss='binary_crossentropy',\n              optimizer='adam',\n              class_mode='binary')\n",
        "model.compile(loss='binary_crossentropy',\n              optimizer='adam')\n",
    ),
    "metrics=['acc'] keeps 'acc'": (
        "model.compile(loss='mse', optimizer='sgd', metrics=['acc'])\nbest = max(h.history['val_acc'])\n",
        "model.compile(loss='mse', optimizer='sgd', metrics=['acc'])\nbest = max(h.history['val_acc'])\n",
    ),
}


@pytest.mark.parametrize("before, after", list(REWRITES.values()), ids=list(REWRITES))
def test_rewrite(before, after):
    before, after = textwrap.dedent(before), textwrap.dedent(after)
    assert upgrade_text(before)[0] == after
    assert upgrade_text(after)[0] == after  # idempotent


NOT_KERAS = {
    "torch lr": "from torch.optim import Adam\nopt = Adam(model.parameters(), lr=0.1)\n",
    "own Adam": "def Adam(lr):\n    return lr\nopt = Adam(lr=0.1)\n",
    "own Convolution2D": "def Convolution2D(a, b, c):\n    return a\nConvolution2D(1, 2, 3)\n",
    "nb_epoch elsewhere": "clf = KerasClassifier(build_fn=make, nb_epoch=3)\n",
    "strings and comments": '# from keras.layers.core import Dense\ndoc = "Adam(lr=0.1), nb_epoch=3"\n',
    "sklearn history": "scores = history['acc_score']\n",
}


@pytest.mark.parametrize("text", list(NOT_KERAS.values()), ids=list(NOT_KERAS))
def test_what_is_not_keras_is_left_alone(text):
    new, plan = upgrade_text(text)
    assert new == text
    assert plan.count == 0


# --- Warnings: located, with the Keras 3 way ----------------------------------------------


def test_merge_is_a_located_warning():
    text = "from keras.layers import Dense, Merge\nmerged.add(Merge([left, right], mode='concat'))\n"
    assert upgrade_text(text)[0] == text
    found = warnings_of(text)
    assert [(line, column, rule) for line, column, rule, _ in found] == [
        (1, 33, "Merge"),
        (2, 12, "Merge"),
    ]
    assert "Concatenate" in found[0][3]


def test_decay_warning_gives_the_equivalent_schedule():
    text = "from keras.optimizers import SGD\nsgd = SGD(lr=0.1, decay=1e-6, momentum=0.9)\n"
    assert upgraded(text) == text.replace(
        "lr=", "learning_rate="
    )  # decay= stays: dropping it changes training
    [(line, column, rule, message)] = warnings_of(text)
    assert (line, column, rule) == (2, 19, "decay=")
    assert "InverseTimeDecay(0.1, decay_steps=1, decay_rate=1e-6)" in message


def test_decay_without_lr_uses_keras2_default():
    [(_, _, _, message)] = warnings_of(
        "from keras.optimizers import Adam\nopt = Adam(decay=0.01)\n"
    )
    assert "InverseTimeDecay(0.001, decay_steps=1, decay_rate=0.01)" in message


def test_multi_gpu_model_is_a_warning_at_import_and_call():
    text = "from keras.utils.training_utils import multi_gpu_model\nmodel = multi_gpu_model(model, gpus=2)\n"
    assert upgraded(text) == text
    found = warnings_of(text)
    assert [(line, column) for line, column, _, _ in found] == [(1, 40), (2, 9)]
    assert all("MirroredStrategy" in message for _, _, _, message in found)


def test_predict_classes_without_a_categorical_loss_is_a_warning():
    text = "import numpy as np\nmodel.compile(loss='binary_crossentropy', optimizer='adam')\np = model.predict_classes(x)\n"
    assert upgraded(text) == text
    [(line, column, rule, message)] = warnings_of(text)
    assert (line, column, rule) == (3, 11, "predict_classes")
    assert "> 0.5" in message and "argmax" in message


def test_predict_classes_without_numpy_is_a_warning():
    text = "model.compile(loss='categorical_crossentropy', optimizer='adam')\np = model.predict_classes(x)\n"
    assert upgraded(text) == text
    assert [rule for _, _, rule, _ in warnings_of(text)] == ["predict_classes"]


def test_history_key_without_known_metrics_is_a_warning():
    text = "model.compile(loss='mse', optimizer=opt, metrics=metrics)\nacc = h.history['val_acc']\n"
    assert upgraded(text) == text
    [(line, column, rule, _)] = warnings_of(text)
    assert (line, column, rule) == (2, 17, "'val_acc'")


def test_show_accuracy_without_metrics_adds_the_metric_to_compile():
    # Issue 16: dropping show_accuracy= alone leaves `score, acc = evaluate(...)` short of a value.
    text = "model.compile(loss='mse', optimizer='sgd')\nscore, acc = model.evaluate(X, Y, show_accuracy=True)\n"
    assert (
        upgraded(text)
        == "model.compile(loss='mse', optimizer='sgd', metrics=['accuracy'])\nscore, acc = model.evaluate(X, Y)\n"
    )
    assert warnings_of(text) == []


def test_show_accuracy_with_two_compiles_warns_that_evaluate_returns_less():
    text = (
        "model.compile(loss='mse', optimizer='sgd')\nother.compile(loss='mse', optimizer='sgd')\n"
        "score, acc = model.evaluate(X, Y, show_accuracy=True)\n"
    )
    assert upgraded(text) == text.replace(", show_accuracy=True", "")
    [(line, column, _, message)] = warnings_of(text)
    assert (line, column) == (3, 35) and "metrics=['accuracy']" in message


def test_generator_queue_settings_are_dropped_with_a_warning():
    text = "model.fit_generator(gen, steps_per_epoch=5, workers=4, use_multiprocessing=True)\n"
    assert upgraded(text) == "model.fit(gen, steps_per_epoch=5)\n"
    assert [(c, r) for _, c, r, _ in warnings_of(text)] == [
        (45, "workers="),
        (56, "use_multiprocessing="),
    ]


def test_samples_per_epoch_is_a_warning():
    text = "model.fit_generator(gen, samples_per_epoch=6000, nb_epoch=2)\n"
    assert upgraded(text) == "model.fit(gen, samples_per_epoch=6000, epochs=2)\n"
    [(_, column, rule, message)] = warnings_of(text)
    assert (column, rule) == (26, "samples_per_epoch=") and "steps_per_epoch" in message


# --- Handles ------------------------------------------------------------------------------


def test_spellings_inside_handles_are_rewritten_inside_the_braces():
    # Issue 16: lr= in a handle's options is mechanical; decay= stays a warning.
    text = textwrap.dedent("""\
        from keras.optimizers import Adam, SGD
        model.compile(loss='categorical_crossentropy',
                      optimizer={{choice([Adam(lr=0.01), SGD(lr=0.1,
                                                          decay=1e-6)])}})
        """)
    new, plan = upgrade_text(text)
    assert new == text.replace("lr=", "learning_rate=")
    assert [(c.line, c.column, c.rule) for c in plan.changes] == [
        (3, 40, "lr="),
        (3, 54, "lr="),
    ]
    assert [(f.line, f.column, f.rule) for f in plan.findings] == [(4, 51, "decay=")]
    assert all("inside a handle" in f.message for f in plan.findings)
    assert (
        "InverseTimeDecay(0.1, decay_steps=1, decay_rate=1e-6)" in plan.findings[0].hint
    )
    assert upgrade_text(new)[0] == new


def test_a_handle_in_the_way_blocks_the_edit():
    text = "model.compile(metrics=['accuracy'])\nmodel.fit(x, y, show_accuracy={{choice([True, False])}})\n"
    new, plan = upgrade_text(text)
    assert new == text
    assert [(f.line, f.column, f.rule) for f in plan.findings] == [
        (2, 17, "show_accuracy=")
    ]


def test_columns_after_a_narrow_handle_map_back_to_the_file():
    # `{{x}}` is narrower than its placeholder: later columns must still land on `lr`.
    text = "from keras.optimizers import Adam\nopt = [{{x}}, {{y}}, Adam(lr=0.1)]\n"
    assert (
        upgraded(text)
        == "from keras.optimizers import Adam\nopt = [{{x}}, {{y}}, Adam(learning_rate=0.1)]\n"
    )


# --- The sample files -----------------------------------------------------------------------


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_sample_script_matches_expected(path):
    expected = path.with_name(path.stem + ".expected.py").read_bytes()
    result = upgrade_file(str(path), path.read_bytes())
    assert result.data == expected
    again = upgrade_file(str(path), result.data)
    assert again.data == expected and not again.changed  # a second run changes nothing
    assert not again.parts[0].plan.changes


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_sample_script_keeps_every_other_byte(path):
    text = path.read_text()
    new, plan = upgrade_text(text)
    # Undo each edit's replacement text: what remains must be the original, byte for byte.
    edits = sorted((e for c in plan.changes for e in c.edits), key=lambda e: e.start)
    pieces, position, cursor = [], 0, 0
    for edit in edits:
        keep = edit.start - position
        pieces.append(new[cursor : cursor + keep])
        pieces.append(text[edit.start : edit.end])
        cursor += keep + len(edit.text)
        position = edit.end
    pieces.append(new[cursor:])
    assert "".join(pieces) == text
    # Every edit is small: a token or a keyword or two, never a reformatted line.
    assert all(
        len("".join(text[e.start : e.end].split())) <= 60 and len(e.text) <= 60
        for e in edits
    )


@pytest.mark.parametrize(
    "path", [*SCRIPTS, *CASES.glob("*.expected.py")], ids=lambda p: p.name
)
def test_every_sample_parses_after_handle_substitution(path):
    text = path.read_text()
    assert parses(text)
    assert parses(upgrade_text(text)[0])


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_handles_are_untouched(path):
    text = path.read_text()
    new = upgrade_text(text)[0]
    assert [h.inner for h in scan(new)] == [h.inner for h in scan(text)]
    assert scan(text), "each sample has handles"


def test_upgrade_adds_no_undefined_names():
    pyflakes = pytest.importorskip("pyflakes.api")
    from pyflakes import reporter as flakes_reporter
    import io

    def undefined(text: str) -> set[str]:
        out = io.StringIO()
        pyflakes.check(
            substitute(text, scan(text)), "f.py", flakes_reporter.Reporter(out, out)
        )
        return {m for m in re.findall(r"undefined name '(\w+)'", out.getvalue())}

    for path in SCRIPTS:
        text = path.read_text()
        assert undefined(upgrade_text(text)[0]) <= undefined(text), path.name


def test_sample_warnings_are_located():
    plan = find((CASES / "cnn_keras1.py").read_text())
    assert [(f.line, f.column, f.rule) for f in plan.findings] == [
        (9, 33, "Merge"),
        (41, 54, "decay="),
        (57, 16, "Merge"),
    ]
    plan = find((CASES / "lstm_keras2.py").read_text())
    assert [(f.line, f.rule) for f in plan.findings] == [
        (11, "multi_gpu_model"),
        (33, "multi_gpu_model"),
        (43, "workers="),
        (43, "use_multiprocessing="),
        (46, "predict_classes"),
    ]


# --- Notebooks ------------------------------------------------------------------------------


def test_notebook_code_cells_are_upgraded_and_the_rest_kept():
    nbformat = pytest.importorskip("nbformat")
    result = upgrade_file(str(NOTEBOOK), NOTEBOOK.read_bytes())
    assert result.data == (CASES / "mnist_keras2.expected.ipynb").read_bytes()
    before = nbformat.reads(NOTEBOOK.read_text(), as_version=nbformat.NO_CONVERT)
    after = nbformat.reads(result.data.decode(), as_version=nbformat.NO_CONVERT)
    assert after.metadata == before.metadata
    for old, new in zip(before.cells, after.cells):
        assert (old.cell_type, old.get("outputs"), old.metadata) == (
            new.cell_type,
            new.get("outputs"),
            new.metadata,
        )
    assert [c.source for c in after.cells if c.cell_type == "markdown"] == [
        c.source for c in before.cells if c.cell_type == "markdown"
    ]
    assert after.cells[5].source == before.cells[5].source
    # The np_utils import sits in cell 2, its use in cell 3: both change, together.
    assert "from keras.utils import to_categorical" in after.cells[1].source
    assert "= to_categorical(" in after.cells[2].source
    assert "learning_rate={{choice([1e-3, 1e-4])}}" in after.cells[4].source
    assert after.cells[1].source.startswith(
        "%matplotlib inline\n"
    )  # magics kept as they were
    assert after.cells[5].source.startswith("!nvidia-smi\n")
    again = upgrade_file(str(NOTEBOOK), result.data)
    assert again.data == result.data and not again.changed


def test_notebook_warnings_name_the_cell(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_markdown_cell("intro"),
            new_code_cell("from keras.layers import Merge\nx = 1"),
            new_code_cell("%%bash\necho not python"),
            new_code_cell(
                "y = 2\nm = Merge([a, b], mode='sum')\nhelp_me = len?\nfiles = !ls"
            ),
        ]
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(nb))
    result = invoke(["upgrade", str(path), "--diff"])
    assert result.exit_code == 0, result.stderr
    assert (
        f"{path}:cell_2:1:26: warning: keras.layers.Merge is gone in Keras 3"
        in result.stderr
    )
    assert f"{path}:cell_4:2:5: warning: Merge() is gone in Keras 3" in result.stderr
    assert result.stdout == ""


def test_unchanged_notebook_is_returned_byte_for_byte(tmp_path):
    data = (
        (CASES / "mnist_keras2.expected.ipynb")
        .read_bytes()
        .replace(b'"nbformat": 4', b'"nbformat":   4')
    )
    assert upgrade_file("x.ipynb", data).data == data


# --- Files: encodings, line endings ----------------------------------------------------------


def test_crlf_bom_and_tabs_are_kept():
    text = "\ufefffrom keras.layers.core import Dense\r\n\r\nif True:\r\n\tx = Dense(output_dim=3)  # é\r\n"
    result = upgrade_file("m.py", text.encode("utf-8"))
    assert result.data == (
        "\ufefffrom keras.layers import Dense\r\n\r\nif True:\r\n\tx = Dense(units=3)  # é\r\n"
    ).encode("utf-8")


def test_latin1_file_keeps_its_encoding():
    text = "# -*- coding: latin-1 -*-\nfrom keras.optimizers import Adam\nopt = Adam(lr=0.1)  # café\n"
    result = upgrade_file("m.py", text.encode("latin-1"))
    assert result.data == text.replace("lr=", "learning_rate=").encode("latin-1")


def test_non_ascii_before_an_edit_on_the_same_line():
    text = "from keras.optimizers import Adam\nopt = ('é', Adam(lr=0.1))\n"
    assert (
        upgraded(text)
        == "from keras.optimizers import Adam\nopt = ('é', Adam(learning_rate=0.1))\n"
    )


# --- The command line -------------------------------------------------------------------------


@pytest.fixture
def keras1(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes((CASES / "mnist_keras1.py").read_bytes())
    return path


def test_cli_stdout_by_default(keras1):
    result = invoke(["upgrade", str(keras1)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (CASES / "mnist_keras1.expected.py").read_text()
    assert (
        keras1.read_bytes() == (CASES / "mnist_keras1.py").read_bytes()
    )  # not written
    assert (
        f"{keras1}: rewrote 9 Keras 1/2 spellings, 0 left with a warning"
        in result.stderr
    )


def test_cli_output_file(keras1, tmp_path):
    out = tmp_path / "new.py"
    result = invoke(["upgrade", str(keras1), "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_bytes() == (CASES / "mnist_keras1.expected.py").read_bytes()


def test_cli_in_place(keras1):
    result = invoke(["upgrade", str(keras1), "--in-place"])
    assert result.exit_code == 0 and result.stdout == ""
    assert keras1.read_bytes() == (CASES / "mnist_keras1.expected.py").read_bytes()
    assert not [p for p in keras1.parent.iterdir() if p.name.startswith(".model.py.")]
    mtime = keras1.stat().st_mtime_ns
    again = invoke(["upgrade", str(keras1), "--in-place"])
    assert (
        again.exit_code == 0 and keras1.stat().st_mtime_ns == mtime
    )  # nothing to change: not rewritten
    assert "rewrote 0 Keras 1/2 spellings" in again.stderr


def test_cli_diff_writes_nothing(keras1):
    result = invoke(["upgrade", str(keras1), "--diff"])
    assert result.exit_code == 0
    assert keras1.read_bytes() == (CASES / "mnist_keras1.py").read_bytes()
    assert result.stdout.startswith(f"--- {keras1}\n+++ {keras1} (upgraded)\n")
    assert (
        "-from keras.layers.core import Dense, Dropout, Activation\n" in result.stdout
    )
    assert "+from keras.layers import Dense, Dropout, Activation\n" in result.stdout
    assert "would rewrite 9" in result.stderr


def test_cli_stdin():
    result = invoke(
        ["upgrade", "-"], input="from keras.optimizers import Adam\nAdam(lr=1)\n"
    )
    assert result.exit_code == 0
    assert result.stdout == "from keras.optimizers import Adam\nAdam(learning_rate=1)\n"


def test_cli_warnings_are_located_on_stderr(tmp_path):
    path = tmp_path / "cnn.py"
    path.write_bytes((CASES / "cnn_keras1.py").read_bytes())
    result = invoke(["upgrade", str(path), "-o", str(tmp_path / "out.py")])
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert [line.split(": warning: ")[0] for line in lines] == [
        f"{path}:9:33",
        f"{path}:41:54",
        f"{path}:57:16",
    ]
    assert (
        "  hint: use learning_rate=keras.optimizers.schedules.InverseTimeDecay("
        in result.stderr
    )


@pytest.mark.parametrize(
    "args",
    [["-o", "x.py", "--in-place"], ["--diff", "--in-place"], ["--diff", "-o", "x.py"]],
)
def test_cli_options_exclude_each_other(keras1, args):
    result = invoke(["upgrade", str(keras1), *args])
    assert result.exit_code == 2
    assert "use one of -o OUT, --in-place and --diff" in result.stderr


def test_cli_syntax_error_is_located_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from keras.optimizers import Adam\nopt = Adam(lr=0.1\n")
    result = invoke(["upgrade", str(path), "--in-place"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:2:")
    assert "Traceback" not in result.stderr
    assert path.read_text() == "from keras.optimizers import Adam\nopt = Adam(lr=0.1\n"


def test_cli_help_lists_the_rules():
    result = invoke(["upgrade", "--help"])
    assert result.exit_code == 0
    for needle in (
        "--in-place",
        "--diff",
        "Convolution2D(n, r, c)",
        "learning_rate=",
        "decay=",
        "Merge",
    ):
        assert needle in result.stdout


# --- The compile note --------------------------------------------------------------------------


def test_compile_notes_keras12_spellings(keras1):
    result = invoke(["compile", str(keras1)])
    assert result.exit_code == 0, result.stderr
    assert (
        f"{keras1}: warning: 9 Keras 1/2 spellings (keras.layers.core, np_utils, init=, ...); "
        f"run: hyperasc upgrade {keras1} --in-place"
    ) in result.stderr.splitlines()


def test_compile_is_quiet_for_keras3_files():
    result = invoke(
        ["compile", str(Path(__file__).parent.parent / "examples" / "hyperas_style.py")]
    )
    assert result.exit_code == 0
    assert "Keras 1/2" not in result.stderr


def test_compile_note_when_only_warnings_are_left():
    note = compile_note((CASES / "cnn_keras1.expected.py").read_text(), "cnn.py")
    assert note == (
        "cnn.py: warning: 3 Keras 1/2 spellings that need a hand (Merge, decay=); "
        "run: hyperasc upgrade cnn.py --diff, for the Keras 3 way"
    )


def test_compile_note_is_a_note_when_keras3_runs_the_file():
    text = (
        "from keras.optimizers import SGD\nsgd = SGD(learning_rate=0.1, decay=1e-6)\n"
    )
    assert compile_note(text, "m.py") == (
        "m.py: note: 1 Keras 1/2 spelling that need a hand (decay=); "
        "run: hyperasc upgrade m.py --diff, for the Keras 3 way"
    )


def test_compile_note_counts_val_acc_keys():
    # Issue 16: every trial failed with KeyError: 'val_acc', and compile said nothing.
    text = (
        "model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])\n"
        "result = model.fit(x, y, validation_split=0.1)\n"
        "validation_acc = np.amax(result.history['val_acc'])\n"
    )
    assert compile_note(text, "m.py") == (
        "m.py: warning: 1 Keras 1/2 spelling ('val_acc'); run: hyperasc upgrade m.py --in-place"
    )


def test_compile_note_is_fast():
    text = (CASES / "cnn_keras1.py").read_text()
    big = text + "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(500))
    started = time.perf_counter()
    assert compile_note(big, "big.py") is not None
    assert time.perf_counter() - started < 1.0


def test_apply_refuses_overlapping_edits():
    from hyperasc.upgrade.core import Change, Edit

    changes = [
        Change("a", 1, 1, (Edit(0, 3, "x"),), ""),
        Change("b", 1, 2, (Edit(2, 4, "y"),), ""),
    ]
    with pytest.raises(AssertionError):
        apply("abcdef", changes)


def test_expected_notebook_is_valid_json():
    json.loads((CASES / "mnist_keras2.expected.ipynb").read_text())


def test_more_keras1_keywords_and_removed_apis():
    text = textwrap.dedent("""\
        from keras.preprocessing.image import ImageDataGenerator
        from keras.layers.core import Highway, Dense
        from keras.layers import LSTM, MaxPooling1D, Conv2D
        from keras import backend as K
        K.set_image_dim_ordering('th')
        x = LSTM(output_dim=3, inner_init='orthogonal', U_regularizer=l2(0.1), dropout_W=0.2, dropout_U=0.1)
        MaxPooling1D(pool_length=2, stride=1)
        Conv2D(nb_filter=3, nb_row=3, nb_col=3)
        """)
    new, plan = upgrade_text(text)
    # The unused imports of removed names go (issue 16): the first line, and Highway.
    assert new.splitlines()[:1] == ["from keras.layers import Dense"]
    assert new.splitlines()[4:] == [
        "x = LSTM(units=3, recurrent_initializer='orthogonal', recurrent_regularizer=l2(0.1), dropout=0.2, "
        "recurrent_dropout=0.1)",
        "MaxPooling1D(pool_size=2, strides=1)",
        "Conv2D(filters=3, nb_row=3, nb_col=3)",
    ]
    assert [(f.line, f.column, f.rule, f.severity) for f in plan.findings] == [
        (1, 39, "ImageDataGenerator", "note"),
        (2, 31, "Highway", "note"),
        (5, 1, "set_image_dim_ordering", "warning"),
        (8, 21, "nb_row=", "warning"),
        (8, 31, "nb_col=", "warning"),
    ]


def test_imdb_test_split_is_a_warning():
    text = "from keras.datasets import imdb\ndata = imdb.load_data(nb_words=100, test_split=0.2)\n"
    assert upgraded(text) == text.replace("nb_words=", "num_words=")
    [(line, column, rule, message)] = warnings_of(text)
    assert (line, column, rule) == (2, 37, "test_split=") and "ignores" in message


def test_edits_after_a_multiline_handle_on_its_last_line():
    text = "from keras.optimizers import Adam\nx = f({{choice([1,\n    2])}}, Adam(lr=1), {{y}}, Adam(lr=2))\n"
    assert upgraded(text) == text.replace("lr=", "learning_rate=")


def test_np_utils_used_in_a_handle_keeps_its_name():
    text = "from keras.utils import np_utils\ny = {{choice([np_utils.to_categorical(a), b])}}\n"
    assert (
        upgraded(text)
        == "from keras import utils as np_utils\ny = {{choice([np_utils.to_categorical(a), b])}}\n"
    )


def test_notebook_syntax_error_names_the_cell(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_markdown_cell("intro"),
            new_code_cell("x = 1"),
            new_code_cell("y = (\nz = 2"),
        ]
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(nb))
    before = path.read_bytes()
    result = invoke(["upgrade", str(path), "--in-place"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:cell_3:1:5: error: ")
    assert path.read_bytes() == before


# --- Properties over generated files ----------------------------------------------------------

_HEADER = (
    "import numpy as np\n"
    "from keras.layers.core import Dense, Dropout\n"
    "from keras.layers import Convolution2D, CuDNNLSTM, MaxPooling1D, Merge\n"
    "from keras.optimizers import Adam, SGD\n"
    "from keras.utils import np_utils\n"
)
_STATEMENTS = [
    "model.add(Convolution2D({{choice([16, 32])}}, 3, 3, border_mode='same', init='he_normal'))",
    "model.add(Dense(output_dim={{choice([64, 128])}}, W_regularizer=l2(0.01)))",
    "model.add(Dropout(p={{uniform(0, 1)}}))",
    "model.add(CuDNNLSTM(32,\n    return_sequences=True))  # fast",
    "model.add(MaxPooling1D(pool_length=2, border_mode='valid'))",
    "opt = SGD(lr={{loguniform(-5, -1)}}, decay=1e-6, momentum=0.9)",
    "opt = Adam(lr=0.001, decay=0.0)",
    "y = np_utils.to_categorical(y, 10)",
    "model.compile(loss='categorical_crossentropy', optimizer=opt, metrics=['accuracy'])",
    "h = model.fit(x, y, nb_epoch={{choice([1, 2])}}, show_accuracy=True,\n    verbose=0)",
    "h = model.fit_generator(gen, steps_per_epoch=2, workers=2, use_multiprocessing=False)",
    "best = max(h.history['val_acc'])  # {{ not a handle }}",
    "classes = model.predict_classes(x)",
    "merged = Merge([a, b], mode='concat')",
    "label = 'nb_epoch=3 lr=0.1'",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(_STATEMENTS), min_size=1, max_size=12),
    st.sampled_from(["\n", "\r\n"]),
)
def test_generated_files_upgrade_cleanly(statements, newline):
    body = "".join(textwrap.indent(s, "    ") + "\n" for s in statements)
    text = (
        _HEADER + "\n\ndef model(x, y):\n" + body + "    return {'loss': 0}\n"
    ).replace("\n", newline)
    new, plan = upgrade_text(text)
    assert parses(new)
    assert [h.inner for h in scan(new)] == [h.inner for h in scan(text)]
    assert upgrade_text(new)[0] == new  # idempotent
    assert not upgrade_text(new)[1].changes
    assert new.count("\n") <= text.count(
        "\n"
    )  # a dropped argument may take its line break along
    assert new.count(newline) == new.count("\n")  # line endings kept
    assert (
        "label = 'nb_epoch=3 lr=0.1'" in new or "label" not in text
    )  # strings are not code

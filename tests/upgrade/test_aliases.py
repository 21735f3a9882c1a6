"""Aliases family: Keras 2 names and keywords Keras 3 spells differently."""

from __future__ import annotations

import pytest

from hyperasc.upgrade import find

from .util import rules_of, upgraded

CASES = {
    "maxnorm import": (
        "from keras.constraints import maxnorm\nDense(3, kernel_constraint=maxnorm(2))\n",
        "from keras.constraints import max_norm as maxnorm\nDense(3, kernel_constraint=maxnorm(2))\n",
    ),
    "maxnorm dotted": (
        "import keras\nc = keras.constraints.maxnorm(2)\n",
        "import keras\nc = keras.constraints.max_norm(2)\n",
    ),
    "losses.MSE": (
        "import keras\nfrom keras import losses, metrics\n"
        "model.compile(loss=keras.losses.MSE, metrics=[metrics.mae, losses.mse])\n",
        "import keras\nfrom keras import losses, metrics\n"
        "model.compile(loss=keras.losses.mean_squared_error, "
        "metrics=[metrics.mean_absolute_error, losses.mean_squared_error])\n",
    ),
    "metrics.accuracy call": (
        "import keras\nacc = keras.metrics.accuracy(y, p)\n",
        'import keras\nacc = keras.ops.cast(keras.ops.equal(y, p), "float32")\n',
    ),
    "K.name_scope": (
        "import keras\nfrom keras import backend as K\nwith K.name_scope('deep'):\n    pass\n",
        "import keras\nfrom keras import backend as K\nwith keras.name_scope('deep'):\n    pass\n",
    ),
    "K.name_scope with tf": (
        "import tensorflow as tf\nfrom keras import backend as K\nwith K.name_scope('deep'):\n    pass\n",
        "import tensorflow as tf\nfrom keras import backend as K\nwith tf.name_scope('deep'):\n    pass\n",
    ),
    "Model(input=, output=)": (
        "from keras.models import Model\nm = Model(input=a, output=b)\n",
        "from keras.models import Model\nm = Model(inputs=a, outputs=b)\n",
    ),
    "LSTM input_dim": (
        "from keras.layers import LSTM\nLSTM(8, input_dim=4)\n",
        "from keras.layers import LSTM\nLSTM(8, input_shape=(None, 4))\n",
    ),
    "SimpleRNN input_dim input_length": (
        "from keras.layers import SimpleRNN\nSimpleRNN(8, input_dim=3, input_length=look_back, init='uniform')\n",
        "from keras.layers import SimpleRNN\n"
        "SimpleRNN(8, input_shape=(look_back, 3), kernel_initializer='uniform')\n",
    ),
    "GRU input_length first": (
        "from keras.layers import GRU\nGRU(8, input_length=5, input_dim={{choice([2, 3])}})\n",
        "from keras.layers import GRU\nGRU(8, input_shape=(5, {{choice([2, 3])}}))\n",
    ),
    "Dense input_dim stays": (
        "from keras.layers import Dense\nDense(8, input_dim=4)\n",
        "from keras.layers import Dense\nDense(8, input_dim=4)\n",
    ),
    "experimental preprocessing": (
        "from tensorflow.keras.layers.experimental.preprocessing import Rescaling\n"
        "from tensorflow.keras import layers\n"
        "f = layers.experimental.preprocessing.RandomFlip('horizontal')\n",
        "from tensorflow.keras.layers import Rescaling\n"
        "from tensorflow.keras import layers\n"
        "f = layers.RandomFlip('horizontal')\n",
    ),
}


@pytest.mark.parametrize("before, after", list(CASES.values()), ids=list(CASES))
def test_rewrite(before, after):
    assert upgraded(before) == after


def test_name_scope_without_keras_or_tf_imports_keras():
    text = "from keras import backend as K\nwith K.name_scope('deep'):\n    pass\nwith K.name_scope('wide'):\n    pass\n"
    assert upgraded(text) == (
        "import keras\nfrom keras import backend as K\nwith keras.name_scope('deep'):\n"
        "    pass\nwith keras.name_scope('wide'):\n    pass\n"
    )


def test_name_scope_with_a_local_keras_is_a_warning():
    text = (
        "from keras import backend as K\ndef f(keras):\n    with K.name_scope('deep'):\n"
        "        pass\n"
    )
    assert upgraded(text) == text
    assert [r for _, _, r in rules_of(text)] == ["K.name_scope"]


def test_visualize_util_plot():
    text = "from keras.utils.visualize_util import plot\nplot(model, to_file='m.png')\n"
    assert upgraded(text) == (
        "from keras.utils import plot_model as plot\nplot(model, to_file='m.png')\n"
    )


def test_embedding_dropout_is_dropped_with_a_warning():
    text = "from keras.layers import Embedding\nEmbedding(100, 8, dropout=0.2)\n"
    assert upgraded(text) == "from keras.layers import Embedding\nEmbedding(100, 8)\n"
    assert [r for _, _, r in rules_of(text)] == ["dropout="]


def test_a_local_named_like_a_loss_is_left():
    text = "def f(losses):\n    return losses.MSE\n"
    assert upgraded(text) == text


def test_consume_less_is_dropped_with_a_note():
    text = "from keras.layers import LSTM\nLSTM(8, consume_less='gpu', return_sequences=True)\n"
    assert (
        upgraded(text)
        == "from keras.layers import LSTM\nLSTM(8, return_sequences=True)\n"
    )
    assert [(f.rule, f.severity) for f in find(text).findings] == [
        ("consume_less=", "note")
    ]


def test_metrics_accuracy_in_a_metrics_list():
    # tf.keras's accuracy compared values exactly, as Keras 3's Accuracy() does; both log 'accuracy'.
    text = "import keras\nmodel.compile(loss='mse', metrics=[keras.metrics.accuracy])\n"
    assert upgraded(text) == (
        "import keras\nmodel.compile(loss='mse', metrics=[keras.metrics.Accuracy()])\n"
    )

"""Optimizers family: lr=, epsilon=None, decay=0, lowercase aliases, chosen classes."""

from __future__ import annotations

from .util import rules_of, upgraded


def test_epsilon_none_and_decay_zero_are_dropped():
    text = "from keras.optimizers import Adam\nopt = Adam(lr={{uniform(0.001, 0.01)}}, epsilon=None, decay=0.0)\n"
    assert upgraded(text) == (
        "from keras.optimizers import Adam\nopt = Adam(learning_rate={{uniform(0.001, 0.01)}})\n"
    )


def test_lowercase_aliases_keep_their_uses():
    text = (
        "from keras.optimizers import adam, rmsprop as rms\n"
        "import keras\n"
        "a = adam(lr=0.1)\nb = rms(lr=0.2)\nc = keras.optimizers.sgd(lr=0.3)\n"
    )
    assert upgraded(text) == (
        "from keras.optimizers import Adam as adam, RMSprop as rms\n"
        "import keras\n"
        "a = adam(learning_rate=0.1)\nb = rms(learning_rate=0.2)\n"
        "c = keras.optimizers.SGD(learning_rate=0.3)\n"
    )


def test_lowercase_aliases_inside_a_handle():
    text = (
        "from keras.optimizers import adam, sgd\n"
        "model.compile(optimizer={{choice([adam(lr=0.001), sgd(lr=0.01, momentum=0.9)])}})\n"
    )
    assert upgraded(text) == (
        "from keras.optimizers import Adam as adam, SGD as sgd\n"
        "model.compile(optimizer={{choice([adam(learning_rate=0.001), "
        "sgd(learning_rate=0.01, momentum=0.9)])}})\n"
    )


def test_a_called_handle_of_optimizer_classes():
    text = (
        "from keras.optimizers import RMSprop, Adam, SGD\n"
        "def model():\n"
        "    opt = {{choice([RMSprop, Adam, SGD])}}(lr={{choice([0.1, 0.01])}})\n"
        "    cls = {{choice([RMSprop, Adam])}}\n"
        "    other = cls(lr=0.1)\n"
    )
    assert upgraded(text) == text.replace("(lr=", "(learning_rate=")


def test_a_called_handle_of_other_things_is_left():
    text = (
        "from keras.optimizers import Adam\n"
        "def model():\n"
        "    opt = {{choice([Adam, torch_adam])}}(lr=0.1)\n"
        "    cls = {{choice([Adam])}}\n"
        "    cls = other\n"
        "    x = cls(lr=0.1)\n"
    )
    assert upgraded(text) == text


def test_decay_in_a_called_handle_warns():
    text = (
        "from keras.optimizers import SGD, Adam\n"
        "opt = {{choice([SGD, Adam])}}(lr=0.1, decay=1e-6)\n"
    )
    assert upgraded(text) == text.replace("lr=", "learning_rate=")
    assert [r for _, _, r in rules_of(text)] == ["decay="]

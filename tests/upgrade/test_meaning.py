"""Rewrites never change what the code means: scope, starred arguments, aliases."""

from __future__ import annotations

from .util import rules_of, upgraded


def test_starred_kernel_arguments_are_left_with_a_warning():
    text = (
        "from keras.layers import Convolution2D\n"
        "ks = (3, 3)\n"
        "a = Convolution2D(32, *ks)\n"
        "b = Convolution2D(16, 5, 5)\n"
        "c = Convolution2D\n"
    )
    # Keras 3 still has Convolution2D: the name stays everywhere, the safe call is fixed.
    assert upgraded(text) == text.replace("(16, 5, 5)", "(16, (5, 5))")
    assert rules_of(text) == [(3, 5, "Convolution2D")]


def test_double_starred_kernel_arguments_are_left_too():
    text = "from keras.layers import Convolution2D\na = Convolution2D(32, 3, 3, **kw)\n"
    assert upgraded(text) == text
    assert [r for _, _, r in rules_of(text)] == ["Convolution2D"]


def test_predict_classes_with_a_local_np_is_a_warning():
    text = (
        "import numpy as np\n"
        "model.compile(loss='categorical_crossentropy', optimizer='adam')\n"
        "def f(model, np):\n"
        "    return model.predict_classes(np)\n"
        "def g(model, x):\n"
        "    np = x\n"
        "    return model.predict_classes(x)\n"
        "def h(model, x):\n"
        "    return model.predict_classes(x)\n"
    )
    new = upgraded(text)
    assert new.splitlines()[3] == "    return model.predict_classes(np)"
    assert new.splitlines()[6] == "    return model.predict_classes(x)"
    assert new.splitlines()[8] == "    return np.argmax(model.predict(x), axis=-1)"
    assert [(line, rule) for line, _, rule in rules_of(text)] == [
        (4, "predict_classes"),
        (7, "predict_classes"),
    ]


def test_a_parameter_named_adam_stops_only_its_own_function():
    text = (
        "from keras.optimizers import Adam\n"
        "def pick(Adam):\n"
        "    return Adam(lr=0.1)\n"
        "def model():\n"
        "    return Adam(lr=0.01)\n"
    )
    assert upgraded(text) == text.replace("Adam(lr=0.01)", "Adam(learning_rate=0.01)")


def test_a_local_assignment_shadows_the_import():
    text = (
        "from keras.optimizers import Adam\n"
        "def model():\n"
        "    Adam = make_torch_adam\n"
        "    return Adam(lr=0.01)\n"
    )
    assert upgraded(text) == text


def test_an_import_inside_a_function_counts_in_others_too():
    # hyperas copies every import to the top of the script it runs.
    text = (
        "def model():\n"
        "    from keras.optimizers import Adam\n"
        "    return Adam(lr=0.1)\n"
        "def other():\n"
        "    return Adam(lr=0.2)\n"
    )
    assert upgraded(text) == text.replace("lr=", "learning_rate=")


def test_to_categorical_is_not_imported_over_a_local_of_that_name():
    text = (
        "from keras.utils import np_utils\n"
        "def to_categorical(y):\n"
        "    return y\n"
        "y = np_utils.to_categorical(y, 10)\n"
    )
    new = upgraded(text)
    assert "np_utils.to_categorical(y, 10)" in new
    assert new.startswith("from keras import utils as np_utils\n")


def test_aliased_optimizer_is_rewritten():
    text = "from keras.optimizers import Adam as A\nopt = A(lr=0.1)\n"
    assert upgraded(text) == text.replace("lr=", "learning_rate=")


def test_star_imports_find_each_name_in_its_own_module():
    text = (
        "from keras.layers import *\nfrom keras.optimizers import *\n"
        "model.add(Convolution2D(32, 3, 3))\nopt = Adam(lr=0.1)\n"
    )
    assert upgraded(text) == (
        "from keras.layers import *\nfrom keras.optimizers import *\n"
        "model.add(Conv2D(32, (3, 3)))\nopt = Adam(learning_rate=0.1)\n"
    )


def test_a_star_import_never_claims_a_name_the_file_binds():
    text = "from keras.optimizers import *\ndef f(Adam):\n    return Adam(lr=0.1)\n"
    assert upgraded(text) == text

"""Imports family: module paths, np_utils, and removed names the file never uses."""

from __future__ import annotations

from hyperasc.upgrade import find

from .util import rules_of, upgraded


def notes_of(text: str) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in find(text).findings if f.severity == "note"]


def test_unused_removed_names_are_dropped_with_a_note():
    text = (
        "from keras.utils import np_utils, to_categorical\n"
        "from keras.utils.training_utils import multi_gpu_model\n"
        "from keras.layers import Dense, Merge\n"
        "from keras.wrappers.scikit_learn import KerasClassifier\n"
        "from keras.backend import tensorflow_backend\n"
        "import keras.backend.tensorflow_backend as KTF\n"
        "y = to_categorical([1], 3)\n"
        "d = Dense(3)\n"
    )
    assert upgraded(text) == (
        "from keras.utils import to_categorical\n"
        "from keras.layers import Dense\n"
        "y = to_categorical([1], 3)\n"
        "d = Dense(3)\n"
    )
    assert notes_of(text) == [
        (1, "np_utils"),
        (2, "multi_gpu_model"),
        (3, "Merge"),
        (4, "KerasClassifier"),
        (5, "tensorflow_backend"),
        (6, "keras.backend.tensorflow_backend"),
    ]
    assert rules_of(text) == [(line, _col, rule) for line, _col, rule in rules_of(text)]
    assert all(f.severity == "note" for f in find(text).findings)


def test_a_used_removed_name_stays_with_a_warning():
    text = "from keras.layers import Merge\nm = Merge([a, b], mode='concat')\n"
    assert upgraded(text) == text
    assert [rule for _, _, rule in rules_of(text)] == ["Merge", "Merge"]


def test_a_name_used_only_in_a_handle_counts_as_used():
    text = "from keras.layers import Merge\nm = {{choice([Merge, None])}}\n"
    assert upgraded(text) == text


def test_an_unused_import_alone_in_a_block_becomes_pass():
    text = "try:\n    from keras.utils import multi_gpu_model\nexcept ImportError:\n    pass\n"
    assert upgraded(text) == "try:\n    pass\nexcept ImportError:\n    pass\n"


def test_an_unused_import_sharing_a_line_stays():
    text = "import os; from keras.utils import multi_gpu_model\n"
    assert upgraded(text) == text


def test_np_utils_twice_in_one_import_with_to_categorical():
    text = (
        "from keras.utils import np_utils, to_categorical\n"
        "y = to_categorical([1], 3)\n"
    )
    assert (
        upgraded(text)
        == "from keras.utils import to_categorical\ny = to_categorical([1], 3)\n"
    )


def test_np_utils_beside_to_categorical_and_an_unused_removed_name():
    text = (
        "from keras.utils import np_utils, to_categorical, multi_gpu_model\n"
        "y = np_utils.to_categorical([1], 3)\n"
    )
    assert (
        upgraded(text)
        == "from keras.utils import to_categorical\ny = to_categorical([1], 3)\n"
    )


def test_np_utils_beside_other_names():
    text = "from keras.utils import np_utils, plot_model\ny = np_utils.to_categorical([1], 3)\n"
    assert upgraded(text) == (
        "from keras.utils import to_categorical, plot_model\ny = to_categorical([1], 3)\n"
    )

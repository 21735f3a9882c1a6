"""Around-Keras family: scikit-learn, pandas and NumPy 2 spellings; preprocessing recipes."""

from __future__ import annotations

import pytest

from hyperasc.upgrade import find

from .util import rules_of, upgraded

CASES = {
    "cross_validation": (
        "from sklearn.cross_validation import train_test_split\n",
        "from sklearn.model_selection import train_test_split\n",
    ),
    "joblib": ("from sklearn.externals import joblib\n", "import joblib\n"),
    "joblib names": (
        "from sklearn.externals.joblib import dump, load\n",
        "from joblib import dump, load\n",
    ),
    "pandas plotting": (
        "from pandas.tools.plotting import scatter_matrix\n",
        "from pandas.plotting import scatter_matrix\n",
    ),
    "numpy 2": (
        "import numpy as np\nbest = np.Inf\nf1 = np.NaN\nlow = -np.NINF * 2\nx = np.float_(1)\n",
        "import numpy as np\nbest = np.inf\nf1 = np.nan\nlow = -(-np.inf) * 2\nx = np.float64(1)\n",
    ),
}


@pytest.mark.parametrize("before, after", list(CASES.values()), ids=list(CASES))
def test_rewrite(before, after):
    assert upgraded(before) == after


def test_kfold_from_cross_validation_is_a_warning():
    text = "from sklearn.cross_validation import KFold, train_test_split\n"
    assert upgraded(text) == text
    [(_, _, rule)] = rules_of(text)
    assert rule == "sklearn.cross_validation"


def test_a_local_np_is_not_numpy():
    text = "import numpy as np\ndef f(np):\n    return np.Inf\n"
    assert upgraded(text) == text


def test_tokenizer_to_yaml_count_params_warn():
    text = (
        "from keras.preprocessing.text import Tokenizer\n"
        "from keras import backend as K\n"
        "t = Tokenizer(num_words=100)\n"
        "y = model.to_yaml()\n"
        "n = K.count_params(w)\n"
    )
    assert upgraded(text) == text
    assert [(line, rule) for line, _, rule in rules_of(text)] == [
        (1, "Tokenizer"),
        (4, "to_yaml"),
        (5, "count_params"),
    ]


def test_image_data_generator_gets_the_recipe():
    text = (
        "from keras.preprocessing.image import ImageDataGenerator\n"
        "datagen = ImageDataGenerator(rotation_range={{choice([0, 10])}},\n"
        "                             width_shift_range=0.1, horizontal_flip=True)\n"
        "model.fit_generator(datagen.flow(X, Y, batch_size=32), steps_per_epoch=10)\n"
    )
    findings = find(text).findings
    [call] = [f for f in findings if f.line == 2]
    assert call.rule == "ImageDataGenerator" and call.severity == "warning"
    assert "keras.layers.RandomRotation({{choice([0, 10])}} / 360)" in call.hint
    assert "keras.layers.RandomTranslation(0, 0.1)" in call.hint
    assert "keras.layers.RandomFlip('horizontal')" in call.hint
    assert "preprocessing layers" in call.hint

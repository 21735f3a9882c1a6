"""TF1 family: seeds, logging, session set-up."""

from __future__ import annotations

from hyperasc.upgrade import find

from .util import rules_of, upgraded

SETUP = """\
import numpy as np
import tensorflow as tf
from keras import backend as K
from keras.backend.tensorflow_backend import set_session
np.random.seed(42)
session_conf = tf.ConfigProto(intra_op_parallelism_threads=1,
                              gpu_options=tf.GPUOptions(allow_growth=True))
session_conf.gpu_options.allow_growth = True  # grow
tf.set_random_seed(1234)
sess = tf.Session(graph=tf.get_default_graph(), config=session_conf)
K.set_session(sess)
set_session(sess)
x = 1
"""


def test_session_setup_is_dropped_with_a_note():
    assert upgraded(SETUP) == (
        "import numpy as np\n"
        "import tensorflow as tf\n"
        "from keras import backend as K\n"
        "np.random.seed(42)\n"
        "tf.random.set_seed(1234)\n"
        "x = 1\n"
    )
    notes = [f for f in find(SETUP).findings if f.severity == "note"]
    assert [(f.line, f.rule) for f in notes] == [(4, "set_session"), (6, "tf.Session")]
    assert "set_memory_growth" in notes[1].hint


def test_session_used_elsewhere_stays_with_warnings():
    text = SETUP + "sess.run(init)\nprint(sess)\n"
    new = upgraded(text)
    assert "sess = tf.Session(" in new and "K.set_session(sess)" in new
    assert "tf.random.set_seed(1234)" in new
    assert {rule for _, _, rule in rules_of(text)} >= {
        "ConfigProto",
        "Session",
        "set_session",
    }


def test_with_session_is_a_warning():
    text = "import tensorflow as tf\nwith tf.Session() as sess:\n    x = 1\n"
    assert upgraded(text) == text
    assert rules_of(text) == [(2, 6, "Session")]


def test_set_random_seed_import():
    text = "from tensorflow import set_random_seed\nset_random_seed(2)\n"
    assert upgraded(text) == (
        "from tensorflow.random import set_seed as set_random_seed\nset_random_seed(2)\n"
    )


def test_logging_verbosity():
    text = "import tensorflow as tf\ntf.logging.set_verbosity(tf.logging.ERROR)\n"
    assert (
        upgraded(text) == 'import tensorflow as tf\ntf.get_logger().setLevel("ERROR")\n'
    )
    odd = "import tensorflow as tf\ntf.logging.set_verbosity(level)\n"
    assert upgraded(odd) == odd
    assert [r for _, _, r in rules_of(odd)] == ["tf.logging"]


def test_a_local_tf_is_not_tensorflow():
    text = "def f(tf):\n    tf.set_random_seed(1)\n"
    assert upgraded(text) == text

"""The shared token-edit core: apply, duplicate edits, edits that cross."""

from __future__ import annotations

import pytest

from hyperasc.upgrade import upgrade_file, upgrade_text
from hyperasc.upgrade.core import Change, Edit, apply, resolve


def test_identical_edits_are_made_once():
    changes = [
        Change("a", 1, 1, (Edit(0, 3, "x"),), ""),
        Change("b", 1, 1, (Edit(0, 3, "x"), Edit(4, 4, "!")), ""),
    ]
    assert apply("abcdef", changes) == "xd!ef"


def test_crossing_edits_still_refused_by_apply():
    with pytest.raises(AssertionError):
        apply(
            "abcdef",
            [
                Change("a", 1, 1, (Edit(0, 3, "x"),), ""),
                Change("b", 1, 2, (Edit(2, 4, "y"),), ""),
            ],
        )


def test_resolve_leaves_a_crossing_change_for_a_warning():
    first = Change("a", 1, 1, (Edit(0, 3, "x"),), "a -> x")
    second = Change("b", 1, 3, (Edit(2, 4, "y"),), "b -> y")
    duplicate = Change("a", 1, 1, (Edit(0, 3, "x"),), "a -> x")
    accepted, left = resolve([first, second, duplicate])
    assert accepted == [first]
    assert [(f.rule, f.line, f.column) for f in left] == [("b", 1, 3)]
    assert "not rewritten" in left[0].message


def test_two_insertions_at_one_place_cross():
    accepted, left = resolve(
        [
            Change("a", 1, 1, (Edit(2, 2, "x"),), ""),
            Change("b", 1, 1, (Edit(2, 2, "y"),), ""),
        ]
    )
    assert len(accepted) == 1 and len(left) == 1


DUPLICATE_IMPORTS = (
    "from keras.utils import np_utils\n"
    "from keras.utils import np_utils\n"
    "y = np_utils.to_categorical(y, 10)\n"
)


def test_duplicate_np_utils_lines_do_not_crash():
    new, plan = upgrade_text(DUPLICATE_IMPORTS)
    assert new == (
        "from keras.utils import to_categorical\n"
        "from keras.utils import to_categorical\n"
        "y = to_categorical(y, 10)\n"
    )
    assert upgrade_text(new)[0] == new


def test_duplicate_np_utils_lines_in_a_notebook_do_not_crash():
    nbformat = pytest.importorskip("nbformat")
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("from keras.utils import np_utils\nimport numpy as np"),
            new_code_cell("from keras.utils import np_utils"),
            new_code_cell("y = np_utils.to_categorical(np.zeros(3), 10)"),
        ]
    )
    result = upgrade_file("nb.ipynb", nbformat.writes(nb).encode())
    cells = nbformat.reads(result.data.decode(), as_version=4).cells
    assert [c.source for c in cells] == [
        "from keras.utils import to_categorical\nimport numpy as np",
        "from keras.utils import to_categorical",
        "y = to_categorical(np.zeros(3), 10)",
    ]
    again = upgrade_file("nb.ipynb", result.data)
    assert not again.changed


@pytest.mark.parametrize(
    "line",
    [
        "from keras.layers.core import Dense, Dropout",
        "model.fit(x, y, nb_epoch=2, show_accuracy=True)",
        "opt = Adam(lr=0.1, decay=0.0)",
        "model.add(Convolution2D(32, 3, 3, border_mode='same'))",
    ],
)
def test_duplicate_lines_never_crash(line):
    text = (
        "from keras.layers import Convolution2D\nfrom keras.optimizers import Adam\n"
        + (line + "\n") * 3
    )
    new, _ = upgrade_text(text)
    assert upgrade_text(new)[0] == new
    assert len(set(new.splitlines()[2:])) == 1  # the same rewrite, three times

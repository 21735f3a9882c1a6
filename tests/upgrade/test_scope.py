"""Name resolution by scope: what a name means where it is used."""

from __future__ import annotations

import ast
import textwrap

import pytest

from hyperasc.upgrade.scope import LOCAL, Binding, Scopes


def meaning(text: str, line: int, name: str) -> Binding | None:
    """What the Name `name` on `line` means there."""
    tree = ast.parse(textwrap.dedent(text))
    scopes = Scopes(tree)
    node = min(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)
            and n.id == name
            and n.lineno == line
        ),
        key=lambda n: n.col_offset,
    )
    return scopes.resolve(node)


ADAM = Binding("keras.optimizers.Adam")


@pytest.mark.parametrize(
    "text, line, expected",
    [
        ("from keras.optimizers import Adam\nAdam\n", 2, ADAM),
        ("from keras.optimizers import Adam\ndef f(Adam):\n    Adam\n", 3, LOCAL),
        ("from keras.optimizers import Adam\ndef f(Adam):\n    pass\nAdam\n", 4, ADAM),
        (
            "from keras.optimizers import Adam\ndef f():\n    Adam\n    Adam = 1\n",
            3,
            LOCAL,
        ),
        (
            "from keras.optimizers import Adam\ndef f():\n    global Adam\n    Adam\n",
            4,
            ADAM,
        ),
        (
            "from keras.optimizers import Adam\nclass C:\n    Adam = 1\n    def m(self):\n        Adam\n",
            5,
            ADAM,
        ),
        (
            "from keras.optimizers import Adam\nclass C:\n    Adam = 1\n    Adam\n",
            4,
            LOCAL,
        ),
        ("from keras.optimizers import Adam\n[Adam for Adam in xs]\n", 2, LOCAL),
        ("from keras.optimizers import Adam\n[Adam for x in xs]\n", 2, ADAM),
        ("from keras.optimizers import Adam\nAdam = wrap(Adam)\nAdam\n", 3, LOCAL),
        ("from keras.optimizers import Adam\nf = lambda Adam: Adam\n", 2, LOCAL),
        ("def f():\n    from keras.optimizers import Adam\n    Adam\n", 3, ADAM),
        (
            "def f():\n    from keras.optimizers import Adam\ndef g():\n    Adam\n",
            4,
            None,
        ),
        ("import numpy as np\ndef f(np):\n    np\n", 3, LOCAL),
        (
            "import numpy as np\ndef f():\n    for np in xs:\n        pass\n    np\n",
            5,
            LOCAL,
        ),
        (
            "import numpy as np\ndef f():\n    try:\n        pass\n    except E as np:\n        np\n",
            6,
            LOCAL,
        ),
        (
            "from keras.optimizers import Adam\ndef f():\n    Adam = 1\n    def g():\n        nonlocal Adam\n        Adam\n",
            6,
            LOCAL,
        ),
    ],
)
def test_resolve(text, line, expected):
    assert meaning(text, line, _name_on(text, line)) == expected


def _name_on(text: str, line: int) -> str:
    source = text.split("\n")[line - 1]
    return "np" if "np" in source.split("#")[0] and "Adam" not in source else "Adam"

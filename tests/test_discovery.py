"""Stage 2: finding the model and data functions, imports and helpers."""

import textwrap

import pytest

from hyperasc.diagnostics import CompileError

from helpers import analyse_text, compile_text


def program(text, **kwargs):
    return analyse_text(textwrap.dedent(text), **kwargs).program


HYPERAS = """\
from __future__ import print_function
from hyperas import optim
from hyperas.distributions import choice, uniform
from hyperopt import Trials, STATUS_OK, tpe, rand
import numpy as np


def get_data(n):  # data_args=(3,) below gives n
    return n, 2


def build(a, b):
    return {'loss': {{uniform(0, 1)}} + a, 'status': STATUS_OK}


def create_model(a, b):
    return build(a, b)


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=build, data=get_data, algo=rand.suggest,
                                          max_evals=7, trials=Trials(), data_args=(3,),
                                          functions=[np])
"""


def test_minimize_call_is_read_statically():
    found = program(HYPERAS)
    assert found.model.name == "build"
    assert found.data.name == "get_data"
    assert found.minimize.algo == "rand"
    assert found.minimize.max_evals == 7
    assert found.minimize.data_args == "(3,)"


def test_minimize_defaults_reach_the_script():
    script = compile_text(HYPERAS)
    assert "    max_evals=7,\n" in script  # in _hx_DEFAULTS, for --help and the search
    assert '    algo="rand",\n' in script
    assert "data_once(get_data, (3,))" in script


def test_minimize_at_module_level_and_imported_as_function():
    text = """\
    from hyperas.optim import minimize as run_search
    from hyperopt import anneal


    def d():
        return (1,)


    def m(x):
        return {{uniform(0, 1)}}


    best = run_search(model=m, data=d, algo=anneal.suggest, max_evals=3)
    """
    found = program(text)
    assert (found.model.name, found.data.name) == ("m", "d")
    assert (found.minimize.algo, found.minimize.max_evals) == ("anneal", 3)
    assert found.imports == ["from hyperopt import anneal"]


def test_minimize_functions_are_carried():
    text = """\
    from hyperas import optim


    def helper():
        return 1


    def unused():
        return 2


    def data():
        return (1,)


    def model(x):
        return {{uniform(0, 1)}}


    optim.minimize(model=model, data=data, functions=[helper], max_evals=2)
    """
    helpers = [s.text.split("(")[0] for s in program(text).helpers]
    assert helpers == ["def helper"]


@pytest.mark.parametrize(
    "names, model, data",
    [
        (("create_model", "model", "data"), "create_model", "data"),
        (("model", "data"), "model", "data"),
        (("model",), "model", None),
    ],
)
def test_name_fallback(names, model, data):
    defs = "\n\n".join(
        (
            f"def {n}(x):\n    return {{{{uniform(0, 1)}}}}"
            if n != "data"
            else "def data():\n    return (1,)"
        )
        for n in names
    )
    if "create_model" in names:
        defs = defs.replace(
            "def model(x):\n    return {{uniform(0, 1)}}", "def model(x):\n    return 0"
        )
    if "data" not in names:
        defs = defs.replace("(x):", "():")  # no data(), so nothing to pass
    found = program(defs + "\n")
    assert found.model.name == model
    assert (found.data.name if found.data else None) == data


def test_model_and_data_flags_override_everything():
    found = program(HYPERAS, model_fn="create_model", data_fn="get_data")
    assert found.model.name == "create_model"
    text = (
        "def load():\n    return (1,)\n\n\ndef net(x):\n    return {{uniform(0, 1)}}\n"
    )
    found = program(text, model_fn="net", data_fn="load")
    assert (found.model.name, found.data.name) == ("net", "load")
    assert found.model.params == ["x"]


def test_unknown_flag_function_is_an_error():
    with pytest.raises(CompileError) as info:
        program(HYPERAS, model_fn="nope")
    assert "--model-fn nope" in info.value.diagnostics[0].message


IMPORTS = """\
\"\"\"Docstring.\"\"\"
from __future__ import annotations
import os
import numpy as np
from collections import OrderedDict as OD, defaultdict
from keras import layers
import hyperas
from hyperas.distributions import uniform
from hyperas import optim
try:
    import ujson as json
except ImportError:
    import json
import os.path, hyperas.utils


def data():
    return (1,)


def create_model(x):
    return {{uniform(0, 1)}}


if __name__ == "__main__":
    print(optim)
"""


def test_imports_kept_exactly_and_hyperas_dropped():
    found = program(IMPORTS)
    assert found.future_imports == ["from __future__ import annotations"]
    assert found.imports == [
        "import os",
        "import numpy as np",
        "from collections import OrderedDict as OD, defaultdict",
        "from keras import layers",
        "try:\n    import ujson as json\nexcept ImportError:\n    import json",
        "import os.path",
    ]


def test_future_import_comes_first_in_the_script():
    script = compile_text(IMPORTS)
    body = [line for line in script.splitlines() if line and not line.startswith("#")]
    first_code = next(
        i for i, line in enumerate(body) if line.startswith(("import", "from"))
    )
    assert body[first_code] == "from __future__ import annotations"
    assert "import ujson as json" in script
    assert not [
        line
        for line in script.splitlines()
        if "import hyperas" in line or "from hyperas " in line
    ]
    assert "import os.path\n" in script
    assert '__main__":\n    print(optim)' not in script
    assert "print(optim)" not in script


def test_main_block_dropped_and_only_used_helpers_carried():
    text = """\
    import math

    SCALE = 2.0
    UNUSED = 3.0
    OFFSET = SCALE * 2


    class Box:
        size = OFFSET


    def helper(v):
        return v * Box.size


    def lonely():
        return UNUSED


    def data():
        return (1,)


    def create_model(x):
        return helper(math.sqrt({{uniform(0, 1)}}))


    if __name__ == "__main__":
        lonely()
    """
    found = program(text)
    carried = [s.text.splitlines()[0] for s in found.helpers]
    assert carried == [
        "SCALE = 2.0",
        "OFFSET = SCALE * 2",
        "class Box:",
        "def helper(v):",
    ]
    script = compile_text(textwrap.dedent(text))
    assert "UNUSED" not in script and "lonely" not in script


def test_helpers_keep_decorators_and_comments_inside():
    text = """\
    import functools


    @functools.lru_cache(maxsize=None)
    def cached(n):
        # a comment kept verbatim
        return n


    def data():
        return (1,)


    def create_model(x):
        return cached({{choice([1, 2])}})
    """
    (helper,) = program(text).helpers
    assert helper.text.startswith("@functools.lru_cache(maxsize=None)\ndef cached(n):")
    assert "# a comment kept verbatim" in helper.text


def test_handle_sites_and_model_locals():
    text = """\
    def data():
        return (1,)


    def create_model(x):
        units = 3
        return {{uniform(0, 1)}} * units
    """
    found = program(text)
    site = found.handles[0].site
    assert site.function == "create_model"
    assert {"x", "units"} <= site.locals


def test_data_params_map_in_order():
    found = program(
        "def data():\n    return 1, 2, 3\n\n\ndef model(a, b, c):\n    return {{uniform(a, b)}}\n"
    )
    assert found.model.params == ["a", "b", "c"]


def test_nested_function_defaults_and_lambdas_are_per_trial():
    text = """\
    def create_model():
        def inner(v={{uniform(0, 1)}}):
            return v
        pick = lambda: {{choice([1, 2])}}
        return inner() + pick()
    """
    found = program(text)
    assert [h.site.at_import for h in found.handles] == [False, False]


def test_duplicate_function_definitions_use_the_last():
    found = program(
        "def create_model():\n    return 1.0\n\n\ndef create_model():\n    return {{uniform(0, 1)}}\n"
    )
    assert found.model.line == 5


def test_environment_setup_keeps_its_place_among_imports():
    found = program("""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np
        print("a side effect that is dropped")


        def model():
            return {{uniform(0, 1)}}
        """)
    assert found.imports == [
        "import os",
        'os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"',
        "import numpy as np",
    ]
    assert not any("print" in s.text for s in found.helpers)


@pytest.mark.parametrize(
    "signature, data_args",
    [
        ("path, n=2", "('x',)"),
        ("path, n=2", "['x', 3]"),
        ("path, *rest", "('x', 1, 2, 3)"),
        ("path", "'x'"),  # one value, not a tuple: data('x')
        ("n=2", "None"),  # data_args=None is no data_args
        ("*, n=2", "()"),
    ],
)
def test_data_args_that_fit_data_compile(signature, data_args):
    text = f"""\
from hyperas import optim


def data({signature}):
    return (1,)


def create_model(a):
    return {{{{uniform(0, 1)}}}} * a


if __name__ == '__main__':
    optim.minimize(model=create_model, data=data, data_args={data_args})
"""
    assert program(text).data.name == "data"

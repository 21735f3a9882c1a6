"""The user's names always win: a model file may bind any name the script uses.

The names the script adds are derived from a generated script's AST, not
listed by hand, so a new one is tested as soon as it appears.
"""

from __future__ import annotations

import ast
import json

import pytest

from helpers import compile_text, run_script

# A model with no Keras, so that one trial takes a fraction of a second.
BASE = """\
def data():
    return 3.0, 4.0


def create_model(a, b):
    x = {{uniform(0, 1)}}
    kind = {{choice(["p", "q"])}}
    CHECK
    return {"loss": (x - 0.5) ** 2 + a / b, "status": "ok"}
"""


def module_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            for target in ast.walk(node):
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store):
                    names.add(target.id)
    return names


def added_names() -> list[str]:
    """Module-level names of a generated script that its model file did not bind."""
    text = BASE.replace("CHECK", "pass")
    script = ast.parse(compile_text(text))
    user = {"data", "create_model"}
    return sorted(module_level_names(script) - user)


def test_the_script_adds_only_private_names_and_its_bundle():
    names = added_names()
    assert "__hyperasc_runtime__" in names and "_hx_main" in names
    public = [
        n for n in names if not n.startswith("_hx_") and n != "__hyperasc_runtime__"
    ]
    assert public == []


# How each name is bound: the forms users write. Each binding makes the name
# hold a value the model function checks, so a script whose own definition
# won would fail the trial.
def binding(name: str) -> tuple[str, str]:
    """(module-level code binding `name`, a check in the model function)."""
    forms = {
        "time": ("from time import time\n", "assert callable(time) and time() > 0"),
        "datetime": (
            "from datetime import datetime\n",
            "assert datetime.now().year > 2000",
        ),
        "pickle": (
            "try:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\n",
            "assert pickle.loads(pickle.dumps(1)) == 1",
        ),
        "json": ("import json as json\n", "assert json.dumps([1]) == '[1]'"),
        "os": ("import os.path\n", "assert os.path.sep"),
        "load_data": (
            "def load_data():\n    return 'mine'\n",
            "assert load_data() == 'mine'",
        ),
        "Trials": ("class Trials:\n    mine = True\n", "assert Trials.mine"),
        "MongoTrials": (
            "from collections import OrderedDict as MongoTrials\n",
            "assert MongoTrials().__class__.__name__ == 'OrderedDict'",
        ),
    }
    if name in forms:
        return forms[name]
    return f"{name} = {{'mine': {name!r}}}\n", f"assert {name} == {{'mine': {name!r}}}"


USER_NAMES = [
    "time",
    "datetime",
    "pickle",
    "json",
    "os",
    "load_data",
    "main",
    "objective",
    "Trials",
    "MongoTrials",
    "search_space",
    "trial_params",
    "hp",
    "hyperopt",
    "np",
    "sys",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", sorted(set(USER_NAMES) | set(added_names()) - {"__hyperasc_runtime__"})
)
def test_a_model_file_may_bind_any_name_the_script_uses(tmp_path, name):
    code, check = binding(name)
    text = code + "\n\n" + BASE.replace("CHECK", check)
    script = tmp_path / "tune.py"
    script.write_text(compile_text(text))
    result = run_script(
        script, tmp_path / "run", "--max-evals", "1", "--in-process", timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "trials.jsonl").read_text().splitlines()[0])
    assert record["status"] == "ok", record["error"]


def test_the_bundle_name_is_an_error_at_the_users_binding(tmp_path):
    from hyperasc.diagnostics import CompileError

    text = "import os\n\n__hyperasc_runtime__ = 1\n\n" + BASE.replace("CHECK", "pass")
    with pytest.raises(CompileError) as caught:
        compile_text(text)
    diagnostic = caught.value.diagnostics[0]
    assert (diagnostic.line, diagnostic.column) == (3, 1)
    assert "__hyperasc_runtime__" in diagnostic.message and diagnostic.hint


def test_a_file_that_spells_the_prefix_gets_another_one():
    text = "_hx_main = 'mine'\n\n" + BASE.replace("CHECK", "assert _hx_main == 'mine'")
    script = compile_text(text)
    assert "def _hx1_main(" in script and "def _hx_main(" not in script
    assert module_level_names(ast.parse(script)) >= {"_hx_main", "_hx1_main"}


def test_reviewer_part_is_at_most_three_times_the_model_file():
    from helpers import EXAMPLES

    model = EXAMPLES / "digits_mlp.py"
    script = compile_text(model.read_text(), path="examples/digits_mlp.py")
    lines = script.splitlines()
    marker = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("# hyperasc ") and "runtime" in line
    )
    reviewer = marker - 1  # the line of '=' above the marker opens the runtime section
    # Three times the model file, besides the block that answers --help before
    # the model's imports (issue 18): its banner down to the imports' banner,
    # at most ten lines.
    early = next(
        i for i, line in enumerate(lines) if line.startswith("# ---- Defaults")
    )
    imports = next(
        i for i, line in enumerate(lines) if line.startswith("# ---- Imports")
    )
    assert imports - early <= 10
    assert reviewer - (imports - early) <= 3 * len(model.read_text().splitlines())
    parameters = lines.index("_hx_PARAMETERS = [")
    closing = lines.index("]", parameters)
    space = "\n".join(lines[:marker]).count(
        '"distribution": '
    )  # the runtime's own are not lines
    assert closing - parameters - 1 == space  # one line per parameter

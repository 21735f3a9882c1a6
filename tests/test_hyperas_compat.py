"""Real hyperas files compile unchanged (issue 10): module-level calls of data(), data()'s
local variables, several model functions, `conditional`, what the script does its own way,
and notebooks. The model files are tests/hyperas_cases/, written as hyperas users wrote them.

Fast tests compile; the slow ones also run each script for one trial.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from helpers import ROOT, compile_text, invoke, run_script

from hyperasc.compile.bundle import MARKER
from hyperasc.diagnostics import CompileError
from hyperasc.compile.source import read_source
from hyperasc.compile.pipeline import analyse

CASES = ROOT / "tests" / "hyperas_cases"
PY_CASES = sorted(p.name for p in CASES.glob("*.py"))


def compile_case(name: str, tmp_path: Path, *flags: str) -> tuple[Path, str]:
    """Compile a case with the CLI: the script's path and what went to stderr."""
    script = tmp_path / "tune.py"
    result = invoke(["compile", str(CASES / name), "-o", str(script), *flags])
    assert result.exit_code == 0, result.stderr
    return script, result.stderr


def model_part(script: str) -> str:
    """The part of the script made for the model file (the runtime bundle follows it)."""
    assert MARKER in script
    return script.split(MARKER)[0]


def undefined_names(script: str) -> set[str]:
    """Names pyflakes finds undefined in a script."""
    pyflakes = pytest.importorskip("pyflakes.checker")
    from pyflakes import messages

    checker = pyflakes.Checker(ast.parse(script), filename="tune.py")
    return {
        m.message_args[0]
        for m in checker.messages
        if isinstance(m, messages.UndefinedName)
    }


def assert_no_new_undefined_names(script: str, source_text: str) -> None:
    """Every undefined name in the script is one the model file spells (so hyperasc did not add it)."""
    added = {
        n
        for n in undefined_names(script)
        if not re.search(rf"\b{re.escape(n)}\b", source_text)
    }
    assert not added, f"the compiler introduced undefined names: {sorted(added)}"


def stderr_lines(stderr: str, severity: str) -> list[str]:
    return [line for line in stderr.splitlines() if f": {severity}: " in line]


# --- 1. Module-level code never runs before what it uses -------------------------------------


def test_module_level_call_of_data_is_dropped_with_a_note(tmp_path):
    script_path, stderr = compile_case("module_level_data.py", tmp_path)
    script = model_part(script_path.read_text())
    assert "= data()" not in script and "baseline" not in script
    notes = stderr_lines(stderr, "note")
    assert any(
        line.startswith(
            str(CASES / "module_level_data.py") + ":31:1: note: not carried"
        )
        and "data()" in line
        for line in notes
    ), stderr
    # The seed stays, after the imports and the constant it reads, before data().
    assert (
        script.index("SEED = 7")
        < script.index("np.random.seed(SEED)")
        < script.index("def data():")
    )
    assert_no_new_undefined_names(
        script_path.read_text(), (CASES / "module_level_data.py").read_text()
    )


def test_carried_statements_come_after_what_they_use():
    text = """\
from hyperopt import STATUS_OK

LIMIT = limit_of(10)


def limit_of(n):
    return n * 2


def data():
    return (1,)


def create_model(a):
    return {'loss': {{uniform(0, 1)}} * a / LIMIT, 'status': STATUS_OK}
"""
    script = compile_text(text)
    assert script.index("def limit_of(n):") < script.index("LIMIT = limit_of(10)")
    assert_no_new_undefined_names(script, text)


def test_a_module_level_call_that_reaches_data_through_a_helper_is_dropped():
    text = """\
def load():
    return data()[0]


FIRST = load()


def data():
    return 1, 2


def create_model(a, b):
    return {{uniform(0, 1)}} * a + FIRST
"""
    script = model_part(compile_text(text))
    assert "FIRST = load()" not in script  # it would run data() above its definition
    notes = analyse(read_source("m.py", text.encode())).warnings
    assert [(d.line, d.severity) for d in notes] == [(5, "warning")]
    assert (
        "it calls load()" in notes[0].message
        and "'FIRST' is undefined" in notes[0].message
    )


def test_a_name_only_a_dropped_statement_binds_is_a_warning():
    text = """\
def data():
    return 1, 2


x, y = data()
offset = x + 1


def create_model(a, b):
    return {{uniform(0, 1)}} + offset
"""
    analysis = analyse(read_source("model.py", text.encode()))
    warnings = [d for d in analysis.warnings if d.severity == "warning"]
    assert [(d.line, d.column) for d in warnings] == [(6, 1)]
    assert "'offset' is undefined in the script" in warnings[0].message
    assert "inside data()" in warnings[0].hint


def test_a_carried_statement_that_reads_a_data_local_at_import_is_a_warning():
    text = """\
def data():
    look_back = 3
    return (1,)


SHAPE = (look_back, 2)


def create_model(a):
    return {{uniform(0, 1)}} * SHAPE[0]
"""
    warnings = [
        d
        for d in analyse(read_source("m.py", text.encode())).warnings
        if d.severity == "warning"
    ]
    assert [(d.line, d.column) for d in warnings] == [(6, 1)]
    assert "'look_back', a local variable of data()" in warnings[0].message


# --- 2. data()'s local variables --------------------------------------------------------------


def test_data_locals_are_bound_for_the_model_helpers_and_bounds(tmp_path):
    script_path, stderr = compile_case("data_locals.py", tmp_path)
    script = model_part(script_path.read_text())
    assert "undefined name" not in stderr
    assert 'globals(), ("num_classes", "num_features", "scale")' in script
    # The space reads num_features in a bound: data() runs before the space is built.
    space = script[script.index("def _hx_space():") : script.index("_hx_params = {}")]
    assert space.index("_hx_data()") < space.index("num_features / 32")
    assert_no_new_undefined_names(
        script_path.read_text(), (CASES / "data_locals.py").read_text()
    )


def test_a_model_without_arguments_reads_the_data_as_globals(tmp_path):
    script_path, stderr = compile_case("model_without_arguments.py", tmp_path)
    script = model_part(script_path.read_text())
    assert 'globals(), ("x_test", "x_train", "y_test", "y_train")' in script
    assert "    _hx_data()" in script and "    return model()" in script


def test_data_locals_in_choice_bounds_and_a_clear_error_for_other_names():
    prelude = (
        "def data():\n    num_classes = 10\n    return (1,)\n\n\ndef create_model(a):\n"
    )
    ok = (
        prelude
        + "    return {{choice([num_classes, 2 * num_classes])}} + {{uniform(0, num_classes)}}\n"
    )
    analysis = analyse(read_source("model.py", ok.encode()))
    assert (
        analysis.program.data_locals == ["num_classes"]
        and analysis.space.reads_data_locals
    )
    bad = prelude + "    return {{uniform(0, num_layers)}}\n"
    with pytest.raises(CompileError) as info:
        analyse(read_source("model.py", bad.encode()))
    assert "undefined name 'num_layers'" in info.value.diagnostics[0].message


def test_runtime_data_once_binds_the_requested_locals():
    from hyperasc.runtime import script as runtime_script

    def data(n):
        num_classes = n
        unused = "not wanted"  # noqa: F841
        return list(range(num_classes)), n

    scope: dict = {}
    values = runtime_script.data_once(data, (3,), scope, ("num_classes", "missing"))
    assert values == ([0, 1, 2], 3)
    assert scope == {"num_classes": 3}
    # Once per process: a second call neither reruns data() nor rebinds.
    scope.clear()
    assert runtime_script.data_once(data, (3,), scope, ("num_classes",)) is values
    assert scope == {}


# --- 3. Several model functions ------------------------------------------------------------------


def test_first_minimize_call_decides_and_a_note_names_the_other(tmp_path):
    script_path, stderr = compile_case("several_models.py", tmp_path)
    script = model_part(script_path.read_text())
    assert "def linear_model(" in script and "def tree_model(" not in script
    assert '"C": _hx_hp.uniform("C", 0.1, 10)' in script and "max_depth" not in script
    note = [line for line in stderr.splitlines() if ":29:20: note:" in line]
    assert note and "'tree_model' is left out" in note[0], stderr
    assert "--model-fn tree_model" in stderr
    assert "max_evals=4" in script  # the first call's defaults


def test_model_fn_picks_one_of_several(tmp_path):
    script_path, _ = compile_case(
        "several_models.py", tmp_path, "--model-fn", "tree_model"
    )
    script = model_part(script_path.read_text())
    assert "def tree_model(" in script and "def linear_model(" not in script
    assert "max_depth" in script and '"C"' not in script
    assert (
        "max_evals=6," in script
    )  # the defaults of tree_model's own optim.minimize call


def test_several_candidates_without_a_call_list_their_lines(tmp_path):
    text = (CASES / "several_models.py").read_text().split("if __name__")[0]
    path = tmp_path / "two.py"
    path.write_text(text)
    result = invoke(["compile", str(path)])
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first == (
        f"{path}:16:1: error: several model functions: "
        "'linear_model' (line 16), 'tree_model' (line 21)"
    )
    assert "--model-fn NAME" in result.stderr
    assert invoke(["compile", str(path), "--model-fn", "tree_model"]).exit_code == 0


def test_helpers_with_handles_are_not_candidates():
    text = """\
def data():
    return (1,)


def inner():
    return {{uniform(0, 1)}}


def middle():
    return inner() * 2


def create_model(a):
    return middle() + {{choice([1, 2])}} * a
"""
    analysis = analyse(read_source("m.py", text.encode()))
    assert analysis.program.model.name == "create_model"
    assert [p.name for p in analysis.space.parameters] == [
        "return_value",
        "return_value_1",
    ]


def test_a_lone_function_with_handles_is_the_model():
    text = "def data():\n    return (1,)\n\n\ndef build_net(a):\n    return {{uniform(0, 1)}} * a\n"
    assert analyse(read_source("m.py", text.encode())).program.model.name == "build_net"


# --- 4. hyperas helpers ------------------------------------------------------------------------------


def test_conditional_works_and_no_hyperas_import_is_left(tmp_path):
    script_path, _ = compile_case("conditional_helper.py", tmp_path)
    script = model_part(script_path.read_text())
    assert not re.search(r"^\s*(from|import)\s+hyperas\b", script, re.MULTILINE)
    assert (
        "pass  # hyperas import" in script
    )  # where create_model imported from hyperas
    assert "def conditional(value):" in script
    # The choice decides the branch that builds `clf`, and names itself so; the
    # alpha it guards is a parameter of the 'ridge' option only.
    assert 'if conditional(_hx_params["clf"]) == "ridge":' in script
    assert 'RidgeClassifier(alpha=_hx_params["clf=ridge.alpha"])' in script
    assert_no_new_undefined_names(
        script_path.read_text(), (CASES / "conditional_helper.py").read_text()
    )
    # --flat-space keeps hyperas's names, as best dictionaries had them.
    flat_path, _ = compile_case("conditional_helper.py", tmp_path, "--flat-space")
    flat = model_part(flat_path.read_text())
    assert 'if conditional(_hx_params["conditional"]) == "ridge":' in flat


def test_conditional_under_another_name():
    text = (
        "from hyperas.distributions import conditional as cond\n\n\n"
        "def create_model():\n    return cond({{uniform(0, 1)}})\n"
    )
    script = model_part(compile_text(text))
    assert "def cond(value):" in script and "hyperas.distributions" not in script


def test_other_hyperas_names_the_model_reads_get_a_warning():
    text = (
        "from hyperas.utils import eval_hyperopt_space\n\n\n"
        "def create_model():\n    eval_hyperopt_space({}, {})\n    return {{uniform(0, 1)}}\n"
    )
    warnings = analyse(read_source("m.py", text.encode())).warnings
    assert [(d.line, d.severity) for d in warnings] == [(1, "warning")]
    assert "'eval_hyperopt_space' comes from hyperas" in warnings[0].message


# --- 5. What the script does its own way -----------------------------------------------------------


def test_ensemble_mongo_argv_and_setup_are_told(tmp_path):
    script_path, stderr = compile_case("ensemble_and_setup.py", tmp_path)
    script = model_part(script_path.read_text())
    warnings = stderr_lines(stderr, "warning")
    where = {line.split(": warning:")[0].rsplit(":", 2)[1] for line in warnings}
    assert where == {
        "18",
        "23",
        "35",
        "36",
    }, stderr  # GPU loop, sys.argv, MongoTrials, best_ensemble
    assert "--keep-best K" in stderr and "K = 3 is the script's default" in stderr
    assert (
        "--mongo URL --exp-key KEY" in stderr and "TF_FORCE_GPU_ALLOW_GROWTH" in stderr
    )
    assert "keep_best=3," in script
    assert "set_memory_growth" not in script and "list_physical_devices" not in script
    assert script.index("np.random.seed(1337)") < script.index("def data():")
    assert "random.seed(1337)" in script


@pytest.mark.parametrize(
    "read, column", [("parser.parse_args().rows", 12), ("int(argv[1])", 16)]
)
def test_data_reading_the_command_line_is_a_warning(read, column):
    text = (
        "import argparse\nfrom sys import argv\n\nparser = argparse.ArgumentParser()\n\n\n"
        f"def data():\n    rows = {read}\n    return (rows,)\n\n\n"
        "def create_model(a):\n    return {{uniform(0, 1)}} * a\n"
    )
    warnings = [
        d
        for d in analyse(read_source("m.py", text.encode())).warnings
        if d.severity == "warning"
    ]
    assert [(d.line, d.column) for d in warnings] == [(8, column)]
    assert "sys.argv" in warnings[0].message and "data_args" in warnings[0].hint


def test_library_configuration_is_kept_and_sys_path_stays_among_the_imports():
    text = """\
import sys
import warnings
sys.path.append('lib')
from keras import backend as K
import tensorflow as tf

K.set_image_data_format('channels_first')
tf.get_logger().setLevel('ERROR')
warnings.filterwarnings('ignore')
print('starting')


def data():
    return (1,)


def create_model(a):
    return {{uniform(0, 1)}} * a
"""
    analysis = analyse(read_source("m.py", text.encode()))
    # The configuration is kept silently; only the print, which is dropped, gets a note.
    assert [(d.line, d.column, d.severity, d.message) for d in analysis.warnings] == [
        (
            10,
            1,
            "note",
            "not carried into the script: it binds nothing the model or data() reads "
            "(hyperas did not run module-level code either)",
        )
    ]
    script = model_part(compile_text(text))
    imports = script[script.index("# ---- Imports") : script.index("# ---- Helpers")]
    assert (
        imports.index("import warnings")
        < imports.index('sys.path.append("lib")')
        < imports.index("from keras")
    )
    helpers = script[script.index("# ---- Helpers") : script.index("def data():")]
    for line in (
        'K.set_image_data_format("channels_first")',
        'tf.get_logger().setLevel("ERROR")',
        'warnings.filterwarnings("ignore")',
    ):
        assert line in helpers
    assert "print(" not in helpers


def test_best_models_gives_keep_best_and_its_search_defaults():
    text = """\
from hyperas import optim
from hyperopt import Trials, rand


def data():
    return (1,)


def net(a):
    return {{uniform(0, 1)}} * a


if __name__ == '__main__':
    models = optim.best_models(nb_models=4, model=net, data=data, algo=rand.suggest, max_evals=9, trials=Trials())
"""
    script = model_part(compile_text(text))
    assert (
        "keep_best=4," in script
        and "max_evals=9," in script
        and 'algo="rand",' in script
    )


# --- 5b. hyperas's `space`, and every dropped module-level statement told -------------------------

SPACE_MODEL = """\
import json


def data():
    return (2.0,)


def log(values):
    with open('space.json', 'w') as f:
        json.dump(values, f)


def create_model(scale):
    rate = {{uniform(0, 1)}}
    units = {{choice([3, 5])}}
    log(dict(space))
    return {'loss': scale * rate + units, 'status': 'ok'}
"""
SPACE_NOTE = "'space' is the running trial's values (a dict keyed by parameter name), as in hyperas"


def test_space_is_the_trials_values_with_a_note():
    analysis = analyse(read_source("m.py", SPACE_MODEL.encode()))
    assert [
        (d.line, d.column, d.severity, d.message, d.hint) for d in analysis.warnings
    ] == [
        (
            16,
            14,
            "note",
            SPACE_NOTE,
            "the script binds space to them; the names are those of `hyperasc space` "
            "and best.json",
        )
    ]
    script = model_part(compile_text(SPACE_MODEL))
    # Bound to the dict the trial refills, after it, at module level (helpers read it too).
    assert "_hx_params = {}\n# hyperas's `space`" in script
    assert "\nspace = _hx_params\n" in script
    assert script.index("space = _hx_params") < script.index("def create_model(scale):")


def test_space_read_by_a_helper_the_model_calls_is_bound_too():
    text = SPACE_MODEL.replace("log(dict(space))", "log(None)").replace(
        "json.dump(values, f)", "json.dump(values or dict(space), f)"
    )
    notes = analyse(read_source("m.py", text.encode())).warnings
    assert [(d.line, d.column, d.message) for d in notes] == [(10, 34, SPACE_NOTE)]
    assert "\nspace = _hx_params\n" in compile_text(text)


@pytest.mark.parametrize(
    "change",
    [
        ("import json\n", "import json\nspace = {'mine': 1}\n"),  # the file's own space
        (
            "    return (2.0,)",
            "    space = {'mine': 1}\n    return (2.0,)",
        ),  # data()'s local
        (
            "def create_model(scale):",
            "def create_model(scale, space=None):",
        ),  # a parameter
        ("log(dict(space))", "space = {}\n    log(space)"),  # a local variable
        ("log(dict(space))", "log(None)"),  # not read at all
    ],
    ids=["module", "data-local", "parameter", "local", "unread"],
)
def test_a_space_the_file_binds_wins_and_nothing_is_added(change):
    text = SPACE_MODEL.replace(*change)
    assert text != SPACE_MODEL
    analysis = analyse(read_source("m.py", text.encode()))
    assert analysis.program.space_alias is None
    assert not [d for d in analysis.warnings if d.message == SPACE_NOTE]
    assert "= _hx_params\n" not in compile_text(text)


def test_the_hyperas_corpus_file_that_prints_space_gets_the_binding(tmp_path):
    path = ROOT / "tests" / "hyperas_k2" / "space_in_model.py"
    script_path, stderr = compile_case(str(path), tmp_path)
    assert f"{path}:26:31: note: {SPACE_NOTE}" in stderr
    assert "\nspace = _hx_params\n" in script_path.read_text()


def test_every_dropped_module_level_statement_gets_a_note():
    text = """\
\"\"\"A docstring: nothing to tell.\"\"\"
from hyperas import optim
from hyperopt import Trials, tpe
import matplotlib.pyplot as plt

EPOCHS = 3
nb_classes = 10
plt.plot([1, 2])


def unused():
    return 1


def data():
    return (1,)


def create_model(a):
    return {{uniform(0, 1)}} * a * EPOCHS


best_run, best_model = optim.minimize(model=create_model, data=data, algo=tpe.suggest,
                                      max_evals=3, trials=Trials())
print(best_run)

if __name__ == '__main__':
    print('done')
"""
    notes = analyse(read_source("m.py", text.encode())).warnings
    assert [(d.line, d.column, d.severity, d.message) for d in notes] == [
        (
            7,
            1,
            "note",
            "not carried into the script: the model or data() never reads 'nb_classes' "
            "(hyperas did not run module-level code either)",
        ),
        (
            8,
            1,
            "note",
            "not carried into the script: it binds nothing the model or data() reads "
            "(hyperas did not run module-level code either)",
        ),
        (
            23,
            1,
            "note",
            "not carried into the script: it runs the hyperas search, which the "
            "script's own main() runs in its place",
        ),
        (
            25,
            1,
            "note",
            "not carried into the script: it uses 'best_run', from a statement that is not carried",
        ),
        (
            27,
            1,
            "note",
            "not carried into the script: the main block; the script's own main() runs "
            "the search in its place",
        ),
    ]
    assert (
        notes[2].hint
        == notes[4].hint
        == ("the tuning script's --help lists its options (--max-evals, --out, ...)")
    )
    script = model_part(compile_text(text))
    assert (
        "EPOCHS = 3" in script
        and "nb_classes" not in script
        and "plt.plot" not in script
    )


@pytest.mark.parametrize(
    "line, where",
    [
        (
            '__import__("keras").config.set_image_data_format("channels_first")',
            "helpers",
        ),
        ('__import__("keras").backend.set_floatx("float64")', "helpers"),
        ('importlib.import_module("keras").config.set_floatx("float64")', "helpers"),
        ('__import__("tensorflow").get_logger().setLevel("ERROR")', "helpers"),
        ('__import__("os").environ["TF_CPP_MIN_LOG_LEVEL"] = "3"', "imports"),
        ('__import__("matplotlib").use("Agg")', "imports"),
        ('__import__("sys").path.append("lib")', "imports"),
    ],
)
def test_configuration_through_an_inline_import_is_kept_silently(line, where):
    text = f"""\
import importlib

{line}


def data():
    return (1,)


def create_model(a):
    return {{{{uniform(0, 1)}}}} * a
"""
    assert analyse(read_source("m.py", text.encode())).warnings == []
    script = model_part(compile_text(text))
    imports = script[
        script.index("# ---- Imports") : script.index("import hyperopt as")
    ]
    helpers = script[script.index("import hyperopt as") : script.index("def data():")]
    assert line.replace("'", '"') in (imports if where == "imports" else helpers)


# --- 6. Notebooks ----------------------------------------------------------------------------------------


def test_notebook_compiles_with_cell_located_notes(tmp_path):
    pytest.importorskip("nbformat")
    script_path, stderr = compile_case("hyperas_notebook.ipynb", tmp_path)
    nb = str(CASES / "hyperas_notebook.ipynb")
    for expected in (
        f"{nb}:cell_2:1:1: note: dropped: the IPython magic %matplotlib",
        f"{nb}:cell_2:2:1: note: dropped: a shell command",
        f"{nb}:cell_2:3:1: note: dropped: an IPython shell capture; files is not set",
        f"{nb}:cell_3:1:1: note: dropped the whole cell: %%bash",
        f"{nb}:cell_4:2:1: note: dropped: an IPython help request",
        f"{nb}:cell_8:1:1: note: not carried into the script: it calls data()",
    ):
        assert expected in stderr, stderr
    script = model_part(script_path.read_text())
    assert "echo 'downloading data'" not in script.replace("# echo", "")
    assert "def conditional(value):" in script and '("num_classes",)' in script
    source_text = "\n".join(
        "".join(c["source"])
        for c in json.loads((CASES / "hyperas_notebook.ipynb").read_text())["cells"]
    )
    assert_no_new_undefined_names(script_path.read_text(), source_text)


def test_notebook_lines_that_look_like_ipython_but_are_python_stay(tmp_path):
    path = notebook(
        tmp_path,
        (
            "code",
            "def data():\n    n = (2\n         % 2)\n    ok = (n\n          != 1)\n"
            "    return (n, ok)",
        ),
        ("code", "def create_model(a, b):\n    return {{uniform(0, 1)}} * a"),
    )
    result = invoke(["compile", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "note:" not in result.stderr
    assert "n = 2 % 2" in result.stdout and "ok = n != 1" in result.stdout


def test_ipython_lines_inside_strings_are_python_and_upgrade_masks_the_same_lines(
    tmp_path,
):
    from hyperasc.text.notebook import ipython_kinds
    from hyperasc.upgrade.files import mask_ipython as _mask_ipython

    cell = [
        'doc = """Is it?',
        "!not a shell line",
        '"""',
        "help_me = len?",
        "x = (2",
        "     % 2)",
        "files = !ls",
        "%time f()",
        "?np",
        "y = 1  # why?",
        "ok = x != 2",
    ]
    assert ipython_kinds(cell) == [
        None,
        None,
        None,
        "help",
        None,
        None,
        "capture",
        "magic",
        "help",
        None,
        None,
    ]
    masked = _mask_ipython("\n".join(cell)).split("\n")
    assert [len(m) for m in masked] == [
        len(line) for line in cell
    ]  # same width: positions hold
    ast.parse("\n".join(masked))  # and Python
    assert (
        masked[:3] == cell[:3] and masked[4:6] == cell[4:6] and masked[-2:] == cell[-2:]
    )


def notebook(tmp_path: Path, *cells: tuple[str, str]) -> Path:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        (
            nbformat.v4.new_markdown_cell(s)
            if kind == "md"
            else nbformat.v4.new_code_cell(s)
        )
        for kind, s in cells
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(nb))
    return path


def test_notebook_space_locations_name_the_cell():
    pytest.importorskip("nbformat")
    result = invoke(["space", str(CASES / "hyperas_notebook.ipynb")])
    assert result.exit_code == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert [row.split()[-1] for row in rows] == ["cell_7:2:32", "cell_7:3:20"]


def test_notebook_errors_name_the_cell(tmp_path):
    path = notebook(
        tmp_path,
        ("md", "# Title"),
        ("code", "import numpy as np"),
        ("code", "def data():\n    return (1,)"),
        ("md", "text"),
        ("code", "def create_model(a):\n    x = {{unifrom(0, 1)}}\n    return x"),
    )
    result = invoke(["compile", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}:cell_5:2:11: error: unknown distribution 'unifrom'"
    assert lines[1] == "        x = {{unifrom(0, 1)}}"
    assert lines[2] == "              ^"


def test_notebook_minimize_naming_an_undefined_function_points_at_the_name(tmp_path):
    path = notebook(
        tmp_path,
        ("code", "from hyperas import optim\nfrom hyperopt import Trials, tpe"),
        ("md", "The model"),
        ("code", "def create_model(a):\n    return {{uniform(0, 1)}} * a"),
        (
            "code",
            "best_run, best_model = optim.minimize(model=create_model, data=get_data,\n"
            "                                      algo=tpe.suggest, trials=Trials())",
        ),
    )
    result = invoke(["compile", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:cell_4:1:64: error: data function 'get_data' is not defined at the top level",
        "    best_run, best_model = optim.minimize(model=create_model, data=get_data,",
        " " * (4 + 63) + "^",
        "  hint: optim.minimize(data=get_data) names it: define def get_data(...) at the "
        "top level of the model file, or name the function that is",
    ]
    # A flag names no place in the file: its error is about the whole notebook.
    result = invoke(["compile", str(path), "--data-fn", "load"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"{path}: error: --data-fn load: no top-level function of that name\n"
    )


def test_notebook_error_about_the_whole_file_has_no_cell(tmp_path):
    path = notebook(
        tmp_path, ("code", "def data():\n    return (1,)"), ("code", "x = 1")
    )
    result = invoke(["compile", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}: error: no model function found\n")


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"def data():\n    return 1\n",
            ":1:1: error: not a notebook: the file is not JSON",
        ),
        (b'{"cells": [1, 2,]}', ":1:17: error: not a notebook: the file is not JSON"),
        (
            b'{"nbformat": 4}',
            ":1:1: error: not a notebook: JSON without a 'cells' list",
        ),
        (b"[1, 2]", ":1:1: error: not a notebook: JSON without a 'cells' list"),
        (
            b'{"cells": [{"cell_type": "markdown", "metadata": {}, "source": "hi"}], "metadata": {}, '
            b'"nbformat": 4, "nbformat_minor": 4}',
            ":1:1: error: the notebook has no code cells",
        ),
    ],
)
def test_a_file_that_is_not_notebook_json_is_a_clear_error(tmp_path, content, message):
    pytest.importorskip("nbformat")
    path = tmp_path / "model.ipynb"
    path.write_bytes(content)
    result = invoke(["compile", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}{message}"), result.stderr
    assert "Traceback" not in result.stderr


EVERY_INPUT = sorted(
    [
        *(ROOT / "examples").glob("*.py"),
        *(ROOT / "tests" / "golden").glob("*.py"),
        *CASES.glob("*.py"),
    ]
)
EVERY_INPUT = [p for p in EVERY_INPUT if not p.name.endswith(".expected.py")]
GOLDEN_FLAGS = {"helpers_and_objects.py": ["--model-fn", "build", "--data-fn", "load"]}


@pytest.mark.parametrize("path", EVERY_INPUT, ids=[p.name for p in EVERY_INPUT])
def test_pyflakes_finds_no_name_the_compiler_introduced(path, tmp_path):
    script, _ = compile_case(str(path), tmp_path, *GOLDEN_FLAGS.get(path.name, []))
    assert_no_new_undefined_names(script.read_text(), path.read_text())


# --- Compiled and run, one trial each -------------------------------------------------------------


@pytest.mark.slow
def test_the_model_reads_the_trials_values_as_space(tmp_path):
    source = tmp_path / "model.py"
    source.write_text(SPACE_MODEL)
    script = tmp_path / "tune.py"
    result = invoke(["compile", str(source), "-o", str(script)])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "1", timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    (record,) = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    assert record["status"] == "ok"
    seen = json.loads((tmp_path / "space.json").read_text())
    assert seen == record["params"]  # the model saw the trial's values, keyed by name
    assert set(seen) == {"rate", "units"}
    assert record["loss"] == pytest.approx(2.0 * seen["rate"] + seen["units"])


RUNS = [(name, ()) for name in PY_CASES] + [
    ("several_models.py", ("--model-fn", "tree_model")),
    ("hyperas_notebook.ipynb", ()),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, flags", RUNS, ids=[f"{n}{''.join(f)}" for n, f in RUNS])
def test_case_runs_one_trial(name, flags, tmp_path):
    if name.endswith(".ipynb"):
        pytest.importorskip("nbformat")
    if name == "ensemble_and_setup.py":
        pytest.importorskip("tensorflow")
    script, _ = compile_case(name, tmp_path, *flags)
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "1", timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    records = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    assert [r["status"] for r in records] == ["ok"], records
    assert records[0]["loss"] < -0.5  # a real classifier was trained on the digits

"""Issue 17, item 7 (compiler side): no silent wrong results.

Module-level changes of carried values are carried in order; a redefined
model function leaves no dead parameter; max_evals is resolved, warned or
refused; bad pchoice probabilities and infinite bounds are errors; input
nested too deeply is one located error, never a traceback.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from hyperasc.compile.module_plan import order_statements
from hyperasc.compile.mutations import mutated_names
from hyperasc.diagnostics import CompileError

from helpers import analyse_text, compile_text, names_of

HEAD = """\
def data():
    return 1, 2


def create_model(a, b):
    x = {{uniform(0, 1)}}
    print(class_weight, LAYERS, SIZES, CFG, ROWS)
    return {"loss": x, "status": "ok"}
"""

MUTATIONS = """\
class_weight = {0: 1.0, 1: 1.0}
class_weight[1] = 3.0
LAYERS = [16]
LAYERS.append(32)
LAYERS += [48]
SIZES = []
for s in (1, 2):
    SIZES.append(s * 8)
CFG = {"a": 1, "b": 2}
del CFG["b"]
CFG.update(c=3)
CFG.setdefault("d", LAYERS[-1])
ROWS = [[1], [2]]
for row in ROWS:
    row.append(0)
"""


def carried_globals(script: str) -> dict:
    """Run the script's module-level code (not main) and return its globals."""
    namespace: dict = {"__name__": "not_main", "__file__": "tune.py"}
    exec(compile(script, "tune.py", "exec"), namespace)
    return namespace


def errors_of(text: str) -> list:
    with pytest.raises(CompileError) as info:
        analyse_text(text)
    return info.value.diagnostics


def warnings_of(text: str) -> list:
    return [d for d in analyse_text(text).warnings if d.severity == "warning"]


# --- module-level changes of carried values ----------------------------------------------


def test_module_level_changes_of_carried_values_are_carried_in_order():
    script = compile_text(MUTATIONS + "\n\n" + HEAD)
    g = carried_globals(script)
    assert g["class_weight"] == {0: 1.0, 1: 3.0}
    assert g["LAYERS"] == [16, 32, 48]
    assert g["SIZES"] == [8, 16]
    assert g["CFG"] == {"a": 1, "c": 3, "d": 48}
    assert g["ROWS"] == [[1, 0], [2, 0]]


def test_a_change_that_reads_what_is_not_carried_is_a_warning_at_it():
    text = MUTATIONS + "\n\n" + HEAD + "\n\nX, Y = data()\nclass_weight[0] = sum(Y)\n"
    warnings = warnings_of(text)
    assert [(d.line, d.column) for d in warnings] == [(len(text.splitlines()), 1)]
    assert "so the model sees 'class_weight' without this change" in warnings[0].message
    assert carried_globals(compile_text(text))["class_weight"] == {0: 1.0, 1: 3.0}


def test_a_change_of_a_value_nothing_reads_is_only_a_note():
    text = MUTATIONS + "UNUSED = []\nUNUSED.append(1)\n\n" + HEAD
    assert warnings_of(text) == []
    assert "UNUSED" not in compile_text(text)


def test_a_value_moved_up_brings_the_changes_made_above_it():
    text = (
        "def data():\n    return 1, 2\n\n\n"
        "def create_model(a, b):\n    return {'loss': {{uniform(0, 1)}} + SIZE}\n\n\n"
        "LAYERS = [1]\nLAYERS.append(2)\n"
        "def helper():\n    return N\n"
        "SIZE = helper()\n"
        "N = len(LAYERS)\n"
    )
    tree = ast.parse(text)
    items = [(s, set()) for s in tree.body[2:]]
    for stmt, binds in items:
        binds |= {
            n.id
            for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        } | ({stmt.name} if isinstance(stmt, ast.FunctionDef) else set())
    order = order_statements(items)
    assert order.index(1) < order.index(4)  # LAYERS.append before N = len(LAYERS)


@pytest.mark.parametrize(
    "statement, names",
    [
        ("x[1] = 2", {"x"}),
        ("x.a.b = 2", {"x"}),
        ("x[0] += 1", {"x"}),
        ("del x[0], y.z", {"x", "y"}),
        ("x.append(1)", {"x"}),
        ("x.get('a').update(b=1)", {"x"}),
        ("for i in r: x.append(i)", {"x"}),
        ("for i in r:\n    x.append(i)\n    print(i)", set()),
        ("x = 1", set()),
        ("x.fit(1)", set()),
        ("if c:\n    x[0] = 1\nelse:\n    y.clear()", {"x", "y"}),
    ],
)
def test_mutated_names(statement, names):
    assert mutated_names(ast.parse(statement).body[0]) == names


# --- a model or data function defined twice ----------------------------------------------


def test_a_redefined_model_function_leaves_no_dead_parameter():
    text = (
        "def data():\n    return 1, 2\n\n\n"
        "def create_model(a, b):\n    y = {{uniform(0, 1)}}\n    return y\n\n\n"
        "def create_model(a, b):\n    x = {{uniform(0, 1)}}\n    return x\n"
    )
    assert names_of(text) == ["x"]
    warnings = warnings_of(text)
    assert [(d.line, d.column) for d in warnings] == [(5, 1)]
    assert warnings[0].message == (
        "the model function 'create_model' is defined again at line 10: this "
        "definition is never used, and its handles are not part of the search"
    )
    script = compile_text(text)
    assert script.count("def create_model") == 1 and '"y"' not in script


def test_a_redefined_data_function_is_a_warning_and_the_last_one_counts():
    text = (
        "def data():\n    return 1, 2\n\n\n"
        "def create_model(a, b):\n    return {{uniform(0, 1)}}\n\n\n"
        "def data():\n    return 3, 4\n"
    )
    warnings = warnings_of(text)
    assert [(d.line, d.message.split(":")[0]) for d in warnings] == [
        (1, "the data function 'data' is defined again at line 9")
    ]
    script = compile_text(text)
    assert "return 3, 4" in script and "return 1, 2" not in script


# --- optim.minimize(max_evals=...) ---------------------------------------------------------


def minimize_file(value: str, constants: str = "N = 50\nM = 0\n") -> str:
    return (
        "from hyperas import optim\nfrom hyperopt import tpe\n"
        + constants
        + "def data():\n    return 1, 2\n\n\n"
        "def create_model(a, b):\n    return {{uniform(0, 1)}}\n\n\n"
        "if __name__ == '__main__':\n"
        f"    optim.minimize(model=create_model, data=data, algo=tpe.suggest, max_evals={value})\n"
    )


def test_max_evals_from_a_module_constant_is_resolved():
    assert "max_evals=50," in compile_text(minimize_file("N"))
    assert analyse_text(minimize_file("N")).program.minimize.max_evals == 50


@pytest.mark.parametrize(
    "value, line, column, shown",
    [
        ("0", 14, 79, "0"),
        ("-1", 14, 79, "-1"),
        ('"10"', 14, 79, "'10'"),
        ("True", 14, 79, "True"),
        ("2.5", 14, 79, "2.5"),
        ("None", 14, 79, "None"),
        ("M", 4, 5, "M = 0"),
    ],
)
def test_an_invalid_max_evals_is_an_error_at_the_value(value, line, column, shown):
    [diagnostic] = errors_of(minimize_file(value))
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert (
        diagnostic.message == f"max_evals must be a positive whole number, got {shown}"
    )


@pytest.mark.parametrize(
    "value, constants",
    [("n_evals()", "N = 50\n"), ("N", "N = 50\nN = 60\n"), ("N", "N = int('5')\n")],
)
def test_an_unreadable_max_evals_is_a_warning_and_the_default_stands(value, constants):
    text = minimize_file(value, constants)
    [warning] = [w for w in warnings_of(text) if "max_evals" in w.message]
    assert warning.line == 12 + constants.count("\n")
    assert "the script's default of 20 trials is used" in warning.message
    assert "--max-evals" in warning.hint
    assert (
        "max_evals="
        not in compile_text(text).split("_hx_DEFAULTS = ")[1].split("if __name__")[0]
    )


# --- pchoice probabilities and infinite bounds --------------------------------------------


@pytest.mark.parametrize(
    "handle, column, message",
    [
        (
            "pchoice([(-0.5, 1), (1.5, 2)])",
            21,
            "pchoice() probabilities must be numbers from 0 to 1, got -0.5",
        ),
        (
            "pchoice([(0.5, 1), ('0.5', 2)])",
            31,
            "pchoice() probabilities must be numbers from 0 to 1, got '0.5'",
        ),
        (
            "pchoice([(1e999, 1), (0, 2)])",
            21,
            "pchoice() probabilities must be numbers from 0 to 1, got 1e999",
        ),
        (
            "uniform(0, 1e999)",
            22,
            "uniform() arguments must be finite numbers, got 1e999",
        ),
        (
            "uniform(-1e999, 0)",
            19,
            "uniform() arguments must be finite numbers, got -1e999",
        ),
        (
            "normal(float('inf'), 1)",
            18,
            "normal() arguments must be finite numbers, got float('inf')",
        ),
        (
            "quniform(0, math.inf, 1)",
            23,
            "quniform() arguments must be finite numbers, got math.inf",
        ),
        (
            "loguniform(float('nan'), 1)",
            22,
            "loguniform() arguments must be finite numbers, got float('nan')",
        ),
    ],
)
def test_bad_probabilities_and_infinite_bounds_are_errors(handle, column, message):
    text = "import math\n" + HEAD.replace("uniform(0, 1)", handle).replace(
        "    print(class_weight, LAYERS, SIZES, CFG, ROWS)\n", ""
    )
    diagnostics = errors_of(text)
    assert (diagnostics[0].line, diagnostics[0].column) == (7, column)
    assert diagnostics[0].message == message


def test_good_probabilities_still_compile():
    text = HEAD.replace("uniform(0, 1)", "pchoice([(0.25, 1), (0.75, 2)])")
    assert names_of(text) == ["x"]


# --- input nested too deeply -----------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, line",
    [
        ("X = " + "-" * 100_000 + "1\n", 9),
        ("X = " + "1 + " * 100_000 + "1\n", 9),
        ("X = " + "not " * 100_000 + "1\n", 9),
        ("X = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n", 9),
    ],
    ids=["minus", "plus", "not", "parentheses"],
)
def test_deeply_nested_input_is_one_located_error(tmp_path, extra, line):
    model = tmp_path / "model.py"
    model.write_text(
        HEAD.replace("    print(class_weight, LAYERS, SIZES, CFG, ROWS)\n", "")
        + "\n"
        + extra
    )
    result = subprocess.run(
        [sys.executable, "-m", "hyperasc", "compile", str(model), "-o", "t.py"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if ": error: " in x]
    assert len(errors) == 1 and errors[0].startswith(f"{model}:{line}:")


def test_a_deeply_nested_handle_is_one_located_error(tmp_path):
    model = tmp_path / "model.py"
    model.write_text(
        HEAD.replace("uniform(0, 1)", "uniform(0, " + "1+" * 100_000 + "1)")
    )
    result = subprocess.run(
        [sys.executable, "-m", "hyperasc", "compile", str(model), "-o", "t.py"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if ": error: " in x]
    assert len(errors) == 1 and errors[0].startswith(f"{model}:6:")

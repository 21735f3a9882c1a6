"""Compile and run: handle placements on tiny models, then the examples with real Keras."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from helpers import EXAMPLE_FILES, compile_text, invoke, run_script
from helpers import records as trials


def run_inline(text: str, tmp_path: Path, *args: str) -> Path:
    """Compile `text` (LOG in it becomes a file path), run the script; return the run directory."""
    text = textwrap.dedent(text).replace("LOG_PATH", repr(str(tmp_path / "log.jsonl")))
    script = tmp_path / "tune.py"
    script.write_text(compile_text(text, path="model.py"))
    out = tmp_path / "run"
    result = run_script(script, out, *args, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out


def log(tmp_path: Path) -> list:
    """What the model code wrote with note(): one record per call, across processes."""
    path = tmp_path / "log.jsonl"
    return (
        [json.loads(line) for line in path.read_text().splitlines()]
        if path.exists()
        else []
    )


PLACEMENTS = """\
import json
import math

LOW = 0.0
LOG = LOG_PATH


def note(record):
    # Trials may run in forked processes: write what the model saw to a file.
    with open(LOG, "a") as f:
        f.write(json.dumps(record) + "\\n")


class Box:
    def __init__(self, size):
        note({"made": size})
        self.size = size
        self.used = False

    def use(self):
        assert not self.used, "an option object was shared between trials"
        self.used = True
        return self.size


def extra():
    return {{choice([10, 20])}}


def data():
    rows = [[0.0] * 4 for _ in range(3)]
    return rows, 7


def create_model(rows, num_classes):
    units = 3
    seen = {}
    seen['large'] = False
    if {{choice(['small', 'large'])}} == 'large':
        seen['large'] = True
    count = 0
    for _ in range({{choice([1, 2, 3])}}):
        count += 1
    seen['count'] = count
    seen['scaled'] = [x * {{uniform(LOW, len(rows[0]))}} for x in range(2)]
    seen['config'] = {'lr': {{loguniform(math.log(1e-3), math.log(1.0))}},
                      'opt': {{choice([{'m': 0.9}, {'m': 0.0}])}}}
    seen['klass'] = {{randint(num_classes)}}
    seen['box'] = {{choice([Box(units), Box(units * 2)])}}.use()
    seen['drop'] = {{choice([None, uniform(0, 0.5)])}}
    seen['extra'] = extra()
    seen['max'] = max(0.25, {{quniform(0, 1, 0.5)}})
    seen['p'] = {{pchoice([(0.5, 'x'), (0.5, 'y')])}}
    note(seen)
    return float(count) + seen['scaled'][1]
"""


@pytest.mark.slow  # runs the compiled script
def test_handles_in_every_kind_of_place(tmp_path):
    out = run_inline(PLACEMENTS, tmp_path, "--max-evals", "8", "--seed", "3")
    records = trials(out)
    notes = log(tmp_path)
    seen_list = [n for n in notes if "made" not in n]
    made = [n["made"] for n in notes if "made" in n]
    assert len(records) == len(seen_list) == 8
    assert (
        len(made) == 8
    )  # one object option built per trial, in the trial, never shared
    for record, seen in zip(records, seen_list):
        params = record["params"]
        assert record["status"] == "ok"
        assert seen["large"] == (params["large"] == "large")  # named after its branch
        assert seen["count"] == params["range"] in (1, 2, 3)
        assert 0.0 <= params["scaled"] <= 4.0 and seen["scaled"] == [
            0.0,
            params["scaled"],
        ]
        assert seen["config"] == {"lr": params["lr"], "opt": params["opt"]}
        assert 1e-3 <= params["lr"] <= 1.0
        assert params["opt"] in ({"m": 0.9}, {"m": 0.0})
        assert 0 <= seen["klass"] == params["klass"] < 7
        assert params["box"] in ("Box(units)", "Box(units * 2)")
        assert seen["box"] == (3 if params["box"] == "Box(units)" else 6)
        assert seen["extra"] == params["return_value"] in (10, 20)
        assert seen["max"] == max(0.25, params["max_arg1"])
        assert seen["p"] == params["p"] in ("x", "y")
        # A nested distribution's value is its choice's value.
        assert seen["drop"] == params["drop"]
        assert params["drop"] is None or 0.0 <= params["drop"] <= 0.5
        assert record["loss"] == pytest.approx(seen["count"] + params["scaled"])
    best = json.loads((out / "best.json").read_text())
    assert best["loss"] == min(r["loss"] for r in records)


@pytest.mark.slow  # runs the compiled script
def test_bare_float_loss_and_hyperas_dict(tmp_path):
    text = """\
    from hyperopt import STATUS_OK


    def create_model():
        x = {{uniform(-1, 1)}}
        if {{choice(['dict', 'float'])}} == 'dict':
            return {'loss': x * x, 'status': STATUS_OK}
        return x * x
    """
    out = run_inline(text, tmp_path, "--max-evals", "6")
    records = trials(out)
    assert all(r["status"] == "ok" for r in records)
    assert [r["loss"] for r in records] == pytest.approx(
        [r["params"]["x"] ** 2 for r in records]
    )


@pytest.mark.slow  # runs the compiled script
def test_minimize_defaults_drive_the_search(tmp_path):
    text = """\
    from hyperas import optim
    from hyperopt import Trials, rand


    def data(scale):
        return (scale,)


    def model(scale):
        return scale * {{uniform(0, 1)}}


    if __name__ == '__main__':
        optim.minimize(model=model, data=data, algo=rand.suggest, max_evals=3,
                       data_args=(2.0,), trials=Trials())
    """
    out = run_inline(text, tmp_path)
    records = trials(out)
    assert len(records) == 3
    assert [r["loss"] for r in records] == pytest.approx(
        [2.0 * r["params"]["return_value"] for r in records]
    )
    assert json.loads((out / "run.json").read_text())["algo"] == "rand"


@pytest.mark.slow  # runs the compiled script
def test_nested_choice_values_are_real(tmp_path):
    text = """\
    def create_model():
        lr = {{choice([0.5, uniform('low_lr', 0.01, 0.1)])}}
        return lr
    """
    out = run_inline(text, tmp_path, "--max-evals", "6")
    for record in trials(out):
        lr = record["params"]["lr"]
        assert record["loss"] == lr
        assert lr == 0.5 or 0.01 <= lr <= 0.1


def test_hyperas_style_example_compiles_unchanged():
    text = (EXAMPLE_FILES[0].parent / "hyperas_style.py").read_text()
    assert "from hyperas import optim" in text and "optim.minimize(" in text
    script = compile_text(text, path="examples/hyperas_style.py")
    # max_evals=5 differs from the script's default (20); algo=tpe is the default.
    head = script.split("\n# =====")[
        0
    ]  # the part made for this file, above the runtime
    assert "    max_evals=5,\n" in head and '    algo="' not in head  # _hx_DEFAULTS
    assert "from hyperas" not in script and "optim.minimize" not in script
    assert "from __future__ import print_function" in script


# --- The examples, with real Keras training -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_compiles_and_runs(example, tmp_path):
    script = tmp_path / "tune.py"
    result = invoke(["compile", str(example), "-o", str(script)])
    assert result.exit_code == 0, result.stderr
    space = json.loads(invoke(["space", str(example), "--json"]).stdout)["parameters"]
    out = tmp_path / "run"
    run = run_script(script, out, "--max-evals", "2", "--seed", "1")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    best = json.loads((out / "best.json").read_text())
    assert isinstance(best["loss"], float) and -1.0 <= best["loss"] <= 0.0
    records = {p["name"]: p for p in space}
    for name, value in best["params"].items():
        record = records[name]
        if record["distribution"] in ("choice", "pchoice"):
            # A real value: the option itself (or its source text for objects), not an index.
            options = record["options"]
            texts = [o for o in options]
            assert (
                repr(value) in texts or value in texts or json.dumps(value) in texts
            ), (name, value, options)
        else:
            assert isinstance(value, (int, float)) and not isinstance(value, bool)
    assert "best loss" in run.stdout

"""The runtime as a compiled script carries it: codegen_templates/runtime_bundle.py's loader.

The slow tests execute the script as an ordinary module (not __main__) in a
fresh process, as a MongoDB or Spark worker would meet it.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import ROOT, compile_text

from hyperasc import __version__

RUNTIME = ROOT / "hyperasc" / "runtime"
# Each slow test runs the compiled script in fresh processes; the fast ones read its text.
slow = pytest.mark.slow
MODEL = """\
def model():
    x = {{uniform(-1, 1)}}
    return (x - 0.25) ** 2
"""

# Loads tune.py as the module "tune" and reports what the bundle gives, as JSON.
INSPECT = """
import importlib.util, json, sys, traceback
spec = importlib.util.spec_from_file_location("tune", sys.argv[1])
tune = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tune)
bundle = tune.__hyperasc_runtime__
search = bundle.load()
package = sys.modules[search.__package__]
values = sys.modules[search.__package__ + ".values"]
try:
    values.read_points([], "/nonexistent/points.json")
except Exception:
    text = traceback.format_exc()
print(json.dumps({
    "search": search.__name__,
    "package": package.__name__,
    "same": bundle.load() is search,
    "bundle_is_bundle": package.BUNDLE is bundle,
    "version": bundle.VERSION,
    "sources": bundle.SOURCES,
    "traceback": text,
    "hyperasc": sorted(m for m in sys.modules if m == "hyperasc" or m.startswith("hyperasc.")),
}))
"""

# Rebuilds the objective from the script's text (no file, not __main__), pickles it with cloudpickle.
SHIP = """
import importlib.util, sys
import cloudpickle
spec = importlib.util.spec_from_file_location("tune", sys.argv[1])
tune = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tune)
source = open(sys.argv[1], encoding="utf-8").read()
config = {"seed": 3, "trial_seed": True, "heartbeat": 1.0, "trial": sys.argv[2]}
objective = tune.__hyperasc_runtime__.shipped(source, config)
with open(sys.argv[3], "wb") as f:
    f.write(cloudpickle.dumps(objective))
"""

# A fresh process with neither tune.py nor hyperasc: unpickle, run three trials, pickle again.
WORKER = """
import pickle, sys
import cloudpickle, hyperopt, numpy as np
with open(sys.argv[1], "rb") as f:
    objective = pickle.load(f)
assert type(objective).__name__ == "ShippedObjective", type(objective)
assert type(objective).__module__.startswith("_hyperasc_runtime_"), type(objective).__module__
trials = hyperopt.Trials()
space = {"x": hyperopt.hp.uniform("x", -1, 1)}
hyperopt.fmin(objective, space, algo=hyperopt.rand.suggest, max_evals=3, trials=trials,
              rstate=np.random.default_rng(0), show_progressbar=False)
for t in trials.trials:
    x = t["misc"]["vals"]["x"][0]
    assert t["result"]["status"] == "ok" and abs(t["result"]["loss"] - (x - 0.25) ** 2) < 1e-12, t["result"]
again = pickle.loads(cloudpickle.dumps(objective))
assert again.config == objective.config and again.script.source() == objective.script.source()
assert again.script.trial is objective.script.trial  # the rebuilt script module is reused
assert not [m for m in sys.modules if m == "hyperasc" or m.startswith("hyperasc.")]
print("ok", len(trials.trials))
"""


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "tune.py"
    path.write_text(compile_text(MODEL), encoding="utf-8")
    return path


def bundle_constants(text: str) -> dict:
    """VERSION and SOURCES as the script's text spells them (read with ast, nothing is run)."""
    tree = ast.parse(text)
    (bundle,) = [
        n
        for n in tree.body
        if isinstance(n, ast.ClassDef) and n.name == "__hyperasc_runtime__"
    ]
    return {
        target.id: ast.literal_eval(node.value)
        for node in bundle.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("VERSION", "SOURCES")
    }


def test_the_bundle_carries_every_runtime_module_byte_for_byte(script):
    constants = bundle_constants(script.read_text(encoding="utf-8"))
    assert constants["VERSION"] == __version__
    sources = constants["SOURCES"]
    assert set(sources) == {p.stem for p in RUNTIME.glob("*.py")}
    for name, text in sources.items():
        assert text.encode("utf-8") == (RUNTIME / f"{name}.py").read_bytes(), name


def test_every_script_carries_the_same_bundle(script, tmp_path):
    other = compile_text(
        "def build():\n    return {{choice([1, 2])}}\n", path="other.py"
    )
    section = re.compile(
        r"^class __hyperasc_runtime__:.*?# End of the hyperasc runtime\.$", re.M | re.S
    )
    assert section.search(other).group(0) == section.search(
        script.read_text(encoding="utf-8")
    ).group(0)


def python(code: str, *args: str, cwd: Path) -> str:
    # -I: no user site, no PYTHONPATH, and the script's folder is not where hyperasc lives.
    proc = subprocess.run(
        [sys.executable, "-I", "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def inspected(script) -> dict:
    return json.loads(python(INSPECT, str(script), cwd=script.parent))


@slow
def test_load_imports_the_runtime_as_a_private_package_once(inspected):
    assert inspected["package"].startswith("_hyperasc_runtime_")
    assert inspected["search"] == inspected["package"] + ".search"
    assert inspected["same"] and inspected["bundle_is_bundle"]
    assert inspected["version"] == __version__
    assert inspected["hyperasc"] == []  # the script runs without hyperasc


@slow
def test_the_loaded_sources_are_the_runtimes_files(inspected):
    sources = inspected["sources"]
    assert {name: text.encode("utf-8") for name, text in sources.items()} == {
        p.stem: p.read_bytes() for p in RUNTIME.glob("*.py")
    }


@slow
def test_a_runtime_traceback_shows_the_runtimes_source_lines(inspected):
    text = inspected["traceback"]
    assert f'File "hyperasc-{__version__}-runtime/values.py", line' in text
    assert 'raise RunError(f"cannot read --points {path}: {exc}") from None' in text


def test_the_script_binds_one_runtime_name_and_marks_its_section(script):
    text = script.read_text()
    assert re.search(r"^class __hyperasc_runtime__:", text, re.M)
    assert text.count("same in every") >= 1 and "# End of the hyperasc runtime." in text


@slow
def test_shipped_rebuilds_an_objective_that_pickles_again_in_a_fresh_process(
    script, tmp_path
):
    trial = re.search(r"\btrial=(\w+),", script.read_text()).group(1)
    pickled = tmp_path / "objective.pkl"
    python(SHIP, str(script), trial, str(pickled), cwd=script.parent)
    assert pickled.stat().st_size > 0
    assert python(WORKER, str(pickled), cwd=tmp_path).split() == ["ok", "3"]

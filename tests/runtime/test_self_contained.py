"""The runtime travels alone inside every script: it must need nothing but itself, the stdlib,
numpy and hyperopt at import time."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parent.parent.parent / "hyperasc" / "runtime"
FILES = sorted(RUNTIME.glob("*.py"))
# What the model file imports, or only --mongo and --spark need.
NEVER_AT_MODULE_LEVEL = {
    "keras",
    "tensorflow",
    "pymongo",
    "pyspark",
    "gridfs",
    "bson",
    "jax",
    "torch",
}


def imports(tree: ast.Module):
    """(node, imported module names, whether at module level) for each import in the file."""
    nested = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    found = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    for node in sorted(found, key=lambda n: (n.lineno, n.col_offset)):
        if isinstance(node, ast.Import):
            yield node, [alias.name for alias in node.names], id(node) not in nested
        else:
            yield node, [node.module or ""] if node.level == 0 else [], id(
                node
            ) not in nested


def test_there_are_runtime_files():
    assert {"trial.py", "search.py", "mongo.py", "__init__.py"} <= {
        p.name for p in FILES
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_imports_stay_inside_the_runtime(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node, names, _ in imports(tree):
        if isinstance(node, ast.ImportFrom):
            assert (
                node.level <= 1
            ), f"{path.name}:{node.lineno}: relative import leaves the runtime"
        for name in names:
            assert (
                name.split(".")[0] != "hyperasc"
            ), f"{path.name}:{node.lineno}: imports {name} from hyperasc"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_heavy_and_optional_packages_are_imported_only_inside_functions(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node, names, top in imports(tree):
        for name in names:
            if top:
                assert (
                    name.split(".")[0] not in NEVER_AT_MODULE_LEVEL
                ), f"{path.name}:{node.lineno}: imports {name}"


def test_the_import_check_sees_module_level_and_nested_imports():
    tree = ast.parse(
        "import keras\nif x:\n    import pymongo\ndef f():\n    import pyspark\nfrom . import a\n"
    )
    found = [(names, top) for _, names, top in imports(tree)]
    assert found == [
        (["keras"], True),
        (["pymongo"], True),
        (["pyspark"], False),
        ([], True),
    ]


# One fresh interpreter: the top-level packages loaded after run_files, then after the whole runtime.
# pymongo and pyspark are made unimportable, as on a machine without them.
LOADED = """
import json, sys
for name in ("pymongo", "pyspark", "bson", "gridfs"):
    sys.modules[name] = None
top = lambda: sorted({m.split(".")[0] for m, v in sys.modules.items() if v is not None})
import hyperasc.runtime.run_files
after_run_files = top()
import hyperasc.runtime.search, hyperasc.runtime.mongo, hyperasc.runtime.spark
print(json.dumps({"run_files": after_run_files, "runtime": top()}))
"""


@pytest.fixture(scope="module")
def loaded() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", LOADED], capture_output=True, text=True, check=True
    ).stdout
    return {key: set(names) for key, names in json.loads(out).items()}


def test_importing_the_runtime_needs_no_framework_pymongo_or_pyspark(loaded):
    # hyperopt imports pymongo and pyspark itself when they are installed; a local run needs neither.
    assert "hyperopt" in loaded["runtime"]
    assert not loaded["runtime"] & {"keras", "tensorflow", "jax", "torch"}


def test_reading_run_files_needs_no_hyperopt(loaded):
    assert "hyperasc" in loaded["run_files"]
    assert "hyperopt" not in loaded["run_files"] and "numpy" not in loaded["run_files"]

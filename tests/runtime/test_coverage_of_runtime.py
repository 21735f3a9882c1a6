"""Every public function and class of the runtime has a direct test in tests/runtime/test_<module>.py.

A name counts as tested when its test file mentions it. A new public function
without a test, or a new runtime module without a test file, fails here.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNTIME = HERE.parent.parent / "hyperasc" / "runtime"
MODULES = sorted(p.stem for p in RUNTIME.glob("*.py") if p.stem != "__init__")
# Written by others at the same time: checked as soon as their test file exists.
TEST_FILE_MAY_BE_MISSING = {"pruning", "parallel"}


def public_names(module_name: str) -> list[str]:
    """Functions and classes defined in the module whose names do not start with `_`."""
    module = importlib.import_module(f"hyperasc.runtime.{module_name}")
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    )


def test_the_runtime_modules_are_found():
    assert {"trial", "search", "mongo", "run_directory", "values"} <= set(MODULES)


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_is_tested_in_its_modules_test_file(module_name):
    test_file = HERE / f"test_{module_name}.py"
    if not test_file.exists():
        if module_name in TEST_FILE_MAY_BE_MISSING:
            pytest.skip(f"{test_file.name} is still being written")
        pytest.fail(
            f"hyperasc/runtime/{module_name}.py has no tests/runtime/{test_file.name}"
        )
    text = test_file.read_text(encoding="utf-8")
    untested = [
        name
        for name in public_names(module_name)
        if not re.search(rf"\b{re.escape(name)}\b", text)
    ]
    assert (
        not untested
    ), f"tests/runtime/{test_file.name} never mentions {', '.join(untested)}"


def test_public_names_sees_functions_and_classes_but_not_imports():
    names = public_names("run_directory")
    assert {"RunDirectory", "space_changes", "rebuild_trials"} <= set(names)
    assert (
        "RunError" not in names and "write_atomically" not in names
    )  # imported, defined elsewhere
    assert "FINISHED" not in names  # a constant

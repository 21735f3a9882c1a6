"""`ruff check` over the whole project (config in pyproject.toml), as part of the test run."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT


def test_ruff_check_passes():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_project_is_black_formatted():
    """The project is formatted the way it formats the scripts it writes (black, default mode)."""
    result = subprocess.run(
        [sys.executable, "-m", "black", "--check", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def _unhinted(path):
    """`Class.function` names of public functions in `path` that lack a hint."""
    import ast

    missing = []

    def visit(body, prefix=""):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                dunder = node.name.startswith("__") and node.name.endswith("__")
                if node.name.startswith("_") and node.name not in (
                    "__init__",
                    "__call__",
                ):
                    continue
                arguments = (
                    node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                )
                arguments += [a for a in (node.args.vararg, node.args.kwarg) if a]
                unhinted = [
                    a.arg
                    for a in arguments
                    if a.annotation is None and a.arg not in ("self", "cls")
                ]
                if unhinted or (node.returns is None and not dunder):
                    missing.append(f"{path.name}:{node.lineno} {prefix}{node.name}")

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return missing


def test_runtime_public_functions_have_type_hints():
    """Every public function and method of hyperasc/runtime has hints on its arguments and result."""
    modules = sorted((ROOT / "hyperasc" / "runtime").glob("*.py"))
    assert len(modules) > 10
    missing = [name for path in modules for name in _unhinted(path)]
    assert missing == []

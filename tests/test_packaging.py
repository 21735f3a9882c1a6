"""Every package of the source tree is installed: a non-editable install must not lose a subpackage."""

from __future__ import annotations

import sys

import pytest
from helpers import ROOT

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else None


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "hyperasc").rglob("__init__.py")
    }
    assert found, "no packages found under hyperasc/"
    assert found - listed == set(), "add these to [tool.setuptools] packages"


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_templates_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = config["tool"]["setuptools"]["package-data"]
    assert "templates/*.jinja" in data["hyperasc.report"]
    assert (ROOT / "hyperasc" / "report" / "templates" / "report.html.jinja").exists()


def _module_graph() -> dict[str, set[str]]:
    """hyperasc module -> the hyperasc modules it imports anywhere (lazy imports too)."""
    import ast

    package = ROOT / "hyperasc"
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        is_package = name.endswith(".__init__")
        name = name.removesuffix(".__init__")
        here = name if is_package else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = here
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = node.module or ""
                if node.level:
                    target = f"{base}.{target}" if target else base
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            edges |= {c for c in candidates if c in modules and c != name}
        graph[name] = edges
    return graph


def test_no_import_cycles():
    """Imports only point down: no module reaches itself through hyperasc's imports.

    A package's __init__ re-exporting its modules is not an edge back up, so
    edges into a package's own __init__ from inside it are left out.
    """
    graph = _module_graph()
    assert "hyperasc.compile.pipeline" in graph
    for name, edges in graph.items():
        graph[name] = {e for e in edges if not name.startswith(e + ".")}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []

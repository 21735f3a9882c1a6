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

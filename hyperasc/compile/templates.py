"""Where codegen_templates/ is: the script's templates and the runtime bundle's loader."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "codegen_templates"


def template_dir() -> Path:
    """codegen_templates/ of a source checkout, else the installed hyperasc.codegen_templates."""
    if (TEMPLATE_DIR / "tune.py.jinja").exists():
        return TEMPLATE_DIR  # a source checkout or an editable install
    from importlib import resources

    return Path(str(resources.files("hyperasc.codegen_templates")))

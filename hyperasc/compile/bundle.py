"""Stage 5b: the runtime bundle, the part of every script that is the same.

The modules of `hyperasc.runtime` go into the script as their source text,
unchanged and never through Jinja, inside one class that imports them as a
package of their own at run time (codegen_templates/runtime_bundle.py).
The bundle binds one module-level name, RUNTIME_NAME.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .. import __version__
from .templates import template_dir

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
RUNTIME_NAME = "__hyperasc_runtime__"
MARKER = f"""\
# ============================================================================
# hyperasc {__version__} runtime: the package hyperasc.runtime, carried as source.
# Everything from here to "End of the hyperasc runtime" is the same in every
# script of hyperasc {__version__}; reviewers can skip it.
# ============================================================================
"""
END_MARKER = "# End of the hyperasc runtime.\n"


def runtime_sources() -> dict[str, str]:
    """Module name -> source text of every module of hyperasc.runtime, by name."""
    return {
        path.stem: path.read_text(encoding="utf-8")
        for path in sorted(RUNTIME_DIR.glob("*.py"))
    }


@functools.lru_cache(maxsize=1)
def runtime_bundle() -> str:
    """The bundle's text, ending with END_MARKER.

    It is written the way black writes it (tests check that black leaves it
    alone), so compiling never runs black over the runtime's few thousand
    lines.
    """
    loader = (template_dir() / "runtime_bundle.py").read_text(encoding="utf-8")
    entries = "".join(
        f"        {json.dumps(name)}: {source_literal(text)},\n"
        for name, text in runtime_sources().items()
    )
    filled = _replace_line(
        loader, "    VERSION = None", f"    VERSION = {json.dumps(__version__)}\n"
    )
    filled = _replace_line(
        filled, "    SOURCES = {}", "    SOURCES = {\n" + entries + "    }\n"
    )
    return MARKER + "\n\n" + filled + "\n\n" + END_MARKER


def source_literal(text: str) -> str:
    """A string literal whose value is exactly `text`, readable as code where possible."""
    if "'''" not in text and not text.endswith("\\") and "\r" not in text:
        return "r'''" + text + "'''"
    return repr(text)


def _replace_line(text: str, start: str, replacement: str) -> str:
    """Replace the one line of `text` that starts with `start`."""
    lines = text.splitlines(keepends=True)
    matches = [i for i, line in enumerate(lines) if line.startswith(start)]
    if len(matches) != 1:
        raise RuntimeError(
            f"runtime_bundle.py must have exactly one line starting {start!r}"
        )
    lines[matches[0]] = replacement
    return "".join(lines)

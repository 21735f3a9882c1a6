"""`hyperasc upgrade`: Keras 1/2 spellings in a model file rewritten for Keras 3.

A package of rule families over one token-edit core, the way pyupgrade keeps
one small plugin per rewrite:

  core.py      Edit, Change, Finding, Plan; positions; apply (byte-exact)
  scope.py     what a name refers to where it is used (import or the file's own)
  context.py   what every family sees, and the helpers that make edits
  engine.py    parse, run every family, settle overlaps; the compile note
  files.py     .py files (encodings kept) and notebooks (cells as one text)
  families.py  the rule families, one module each (imports.py, layers.py, ...)

Nothing here imports keras or tensorflow.
"""

from .engine import compile_note, find, upgrade_text
from .files import FileUpgrade, UpgradeError, upgrade_file

__all__ = [
    "FileUpgrade",
    "UpgradeError",
    "compile_note",
    "find",
    "upgrade_file",
    "upgrade_text",
]

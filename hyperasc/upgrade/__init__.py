"""`hyperasc upgrade`: Keras 1/2 spellings in a model file rewritten for Keras 3."""

from .rules import FileUpgrade, UpgradeError, compile_note, upgrade_file, upgrade_text

__all__ = [
    "FileUpgrade",
    "UpgradeError",
    "compile_note",
    "upgrade_file",
    "upgrade_text",
]

"""`hyperasc report`: a run directory in, plots, a CSV and an offline page out."""

from .render import ReportError, write_report

__all__ = ["ReportError", "write_report"]

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

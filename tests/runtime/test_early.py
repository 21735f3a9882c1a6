"""The script's first act: --help, --version and --list-devices before the model's imports."""

from __future__ import annotations

import os

import pytest

from hyperasc.runtime.early import early
from hyperasc.runtime.terminal import EARLY_OPTIONS, library_logs_wanted


@pytest.fixture
def unfiltered(monkeypatch):
    """terminal.py's process-wide notes, fresh for one test."""
    state = {}
    monkeypatch.setattr("hyperasc.runtime.terminal._UNFILTERED", state)
    return state


def test_early_answers_help_and_version_with_the_scripts_defaults(
    capsys, monkeypatch, unfiltered
):
    monkeypatch.setattr("hyperasc.runtime.terminal.quiet_library_logs", lambda: None)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert "--help" in EARLY_OPTIONS and "--list-devices" in EARLY_OPTIONS
    defaults = {"model_file": "m.py", "max_evals": 7}
    with pytest.raises(SystemExit) as exit:
        early("tune.py", ["--help"], defaults)
    assert exit.value.code == 0
    assert "(default: 7)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        early("tune.py", ["--version"], defaults)
    assert "hyperasc" in capsys.readouterr().out
    # After `--` it is no question: the search goes on (and its parser complains).
    assert early("tune.py", ["--max-evals", "2", "--", "--help"], defaults) is None
    assert capsys.readouterr().out == ""


def test_early_sets_tensorflows_log_level_unless_told(monkeypatch, unfiltered):
    calls = []
    monkeypatch.setattr(
        "hyperasc.runtime.terminal.quiet_library_logs", lambda: calls.append(1)
    )
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("HYPERASC_DEBUG", raising=False)
    early("tune.py", ["--debug"], {})
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ and calls == []
    early("tune.py", [], {})
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2" and calls == [1]
    assert library_logs_wanted(["--debug"]) and not library_logs_wanted([])
    unfiltered.clear()
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's choice stands
    early("tune.py", [], {})
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0" and calls == [1]

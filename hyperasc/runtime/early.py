"""The script's first act, before the model file's imports run.

The generated script's early block loads the runtime from the script's own
text and calls `early`: --help, --version and --list-devices answer here, in
well under a second, whatever the model file imports; otherwise the
libraries' log lines are kept off the terminal before TensorFlow loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from . import terminal


def early(script: str, argv: Sequence[str], defaults: Mapping[str, Any]) -> None:
    """The script's first act, before the model file's imports.

    --help, --version and --list-devices are answered here, and the process
    exits. Otherwise the libraries' log lines are kept off the terminal
    (unless --debug, or the user set TF_CPP_MIN_LOG_LEVEL).
    """
    argv = list(argv)
    options = argv[: argv.index("--")] if "--" in argv else argv
    if any(option in terminal.EARLY_OPTIONS for option in options):
        from .options import parse_args  # only to answer: a run imports less here
        from .script import Script

        parse_args(Script(path=script, trial=_no_trial, **defaults), argv)
        return  # not an answer after all (say, --points --help): the search goes on
    if not terminal.library_logs_wanted(argv):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads
        terminal.quieted_by_us()
        terminal.quiet_library_logs()


def _no_trial(params: Any) -> None:
    return None

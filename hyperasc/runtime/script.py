"""What the runtime knows about the generated script that runs it."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .contract import (
    DEFAULT_ALGO,
    DEFAULT_KEEP_BEST,
    DEFAULT_MAX_EVALS,
    header_sha256,
)


class Script:
    """The model-specific facts a generated script hands to the runtime.

    trial:      params -> what the model function returned (one trial's body)
    parameters: the script's parameter table, one dict per parameter
    source:     the script's text, when it did not come from `path`
    objective:  what the model function returns as the loss (contract.py), or None

    In a bundled script, the package knows its bundle (set by the loader):
    its version, and the bootstrap that rebuilds the objective in a worker.
    """

    def __init__(
        self,
        *,
        path: str,
        trial: Callable[[Any], Any],
        parameters: Sequence[Mapping[str, Any]] = (),
        model_file: str | None = None,
        model_sha256: str | None = None,
        max_evals: int = DEFAULT_MAX_EVALS,
        algo: str = DEFAULT_ALGO,
        keep_best: int = DEFAULT_KEEP_BEST,
        source: str | None = None,
        objective: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.trial = trial
        self.parameters = list(parameters)
        self.model_file = model_file
        self._model_sha256 = model_sha256
        self.max_evals = max_evals
        self.algo = algo
        self.keep_best = keep_best
        self._source = source
        self.objective = dict(objective) if objective else None
        bundle = getattr(sys.modules.get(__package__), "BUNDLE", None)
        self.version = getattr(bundle, "VERSION", None) or "unbundled"
        self.bootstrap = getattr(bundle, "shipped", None)

    @property
    def model_sha256(self) -> str | None:
        """The model file's sha256: given, or read from the script's header."""
        if self._model_sha256 is None:
            try:
                self._model_sha256 = header_sha256(self.source())
            except OSError:
                return None
        return self._model_sha256

    def source(self) -> str:
        """The script's text, as remote workers receive it."""
        if self._source is None:
            with open(self.path, encoding="utf-8") as f:
                self._source = f.read()
        return self._source


_data_cache = {}


def data_once(
    function: Callable[..., Any],
    args: Sequence[Any] = (),
    scope: dict[str, Any] | None = None,
    names: Sequence[str] = (),
) -> tuple:
    """function(*args) computed once per process, as a tuple of the model's arguments.

    `names`: local variables of `function` to bind in `scope` (the script's
    globals) when it returns. hyperas pasted data()'s body at module level, so
    the model function could read them as globals; forked trial processes
    inherit them with the cache.
    """
    key = (function, tuple(args))
    if key not in _data_cache:
        if names:
            values, found = _call_keeping_locals(function, args, names)
            scope.update(found)
        else:
            values = function(*args)
        _data_cache[key] = values if isinstance(values, tuple) else (values,)
    return _data_cache[key]


def _call_keeping_locals(function, args, names):
    """function(*args), and {name: value} of those of its local variables at its return.

    A trace function sees the frame's locals; it follows only this function's
    frame, without line events: one check per Python call while data() runs.
    """
    code = getattr(
        inspect.unwrap(function), "__code__", None
    )  # through decorators' wrappers
    found = {}

    def local_trace(frame, event, arg):
        if event == "return":
            here = frame.f_locals
            found.update((name, here[name]) for name in names if name in here)
        return local_trace

    def global_trace(frame, event, arg):
        if frame.f_code is code:
            frame.f_trace_lines = False
            return local_trace
        return None

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        values = function(*args)
    finally:
        sys.settrace(previous)
    return values, found

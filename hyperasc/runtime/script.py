"""What the runtime knows about the generated script that runs it."""

import sys


class Script:
    """The model-specific facts a generated script hands to the runtime.

    trial:      params -> what the model function returned (one trial's body)
    parameters: the script's parameter table, one dict per parameter
    source:     the script's text, when it did not come from `path`

    In a bundled script, the package knows its bundle (set by the loader):
    its version, and the bootstrap that rebuilds the objective in a worker.
    """

    def __init__(
        self,
        *,
        path,
        trial,
        parameters=(),
        model_file=None,
        model_sha256=None,
        max_evals=20,
        algo="tpe",
        keep_best=0,
        source=None,
    ):
        self.path = path
        self.trial = trial
        self.parameters = list(parameters)
        self.model_file = model_file
        self.model_sha256 = model_sha256
        self.max_evals = max_evals
        self.algo = algo
        self.keep_best = keep_best
        self._source = source
        bundle = getattr(sys.modules.get(__package__), "BUNDLE", None)
        self.version = getattr(bundle, "VERSION", None) or "unbundled"
        self.bootstrap = getattr(bundle, "shipped", None)

    def source(self):
        """The script's text, as remote workers receive it."""
        if self._source is None:
            with open(self.path, encoding="utf-8") as f:
                self._source = f.read()
        return self._source


_data_cache = {}


def data_once(function, args=()):
    """function(*args) computed once per process, as a tuple of the model's arguments."""
    key = (function, tuple(args))
    if key not in _data_cache:
        values = function(*args)
        _data_cache[key] = values if isinstance(values, tuple) else (values,)
    return _data_cache[key]

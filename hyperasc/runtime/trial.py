"""One trial: seeding, History capture, failures as data, the best model saved."""

from __future__ import annotations

import gc
import math
import numbers
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from hyperopt import STATUS_FAIL, STATUS_OK

from .keras_callback import TrialPruned, add_callback
from .processes import ForkedWorker
from .run_files import kept_model_name
from .seeding import seed_everything, trial_seed
from .terminal import Terminal
from .values import jsonable

# The fields of a trial's result and record that hyperasc writes: keys of a returned dict
# with these names never replace them, but are kept under "user" (see docs/run-directory.md).
RECORD_FIELDS = frozenset(
    {
        "tid",
        "status",
        "loss",
        "params",
        "start",
        "end",
        "duration",
        "error",
        "history",
        "device",
        "pruned",
        "pruned_at",
        "epochs",
        "curve",
        "prune_metric",
        "kept_model",
        "log",
        "user",
    }
)


def split_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """A returned dict's other keys as the result keeps them: under their own names,
    but those that are a record field's name (RECORD_FIELDS) under "user"."""
    own = {k: v for k, v in extra.items() if k not in RECORD_FIELDS}
    clashing = {k: v for k, v in extra.items() if k in RECORD_FIELDS}
    if clashing:
        own["user"] = clashing
    return own


def real_loss(loss: Any) -> float | None:
    """The loss as a float, or None when it is not a real number: a string ("1.5"),
    a bool, None or a complex number is not taken, however float() would read it."""
    if (
        loss is None
        or isinstance(loss, (str, bytes, bytearray, bool))
        or type(loss).__name__ in ("bool", "bool_")  # numpy's booleans
        or (isinstance(loss, numbers.Complex) and not isinstance(loss, numbers.Real))
    ):
        return None
    try:
        return float(loss)
    except (TypeError, ValueError, OverflowError):
        return None


class TrialScope:
    """Everything around one trial that the model code should not have to do.

    - seeds Python, NumPy and Keras from the run seed and the trial id;
    - records the History of every Keras fit() call;
    - turns an exception, a NaN loss or a malformed result into a failed
      trial with its traceback, so the search goes on (out-of-memory too);
    - saves the model when it beats the best loss, then lets it go, and
      clears the Keras session so memory does not grow across trials;
    - with --prune, reports each epoch to the pruning rule, and ends a
      hopeless trial: fit() stops and raises TrialPruned (see keras_callback.py).
    """

    run = None  # receives best_model.keras: a RunDirectory, or a worker's stand-in
    run_seed = 0
    seeding = True
    process = None  # a ForkedWorker that runs the trials, or None: in this process
    pruning = None  # --prune: a pruning.Pruning, inherited by forked trial processes

    @classmethod
    def configure(
        cls,
        run: Any,
        run_seed: int,
        seeding: bool = True,
        process: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        cls.run, cls.run_seed, cls.seeding = run, run_seed, seeding
        cls.process = process

    def __init__(self, tid: int | None, sampled: Any) -> None:
        self.tid = tid
        self.sampled = sampled
        self.histories = []
        self.result = None
        self._original_fit = None
        self.reporter = None

    def __enter__(self) -> TrialScope:
        self.started = time.time()
        if self.seeding:
            seed_everything(trial_seed(self.run_seed, self.tid or 0))
        keras = sys.modules.get("keras")
        if keras is not None:
            self._original_fit = keras.Model.fit
            scope = self
            if self.pruning is not None:
                self.reporter = self.pruning.reporter(self.tid)

            def fit(model, *args, **kwargs):
                reporter = scope.reporter
                if reporter is not None:
                    args, kwargs = add_callback(reporter, args, kwargs)
                history = scope._original_fit(model, *args, **kwargs)
                scope.histories.append(
                    {
                        k: [float(v) for v in values]
                        for k, values in getattr(history, "history", {}).items()
                    }
                )
                if reporter is not None and reporter.pruned:
                    # The rest of the model function would use a half-trained model.
                    raise TrialPruned(reporter.pruned_at)
                return history

            keras.Model.fit = fit
        return self

    def report(self, returned: Any) -> None:
        """Read what the model function returned: a loss, or hyperas's result dict."""
        if self.reporter is not None and self.reporter.pruned:
            return  # it caught TrialPruned; __exit__ records the trial as pruned
        model = None
        if isinstance(returned, dict):
            extra = {
                k: v
                for k, v in returned.items()
                if k not in ("loss", "status", "model")
            }
            model = returned.get("model")
            status = returned.get("status", STATUS_OK)
            loss = returned.get("loss")
        else:
            extra, status, loss = {}, STATUS_OK, returned
        if status != STATUS_OK:
            self.result = self._failure(
                f"the model function returned status {status!r}"
            )
            return
        number = real_loss(loss)
        if number is None:
            self.result = self._failure(
                f"the model function returned no usable loss: {loss!r} "
                f"({type(loss).__name__}); the loss must be a real number"
            )
            return
        loss = number
        if not math.isfinite(loss):
            self.result = self._failure(f"the loss is {loss}")
            return
        self.result = self._result(STATUS_OK, loss, None)
        self.result.update(split_extra(jsonable(extra)))
        run = self.run
        if model is None or run is None or not hasattr(model, "save"):
            return
        if loss < run.best_loss:
            run.save_model(model)
            run.best_loss = loss
        # --keep-best K: the search process deletes what drops out of the K best.
        if getattr(run, "keep_best", 0) and loss < getattr(run, "keep_threshold", 0):
            run.keep_model(model, self.tid)
            # The record that this run made the file: only such files are deleted.
            self.result["kept_model"] = kept_model_name(self.tid)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        keras = sys.modules.get("keras")
        if self._original_fit is not None:
            keras.Model.fit = self._original_fit
        suppress = False
        if kind is not None and issubclass(kind, Exception):
            text = "".join(traceback.format_exception(kind, error, tb))
            if "ResourceExhausted" in kind.__name__ or isinstance(error, MemoryError):
                text = "out of memory: " + text
            self.result = self._failure(text)
            suppress = True
        elif kind is None and self.result is None:
            self.result = self._failure("the model function returned nothing")
        if self.reporter is not None:
            self.result = self.pruning.settle(self.reporter, self.result)
        # Free this trial's graphs and layers before the next trial. A forked
        # trial process frees everything by exiting, which is much faster.
        if self.process is None:
            if keras is not None:
                keras.backend.clear_session()
            gc.collect()
        return suppress

    def _failure(self, message):
        return self._result(STATUS_FAIL, None, message)

    def _result(self, status, loss, error):
        return trial_result(status, loss, error, self.started, self.histories)


def trial_result(
    status: str,
    loss: float | None,
    error: str | None,
    started: float,
    histories: Sequence[dict[str, list[float]]] = (),
) -> dict[str, Any]:
    """The result dict every trial hands to hyperopt, ending now."""
    ended = time.time()
    return {
        "status": status,
        "loss": loss,
        "error": error,
        "history": list(histories),
        "start": started,
        "end": ended,
        "duration": ended - started,
    }


def run_trial(
    body: Callable[[Any], Any], sampled: Any, tid: int | None
) -> dict[str, Any]:
    """Run one trial of `body(sampled)` and return hyperopt's result dict.

    With TrialScope.process set, the trial runs in a forked process that is
    replaced every few trials (see ForkedWorker). The search process itself
    never runs a TensorFlow op, so each fork starts clean, GPUs included.
    """
    run, process = TrialScope.run, TrialScope.process
    terminal = Terminal.current  # where the trial's output goes, if anywhere
    if process is None:
        if terminal is None:
            return evaluate_trial(body, sampled, tid)
        with terminal.trial_here(tid):
            result = evaluate_trial(body, sampled, tid)
        return terminal.finished(tid, result)
    started = time.time()
    standing = standing_of(run)
    if terminal is not None and isinstance(process, ForkedWorker):
        process.output = terminal.route(tid)
    try:
        result = process(body, sampled, tid, standing)
    except ChildProcessError as exc:
        result = trial_result(STATUS_FAIL, None, str(exc), started)
        return terminal.finished(tid, result) if terminal is not None else result
    if terminal is not None:
        result = terminal.finished(tid, result)
    if (
        run is not None
        and result["status"] == STATUS_OK
        and not result.get("pruned")
        and result["loss"] < run.best_loss
    ):
        run.best_loss = result["loss"]  # the trial process saved the model
    return result


def standing_of(run: Any) -> dict[str, float] | None:
    """What a trial process must know of the search so far to save the right models."""
    if run is None:
        return None
    return {
        "best_loss": run.best_loss,
        "keep_threshold": getattr(run, "keep_threshold", math.inf),
    }


def evaluate_trial(
    body: Callable[[Any], Any],
    sampled: Any,
    tid: int | None,
    standing: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Run `body(sampled)` in a TrialScope here; the result dict.

    `standing` (from standing_of) updates a forked process's view of the
    search, which may have moved on since the fork.
    """
    if isinstance(standing, dict) and TrialScope.run is not None:
        for key, value in standing.items():
            setattr(TrialScope.run, key, value)
    with TrialScope(tid, sampled) as trial:
        trial.report(body(sampled))
    return trial.result


def forked_trials(per_process: int | None) -> ForkedWorker | None:
    """The ForkedWorker that runs trials, or None to run them in this process."""
    import os

    if per_process and hasattr(os, "fork"):
        return ForkedWorker(evaluate_trial, per_process)
    return None

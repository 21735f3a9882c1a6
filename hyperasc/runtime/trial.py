"""One trial: seeding, History capture, failures as data, the best model saved."""

import gc
import math
import sys
import time
import traceback

from hyperopt import STATUS_FAIL, STATUS_OK

from .processes import ForkedWorker
from .seeding import seed_everything, trial_seed
from .values import jsonable


class TrialScope:
    """Everything around one trial that the model code should not have to do.

    - seeds Python, NumPy and Keras from the run seed and the trial id;
    - records the History of every Keras fit() call;
    - turns an exception, a NaN loss or a malformed result into a failed
      trial with its traceback, so the search goes on (out-of-memory too);
    - saves the model when it beats the best loss, then lets it go, and
      clears the Keras session so memory does not grow across trials.
    """

    run = None  # receives best_model.keras: a RunDirectory, or a worker's stand-in
    run_seed = 0
    seeding = True
    process = None  # a ForkedWorker that runs the trials, or None: in this process

    @classmethod
    def configure(cls, run, run_seed, seeding=True, process=None):
        cls.run, cls.run_seed, cls.seeding = run, run_seed, seeding
        cls.process = process

    def __init__(self, tid, sampled):
        self.tid = tid
        self.sampled = sampled
        self.histories = []
        self.result = None
        self._original_fit = None

    def __enter__(self):
        self.started = time.time()
        if self.seeding:
            seed_everything(trial_seed(self.run_seed, self.tid or 0))
        keras = sys.modules.get("keras")
        if keras is not None:
            self._original_fit = keras.Model.fit
            scope = self

            def fit(model, *args, **kwargs):
                history = scope._original_fit(model, *args, **kwargs)
                scope.histories.append(
                    {
                        k: [float(v) for v in values]
                        for k, values in getattr(history, "history", {}).items()
                    }
                )
                return history

            keras.Model.fit = fit
        return self

    def report(self, returned):
        """Read what the model function returned: a loss, or hyperas's result dict."""
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
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            self.result = self._failure(
                f"the model function returned no usable loss: {loss!r}"
            )
            return
        if not math.isfinite(loss):
            self.result = self._failure(f"the loss is {loss}")
            return
        self.result = self._result(STATUS_OK, loss, None)
        self.result.update(
            {k: v for k, v in jsonable(extra).items() if k not in self.result}
        )
        run = self.run
        if (
            model is not None
            and run is not None
            and loss < run.best_loss
            and hasattr(model, "save")
        ):
            run.save_model(model)
            run.best_loss = loss

    def __exit__(self, kind, error, tb):
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


def trial_result(status, loss, error, started, histories=()):
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


def run_trial(body, sampled, tid):
    """Run one trial of `body(sampled)` and return hyperopt's result dict.

    With TrialScope.process set, the trial runs in a forked process that is
    replaced every few trials (see ForkedWorker). The search process itself
    never runs a TensorFlow op, so each fork starts clean, GPUs included.
    """
    run, process = TrialScope.run, TrialScope.process
    if process is None:
        return evaluate_trial(body, sampled, tid)
    started = time.time()
    best_loss = run.best_loss if run is not None else None
    try:
        result = process(body, sampled, tid, best_loss)
    except ChildProcessError as exc:
        return trial_result(STATUS_FAIL, None, str(exc), started)
    if (
        run is not None
        and result["status"] == STATUS_OK
        and result["loss"] < run.best_loss
    ):
        run.best_loss = result["loss"]  # the trial process saved the model
    return result


def evaluate_trial(body, sampled, tid, best_loss=None):
    """Run `body(sampled)` in a TrialScope here; the result dict."""
    if best_loss is not None and TrialScope.run is not None:
        TrialScope.run.best_loss = best_loss  # as the search process knows it
    with TrialScope(tid, sampled) as trial:
        trial.report(body(sampled))
    return trial.result


def forked_trials(per_process):
    """The ForkedWorker that runs trials, or None to run them in this process."""
    import os

    if per_process and hasattr(os, "fork"):
        return ForkedWorker(evaluate_trial, per_process)
    return None

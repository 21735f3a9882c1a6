"""The Keras side of pruning: a trial's epochs reported to the rule as they end.

Keras is never imported here: the callback class is built from the Keras
the model file imported, looked up in sys.modules.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .pruning_rules import AshaRule, MedianRule, higher_is_better, orient, pruned_loss


class TrialPruned(Exception):
    """Raised by fit() in a trial the pruning rule stopped; TrialScope records it."""

    def __init__(self, step: int):
        super().__init__(f"pruned after step {step}")
        self.step = step


class Reporter:
    """One trial's side of pruning.

    Numbers the trial's epochs across all its fit() calls, appends each
    value of the metric to the store, and asks the rule whether to stop.
    The metric is `metric` when given, else the hint (the monitor of the
    user's EarlyStopping), else val_loss, else loss; it is chosen at the
    first epoch and kept for the whole trial.
    """

    def __init__(
        self,
        tid: int,
        rule: MedianRule | AshaRule | None,
        store: Any,
        metric: str | None = None,
    ):
        self.tid, self.rule, self.store = tid, rule, store
        self.requested = metric
        self.metric: str | None = None
        self.higher = False
        self.step = 0
        self.curve: list[float] = []  # the raw metric values, as Keras logged them
        self.pruned_at: int | None = None

    @property
    def pruned(self) -> bool:
        return self.pruned_at is not None

    def choose_metric(
        self,
        logs: Mapping[str, Any],
        hint: str | None = None,
        higher: bool | None = None,
    ) -> str | None:
        """Fix the metric from the first epoch's logs; None if none is there."""
        if self.metric is None:
            wanted = [self.requested or hint, "val_loss", "loss"]
            found = [m for m in wanted if m and m in logs]
            if not found:
                return None
            if self.requested and found[0] != self.requested:
                print(
                    f"warning: --prune-metric {self.requested} is not among the "
                    f"metrics {sorted(logs)}; pruning on {found[0]}",
                    file=sys.stderr,
                )
            self.metric = found[0]
            self.higher = higher_is_better(self.metric) if higher is None else higher
        return self.metric

    def epoch_end(self, logs: Mapping[str, Any]) -> bool:
        """Record one epoch; True when the trial should stop training."""
        metric = self.choose_metric(logs)
        if metric is None or metric not in logs:
            return False  # e.g. validation only every few epochs: not a step
        raw = float(logs[metric])
        self.step += 1
        self.curve.append(raw)
        value = orient(raw, self.higher)
        self.store.append(self.tid, self.step, value)
        if self.rule is None or self.pruned:
            return self.pruned
        curves = self.store.curves()
        curves[self.tid] = [orient(v, self.higher) for v in self.curve]
        if self.rule.should_prune(self.tid, curves, self.store.states()):
            self.pruned_at = self.step
        return self.pruned

    def finish(self, state: str) -> None:
        """Tell the store how the trial ended: COMPLETE, PRUNED or FAIL."""
        self.store.finished(self.tid, state)

    def pruned_fields(self) -> dict[str, Any]:
        """What a pruned trial's result holds besides its status."""
        last = orient(self.curve[-1], self.higher) if self.curve else math.inf
        return {
            "loss": pruned_loss(self.step, last),
            "pruned": True,
            "epochs": self.pruned_at,
            "curve": list(self.curve),
            "prune_metric": self.metric,
        }


_CALLBACK_CLASSES: dict[int, type] = {}


def make_callback(reporter: Reporter, callbacks: Sequence[Any] = ()) -> Any:
    """A Keras callback that reports each epoch and stops training when pruned.

    `callbacks` are the fit() call's own callbacks: the monitor and mode of
    an EarlyStopping among them choose the metric when --prune-metric is
    not given. Returns None when Keras is not imported.
    """
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    cls = _CALLBACK_CLASSES.get(id(keras))
    if cls is None:
        cls = _CALLBACK_CLASSES[id(keras)] = _callback_class(keras)
    hint = higher = None
    for callback in callbacks or ():
        if isinstance(callback, keras.callbacks.EarlyStopping):
            hint = callback.monitor
            if getattr(callback, "mode", "auto") in ("min", "max"):
                higher = callback.mode == "max"
    return cls(reporter, hint, higher)


def _callback_class(keras: Any) -> type:
    class PruningCallback(keras.callbacks.Callback):
        """Reports the pruning metric after each epoch; stops a pruned trial."""

        def __init__(
            self, reporter: Reporter, hint: str | None, higher: bool | None
        ) -> None:
            super().__init__()
            self.reporter, self.hint, self.higher = reporter, hint, higher

        def on_epoch_end(
            self, epoch: int, logs: Mapping[str, Any] | None = None
        ) -> None:
            logs = logs or {}
            reporter = self.reporter
            if reporter.metric is None:
                metric = reporter.choose_metric(logs, self.hint, self.higher)
                if metric is not None and self.higher is None:
                    direction = _metric_direction(self.model, metric)
                    if direction is not None:
                        reporter.higher = direction
            if reporter.epoch_end(logs):
                self.model.stop_training = True

    return PruningCallback


def _metric_direction(model: Any, metric: str) -> bool | None:
    """True when the compiled metric says higher is better, as Keras 3 records it."""
    name = metric.removeprefix("val_")
    stack = list(getattr(model, "metrics", None) or [])
    while stack:
        m = stack.pop()
        stack.extend(getattr(m, "metrics", None) or [])
        if getattr(m, "name", None) == name and hasattr(m, "_direction"):
            return m._direction == "up"
    return None


def add_callback(reporter: Reporter, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """fit()'s arguments with the pruning callback added to its callbacks.

    Raises TrialPruned before any training when the trial is already pruned
    (a model function that caught TrialPruned and calls fit() again).
    """
    if reporter.pruned:
        raise TrialPruned(reporter.pruned_at)
    position = 5  # fit(x, y, batch_size, epochs, verbose, callbacks, ...)
    if len(args) > position:
        own = list(args[position] or [])
        args = args[:position] + (own + [make_callback(reporter, own)],) + args[6:]
        return args, kwargs
    own = list(kwargs.get("callbacks") or [])
    return args, dict(kwargs, callbacks=own + [make_callback(reporter, own)])

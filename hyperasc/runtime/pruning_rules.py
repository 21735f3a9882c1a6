"""Pruning rules: whether a trial's learning curve is hopeless, from plain data.

The rules read only the curves and states of all trials, so they can be
tested, and reasoned about, without Keras, processes or a database. The
conventions below are shared with the Keras callback and the curve stores.

- A curve is the list of a trial's values at steps 1, 2, ... (one step per
  epoch, counted across all fit() calls of the trial), oriented so that
  lower is better: metrics where higher is better (accuracy, AUC, ...) are
  negated, and NaN becomes +inf, the worst value (see orient()).
- The value of a trial "at step e" is its best value over steps 1..e. A
  completed trial that stopped before e (its own EarlyStopping, fewer
  epochs) keeps its final best value at every later step: it reached that
  value and needs no more epochs to do so. A running, pruned or failed
  trial has a value only at the steps it reached.
- A trial always trains `warmup` epochs; a rule may stop it at the end of
  any epoch e >= warmup, and only once `startup` trials have completed
  (completed means finished normally: pruned and failed trials don't count).
- States of finished trials: "complete", "pruned" or "fail".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

COMPLETE, PRUNED, FAIL = "complete", "pruned", "fail"
RULES = ("none", "median", "asha")

# Words that mark a metric where higher is better, as Keras names them.
HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "iou")

# A pruned trial's loss for the search algorithm: far above any real loss,
# see pruned_loss().
PRUNED_LOSS_BASE = 1e100
PRUNED_TIE_WEIGHT = 1e-9


def higher_is_better(metric: str) -> bool:
    """Guess a metric's direction from its name, as Keras's EarlyStopping does."""
    name = metric.lower().removeprefix("val_")
    return name != "loss" and any(word in name for word in HIGHER_IS_BETTER)


def orient(value: float, higher_is_better: bool) -> float:
    """A metric value turned into a lower-is-better one; NaN is the worst."""
    value = float(value)
    if math.isnan(value):
        return math.inf
    return -value if higher_is_better else value


def value_at(curve: Sequence[float], step: int, complete: bool) -> float | None:
    """A trial's best value over steps 1..step, or None if it did not get there."""
    if len(curve) >= step:
        return min(curve[:step])
    if complete and curve:
        return min(curve)
    return None


class _Rule:
    def __init__(self, warmup: int = 1, startup: int = 5):
        if warmup < 1:
            raise ValueError("the pruning warm-up must be at least 1 epoch")
        if startup < 0:
            raise ValueError("the pruning start-up must not be negative")
        self.warmup, self.startup = warmup, startup

    def _ready(self, curve: Sequence[float], states: Mapping[int, str]) -> bool:
        completed = sum(1 for s in states.values() if s == COMPLETE)
        return len(curve) >= self.warmup and completed >= max(self.startup, 1)

    @staticmethod
    def _values_at(
        step: int, curves: Mapping[int, Sequence[float]], states: Mapping[int, str]
    ) -> dict[int, float]:
        values = {}
        for tid, curve in curves.items():
            value = value_at(curve, step, states.get(tid) == COMPLETE)
            if value is not None:
                values[tid] = value
        return values


class MedianRule(_Rule):
    """Vizier's median stopping rule.

    Stop trial t at step e (e >= warmup) when its best value so far is
    strictly worse than the median of the completed trials' values at e.
    """

    def should_prune(
        self,
        tid: int,
        curves: Mapping[int, Sequence[float]],
        states: Mapping[int, str],
    ) -> bool:
        curve = curves.get(tid, ())
        if not self._ready(curve, states):
            return False
        step = len(curve)
        at_step = self._values_at(step, curves, states)
        completed = [v for t, v in at_step.items() if states.get(t) == COMPLETE]
        if not completed:
            return False
        return min(curve) > statistics.median(completed)


class AshaRule(_Rule):
    """Asynchronous successive halving (Li et al., 2018), as Optuna implements it.

    Rungs lie at warmup * eta**k epochs. A trial that reaches a rung goes on
    only if its value there is among the best len(peers) // eta values of
    the trials that reached the rung, itself included (the best one while
    fewer than eta trials are there). Trials that reached a rung are the
    running, pruned and failed ones whose curve got that far, and the
    completed ones whatever their length (see value_at).
    """

    def __init__(self, warmup: int = 1, startup: int = 5, eta: int = 3):
        super().__init__(warmup, startup)
        if eta < 2:
            raise ValueError("the halving rate eta must be at least 2")
        self.eta = eta

    def is_rung(self, step: int) -> bool:
        rung = self.warmup
        while rung < step:
            rung *= self.eta
        return rung == step

    def should_prune(
        self,
        tid: int,
        curves: Mapping[int, Sequence[float]],
        states: Mapping[int, str],
    ) -> bool:
        curve = curves.get(tid, ())
        if not self._ready(curve, states) or not self.is_rung(len(curve)):
            return False
        peers = self._values_at(len(curve), curves, states)
        peers[tid] = min(curve)
        promoted = max(1, len(peers) // self.eta)
        return peers[tid] > sorted(peers.values())[promoted - 1]


def make_rule(
    name: str, warmup: int = 1, startup: int = 5, eta: int = 3
) -> MedianRule | AshaRule | None:
    """The rule `--prune NAME` asks for; None for "none"."""
    if name == "none":
        return None
    if name == "median":
        return MedianRule(warmup, startup)
    if name == "asha":
        return AshaRule(warmup, startup, eta)
    raise ValueError(f"unknown pruning rule {name!r}; expected one of {RULES}")


# --------------------------------------------------------------------------- ranking


def pruned_loss(steps: int, last: float) -> float:
    """The loss a pruned trial reports to the search algorithm (Optuna's ranking).

    TPE only uses the order of losses. A pruned trial must come after every
    completed trial, those that finish later included, then before any trial
    pruned earlier, then by its last value. So the loss is
    1e100 * (1 + 1/(steps + 1) + 1e-9 * squash(last)), with squash mapping
    any value into (0, 1) in order: every finite loss below 1e100 stays
    ahead with no need to know the other trials. Relative float precision
    keeps the step order exact up to about 30,000 steps, and the last values
    apart down to about 1e-6 near 1.
    """
    last = math.inf if math.isnan(last) else last
    squash = 0.5 + math.atan(last) / math.pi  # 0..1, increasing, inf -> 1
    return PRUNED_LOSS_BASE * (1 + 1 / (steps + 1) + PRUNED_TIE_WEIGHT * squash)

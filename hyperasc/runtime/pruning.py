"""Per-epoch pruning: stop a trial whose learning curve is hopeless.

Three parts, kept apart so that each can be tested on plain data:

- rules (`MedianRule`, `AshaRule`) decide from the curves of all trials;
- curve stores (`FileCurveStore`, `MongoCurveStore`) hold those curves where
  every trial process, and every worker, can read them while trials run;
- a `Reporter` numbers a trial's epochs across its fit() calls, stores each
  value and asks the rule; `make_callback` wraps it in a Keras callback.

Conventions shared by all parts:

- A curve is the list of a trial's values at steps 1, 2, ... (one step per
  epoch, counted across all fit() calls of the trial), oriented so that
  lower is better: metrics where higher is better (accuracy, AUC, ...) are
  negated, and NaN becomes +inf, the worst value.
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

import json
import math
import os
import statistics
import sys
from collections.abc import Mapping, Sequence
from typing import Any

COMPLETE, PRUNED, FAIL = "complete", "pruned", "fail"
RULES = ("none", "median", "asha")

# Words that mark a metric where higher is better, as Keras names them.
HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "iou")

# A pruned trial's loss for the search algorithm: far above any real loss,
# see pruned_loss().
PRUNED_LOSS_BASE = 1e100
PRUNED_TIE_WEIGHT = 1e-9


class TrialPruned(Exception):
    """Raised by fit() in a trial the pruning rule stopped; TrialScope records it."""

    def __init__(self, step: int):
        super().__init__(f"pruned after step {step}")
        self.step = step


# --------------------------------------------------------------------------- rules


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


def pruned_result(record: Mapping[str, Any]) -> dict[str, Any]:
    """A pruned trial's result fields, rebuilt from its trials.jsonl record."""
    curve = [float(v) for v in record.get("curve") or []]
    higher = higher_is_better(str(record.get("prune_metric") or "loss"))
    last = orient(curve[-1], higher) if curve else math.inf
    steps = int(record.get("epochs") or len(curve))
    return {
        "status": "ok",
        "loss": pruned_loss(steps, last),
        "pruned": True,
        "epochs": steps,
        "curve": curve,
        "prune_metric": record.get("prune_metric"),
    }


def is_pruned(result: Mapping[str, Any] | None) -> bool:
    """Whether a trial result (hyperopt's dict) belongs to a pruned trial."""
    return bool(result) and bool(result.get("pruned"))


# --------------------------------------------------------------------------- stores


def orient(value: float, higher_is_better: bool) -> float:
    """A metric value turned into a lower-is-better one; NaN is the worst."""
    value = float(value)
    if math.isnan(value):
        return math.inf
    return -value if higher_is_better else value


class FileCurveStore:
    """Curves in one JSON-lines file of the run directory, `curves.jsonl`.

    Lines are {"tid", "step", "value"} or {"tid", "state"}. Each is written
    with one write() on a file opened for appending, then fsynced, so the
    trial processes of one machine can append side by side and a killed
    search loses at most the line being written. A later line for a step
    replaces that step and drops the steps after it, and a step 1 clears
    the trial's state: a trial run again (after --resume, hyperopt may reuse
    the id of an unfinished trial) starts afresh. Readers skip a line that does not parse, and a writer
    that finds the file ending in a torn line starts on a new line.
    """

    def __init__(self, path: str):
        self.path = path
        self._offset = 0
        self._curves: dict[int, list[float]] = {}
        self._states: dict[int, str] = {}

    def append(self, tid: int, step: int, value: float) -> None:
        self._write({"tid": tid, "step": step, "value": value})

    def finished(self, tid: int, state: str) -> None:
        self._write({"tid": tid, "state": state})

    def curves(self) -> dict[int, list[float]]:
        self._read()
        return {tid: list(curve) for tid, curve in self._curves.items()}

    def states(self) -> dict[int, str]:
        self._read()
        return dict(self._states)

    def _write(self, record: dict) -> None:
        line = (json.dumps(record) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _read(self) -> None:
        """Take in the lines appended since the last read, whole lines only."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
                tid = int(record["tid"])
                if "state" in record:
                    self._states[tid] = str(record["state"])
                else:
                    _set_step(self._curves, tid, record["step"], record["value"])
                    if record["step"] <= 1:
                        self._states.pop(tid, None)
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line


def _set_step(curves: dict, tid: int, step: int, value: float) -> None:
    curve = curves.setdefault(tid, [])
    del curve[max(0, step - 1) :]
    curve.append(float(value))


class MongoCurveStore:
    """Curves in a MongoDB collection, so that workers on any host share them.

    One document per trial: {"key": KEY, "tid": TID, "values": [...],
    "state": STATE}. Appending a step puts the value at its position and
    drops the steps after it, in one atomic update, with the same meaning
    as FileCurveStore (step 1 clears the state too). `key` tells
    experiments in one collection apart.
    """

    def __init__(self, collection: Any, key: str | None = None):
        self.collection, self.key = collection, key

    def _id(self, tid: int) -> dict:
        return {"key": self.key, "tid": int(tid)}

    def append(self, tid: int, step: int, value: float) -> None:
        position = max(0, step - 1)
        update = {
            "$push": {
                "values": {
                    "$each": [float(value)],
                    "$position": position,
                    "$slice": position + 1,
                }
            }
        }
        if position == 0:
            update["$unset"] = {"state": ""}
        self.collection.update_one(self._id(tid), update, upsert=True)

    def finished(self, tid: int, state: str) -> None:
        self.collection.update_one(
            self._id(tid), {"$set": {"state": state}}, upsert=True
        )

    def curves(self) -> dict[int, list[float]]:
        return {
            int(doc["tid"]): [float(v) for v in doc.get("values") or []]
            for doc in self.collection.find({"key": self.key}, {"tid": 1, "values": 1})
        }

    def states(self) -> dict[int, str]:
        return {
            int(doc["tid"]): str(doc["state"])
            for doc in self.collection.find(
                {"key": self.key, "state": {"$exists": True}}, {"tid": 1, "state": 1}
            )
        }


# --------------------------------------------------------------------------- reporting


def higher_is_better(metric: str) -> bool:
    """Guess a metric's direction from its name, as Keras's EarlyStopping does."""
    name = metric.lower().removeprefix("val_")
    return name != "loss" and any(word in name for word in HIGHER_IS_BETTER)


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

        def __init__(self, reporter, hint, higher):
            super().__init__()
            self.reporter, self.hint, self.higher = reporter, hint, higher

        def on_epoch_end(self, epoch, logs=None):
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


# --------------------------------------------------------------------------- a search


def result_state(result: Mapping[str, Any] | None) -> str:
    """COMPLETE, PRUNED or FAIL for a trial's result dict (hyperopt's)."""
    if is_pruned(result):
        return PRUNED
    return COMPLETE if (result or {}).get("status") == "ok" else FAIL


class Pruning:
    """A search's --prune settings and the curve store its trials share.

    The search process makes one; forked trial processes inherit it, and
    MongoDB workers rebuild it from `config` around their own store.
    """

    def __init__(
        self,
        store: Any,
        rule: str = "median",
        metric: str | None = None,
        warmup: int = 1,
        startup: int = 5,
        eta: int = 3,
    ):
        self.store, self.metric = store, metric
        self.rule = make_rule(rule, warmup, startup, eta)
        self.config = {
            "rule": rule,
            "metric": metric,
            "warmup": warmup,
            "startup": startup,
            "eta": eta,
        }

    def reporter(self, tid: int) -> Reporter:
        """The Reporter of one trial."""
        return Reporter(tid, self.rule, self.store, self.metric)

    def settle(self, reporter: Reporter, result: dict) -> dict:
        """The trial's final result (a pruned one's fields added); its state stored.

        A pruned trial is pruned whatever the model function did after fit()
        raised TrialPruned: caught it, returned a loss, or failed.
        """
        if reporter.pruned:
            result = dict(result, status="ok", error=None, **reporter.pruned_fields())
        reporter.finish(result_state(result))
        return result

    def record(self, tid: int, result: Mapping[str, Any] | None) -> None:
        """The search process's word on a finished trial (one whose process died too)."""
        state = result_state(result)
        if (
            self.store.states().get(tid) != state
        ):  # the trial's process may have said so
            self.store.finished(tid, state)


CURVES_FILE = "curves.jsonl"  # in the run directory
CURVES_COLLECTION = "hyperasc_curves"  # in the MongoDB database of --mongo


def search_pruning(args: Any, folder: str, handle: Any = None) -> Pruning | None:
    """The search's Pruning from its --prune options; None for --prune none.

    Curves go to the run directory, or with --mongo (`handle` is hyperopt's
    MongoJobs) to the database, where every worker reads them.
    """
    if args.prune == "none":
        return None
    if handle is not None:
        store = MongoCurveStore(handle.db[CURVES_COLLECTION], args.exp_key)
    else:
        store = FileCurveStore(os.path.join(folder, CURVES_FILE))
    return Pruning(
        store,
        args.prune,
        args.prune_metric,
        args.prune_warmup,
        args.prune_startup,
        args.prune_eta,
    )


def shipped_pruning(
    config: Mapping[str, Any] | None, handle: Any, exp_key: str | None
) -> Pruning | None:
    """A MongoDB worker's Pruning, from the settings the driver shipped."""
    if not config or handle is None:
        return None
    return Pruning(MongoCurveStore(handle.db[CURVES_COLLECTION], exp_key), **config)


def count_states(docs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many of hyperopt's finished trial documents are complete, pruned, failed."""
    counts = {COMPLETE: 0, PRUNED: 0, FAIL: 0}
    for doc in docs:
        if doc.get("state") in (2, 3):  # hyperopt's JOB_STATE_DONE, JOB_STATE_ERROR
            counts[result_state(doc.get("result"))] += 1
    return counts


def progress_with_counts(counts: Any) -> Any:
    """fmin's show_progressbar: hyperopt's bar, with `counts()` after the best loss."""
    import contextlib

    from hyperopt.progress import tqdm_progress_callback

    @contextlib.contextmanager
    def progress(initial, total):
        with tqdm_progress_callback(initial, total) as bar:
            yield CountingBar(bar, counts)

    return progress


class CountingBar:
    """Stands in for fmin's tqdm bar; fmin sets its postfix, then updates it."""

    def __init__(self, bar: Any, counts: Any):
        self.bar, self.counts = bar, counts
        self.best = ""

    @property
    def postfix(self) -> str:
        return self.best

    @postfix.setter
    def postfix(self, text: str) -> None:
        self.best = text
        self._show()

    def update(self, n: int) -> None:
        self._show()
        self.bar.update(n)

    def _show(self) -> None:
        counts = self.counts()
        text = f"{counts[COMPLETE]} completed, {counts[PRUNED]} pruned"
        self.bar.set_postfix_str(", ".join(filter(None, [self.best, text])), False)

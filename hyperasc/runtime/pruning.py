"""Per-epoch pruning for a search: stop a trial whose learning curve is hopeless.

The parts live apart so that each can be tested on plain data: the rules
(pruning_rules.py), the curve stores (curve_stores.py) and the Keras callback
with its Reporter (keras_callback.py). This module puts them together for a
search, and ranks pruned trials for the search algorithm.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .curve_stores import (
    CURVES_COLLECTION,
    CURVES_FILE,
    FileCurveStore,
    MongoCurveStore,
)
from .keras_callback import Reporter
from .pruning_rules import (
    COMPLETE,
    FAIL,
    PRUNED,
    higher_is_better,
    make_rule,
    orient,
    pruned_loss,
)


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


def progress_with_counts(
    counts: Callable[[], Mapping[str, int]],
) -> Callable[[int, int], Any]:
    """fmin's show_progressbar: hyperopt's bar, with `counts()` after the best loss."""
    import contextlib

    from hyperopt.progress import tqdm_progress_callback

    @contextlib.contextmanager
    def progress(initial: int, total: int) -> Iterator[CountingBar]:
        with tqdm_progress_callback(initial, total) as bar:
            yield CountingBar(bar, counts)

    return progress


class CountingBar:
    """Stands in for fmin's tqdm bar; fmin sets its postfix, then updates it."""

    def __init__(self, bar: Any, counts: Callable[[], Mapping[str, int]]) -> None:
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

"""Parameter importance: how much the loss depends on each parameter.

A random forest (scikit-learn) learns the loss from the parameters of the
successful trials; a parameter's importance is how much the forest's error
grows when that parameter's values are shuffled among the trials
(permutation importance), as a share of the sum over all parameters.

A parameter not active in a trial (a learning rate of the branch not taken)
gets a value of its own there, outside its range (option -1 for a choice),
so the forest can tell "not active" apart from any real value, and the
permutation moves it with the rest. Everything is seeded: the same run
gives the same bars. Past MAX_TRIALS trials, an even-random sample of
MAX_TRIALS (fixed seed) is used, which bounds the time on 100k trials.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .columns import column
from .run import Run

MIN_TRIALS = 8  # successful trials needed before the bars mean anything
MAX_TRIALS = 2000  # trials the forest learns from at most
SEED = 0


@dataclass
class Importance:
    scores: list[tuple[str, float]] = field(default_factory=list)  # best first
    used: int = 0  # trials the forest learned from
    ok: int = 0  # successful trials in the run
    reason: str | None = None  # why there are no scores


def importance(run: Run, names: list[str] | None = None) -> Importance:
    ok = [t for t in run.trials if t.ok]
    result = Importance(ok=len(ok))
    names = run.param_names if names is None else names
    if len(ok) < MIN_TRIALS:
        result.reason = (
            f"needs at least {MIN_TRIALS} successful trials (this run has {len(ok)})"
        )
        return result
    if not names:
        result.reason = "the run has no parameters"
        return result
    try:
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.inspection import permutation_importance
    except ImportError:
        result.reason = (
            "needs scikit-learn, which is not installed: pip install 'hyperasc[report]'"
        )
        return result
    if len(ok) > MAX_TRIALS:
        ok = sorted(random.Random(SEED).sample(ok, MAX_TRIALS), key=lambda t: t.tid)
    rows: list[list[float]] = [[] for _ in ok]
    for name in names:
        col = column(run, name, ok)
        active = [v for v in col.values if v is not None]
        if col.categorical:
            missing = -1.0
        else:
            low, high = (min(active), max(active)) if active else (0.0, 0.0)
            missing = low - (high - low) - 1.0
        for row, v in zip(rows, col.values):
            row.append(missing if v is None else v)
    losses = [t.loss for t in ok]
    if max(losses) == min(losses):
        result.reason = "every successful trial has the same loss"
        return result
    forest = RandomForestRegressor(
        n_estimators=64, min_samples_leaf=2, random_state=SEED, n_jobs=1
    )
    forest.fit(rows, losses)
    scores = permutation_importance(
        forest, rows, losses, n_repeats=5, random_state=SEED, n_jobs=1
    ).importances_mean
    clipped = [max(float(s), 0.0) for s in scores]
    total = sum(clipped)
    if total <= 0:
        result.reason = "no parameter changes the forest's prediction of the loss"
        return result
    result.scores = sorted(
        ((n, s / total) for n, s in zip(names, clipped)), key=lambda p: -p[1]
    )
    result.used = len(ok)
    return result

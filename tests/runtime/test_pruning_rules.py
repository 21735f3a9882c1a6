"""Pruning rules (median, ASHA) on plain curves, and the pruned-trial ranking."""

from __future__ import annotations

import math

import pytest

from hyperasc.runtime import pruning_rules
from hyperasc.runtime.pruning_rules import COMPLETE, FAIL, PRUNED

from .conftest import COMPLETED


def first_prune(rule, curve, others=COMPLETED, states=None, tid=99):
    """Feed `curve` to the rule a step at a time; the step it prunes at, or None."""
    states = {t: COMPLETE for t in others} if states is None else states
    for step in range(1, len(curve) + 1):
        curves = {**others, tid: curve[:step]}
        if rule.should_prune(tid, curves, states):
            return step
    return None


# --------------------------------------------------------------------------- median


def test_median_prunes_when_best_so_far_is_worse_than_the_median():
    rule = pruning_rules.MedianRule(warmup=1, startup=5)
    # 0.95 <= 1.0 and 0.84 <= 0.85 go on; at step 3 the best, 0.7, is above 0.65.
    assert first_prune(rule, [0.95, 0.84, 0.7, 0.7, 0.7]) == 3
    # Equal to the median is not worse: Vizier stops only strictly worse trials.
    assert first_prune(rule, [1.0, 0.85, 0.65, 0.55, 0.45]) is None
    # A good step earlier keeps counting: the best so far, not the last value.
    assert first_prune(rule, [0.9, 0.3, 5.0, 5.0, 5.0]) is None


def test_median_warmup_delays_the_first_decision():
    assert first_prune(pruning_rules.MedianRule(warmup=1), [2.0, 3.0]) == 1
    assert first_prune(pruning_rules.MedianRule(warmup=2), [2.0, 3.0]) == 2
    # Best so far at step 4 is 0.7 > 0.55.
    assert first_prune(pruning_rules.MedianRule(warmup=4), [0.95, 0.84, 0.7, 0.7]) == 4


def test_median_waits_for_startup_completed_trials():
    four = {t: COMPLETED[t] for t in range(4)}
    assert (
        first_prune(pruning_rules.MedianRule(startup=5), [9.0, 9.0], others=four)
        is None
    )
    assert (
        first_prune(pruning_rules.MedianRule(startup=4), [9.0, 9.0], others=four) == 1
    )
    # Pruned and failed trials are not completed ones, however many there are.
    states = {0: COMPLETE, 1: PRUNED, 2: FAIL, 3: PRUNED, 4: PRUNED}
    rule = pruning_rules.MedianRule(startup=2)
    assert first_prune(rule, [9.0], states=states) is None


def test_median_ignores_pruned_and_running_trials():
    rule = pruning_rules.MedianRule(startup=1)
    others = {0: [1.0, 0.9], 1: [0.1, 0.1], 2: [0.1, 0.1]}
    states = {0: COMPLETE, 1: PRUNED}  # 2 is still running
    # The median of the completed trials alone is 1.0 at step 1, 0.9 at step 2.
    assert first_prune(rule, [0.95, 0.95], others=others, states=states) == 2


def test_completed_trials_keep_their_final_best_after_they_stop():
    assert pruning_rules.value_at([3.0, 1.0, 2.0], 2, complete=False) == 1.0
    assert pruning_rules.value_at([3.0, 1.0], 5, complete=True) == 1.0
    assert pruning_rules.value_at([3.0, 1.0], 5, complete=False) is None
    assert pruning_rules.value_at([], 1, complete=True) is None
    # Completed trials that early-stopped after 2 steps still set the median at step 4.
    short = {t: [1.0, 0.5] for t in range(5)}
    assert (
        first_prune(pruning_rules.MedianRule(warmup=3), [0.9, 0.8, 0.7, 0.6], short)
        == 3
    )


# --------------------------------------------------------------------------- ASHA


def test_asha_rungs():
    rule = pruning_rules.AshaRule(warmup=1, eta=3)
    assert [s for s in range(1, 30) if rule.is_rung(s)] == [1, 3, 9, 27]
    rule = pruning_rules.AshaRule(warmup=2, eta=2)
    assert [s for s in range(1, 30) if rule.is_rung(s)] == [2, 4, 8, 16]


def test_asha_keeps_the_top_third_at_each_rung():
    rule = pruning_rules.AshaRule(warmup=1, startup=5, eta=3)
    # Rung 1 values of COMPLETED: 1.0, 1.1, 0.9, 1.2, 1.0. With the new trial
    # there are 6 peers, so the best 6 // 3 = 2 go on: at most the 2nd, 1.0.
    assert first_prune(rule, [1.0]) is None
    assert first_prune(rule, [1.01]) == 1
    # Between rungs nothing happens; at rung 3 the peers' values are 0.6, 0.7,
    # 0.5, 0.8, 0.65: 0.62 is 3rd of 6, out.
    assert first_prune(rule, [0.8, 5.0, 0.62, 0.1]) == 3
    assert first_prune(rule, [0.8, 5.0, 0.55, 0.1]) is None
    # Past the last rung that a 5-step run can reach (9), it is never stopped.
    assert first_prune(rule, [0.8, 5.0, 0.55, 9.0, 9.0]) is None


def test_asha_warmup_and_startup():
    rule = pruning_rules.AshaRule(warmup=2, startup=5, eta=3)
    assert first_prune(rule, [9.0, 9.0, 9.0]) == 2
    four = {t: COMPLETED[t] for t in range(4)}
    assert first_prune(rule, [9.0, 9.0, 9.0, 9.0, 9.0, 9.0], others=four) is None


def test_asha_counts_every_trial_that_reached_the_rung():
    rule = pruning_rules.AshaRule(warmup=1, startup=1, eta=3)
    # Running and pruned trials that reached rung 1 are peers; a pruned one
    # that did not reach rung 3 is not. Completed trials are peers at any rung.
    others = {0: [2.0], 1: [0.5], 2: [0.6], 3: [0.7, 0.7, 0.7], 4: [0.4, 0.3, 0.2]}
    states = {0: COMPLETE, 1: PRUNED}
    # Rung 1: peers 2.0, 0.5, 0.6, 0.7, 0.4 and 0.55 -> the best 2 are 0.4, 0.5.
    assert first_prune(rule, [0.55], others, states) == 1
    # Rung 3: peers 2.0 (completed), 0.7, 0.2 and 0.45 -> the best 4 // 3 = 1.
    assert first_prune(rule, [0.45, 0.45, 0.45], others, states) == 3
    # Fewer than eta trials at a rung: only the best goes on.
    rule = pruning_rules.AshaRule(warmup=1, startup=1, eta=3)
    assert first_prune(rule, [0.3, 0.3, 0.3], {0: [0.2, 0.2, 0.2]}) == 1


def test_nan_and_inf_values_are_the_worst():
    assert pruning_rules.orient(float("nan"), higher_is_better=False) == math.inf
    assert pruning_rules.orient(0.9, higher_is_better=True) == -0.9
    rule = pruning_rules.MedianRule()
    assert first_prune(rule, [math.inf]) == 1


def test_make_rule():
    assert pruning_rules.make_rule("none") is None
    median = pruning_rules.make_rule("median", warmup=3, startup=2)
    assert isinstance(median, pruning_rules.MedianRule)
    assert (median.warmup, median.startup) == (3, 2)
    asha = pruning_rules.make_rule("asha", warmup=2, startup=0, eta=4)
    assert isinstance(asha, pruning_rules.AshaRule) and asha.eta == 4
    with pytest.raises(ValueError, match="unknown pruning rule"):
        pruning_rules.make_rule("hyperband")
    with pytest.raises(ValueError, match="warm-up"):
        pruning_rules.make_rule("median", warmup=0)
    with pytest.raises(ValueError, match="eta"):
        pruning_rules.make_rule("asha", eta=1)


# --------------------------------------------------------------------------- ranking


def test_pruned_trials_rank_after_completed_ones_by_steps_then_last_value():
    completed = [0.01, 3.5, 1e12, 1e90]
    pruned = {
        "far, good": pruning_rules.pruned_loss(9, 0.30),
        "far, worse": pruning_rules.pruned_loss(9, 0.31),
        "far, diverged": pruning_rules.pruned_loss(9, math.nan),
        "middle, best": pruning_rules.pruned_loss(3, -1e9),
        "early, good": pruning_rules.pruned_loss(1, 0.1),
        "early, bad": pruning_rules.pruned_loss(1, 40.0),
    }
    assert max(completed) < min(pruned.values())
    assert sorted(pruned, key=pruned.get) == list(pruned)
    # The step order holds however far apart the last values are, to 30,000 steps.
    assert pruning_rules.pruned_loss(30001, math.inf) < pruning_rules.pruned_loss(
        30000, -math.inf
    )
    # Close last values stay apart.
    assert pruning_rules.pruned_loss(5, 1.0) < pruning_rules.pruned_loss(5, 1.00001)
    assert all(math.isfinite(v) for v in pruned.values())


def test_higher_is_better():
    assert pruning_rules.higher_is_better("val_accuracy")
    assert pruning_rules.higher_is_better("auc")
    assert pruning_rules.higher_is_better("val_sparse_categorical_accuracy")
    assert not pruning_rules.higher_is_better("val_loss")
    assert not pruning_rules.higher_is_better("mean_absolute_error")

"""SeededAlgorithm: per-trial seeds (so a resumed search samples the same) and warm-start points."""

from __future__ import annotations

import sys

import hyperopt
import numpy as np
import pytest

from hyperasc.runtime.algorithm import ALGORITHMS, SeededAlgorithm, point_trial
from hyperasc.runtime.errors import RunError
from hyperasc.runtime.values import real_values

from .conftest import PARAMETERS, loss_of, make_space


def search(algo, max_evals, trials=None, rstate_seed=0) -> hyperopt.Trials:
    trials = hyperopt.Trials() if trials is None else trials
    hyperopt.fmin(
        loss_of,
        make_space(),
        algo=algo,
        max_evals=max_evals,
        trials=trials,
        rstate=np.random.default_rng(rstate_seed),
        show_progressbar=False,
    )
    return trials


def sampled(trials) -> list[dict]:
    return [real_values(PARAMETERS, make_space(), t) for t in trials.trials]


@pytest.mark.parametrize("name", ["tpe", "anneal", "rand"])
def test_a_search_in_two_parts_samples_what_one_search_does(name):
    whole = search(SeededAlgorithm(name, 3, PARAMETERS), 24)
    # The second part starts in a fresh fmin, whose own seed stream starts afresh.
    parts = search(SeededAlgorithm(name, 3, PARAMETERS), 12)
    search(SeededAlgorithm(name, 3, PARAMETERS), 24, trials=parts)
    assert sampled(parts) == sampled(whole)


def test_the_run_seed_decides_the_samples_not_fmins_rstate():
    a = sampled(search(SeededAlgorithm("tpe", 1, PARAMETERS), 6, rstate_seed=0))
    b = sampled(search(SeededAlgorithm("tpe", 1, PARAMETERS), 6, rstate_seed=99))
    c = sampled(search(SeededAlgorithm("tpe", 2, PARAMETERS), 6, rstate_seed=0))
    assert a == b and a != c


def test_points_are_suggested_first_then_the_algorithm():
    points = [
        {"units": 32, "act": 'str("tanh")', "rate": 0.25, "x": 1.5},
        {"units": 16, "act": 'str("relu")', "rate": None, "x": -2.0},
    ]
    trials = search(SeededAlgorithm("rand", 0, PARAMETERS, points), 5)
    values = sampled(trials)
    assert values[0] == {**points[0], "rate_opt1": 0.25}
    assert values[1] == points[1]
    assert [t["result"]["loss"] for t in trials.trials[:2]] == [
        loss_of(points[0]),
        loss_of(points[1]),
    ]
    assert len(trials.trials) == 5 and all(
        t["result"]["status"] == "ok" for t in trials.trials
    )


def test_every_algorithm_is_offered_and_atpe_names_its_missing_package(monkeypatch):
    assert set(ALGORITHMS) == {"tpe", "rand", "atpe", "anneal"}
    assert SeededAlgorithm("anneal", 0, PARAMETERS).suggest is hyperopt.anneal.suggest
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if it were not installed
    with pytest.raises(RunError, match="pip install lightgbm"):
        SeededAlgorithm("atpe", 0, PARAMETERS)


def test_point_trial_is_a_trial_document_hyperopt_can_evaluate():
    space = make_space()
    domain = hyperopt.base.Domain(loss_of, space)
    trials = hyperopt.Trials()
    values = {"units": 1, "act": 0, "rate": 1, "rate_opt1": 0.1, "x": 2.0}
    doc = point_trial(domain, trials, 7, values)
    assert doc["tid"] == 7 and doc["state"] == hyperopt.JOB_STATE_NEW
    assert doc["misc"]["vals"] == {k: [v] for k, v in values.items()}
    assert doc["misc"]["idxs"] == {k: [7] for k in values}
    trials.insert_trial_docs([doc])
    trials.refresh()
    config = hyperopt.space_eval(
        space, {k: v[0] for k, v in doc["misc"]["vals"].items()}
    )
    assert config == {"units": 32, "act": 'str("relu")', "rate": 0.1, "x": 2.0}
    # An inactive nested parameter gets an empty list, as hyperopt's own algorithms do.
    doc = point_trial(domain, trials, 8, {"units": 0, "act": 0, "rate": 0, "x": 0.0})
    assert (
        doc["misc"]["vals"]["rate_opt1"] == []
        and doc["misc"]["idxs"]["rate_opt1"] == []
    )

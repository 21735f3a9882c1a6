"""Real values (what the model saw) against hyperopt's encoding (choice indices)."""

from __future__ import annotations

import json
import math

import hyperopt
import numpy as np
import pytest

from hyperasc.runtime.errors import RunError
from hyperasc.runtime.values import (
    NESTED,
    check_values,
    flat_values,
    in_branch,
    hyperopt_values,
    jsonable,
    option_index,
    option_value,
    read_points,
    real_values,
    runtime_parameters,
    space_facts,
)

from .conftest import PARAMETERS, make_space, rand_search

BY_NAME = {p["name"]: p for p in PARAMETERS}


def searched(max_evals: int = 30) -> hyperopt.Trials:
    return rand_search(hyperopt.Trials(), max_evals)


def test_jsonable_turns_numpy_and_containers_into_plain_json():
    value = {
        1: np.float32(0.5),
        "t": (1, np.int64(2), [np.bool_(True)]),
        "none": None,
        "obj": object,
    }
    plain = jsonable(value)
    assert plain == {"1": 0.5, "t": [1, 2, [True]], "none": None, "obj": repr(object)}
    assert type(plain["t"][1]) is int and type(plain["1"]) is float
    json.dumps(plain)  # would raise on anything left over


def test_option_values_are_read_as_written_never_parsed():
    # A literal option's value as trials record it; a tuple option (3, 3) is [3, 3].
    param = dict(BY_NAME["units"], values=[[3, 3], [5, 5], "(7, 7)"])
    assert option_value(param, 0, {}) == [3, 3]
    assert option_index(param, (5, 5)) == 1  # the model saw a tuple
    assert option_index(param, [5, 5]) == 1  # --points and trials.jsonl hold a list
    assert option_index(param, "(7, 7)") == 2  # a string option stays a string
    with pytest.raises(ValueError, match="not an option"):
        option_index(param, "(3, 3)")


def test_real_values_are_what_the_model_saw_with_active_nested_values_listed():
    trials = searched()
    nested_seen = plain_seen = False
    for trial in trials.trials:
        values = real_values(PARAMETERS, make_space(), trial)
        vals = trial["misc"]["vals"]
        assert values["units"] == [16, 32][vals["units"][0]]
        assert values["act"] == ['str("relu")', 'str("tanh")'][vals["act"][0]]
        assert values["x"] == vals["x"][0]
        if vals["rate"][0] == 1:
            nested_seen = True
            assert values["rate"] == values["rate_opt1"] == vals["rate_opt1"][0]
        else:
            plain_seen = True
            assert values["rate"] is None and "rate_opt1" not in values
        assert list(values) == [
            p["name"] for p in PARAMETERS if p["name"] in values
        ]  # table order
    assert nested_seen and plain_seen


def test_option_value_of_plain_object_and_nested_options():
    assert option_value(BY_NAME["units"], 1, {}) == 32
    assert (
        option_value(BY_NAME["act"], 0, {}) == 'str("relu")'
    )  # object choices stay source text
    assert option_value(BY_NAME["rate"], 0, {}) is None
    assert option_value(BY_NAME["rate"], 1, {"rate_opt1": 0.125}) == 0.125


def test_hyperopt_values_encode_choices_as_indices():
    point = {"units": 32, "act": 'str("tanh")', "rate": 0.25, "x": -1.5}
    assert hyperopt_values(PARAMETERS, point) == {
        "units": 1,
        "act": 1,
        "rate": 1,
        "rate_opt1": 0.25,
        "x": -1.5,
    }
    point = {"units": 16, "act": 'str("relu")', "rate": None, "x": 0.0}
    assert hyperopt_values(PARAMETERS, point) == {
        "units": 0,
        "act": 0,
        "rate": 0,
        "x": 0.0,
    }


def test_hyperopt_values_round_trip_what_real_values_recorded():
    for trial in searched(15).trials:
        recorded = real_values(PARAMETERS, make_space(), trial)
        vals = {k: v[0] for k, v in trial["misc"]["vals"].items() if v}
        assert hyperopt_values(PARAMETERS, recorded) == vals


@pytest.mark.parametrize(
    "point, words",
    [
        ({"units": 16, "act": 'str("relu")', "rate": None}, "lacks ['x']"),
        (
            {"units": 16, "act": 'str("relu")', "rate": None, "x": 1, "y": 2},
            "unknown names ['y']",
        ),
        (
            {"units": 64, "act": 'str("relu")', "rate": None, "x": 1},
            "64 is not an option of units",
        ),
    ],
)
def test_hyperopt_values_reject_points_outside_the_space(point, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        hyperopt_values(PARAMETERS, point)


def test_option_index_matches_values_not_spellings():
    assert option_index(BY_NAME["units"], 32) == 1
    assert (
        option_index(BY_NAME["units"], 32.0) == 1
    )  # the JSON value 32.0 is the option 32
    assert option_index(BY_NAME["act"], 'str("tanh")') == 1
    assert option_index(BY_NAME["rate"], None) == 0
    assert option_index(BY_NAME["rate"], 0.3) == 1  # a value of the nested uniform
    with pytest.raises(ValueError, match="'relu' is not an option of act"):
        option_index(BY_NAME["act"], "relu")


def test_read_points_loads_and_checks_each_point(tmp_path):
    assert read_points(PARAMETERS, None) == []
    good = [{"units": 16, "act": 'str("relu")', "rate": None, "x": 1.0}]
    path = tmp_path / "points.json"
    path.write_text(json.dumps(good))
    assert read_points(PARAMETERS, str(path)) == good

    cases = {
        "not json": "cannot read --points",
        json.dumps({"units": 16}): "must hold a JSON list of objects",
        json.dumps([1, 2]): "must hold a JSON list of objects",
        json.dumps(
            [{"units": 48, "act": 'str("relu")', "rate": None, "x": 1.0}]
        ): "48 is not an option of units",
    }
    for text, words in cases.items():
        path.write_text(text)
        with pytest.raises(RunError, match=words):
            read_points(PARAMETERS, str(path))
    with pytest.raises(RunError, match="cannot read --points"):
        read_points(PARAMETERS, str(tmp_path / "missing.json"))


# -- the space as built: computed choices and --points checks (issue 17 item 6)

SIZES = [16, 32]
COMPUTED = [
    {
        "name": "n",
        "distribution": "choice",
        "args": ["list(range(3))"],
        "values": [],
        "parent": None,
        "object": False,
        "nested": {},
    },
    {
        "name": "s",
        "distribution": "choice",
        "args": ["SIZES"],
        "values": [],
        "parent": None,
        "object": False,
        "nested": {},
    },
    {
        "name": "lr",
        "distribution": "loguniform",
        "args": ["-5", "0"],
        "values": None,
        "parent": None,
        "object": False,
        "nested": {},
    },
    {
        "name": "k",
        "distribution": "randint",
        "args": ["2", "7"],
        "values": None,
        "parent": None,
        "object": False,
        "nested": {},
    },
]


def computed_space() -> dict:
    hp = hyperopt.hp
    return {
        "n": hp.choice("n", list(range(3))),
        "s": hp.choice("s", list(SIZES)),
        "lr": hp.loguniform("lr", -5, 0),
        "k": hp.randint("k", 2, 7),
    }


def test_space_facts_read_the_space_as_built():
    facts = space_facts({**make_space(), **computed_space()})
    assert facts["n"]["options"] == [0, 1, 2]
    assert facts["s"]["options"] == [16, 32]
    assert facts["x"] == {"options": None, "distribution": "uniform", "args": [-5, 5]}
    assert facts["k"]["args"] == [2, 7] and facts["lr"]["distribution"] == "loguniform"
    assert facts["rate"]["options"] == [None, NESTED]  # option 1 is a distribution


def test_runtime_parameters_fill_in_computed_options_only():
    table = runtime_parameters(
        COMPUTED + PARAMETERS, {**computed_space(), **make_space()}
    )
    assert [p["values"] for p in table[:2]] == [[0, 1, 2], [16, 32]]
    assert table[4:] == PARAMETERS  # recorded options stay as recorded
    assert COMPUTED[0]["values"] == []  # the script's table is left alone
    # Trials of a computed choice round-trip through the filled-in table.
    trials = hyperopt.Trials()
    hyperopt.fmin(
        lambda p: float(p["n"]),
        computed_space(),
        algo=hyperopt.rand.suggest,
        max_evals=8,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    for trial in trials.trials:
        recorded = real_values(table[:4], computed_space(), trial)
        vals = {k: v[0] for k, v in trial["misc"]["vals"].items()}
        assert hyperopt_values(table[:4], recorded) == vals


@pytest.mark.parametrize(
    "point, words",
    [
        ({"n": 1, "s": 16, "lr": math.nan, "k": 3}, "lr = nan is not a finite number"),
        ({"n": 1, "s": 16, "lr": 2.0, "k": 3}, "lr = 2.0 is outside [0.00673795, 1]"),
        ({"n": 1, "s": 16, "lr": "big", "k": 3}, "lr = 'big' is not a number"),
        ({"n": 1, "s": 16, "lr": 0.1, "k": 7}, "k = 7 is outside [2, 7)"),
        ({"n": 1, "s": 16, "lr": 0.1, "k": 3.5}, "k = 3.5 is not an integer"),
        ({"n": 1, "s": 16, "lr": 0.1, "k": True}, "k = True is not a number"),
        ({"n": 3, "s": 16, "lr": 0.1, "k": 3}, "3 is not an option of n"),
        ({"n": True, "s": 16, "lr": 0.1, "k": 3}, "True is not an option of n"),
        ({"n": math.nan, "s": 16, "lr": 0.1, "k": 3}, "nan is not an option of n"),
        ({"n": 1, "s": 16, "lr": 0.1, "k": 3, "m": 1}, "unknown names ['m']"),
        ({"n": 1, "s": 16, "lr": 0.1}, "lacks ['k']"),
    ],
)
def test_read_points_checks_every_value_against_the_space(tmp_path, point, words):
    table = runtime_parameters(COMPUTED, computed_space())
    path = tmp_path / "points.json"
    good = {"n": 2, "s": 32, "lr": 1.0, "k": 2}
    path.write_text(json.dumps([good, point]))
    with pytest.raises(RunError) as caught:
        read_points(table, str(path), computed_space())
    message = str(caught.value)
    assert message.startswith(f"--points {path}: point 1: ")
    assert words in message and "\n" not in message
    path.write_text(json.dumps([good]))
    assert read_points(table, str(path), computed_space()) == [good]


def test_check_values_passes_what_fits_and_names_what_does_not():
    facts = space_facts(make_space())
    check_values(PARAMETERS, facts, {"units": 1, "x": 5, "rate": 1, "rate_opt1": 0.5})
    with pytest.raises(ValueError, match=r"rate_opt1 = 0.6 is outside \[0, 0.5\]"):
        check_values(PARAMETERS, facts, {"rate_opt1": 0.6})
    with pytest.raises(ValueError, match="x = inf is not a finite number"):
        check_values(PARAMETERS, facts, {"x": math.inf})


# -- conditional parameters (issue 19) ---------------------------------------
# The table the compiler writes for
#     if {{choice(["adam", "sgd", "rmsprop"])}} == "adam":    (named "optimizer")
#         lr = {{loguniform(-9, -2)}}                          optimizer=adam.lr
#     else:
#         momentum = {{uniform(0, 0.9)}}                       optimizer=sgd|rmsprop.momentum
def _record(name, distribution, values=None, parent=None, active=None):
    return {
        "name": name,
        "distribution": distribution,
        "args": [],
        "values": values,
        "parent": parent,
        "active": active,
        "object": False,
        "nested": {},
    }


CONDITIONAL = [
    _record("optimizer", "choice", ["adam", "sgd", "rmsprop"]),
    _record("optimizer=adam.lr", "loguniform", None, "optimizer", [0]),
    _record("optimizer=sgd|rmsprop.momentum", "uniform", None, "optimizer", [1, 2]),
]


def conditional_space() -> dict:
    momentum = hyperopt.hp.uniform("optimizer=sgd|rmsprop.momentum", 0, 0.9)
    lr = hyperopt.hp.loguniform("optimizer=adam.lr", -9, -2)
    return {
        "optimizer": hyperopt.hp.choice(
            "optimizer",
            [
                {"": "adam", "optimizer=adam.lr": lr},
                {"": "sgd", "optimizer=sgd|rmsprop.momentum": momentum},
                {"": "rmsprop", "optimizer=sgd|rmsprop.momentum": momentum},
            ],
        )
    }


def test_flat_values_spread_a_choices_option_dict_and_leave_other_dicts_alone():
    sampled = {
        "optimizer": {"": "sgd", "optimizer=sgd|rmsprop.momentum": 0.5},
        "units": {"": 1},  # not a choice with conditional parameters: a plain value
    }
    assert flat_values(CONDITIONAL, sampled) == {
        "optimizer": "sgd",
        "optimizer=sgd|rmsprop.momentum": 0.5,
        "units": {"": 1},
    }


def test_real_values_record_only_the_active_parameters():
    space = conditional_space()
    trials = hyperopt.Trials()
    hyperopt.fmin(
        lambda p: 0.0,
        space,
        hyperopt.rand.suggest,
        30,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    seen = set()
    for trial in trials.trials:
        values = real_values(CONDITIONAL, space, trial)
        seen.add(values["optimizer"])
        expected = (
            {"optimizer", "optimizer=adam.lr"}
            if values["optimizer"] == "adam"
            else {"optimizer", "optimizer=sgd|rmsprop.momentum"}
        )
        assert set(values) == expected
        # and back: what trials.jsonl holds is a point that fits
        encoded = hyperopt_values(CONDITIONAL, values)
        assert encoded == {k: v[0] for k, v in trial["misc"]["vals"].items() if len(v)}
    assert seen == {"adam", "sgd", "rmsprop"}


def test_points_need_the_active_parameters_and_refuse_inactive_ones():
    assert hyperopt_values(
        CONDITIONAL, {"optimizer": "rmsprop", "optimizer=sgd|rmsprop.momentum": 0.1}
    ) == {"optimizer": 2, "optimizer=sgd|rmsprop.momentum": 0.1}
    with pytest.raises(
        ValueError,
        match="lacks optimizer=adam.lr, which optimizer = 'adam' makes active",
    ):
        hyperopt_values(CONDITIONAL, {"optimizer": "adam"})
    with pytest.raises(
        ValueError, match="gives optimizer=sgd\\|rmsprop.momentum, not active"
    ):
        hyperopt_values(
            CONDITIONAL,
            {
                "optimizer": "adam",
                "optimizer=adam.lr": 0.01,
                "optimizer=sgd|rmsprop.momentum": 0.1,
            },
        )


def test_a_rebuilt_run_leaves_inactive_labels_empty():
    from hyperasc.runtime.run_directory import rebuild_trials

    records = [
        {
            "tid": 0,
            "status": "ok",
            "loss": 1.0,
            "params": {"optimizer": "adam", "optimizer=adam.lr": 0.01},
        },
        {
            "tid": 1,
            "status": "ok",
            "loss": 0.5,
            "params": {"optimizer": "sgd", "optimizer=sgd|rmsprop.momentum": 0.3},
        },
    ]
    trials = rebuild_trials(records, CONDITIONAL)
    first, second = (t["misc"] for t in trials.trials)
    assert first["idxs"] == {
        "optimizer": [0],
        "optimizer=adam.lr": [0],
        "optimizer=sgd|rmsprop.momentum": [],
    }
    assert second["vals"] == {
        "optimizer": [1],
        "optimizer=adam.lr": [],
        "optimizer=sgd|rmsprop.momentum": [0.3],
    }
    # TPE goes on from such a history
    space = conditional_space()
    hyperopt.fmin(
        lambda p: 0.0,
        space,
        hyperopt.tpe.suggest,
        4,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert len(trials.trials) == 4


def test_in_branch_tells_conditional_parameters_from_nested_ones():
    described = {p["name"]: p for p in CONDITIONAL + PARAMETERS}
    assert in_branch(described["optimizer=adam.lr"], described)
    assert not in_branch(described["optimizer"], described)
    assert not in_branch(described["rate_opt1"], described)  # nested in an option

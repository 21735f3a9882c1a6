"""Real values (what the model saw) against hyperopt's encoding (choice indices)."""

from __future__ import annotations

import json

import hyperopt
import numpy as np
import pytest

from hyperasc.runtime.errors import RunError
from hyperasc.runtime.values import (
    hyperopt_values,
    jsonable,
    option_index,
    option_value,
    read_points,
    real_values,
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

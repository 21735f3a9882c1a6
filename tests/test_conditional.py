"""Conditional parameters (issue 19): a handle in a branch that a choice decides is a
parameter of the options that take that branch, named after them."""

from __future__ import annotations

import json
import textwrap

import hyperopt
import pytest

from helpers import analyse_text, compile_text, invoke, model_file

from hyperasc.diagnostics import render
from hyperasc.runtime.values import flat_values

ISSUE = """\
if {{choice(["adam", "sgd"])}} == "adam":
    optimizer = Adam(learning_rate={{loguniform(-9, -2)}})
else:
    optimizer = SGD(learning_rate={{loguniform(-9, -2)}}, momentum={{uniform(0, 0.9)}})
return 0
"""


def tree(body: str, **kwargs) -> dict:
    """{name: (parent, active options)} in the space's order."""
    return {
        p.name: (p.parent, list(p.branch) if p.branch is not None else None)
        for p in analyse_text(model_file(body), **kwargs).space.parameters
    }


def notes(body: str) -> list[str]:
    return [
        d.message
        for d in analyse_text(model_file(body)).warnings
        if d.severity == "note"
    ]


def test_the_issue_example_nests_each_branch_under_its_option():
    assert tree(ISSUE) == {
        "optimizer": (None, None),
        "optimizer=adam.learning_rate": ("optimizer", [0]),
        "optimizer=sgd.learning_rate": ("optimizer", [1]),
        "optimizer=sgd.momentum": ("optimizer", [1]),
    }
    assert notes(ISSUE) == []


def test_flat_space_keeps_every_handle_top_level_with_the_old_names():
    assert tree(ISSUE, flat_space=True) == {
        "if_cond": (None, None),
        "learning_rate": (None, None),
        "learning_rate_1": (None, None),
        "momentum": (None, None),
    }


@pytest.mark.parametrize(
    "test, active, other",
    [
        ("opt == 'b'", [1], [0, 2]),
        ("'b' == opt", [1], [0, 2]),
        ("opt != 'b'", [0, 2], [1]),
        ("opt in ('a', 'c')", [0, 2], [1]),
        ("opt in ['a']", [0], [1, 2]),
        ("opt not in {'a', 'c'}", [1], [0, 2]),
        ("not opt == 'a'", [1, 2], [0]),
        ("opt == 'a' or opt == 'c'", [0, 2], [1]),
        ("opt != 'a' and opt != 'b'", [2], [0, 1]),
    ],
)
def test_comparisons_with_constants(test, active, other):
    body = f"""\
    opt = {{{{choice(['a', 'b', 'c'])}}}}
    if {test}:
        x = {{{{uniform(0, 1)}}}}
    else:
        y = {{{{uniform(0, 1)}}}}
    return 0
    """
    space = tree(body)
    [(x_name, x)] = [(n, v) for n, v in space.items() if n.endswith(".x")]
    [(y_name, y)] = [(n, v) for n, v in space.items() if n.endswith(".y")]
    assert x == ("opt", active) and y == ("opt", other)
    labels = ["a", "b", "c"]
    assert x_name == "opt=" + "|".join(labels[i] for i in active) + ".x"
    assert y_name == "opt=" + "|".join(labels[i] for i in other) + ".y"


def test_ordering_comparisons_with_numbers():
    body = """\
    layers = {{choice([1, 2, 3])}}
    if layers > 1:
        second = {{choice([8, 16])}}
    if 3 <= layers:
        third = {{choice([8, 16])}}
    if layers < 'x':
        never = {{uniform(0, 1)}}
    return 0
    """
    assert tree(body) == {
        "layers": (None, None),
        "layers=2|3.second": ("layers", [1, 2]),
        "layers=3.third": ("layers", [2]),
        "never": (None, None),  # 1 < 'x' fails in the model too: left alone
    }


def test_truthiness_and_identity_of_true_false_none():
    body = """\
    flag = {{choice([True, False, None])}}
    if flag:
        a = {{uniform(0, 1)}}
    if flag is None:
        b = {{uniform(0, 1)}}
    if flag is not False:
        c = {{uniform(0, 1)}}
    return 0
    """
    assert tree(body) == {
        "flag": (None, None),
        "flag=True.a": ("flag", [0]),
        "flag=None.b": ("flag", [2]),
        "flag=True|None.c": ("flag", [0, 2]),
    }


def test_elif_chain_each_branch_gets_what_the_earlier_tests_left():
    body = """\
    kind = {{choice(['dense', 'conv', 'lstm', 'gru'])}}
    if kind == 'dense':
        units = {{choice([32, 64])}}
    elif kind == 'conv':
        filters = {{choice([8, 16])}}
    elif kind in ('lstm', 'dense'):
        cells = {{choice([4, 8])}}
    else:
        dropout = {{uniform(0, 0.5)}}
    return 0
    """
    assert tree(body) == {
        "kind": (None, None),
        "kind=dense.units": ("kind", [0]),
        "kind=conv.filters": ("kind", [1]),
        "kind=lstm.cells": ("kind", [2]),  # 'dense' took the first branch
        "kind=gru.dropout": ("kind", [3]),
    }


def test_nested_branches_nest_the_choices():
    body = """\
    opt = {{choice(['adam', 'sgd'])}}
    if opt == 'sgd':
        if {{choice([True, False])}}:
            momentum = {{uniform(0, 0.9)}}
        lr = {{loguniform(-9, -2)}}
    return 0
    """
    assert tree(body) == {
        "opt": (None, None),
        # The inner choice's branch only assigns a handle: nothing names the choice.
        "opt=sgd.if_cond": ("opt", [1]),
        "opt=sgd.if_cond=True.momentum": ("opt=sgd.if_cond", [0]),
        "opt=sgd.lr": ("opt", [1]),
    }


def test_a_test_repeated_inside_its_branch_narrows_the_options():
    body = """\
    opt = {{choice(['a', 'b', 'c'])}}
    if opt != 'a':
        if opt != 'b':
            x = {{uniform(0, 1)}}
    return 0
    """
    assert tree(body)["opt=c.x"] == ("opt", [2])


def test_conditional_expression():
    body = """\
    width = {{choice([True, False])}}
    units = 8 if width else {{quniform(1, 4, 1)}}
    act = {{choice(['relu', 'elu'])}} if {{choice([0, 1])}} == 1 else 'linear'
    return 0
    """
    assert tree(body) == {
        "width": (None, None),
        "width=False.units": ("width", [1]),
        "act": (None, None),
        "act=1.act": ("act", [1]),
    }


def test_a_choice_in_an_if_test_is_named_after_what_its_branch_builds():
    body = """\
    if {{choice(['adam', 'sgd'])}} == 'adam':
        optimizer = 'adam'
    if {{choice([True, False])}}:
        model.add(Dropout({{uniform(0, 0.5)}}))
    if {{choice(['a', 'b'])}} == 'a':
        pass
    return 0
    """
    assert list(tree(body)) == [
        "optimizer",
        "Dropout",
        "Dropout=True.Dropout",
        "if_cond",  # the branch says nothing: the statement's name, as before
    ]


def test_option_labels_fall_back_to_the_index_where_the_text_is_unsafe():
    body = """\
    rate = {{choice([0.1, 0.01, -3, 'a b', 'x.y', 'k=v', 'p|q', 'ok', 'z' * 1])}}
    if rate in (0.1, 0.01, -3, 'a b', 'x.y', 'k=v', 'p|q', 'ok'):
        x = {{uniform(0, 1)}}
    return 0
    """
    # `'z' * 1` is not a literal: the choice decides nothing
    assert tree(body) == {"rate": (None, None), "x": (None, None)}
    body = body.replace(", 'z' * 1", ", 'zz'")
    assert "rate=#0|#1|-3|#3|#4|#5|#6|ok.x" in tree(body)


def test_explicit_names_win_and_nest_the_same():
    body = """\
    opt = {{choice('optimizer', ['adam', 'sgd'])}}
    if opt == 'sgd':
        lr = {{loguniform('sgd lr', -9, -2)}}
    return 0
    """
    assert tree(body) == {"optimizer": (None, None), "sgd lr": ("optimizer", [1])}


def test_a_name_from_the_branch_clashing_with_another_is_numbered():
    body = """\
    opt = {{choice(['a', 'b'])}}
    if opt == 'a':
        x = {{uniform(0, 1)}}
        x = {{uniform(0, 2)}}
    return 0
    """
    assert list(tree(body)) == ["opt", "opt=a.x", "opt=a.x_1"]


# -- what the compiler cannot prove: unconditional, with a note ---------------


def test_a_rebound_name_is_not_a_choice():
    body = """\
    opt = {{choice(['adam', 'sgd'])}}
    if opt == 'sgd':
        lr = {{loguniform(-9, -2)}}
    opt = 'adam'
    return 0
    """
    assert tree(body) == {"opt": (None, None), "lr": (None, None)}
    assert notes(body) == [
        "'lr' is not conditional on the if at line 7: its test reads 'opt', "
        "which is bound again at line 9"
    ]


@pytest.mark.parametrize(
    "binding",
    ["for opt in []: pass", "global opt", "opt += ''", "del opt", "import opt"],
)
def test_every_other_binding_counts(binding):
    body = f"""\
    opt = {{{{choice(['adam', 'sgd'])}}}}
    {binding}
    if opt == 'sgd':
        lr = {{{{loguniform(-9, -2)}}}}
    return 0
    """
    assert tree(body)["lr"] == (None, None)
    assert "which is bound again" in notes(body)[0]


def test_a_name_bound_in_a_nested_function_is_another_variable():
    body = """\
    def inner():
        opt = {{choice(['adam', 'sgd'])}}
        return opt
    if opt == 'sgd':
        lr = {{loguniform(-9, -2)}}
    return inner()
    """
    assert tree(body)["lr"] == (None, None)


def test_an_if_in_a_loop_body_keeps_its_handles_unconditional():
    body = """\
    opt = {{choice(['a', 'b'])}}
    for _ in range(3):
        if opt == 'a':
            x = {{uniform(0, 1)}}
    return [{{uniform(0, 1)}} if opt == 'b' else 0 for _ in range(2)]
    """
    assert tree(body) == {
        "opt": (None, None),
        "x": (None, None),
        "return_value": (None, None),
    }
    assert notes(body) == [
        "'x' is not conditional on the if at line 8: it is in a loop body, and "
        "hyperasc makes a handle conditional only on a test that runs once per trial",
        "'return_value' is not conditional on the conditional expression at line "
        "10: it is in a loop body, and hyperasc makes a handle conditional only on "
        "a test that runs once per trial",
    ]


def test_a_loop_inside_a_branch_keeps_the_branch():
    body = """\
    opt = {{choice(['a', 'b'])}}
    if opt == 'a':
        for _ in range(3):
            x = {{uniform(0, 1)}}
    return 0
    """
    assert tree(body)["opt=a.x"] == ("opt", [0])


def test_a_test_that_is_not_a_comparison_with_constants():
    body = """\
    opt = {{choice(['a', 'b'])}}
    if opt == 'a' and a > 1:
        x = {{uniform(0, 1)}}
    if opt.startswith('b'):
        y = {{uniform(0, 1)}}
    return 0
    """
    assert tree(body)["x"] == (None, None) and tree(body)["y"] == (None, None)
    assert notes(body) == [
        "'x' is not conditional on the if at line 7: its test is not a comparison "
        "of one choice with constants",
        "'y' is not conditional on the if at line 9: its test is not a comparison "
        "of one choice with constants",
    ]


def test_inside_a_proved_branch_an_unproved_one_keeps_the_outer_condition():
    body = """\
    opt = {{choice(['a', 'b'])}}
    if opt == 'a':
        if a > 1 or opt == 'b':
            x = {{uniform(0, 1)}}
    return 0
    """
    assert tree(body)["opt=a.x"] == ("opt", [0])
    assert notes(body)[0].startswith(
        "'opt=a.x' is not conditional on the if at line 8: its test is not"
    )


HELPER = """\
def data():
    return 1, 2


def make_sgd():
    return SGD(momentum={{uniform(0, 0.9)}})


def create_model(a, b):
    opt = {{choice(['adam', 'sgd', 'rmsprop'])}}
"""


def helper_tree(body: str):
    text = HELPER + textwrap.indent(textwrap.dedent(body), "    ")
    analysis = analyse_text(text)
    found = {p.name: (p.parent, p.branch) for p in analysis.space.parameters}
    return found, [d.message for d in analysis.warnings if d.severity == "note"]


def test_a_helper_called_only_in_one_branch_is_conditional():
    found, found_notes = helper_tree("if opt == 'sgd':\n    o = make_sgd()\nreturn 0\n")
    assert found["opt=sgd.momentum"] == ("opt", (1,)) and found_notes == []


def test_a_helper_called_from_both_branches_stays_unconditional():
    found, found_notes = helper_tree(
        "if opt == 'sgd':\n    o = make_sgd()\nelse:\n    o = make_sgd()\nreturn 0\n"
    )
    assert found["momentum"] == (None, None)
    assert found_notes == [
        "'momentum' stays unconditional: it is in make_sgd(), called from every "
        "branch of the choice (lines 12, 14)"
    ]


def test_a_helper_reached_another_way_stays_unconditional():
    found, found_notes = helper_tree(
        "if opt == 'sgd':\n    o = make_sgd()\nfallback = make_sgd\nreturn 0\n"
    )
    assert found["momentum"] == (None, None)
    assert found_notes == [
        "'momentum' stays unconditional: it is in make_sgd(), which also runs "
        "outside the branch, at line 13"
    ]


def test_two_branches_of_three_make_one_node_shared_by_both_options():
    body = """\
    opt = {{choice(['adam', 'sgd', 'rmsprop'])}}
    if opt != 'adam':
        momentum = {{uniform(0, 0.9)}}
    return 0
    """
    script = compile_text(model_file(body))
    assert '_hx_branch0 = _hx_hp.uniform("opt=sgd|rmsprop.momentum", 0, 0.9)' in script
    assert script.count('"opt=sgd|rmsprop.momentum": _hx_branch0') == 2
    namespace: dict = {}
    exec(script.split("# ---- Model")[0], namespace)
    space = namespace["_hx_space"]()
    table = namespace["_hx_PARAMETERS"]
    seen = set()
    for seed in range(30):
        values = flat_values(
            table, hyperopt.pyll.stochastic.sample(space, rng=_rng(seed))
        )
        assert ("opt=sgd|rmsprop.momentum" in values) == (values["opt"] != "adam")
        seen.add(values["opt"])
    assert seen == {"adam", "sgd", "rmsprop"}


def _rng(seed):
    import numpy as np

    return np.random.default_rng(seed)


def test_the_script_is_byte_identical_and_notes_render_in_compiler_style():
    text = model_file(ISSUE)
    assert compile_text(text) == compile_text(text)
    body = "opt = {{choice(['a', 'b'])}}\nopt = 1\nif opt == 'a':\n    x = {{uniform(0, 1)}}\nreturn 0\n"
    [note] = [
        d for d in analyse_text(model_file(body)).warnings if d.severity == "note"
    ]
    shown = render(note, "model.py", model_file(body).splitlines())
    assert shown.startswith(
        "model.py:9:13: note: 'x' is not conditional on the if at line 8: its test "
        "reads 'opt', which is bound again at line 7"
    )
    assert shown.splitlines()[1:] == [
        "            x = {{uniform(0, 1)}}",
        "                ^",
        "  hint: bind the choice to a name once; give a changed value a name of its own",
    ]


def test_hyperasc_space_shows_the_tree_and_its_json_the_branches(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(model_file(ISSUE))
    shown = invoke(["space", str(path)])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[1].startswith("optimizer ")
    assert lines[2].startswith("  optimizer=adam.learning_rate ")
    assert lines[4].startswith("  optimizer=sgd.momentum ")
    records = json.loads(invoke(["space", str(path), "--json"]).stdout)
    assert [(r["parent"], r["active"]) for r in records["parameters"]] == [
        (None, None),
        ("optimizer", [0]),
        ("optimizer", [1]),
        ("optimizer", [1]),
    ]
    flat = invoke(["space", str(path), "--flat-space"]).stdout.splitlines()
    assert [line.split()[0] for line in flat[1:]] == [
        "if_cond",
        "learning_rate",
        "learning_rate_1",
        "momentum",
    ]


def test_compile_flat_space_is_in_the_regenerate_command(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(model_file(ISSUE))
    out = tmp_path / "tune.py"
    result = invoke(["compile", str(path), "-o", str(out), "--flat-space"])
    assert result.exit_code == 0, result.output
    script = out.read_text()
    assert "--flat-space" in script.splitlines()[2]
    assert '"if_cond": _hx_hp.choice("if_cond", ["adam", "sgd"])' in script
    assert "load().flat_values" not in script


# -- end to end: a compiled script records only active parameters -------------

CHEAP = """\
def data():
    return (3.0,)


def create_model(scale):
    kind = {{choice(["adam", "sgd", "rmsprop"])}}
    if kind == "adam":
        lr = {{loguniform(-9, -2)}}
        loss = lr * scale
    elif kind in ("sgd",):
        lr = {{loguniform(-9, -2)}}
        if {{choice([True, False])}}:
            lr = lr * {{uniform(0, 0.9)}}
        loss = lr + 0.1
    else:
        loss = 0.5
    width = 8 if {{choice([True, False])}} else {{quniform(1, 4, 1)}}
    return loss + width * 0.01
"""


def _active_only(params: dict) -> None:
    """Each branch parameter is there exactly when its choice's value takes the branch."""
    assert ("kind=adam.lr" in params) == (params["kind"] == "adam"), params
    assert ("kind=sgd.lr" in params) == (params["kind"] == "sgd"), params
    assert ("kind=sgd.lr_1" in params) == (params["kind"] == "sgd"), params
    momentum = params.get("kind=sgd.lr_1") is True
    assert ("kind=sgd.lr_1=True.lr" in params) == momentum, params
    assert ("width=False.width" in params) == (params["width"] is False), params


@pytest.mark.slow  # runs the compiled script three times (about 6 s)
def test_a_search_records_resumes_and_takes_points_with_active_parameters_only(
    tmp_path,
):
    from helpers import compile_model, records, run_script

    script = compile_model(tmp_path, CHEAP)
    points = tmp_path / "points.json"
    point = {"kind": "sgd", "kind=sgd.lr": 0.001, "kind=sgd.lr_1": False, "width": True}
    points.write_text(json.dumps([point]))
    out = tmp_path / "run"
    done = run_script(
        script, out, "--max-evals", "8", "--seed", "1", "--points", str(points)
    )
    assert done.returncode == 0, done.stderr
    first = records(out)
    assert first[0]["params"] == point
    for record in first:
        assert record["status"] == "ok"
        _active_only(record["params"])
    best = json.loads((out / "best.json").read_text())
    _active_only(best["params"])
    # Without the checkpoint, --resume rebuilds the search from trials.jsonl.
    (out / "checkpoint").unlink()
    done = run_script(script, out, "--max-evals", "14", "--seed", "1", "--resume")
    assert done.returncode == 0, done.stderr
    assert "rebuilding the search from 8 trial(s)" in done.stderr + done.stdout
    again = records(out)
    assert again[:8] == first and len(again) == 14
    for record in again:
        _active_only(record["params"])
    assert {r["params"]["kind"] for r in again} == {"adam", "sgd", "rmsprop"}
    # A point giving an inactive parameter is refused before anything is written.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**point, "kind=adam.lr": 0.1}]))
    refused = run_script(script, tmp_path / "other", "--points", str(bad))
    assert refused.returncode == 1
    assert "gives kind=adam.lr, not active" in refused.stderr
    assert not (tmp_path / "other").exists()


KERAS = """\
import numpy as np
from sklearn.datasets import load_digits
from tensorflow import keras


def data():
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    return x[:600], digits.target[:600], x[600:900], digits.target[600:900]


def create_model(x_train, y_train, x_test, y_test):
    model = keras.Sequential(
        [keras.layers.Input(shape=(64,)), keras.layers.Dense(32, activation="relu")]
    )
    if {{choice([True, False])}}:
        model.add(keras.layers.Dropout({{uniform(0, 0.5)}}))
    model.add(keras.layers.Dense(10, activation="softmax"))
    if {{choice(["adam", "sgd"])}} == "adam":
        optimizer = keras.optimizers.Adam(learning_rate={{loguniform(-7, -3)}})
    else:
        optimizer = keras.optimizers.SGD(
            learning_rate={{loguniform(-5, -1)}}, momentum={{uniform(0, 0.9)}}
        )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return -accuracy
"""


@pytest.mark.slow  # trains Keras models
def test_a_keras_search_with_conditional_optimizer_parameters(tmp_path):
    from helpers import compile_model, records, run_script

    script = compile_model(tmp_path, KERAS)
    out = tmp_path / "run"
    done = run_script(script, out, "--max-evals", "4", "--seed", "2")
    assert done.returncode == 0, done.stderr
    found = records(out)
    assert len(found) == 4 and all(r["status"] == "ok" for r in found)
    for record in found:
        params = record["params"]
        adam = params["optimizer"] == "adam"
        assert ("optimizer=adam.learning_rate" in params) == adam
        assert ("optimizer=sgd.learning_rate" in params) != adam
        assert ("optimizer=sgd.momentum" in params) != adam
        assert ("Dropout=True.Dropout" in params) == (params["Dropout"] is True)
        assert -1.0 <= record["loss"] < 0
    done = run_script(script, out, "--max-evals", "6", "--seed", "2", "--resume")
    assert done.returncode == 0, done.stderr
    assert len(records(out)) == 6


def test_a_choice_is_named_after_the_name_every_branch_builds():
    body = """\
    loss = 0.0
    if {{choice(["adam", "sgd"])}} == "adam":
        lr = {{loguniform(-9, -2)}}
        loss += lr
        optimizer = Adam(lr)
    else:
        optimizer = SGD({{loguniform(-9, -2)}})
    return loss
    """
    # Not `lr` (a handle's own name) nor `loss` (changed, not built): `optimizer`.
    assert tree(body) == {
        "optimizer": (None, None),
        "optimizer=adam.lr": ("optimizer", [0]),
        "optimizer=sgd.SGD": ("optimizer", [1]),
    }


def test_hyperas_conditional_is_the_choice_it_wraps():
    # hyperas's own idiom: conditional(x) returns x. Imported under another
    # name too, and inside the model function.
    body = """\
    from hyperas.distributions import conditional as cond
    if cond({{choice(['linear', 'ridge'])}}) == 'ridge':
        clf = Ridge(alpha={{uniform(0.1, 2)}})
    else:
        clf = Linear()
    return 0
    """
    assert tree(body) == {"clf": (None, None), "clf=ridge.alpha": ("clf", [1])}
    # Without the import, cond() is the user's own function: nothing is proved.
    unproved = body.replace(
        "    from hyperas.distributions import conditional as cond\n", ""
    )
    assert tree(unproved)["alpha"] == (None, None)
    assert any("not a comparison of one choice" in n for n in notes(unproved))


def test_a_call_that_builds_nothing_does_not_name_the_choice():
    body = """\
    if {{choice(["adam", "sgd"])}} == "sgd":
        print("momentum", {{uniform(0, 0.9)}})
    return 0
    """
    assert list(tree(body)) == ["if_cond", "if_cond=sgd.print_arg1"]


@pytest.mark.slow  # trains Keras models in two processes at a time, pruning
def test_parallel_and_pruning_run_a_conditional_space_unchanged(tmp_path):
    from helpers import compile_model, records, run_script

    text = KERAS.replace("epochs=1", "epochs=3")
    script = compile_model(tmp_path, text)
    out = tmp_path / "run"
    done = run_script(
        script, out, "--max-evals", "6", "--seed", "3", "--parallel", "2",
        "--prune", "median", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = records(out)
    assert sorted(r["tid"] for r in found) == list(range(6))
    assert all(r["status"] in ("ok", "pruned") for r in found), found
    for record in found:
        params = record["params"]
        adam = params["optimizer"] == "adam"
        assert ("optimizer=adam.learning_rate" in params) == adam
        assert ("optimizer=sgd.momentum" in params) != adam
    run = json.loads((out / "run.json").read_text())
    assert run["options"]["parallel"] == 2 and run["options"]["prune"] == "median"


@pytest.mark.slow  # starts a local Spark
def test_spark_runs_a_conditional_space(tmp_path):
    import os
    import subprocess
    import sys

    from helpers import compile_model, records

    script = compile_model(tmp_path, CHEAP)
    out = tmp_path / "run"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("PYSPARK_PYTHON", None)
    proc = subprocess.run(
        [sys.executable, str(script), "--spark", "2", "--max-evals", "8",
         "--seed", "4", "--out", str(out), "--quiet"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = records(out)
    assert sorted(r["tid"] for r in found) == list(range(8))
    for record in found:
        assert record["status"] == "ok", record
        _active_only(record["params"])

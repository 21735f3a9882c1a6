"""The objective is named: what the model function returns as the loss, read by the
compiler (compile/objective.py), carried by the script, run.json and best.json, and
shown by the summary with the metric a negated loss stands for."""

from __future__ import annotations

import ast
import json
import textwrap

import pytest

from helpers import (
    EXAMPLE,
    ROOT,
    analyse_text,
    compile_text,
    model_file,
    run_script,
)
from hyperasc.compile.pipeline import analyse
from hyperasc.compile.source import read_source


def objective_of(body: str) -> dict | None:
    return analyse_text(model_file(body)).objective


def line_of(text: str, marker: str) -> int:
    """The first line holding `marker`; "return": the model function's last return."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    return found[-1] if marker == "return" else found[0]


@pytest.mark.parametrize(
    "body, expression, metric, sign, offset",
    [
        (
            """
            acc = {{uniform(0, 1)}}
            return {"loss": -acc, "status": "ok", "model": None}
            """,
            "-acc",
            "acc",
            -1,
            0,
        ),
        (
            """
            score = {{uniform(0, 1)}}
            return dict(loss=1 - score, status="ok")
            """,
            "1 - score",
            "score",
            -1,
            1,
        ),
        (
            """
            h = fit({{uniform(0, 1)}})
            return {"loss": -np.amax(h.history["val_acc"]), "status": "ok"}
            """,
            '-np.amax(h.history["val_acc"])',
            "val_acc",
            -1,
            0,
        ),
        (
            """
            scores = evaluate({{uniform(0, 1)}})
            return -scores[1]
            """,
            "-scores[1]",
            "scores[1]",
            -1,
            0,
        ),
        (
            """
            clf = fit({{uniform(0, 1)}})
            return {"loss": -clf.score(a, b)}
            """,
            "-clf.score(a, b)",
            "score",
            -1,
            0,
        ),
        (
            """
            acc = {{uniform(0, 1)}}
            return {"loss": -1 * acc}
            """,
            "-1 * acc",
            "acc",
            -1,
            0,
        ),
        (
            """
            val_loss = {{uniform(0, 1)}}
            return {"loss": val_loss + 0, "status": "ok"}
            """,
            "val_loss + 0",
            None,
            1,
            0,
        ),
        (
            """
            mse = {{uniform(0, 1)}}
            return mse * 2
            """,
            "mse * 2",
            None,
            1,
            0,
        ),
    ],
    ids=[
        "negated",
        "one-minus",
        "history-key",
        "bare-subscript",
        "method",
        "times",
        "plain",
        "bare",
    ],
)
def test_the_loss_and_the_metric_it_negates(body, expression, metric, sign, offset):
    text = model_file(body)
    record = analyse_text(text).objective
    assert record == {
        "expression": expression,
        "function": "create_model",
        "line": line_of(text, "return"),
        "metric": metric,
        "sign": sign,
        "offset": offset,
    }


def test_a_dict_built_in_a_variable():
    text = model_file("""
        result = {"status": "ok"}
        acc = {{uniform(0, 1)}}
        result["loss"] = -acc
        return result
        """)
    record = analyse_text(text).objective
    assert record["expression"] == "-acc" and record["metric"] == "acc"
    assert record["line"] == line_of(text, 'result["loss"]')
    text = model_file("""
        acc = {{uniform(0, 1)}}
        out = {"loss": 1 - acc, "status": "ok"}
        return out
        """)
    record = analyse_text(text).objective
    assert (record["expression"], record["offset"]) == ("1 - acc", 1)
    assert record["line"] == line_of(text, "out = ")


def test_a_local_name_assigned_once_is_followed_to_its_value():
    text = model_file("""
        accuracy = {{uniform(0, 1)}}
        loss = -accuracy
        return {"loss": loss, "status": "ok"}
        """)
    record = analyse_text(text).objective
    assert record["expression"] == "-accuracy" and record["metric"] == "accuracy"
    assert record["line"] == line_of(text, "loss = -accuracy")  # where it is computed
    # A name bound twice is shown as written, never guessed at.
    record = objective_of("""
        best = 0
        for v in [{{uniform(0, 1)}}]:
            best = max(best, v)
        return {"loss": best}
        """)
    assert (record["expression"], record["metric"]) == ("best", None)
    # A handle is shown as written.
    assert objective_of("acc = {{uniform(0, 1)}}\nreturn -acc\n")["expression"] == (
        "-acc"
    )
    assert objective_of("loss = {{uniform(0, 1)}}\nreturn loss\n")["expression"] == (
        "{{uniform(0, 1)}}"
    )


def test_returns_that_agree_make_one_record_and_failures_are_left_out():
    text = model_file("""
        acc = {{uniform(0, 1)}}
        if acc > 2:
            return {"loss": None, "status": STATUS_FAIL}
        if acc > 1:
            return {"loss": -acc, "status": "ok"}
        return {"loss": -acc, "status": "ok"}
        """)
    record = analyse_text(text).objective
    assert record["expression"] == "-acc"
    assert record["line"] == line_of(text, 'return {"loss": -acc')  # the first


@pytest.mark.parametrize(
    "body",
    [
        # Two different losses.
        """
        acc = {{uniform(0, 1)}}
        if acc > 0.5:
            return {"loss": -acc}
        return {"loss": 1 - acc}
        """,
        # A user function may return a dict: not a loss the compiler can name.
        """
        return train({{uniform(0, 1)}})
        """,
        # A dict without a loss, or one that may come from elsewhere.
        """
        return {"status": "ok", "x": {{uniform(0, 1)}}}
        """,
        """
        return {**other, "x": {{uniform(0, 1)}}}
        """,
        # A dict changed other than by result["loss"] = ...
        """
        result = {"loss": -{{uniform(0, 1)}}}
        result.update(extra)
        return result
        """,
        # A name bound several times may be a dict.
        """
        r = {{uniform(0, 1)}}
        r = make(r)
        return r
        """,
        # No return with a value.
        """
        print({{uniform(0, 1)}})
        """,
    ],
    ids=[
        "two-losses",
        "user-call",
        "no-loss-key",
        "unpacked",
        "updated",
        "rebound",
        "no-return",
    ],
)
def test_no_record_where_the_compiler_cannot_tell(body):
    assert objective_of(body) is None


def test_nested_functions_returns_are_not_the_models():
    record = objective_of("""
        def metric(y, p):
            return {"loss": 0}

        acc = metric({{uniform(0, 1)}}, 1)
        return {"loss": -acc}
        """)
    assert record["expression"] == "-acc"


def test_the_text_is_one_line_with_the_handles_as_written():
    text = model_file("""
        acc = 1
        return {
            "loss": -(acc  # the accuracy
                      * {{uniform(0, 1)}}),
        }
        """)
    record = analyse_text(text).objective
    assert record["expression"] == "-(acc * {{uniform(0, 1)}})"
    assert record["line"] == line_of(text, '"loss":')


def test_a_decorated_model_function_keeps_the_file_line():
    text = textwrap.dedent("""\
        import functools


        def data():
            return 1, 2


        @functools.lru_cache()
        @functools.wraps(print)
        def create_model(a, b):
            acc = {{uniform(0, 1)}}
            return {"loss": -acc}
        """)
    record = analyse_text(text).objective
    assert record["line"] == line_of(text, "return")


def test_a_notebook_line_is_told_in_its_cell():
    path = ROOT / "tests" / "hyperas_cases" / "hyperas_notebook.ipynb"
    record = analyse(read_source(str(path), path.read_bytes())).objective
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    cell = "".join(cells[int(record["cell"].split("_")[1]) - 1]["source"])
    line = cell.splitlines()[record["line"] - 1]
    assert "'loss': -clf.score(x_test, y_test)" in line
    assert (record["function"], record["metric"]) == ("create_model", "score")


def search_keyword(script: str, name: str):
    """The literal value of a keyword of the script's Search(...) call, or None."""
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Search":
            for kw in node.keywords:
                if kw.arg == name:
                    return ast.literal_eval(kw.value)
    return None


def test_the_script_passes_the_record_to_search():
    text = EXAMPLE.read_text(encoding="utf-8")
    script = compile_text(text, "examples/digits_mlp.py")
    assert search_keyword(script, "objective") == {
        "expression": "-accuracy",
        "function": "create_model",
        "line": line_of(text, 'return {"loss": -accuracy'),
        "metric": "accuracy",
        "sign": -1,
        "offset": 0,
    }
    unknown = compile_text(model_file("return train({{uniform(0, 1)}})\n"))
    assert "objective=" not in unknown


QUICK = """
def data():
    return 3.0


def model(offset):
    x = {{uniform(-5, 5)}}
    accuracy = 1 / (1 + (x - offset) ** 2)
    return {"loss": LOSS, "status": "ok"}
"""


@pytest.mark.slow
def test_run_json_best_json_and_the_summary_name_the_objective(tmp_path):
    text = QUICK.replace("LOSS", "1 - accuracy")
    script = tmp_path / "tune.py"
    script.write_text(compile_text(text))
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "4", "--in-process", "--seed", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {
        "expression": "1 - accuracy",
        "function": "model",
        "line": line_of(text, "return"),
        "metric": "accuracy",
        "sign": -1,
        "offset": 1,
    }
    assert json.loads((out / "run.json").read_text())["objective"] == expected
    best = json.loads((out / "best.json").read_text())
    assert best["objective"] == expected
    rows = dict(
        line.strip().split("  ", 1)
        for line in result.stdout.splitlines()
        if line.startswith("  ") and "  " in line.strip()
    )
    assert (
        rows["objective"].strip()
        == f"loss = 1 - accuracy (model, line {expected['line']})"
    )
    accuracy = 1 - best["loss"]
    assert rows["best loss"].strip() == f"{best['loss']:.6g} (accuracy {accuracy:.6g})"


@pytest.mark.slow
def test_without_a_record_the_files_say_null_and_the_summary_the_loss(tmp_path):
    # `result` is bound twice: it may be a dict, so the compiler names no loss.
    text = QUICK.replace(
        '    return {"loss": LOSS, "status": "ok"}',
        '    result = {"status": "ok"}\n    result = {"loss": -accuracy}\n    return result',
    )
    assert analyse_text(text).objective is None
    script = tmp_path / "tune.py"
    script.write_text(compile_text(text))
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "2", "--in-process", "--seed", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((out / "run.json").read_text())["objective"] is None
    assert json.loads((out / "best.json").read_text())["objective"] is None
    assert "objective" not in result.stdout and "(accuracy" not in result.stdout

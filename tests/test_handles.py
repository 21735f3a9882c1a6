"""Stage 1c: reading the distribution call inside each handle."""

import pytest

from hyperasc.diagnostics import CompileError
from hyperasc.compile.handles import SIGNATURES, parse_handle
from hyperasc.compile.scanner import scan


def parse(inner, prefix="x = "):
    (handle,) = scan(f"{prefix}{{{{{inner}}}}}\n")
    warnings = []
    return parse_handle(handle, warnings), warnings


def parse_error(inner, prefix="x = "):
    with pytest.raises(CompileError) as info:
        parse(inner, prefix)
    return info.value.diagnostics[0]


@pytest.mark.parametrize(
    "inner, dist, args",
    [
        ("choice([1, 2, 3])", "choice", ["[1, 2, 3]"]),
        ("pchoice([(0.3, 'a'), (0.7, 'b')])", "pchoice", ["[(0.3, 'a'), (0.7, 'b')]"]),
        ("randint(10)", "randint", ["10"]),
        ("randint(2, 10)", "randint", ["2", "10"]),
        ("uniform(0, 1)", "uniform", ["0", "1"]),
        ("quniform(0, 100, 5)", "quniform", ["0", "100", "5"]),
        ("loguniform(-5, 0)", "loguniform", ["-5", "0"]),
        ("qloguniform(0, 5, 1)", "qloguniform", ["0", "5", "1"]),
        ("normal(0, 1)", "normal", ["0", "1"]),
        ("qnormal(0, 10, 2)", "qnormal", ["0", "10", "2"]),
        ("lognormal(0, 1)", "lognormal", ["0", "1"]),
        ("qlognormal(0, 1, 1)", "qlognormal", ["0", "1", "1"]),
        ("uniformint(1, 8)", "uniformint", ["1", "8"]),
        ("uniform(low=0, high=1)", "uniform", ["0", "1"]),
        ("uniform(0, high=1)", "uniform", ["0", "1"]),
        ("randint(upper=5)", "randint", ["5"]),
    ],
)
def test_every_distribution(inner, dist, args):
    parsed, warnings = parse(inner)
    assert parsed.dist == dist
    assert parsed.args == args
    assert parsed.explicit_name is None
    assert not warnings


def test_signatures_cover_hyperopt():
    assert set(SIGNATURES) == {
        "choice",
        "pchoice",
        "randint",
        "uniform",
        "quniform",
        "loguniform",
        "qloguniform",
        "normal",
        "qnormal",
        "lognormal",
        "qlognormal",
        "uniformint",
    }


@pytest.mark.parametrize("dist", sorted(SIGNATURES))
def test_explicit_name_on_every_distribution(dist):
    args = {"choice": "[1, 2]", "pchoice": "[(0.5, 1), (0.5, 2)]", "randint": "5"}.get(
        dist
    )
    if args is None:
        args = ", ".join(["1", "2", "1"][: len(SIGNATURES[dist])])
    parsed, _ = parse(f"{dist}('my_name', {args})")
    assert parsed.explicit_name == "my_name"
    assert parsed.dist == dist


def test_explicit_name_and_location():
    parsed, _ = parse("uniform('dropout_in', 0, 1)", prefix="    y = ")
    assert parsed.explicit_name == "dropout_in"
    assert parsed.args == ["0", "1"]
    assert (parsed.line, parsed.column) == (1, 9)  # the handle's `{{`


def test_choice_options_kinds():
    parsed, _ = parse(
        "choice([None, 'relu', 3, Dropout(0.5), layers.Activation('linear')])"
    )
    assert [o.kind for o in parsed.options] == [
        "literal",
        "literal",
        "literal",
        "object",
        "object",
    ]
    assert [o.text for o in parsed.options][3:] == [
        "Dropout(0.5)",
        "layers.Activation('linear')",
    ]
    assert parsed.is_object_choice


def test_choice_of_dicts():
    parsed, _ = parse("choice([{'lr': 0.1}, {'lr': 0.01}])")
    assert [o.text for o in parsed.options] == ["{'lr': 0.1}", "{'lr': 0.01}"]
    assert not parsed.is_object_choice


def test_pchoice_options_and_probabilities():
    parsed, _ = parse("pchoice([(0.2, 'sgd'), (0.8, 'adam')])")
    assert [(o.probability, o.text) for o in parsed.options] == [
        ("0.2", "'sgd'"),
        ("0.8", "'adam'"),
    ]


def test_nested_distribution_in_choice():
    parsed, _ = parse("choice([None, uniform(0, 0.5)])")
    assert [o.kind for o in parsed.options] == ["literal", "nested"]
    nested = parsed.nested[0]
    assert nested.dist == "uniform" and nested.args == ["0", "0.5"]


def test_deeply_nested_distribution():
    parsed, _ = parse("choice([1, choice([2, uniform('deep', 0, 1)])])")
    inner = parsed.nested[0]
    assert inner.dist == "choice"
    assert inner.nested[0].explicit_name == "deep"


def test_multi_line_handle_positions():
    text = "x = {{\n    unifrom(\n        0, 1)\n}}\n"
    (handle,) = scan(text)
    with pytest.raises(CompileError) as info:
        parse_handle(handle, [])
    diagnostic = info.value.diagnostics[0]
    assert (diagnostic.line, diagnostic.column) == (2, 5)
    assert "did you mean 'uniform'" in diagnostic.hint


def test_unknown_call_in_a_choice_is_an_object_option():
    # `unifrom` may be the user's own function: an object option, built per trial.
    parsed, _ = parse("choice([1, unifrom(0, 1)])")
    assert [o.kind for o in parsed.options] == ["literal", "object"]


def test_randint_upper_keyword_and_bounds_check():
    parsed, _ = parse("randint(2, upper=10)")
    assert parsed.args == ["2", "10"]
    assert "upper must be positive" in parse_error("randint(upper=0)").message


def test_free_names_of_bounds():
    parsed, _ = parse("uniform(num_classes, x_train.shape[1])")
    assert parsed.names == {"num_classes", "x_train"}


def test_free_names_skip_comprehension_variables():
    parsed, _ = parse("choice([i * k for i in range(3)])")
    assert parsed.names == {"k", "range"}
    assert parsed.options is None and parsed.options_text == "[i * k for i in range(3)]"


def test_loguniform_between_zero_and_one_warns():
    _, warnings = parse("loguniform(0.0001, 0.1)")
    assert warnings and "exponents" in warnings[0].message
    assert warnings[0].severity == "warning"


@pytest.mark.parametrize(
    "inner, message",
    [
        ("unifrom(0, 1)", "unknown distribution 'unifrom'"),
        ("uniform(0)", "missing argument 'high'"),
        ("uniform(0, 1, 2)", "at most 2 arguments"),
        ("quniform(0, 1)", "missing argument 'q'"),
        ("randint()", "missing argument 'low'"),
        ("uniform(0, 1, foo=2)", "no parameter 'foo'"),
        ("uniform(0, low=1)", "got 'low' twice"),
        ("uniform(*bounds)", "unpacked"),
        ("choice([])", "at least one option"),
        ("pchoice([(0.5, 'a'), (0.6, 'b')])", "sum to 1.1"),
        ("pchoice(['a', 'b'])", "(probability, option) pairs"),
        ("uniform(1, 0)", "less than high"),
        ("quniform(0, 10, 0)", "q must be positive"),
        ("normal(0, -1)", "sigma must be positive"),
        ("randint(0)", "upper must be positive"),
        ("uniform(f'x', 0, 1)", "plain string literal"),
        ("uniform('', 0, 1)", "non-empty"),
        ("3", "must hold a distribution call"),
        ("np.random.uniform(0, 1)", "must hold a distribution call"),
        ("{{uniform(0, 1)}}", "nested handles"),
        ("uniform(0, uniform(0, 1))", "nested as a choice option"),
        ("choice([Dropout(uniform(0, 1))])", "inside an object option"),
        ("choice([Dropout(0.5), uniform(0, 1)])", "cannot share a choice"),
        ("uniform(0 1)", "invalid Python"),
        ("choice([1, 2] 3)", "invalid Python"),
        ("   ", "empty handle"),
    ],
)
def test_bad_handles(inner, message):
    diagnostic = parse_error(inner)
    assert message in diagnostic.message
    assert diagnostic.line == 1


def test_unknown_distribution_hint():
    diagnostic = parse_error("choise([1, 2])")
    assert diagnostic.hint == "did you mean 'choice'?"
    assert diagnostic.column == 7  # at the call, just inside the braces

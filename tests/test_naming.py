"""The naming contract: hyperas-compatible names, fixed where hyperas went wrong."""

import pytest

from hyperasc.diagnostics import CompileError

from helpers import model_file, names_of


def names(body):
    return names_of(model_file(body))


def test_assignment_target():
    assert names("lr = {{uniform(0, 1)}}\nreturn lr\n") == ["lr"]


def test_annotated_and_attribute_and_subscript_targets():
    body = """\
    rate: float = {{uniform(0, 1)}}
    self_ = type('S', (), {})()
    self_.units = {{choice([1, 2])}}
    config = {}
    config['momentum'] = {{uniform(0, 1)}}
    return rate
    """
    assert names(body) == ["rate", "units", "momentum"]


def test_keyword_argument():
    assert names("return dict(batch_size={{choice([16, 32])}})\n") == ["batch_size"]


def test_callee_of_first_positional_argument():
    body = """\
    Dropout = layers = None
    a = [Dropout({{uniform(0, 1)}})]
    b = [layers.Dense({{choice([8, 16])}}, activation={{choice(['relu', 'tanh'])}})]
    return 0
    """
    assert names(body) == ["Dropout", "Dense", "activation"]


def test_dotted_callee_uses_last_attribute():
    assert names("return keras.layers.Dropout({{uniform(0, 1)}})\n") == ["Dropout"]


def test_repeats_are_numbered_in_source_order():
    body = """\
    f = [Dropout({{uniform(0, 1)}}), Dropout({{uniform(0, 1)}}), Dropout({{uniform(0, 0.5)}})]
    return 0
    """
    assert names(body) == ["Dropout", "Dropout_1", "Dropout_2"]


def test_identical_handle_text_gets_each_place_its_own_name():
    body = """\
    units = {{choice([8, 16])}}
    width = {{choice([8, 16])}}
    return units + width
    """
    assert names(body) == ["units", "width"]


def test_if_condition_name_is_deterministic_and_never_the_previous_name():
    body = """\
    model = Dense({{choice([1, 2])}})
    if {{choice(['three', 'four'])}} == 'four':
        pass
    return 0
    """
    first = names(body)
    assert first == names(body)
    assert first[0] == "Dense"
    assert first[1] != "Dense" and first[1] == "if_cond"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("for _ in range({{choice([1, 2, 3])}}):\n    pass\nreturn 0\n", "range"),
        ("while {{choice([False])}}:\n    pass\nreturn 0\n", "while_cond"),
        ("return [i for i in {{choice([[1], [2]])}}]\n", "comprehension"),
        ("return {'momentum': {{uniform(0, 1)}}}\n", "momentum"),
        ("return max(1, {{uniform(0, 1)}})\n", "max_arg1"),
        ("return {{uniform(0, 1)}}\n", "return_value"),
        ("{{uniform(0, 1)}} + 1\nreturn 0\n", "expr"),
        # The walk up stops at the nearest naming context: a call around an expression.
        ("print({{uniform(0, 1)}} + 1)\nreturn 0\n", "print"),
        ("units = {{choice([1, 2])}} * 2\nreturn 0\n", "units"),
        ("assert {{choice([True])}}\nreturn 0\n", "assert_cond"),
        ("x, y = {{choice([(1, 2)])}}\nreturn 0\n", "value"),
    ],
)
def test_context_names(body, expected):
    assert names(body) == [expected]


def test_explicit_name_wins_and_derived_names_avoid_it():
    body = """\
    a = Dropout({{uniform(0, 1)}})
    b = Dropout({{uniform('Dropout', 0, 1)}})
    return 0
    """
    assert names(body) == ["Dropout_1", "Dropout"]


def test_explicit_name_later_in_file_still_reserved():
    body = """\
    lr = {{uniform(0, 1)}}
    other = {{uniform('lr', 0, 1)}}
    lr2 = {{uniform('lr_1', 0, 1)}}
    return 0
    """
    assert names(body) == ["lr_2", "lr", "lr_1"]


def test_duplicate_explicit_names_are_an_error():
    body = """\
    a = {{uniform('rate', 0, 1)}}
    b = {{choice('rate', [1, 2])}}
    return 0
    """
    with pytest.raises(CompileError) as info:
        names(body)
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.message == "duplicate name 'rate'"
    assert diagnostic.line == 7 and "first used at line 6" in diagnostic.hint


def test_nested_distributions_are_named_after_their_choice():
    body = """\
    drop = {{choice([None, uniform(0, 0.5), choice([1, uniform('deep', 0, 1)])])}}
    return 0
    """
    assert names(body) == ["drop", "drop_opt1", "drop_opt2", "deep"]


def test_names_in_helper_functions():
    text = (
        "def block():\n    return Dense({{choice([1, 2])}})\n\n\n"
        "def data():\n    return (1,)\n\n\n"
        "def create_model(x):\n    block()\n    return Dense({{choice([3, 4])}})\n"
    )
    assert names_of(text) == ["Dense", "Dense_1"]


def test_handles_in_comments_and_strings_do_not_count():
    body = """\
    # Dropout({{uniform(0, 1)}})
    s = "Dropout({{uniform(0, 1)}})"
    d = Dropout({{uniform(0, 1)}})
    return 0
    """
    assert names(body) == ["Dropout"]

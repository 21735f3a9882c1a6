"""The end of the closing summary: best trials and kept models (issue 18 item 2)."""

from __future__ import annotations

from hyperasc.runtime.summary import (
    BEST_SHOWN,
    WIDTH,
    best_trials_lines,
    cut,
    kept_models_lines,
    params_text,
    short_value,
)


def test_best_trials_is_a_small_table_best_first():
    best = [
        (3, 0.0123456789, {"units": 64, "rate": 0.000123456, "act": "relu"}),
        (12, 0.5, {"units": 128, "rate": 0.1, "act": "tanh"}),
    ]
    assert best_trials_lines(best) == [
        "Best 2 trials",
        "  tid  loss       params",
        "    3  0.0123457  units=64 rate=0.0001235 act='relu'",
        "   12  0.5        units=128 rate=0.1 act='tanh'",
    ]


def test_at_most_five_rows_each_within_80_columns():
    params = {f"parameter_{i}": "x" * 20 for i in range(6)}
    best = [(tid, tid / 10, params) for tid in range(9)]
    lines = best_trials_lines(best)
    assert lines[0] == f"Best {BEST_SHOWN} trials" and len(lines) == 2 + BEST_SHOWN
    assert all(len(line) <= WIDTH for line in lines)
    assert lines[2].endswith("...") and lines[2].startswith("    0  0     ")


def test_one_trial_needs_no_table():
    assert best_trials_lines([(0, 1.0, {"x": 1})]) == []


def test_values_are_short():
    assert short_value(0.000123456) == "0.0001235" and short_value("a") == "'a'"
    assert short_value(float("nan")) == "nan" and short_value(None) == "None"
    assert params_text({"a": 1, "b": [1, 2]}) == "a=1 b=[1, 2]"
    assert cut("abcdef", 5) == "ab..." and cut("abc", 5) == "abc"


def test_kept_models_and_the_line_that_loads_the_best():
    kept = [(3, "/r/models/trial-3.keras"), (12, "/r/models/trial-12.keras")]
    assert kept_models_lines(kept, 2, "/r/best_model.keras") == [
        "Kept models (--keep-best 2), best first",
        "    3  /r/models/trial-3.keras",
        "   12  /r/models/trial-12.keras",
        'Load the best: keras.models.load_model("/r/models/trial-3.keras")',
    ]
    assert kept_models_lines([], 0, '/my "run"/best_model.keras') == [
        'Load the best: keras.models.load_model("/my \\"run\\"/best_model.keras")'
    ]
    assert kept_models_lines([], 0, None) == []

"""bench/conditional.py: its model files compile, and its summaries say what they claim."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import pytest

from helpers import ROOT, compile_text, space_of

spec = importlib.util.spec_from_file_location(
    "bench_conditional", ROOT / "bench/conditional.py"
)
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench
spec.loader.exec_module(bench)

INF = math.inf


@pytest.mark.parametrize(
    "name, conditional, leaves",
    [
        ("synthetic", 8, {"adam_lr", "sgd_lr", "momentum", "units3", "dropout3"}),
        ("keras", 4, {"learning_rate", "momentum", "Dense"}),
    ],
)
def test_the_bench_models_compile_flat_and_conditional(name, conditional, leaves):
    text = bench.MODELS[name].read_text()
    for flat_space in (False, True):
        script = compile_text(
            text, path=f"bench/{bench.MODELS[name].name}", flat_space=flat_space
        )
        compile(script, "tune.py", "exec")
    flat = space_of(text, flat_space=True)
    assert not [p.name for p in flat if p.parent]
    # The branches' parameters are conditional, however the compiler names them.
    nested = [p.name for p in space_of(text) if p.parent]
    assert len(nested) == conditional
    assert leaves <= {n.rpartition(".")[2] for n in nested}


def test_best_so_far_keeps_the_lowest_loss_seen():
    assert bench.best_so_far([3.0, 1.0, 2.0, INF, 0.5]) == [3.0, 1.0, 1.0, 1.0, 0.5]
    assert bench.best_so_far([INF, 2.0]) == [INF, 2.0]


def test_trials_to_reach_counts_trials_from_one():
    curve = [3.0, 1.0, 1.0, 0.5]
    assert bench.trials_to_reach(curve, 3.0) == 1
    assert bench.trials_to_reach(curve, 1.0) == 2
    assert bench.trials_to_reach(curve, 0.7) == 4
    assert bench.trials_to_reach(curve, 0.4) is None


def test_outcome_wins_ties_and_losses():
    assert bench.outcome(1.0, 0.5) == "win"
    assert bench.outcome(0.5, 1.0) == "loss"
    assert bench.outcome(0.5, 0.5 + 1e-13) == "tie"


def test_summarise_on_made_up_curves():
    flat = [
        bench.best_so_far([4.0, 2.0, 2.0, 2.0]),  # best 2.0 after 2 trials
        bench.best_so_far([4.0, 4.0, 4.0, 1.0]),  # best 1.0 after 4 trials
        bench.best_so_far([3.0, 3.0, 3.0, 3.0]),  # best 3.0 after 1 trial
    ]
    conditional = [
        bench.best_so_far([4.0, 4.0, 1.0, 1.0]),  # reaches 2.0 at 3, ends 1.0: win
        bench.best_so_far(
            [4.0, 3.0, 2.0, 2.0]
        ),  # never reaches 1.0 (5), ends 2.0: loss
        bench.best_so_far([5.0, 3.0, 3.0, 3.0]),  # reaches 3.0 at 2, ends 3.0: tie
    ]
    s = bench.summarise(flat, conditional)
    assert (s["seeds"], s["trials"]) == (3, 4)
    assert s["flat_best"] == [2.0, 1.0, 3.0]
    assert s["conditional_best"] == [1.0, 2.0, 3.0]
    assert s["flat_best_mean"] == pytest.approx(2.0)
    assert s["conditional_best_mean"] == pytest.approx(2.0)
    assert s["best_mean_ratio"] == pytest.approx(1.0)
    assert s["flat_best_median"] == 2.0
    assert s["conditional_best_median"] == 2.0
    assert s["flat_trials_to_best"] == [2, 4, 1]
    assert s["conditional_trials_to_flat_best"] == [3, 5, 2]
    assert s["reached"] == 2
    assert s["trials_to_flat_best_median"] == 3
    assert s["trials_to_flat_best_over_n"] == pytest.approx(3 / 4)
    assert s["trials_to_flat_best_over_flat"] == pytest.approx(3 / 2)
    assert (s["wins"], s["ties"], s["losses"]) == (1, 1, 1)


def test_summarise_ratios_below_one_when_conditional_finds_lower_losses():
    flat = [[4.0, 2.0], [4.0, 4.0]]
    conditional = [[1.0, 1.0], [2.0, 1.0]]
    s = bench.summarise(flat, conditional)
    assert s["best_mean_ratio"] == pytest.approx(1.0 / 3.0)
    assert s["best_median_ratio"] == pytest.approx(1.0 / 3.0)
    assert s["conditional_trials_to_flat_best"] == [1, 1]
    assert s["trials_to_flat_best_over_flat"] == pytest.approx(1 / 1.5)
    assert (s["wins"], s["ties"], s["losses"]) == (2, 0, 0)


def test_summarise_refuses_unpaired_or_ragged_curves():
    with pytest.raises(ValueError):
        bench.summarise([[1.0]], [])
    with pytest.raises(ValueError):
        bench.summarise([[1.0, 1.0]], [[1.0]])


def test_read_losses_orders_by_tid_and_counts_failures_as_inf(tmp_path):
    lines = [
        {"tid": 2, "status": "ok", "loss": 0.5},
        {"tid": 0, "status": "ok", "loss": 1.5},
        {"tid": 1, "status": "fail", "loss": None},
        {"tid": 3, "status": "ok", "loss": float("nan")},
    ]
    text = "\n".join(json.dumps(t) for t in lines) + "\n{not json\n"
    (tmp_path / "trials.jsonl").write_text(text)
    assert bench.read_losses(tmp_path) == [1.5, INF, 0.5, INF]


def test_parse_seeds_takes_a_count_or_a_list():
    assert bench.parse_seeds("3") == [0, 1, 2]
    assert bench.parse_seeds("4,7") == [4, 7]


def test_table_is_markdown_with_right_aligned_numbers():
    text = bench.table([("model", "ratio"), ("synthetic", "0.5")])
    assert text.splitlines() == [
        "| model     | ratio |",
        "| --------- | ----: |",
        "| synthetic |   0.5 |",
    ]


@pytest.mark.slow
def test_the_synthetic_bench_runs_and_repeats_its_numbers(tmp_path, capsys):
    runs = []
    for i in range(2):
        out = tmp_path / f"results-{i}.json"
        argv = ["--models", "synthetic", "--seeds", "2", "--trials", "6"]
        assert bench.main([*argv, "--json", str(out)]) == 0
        runs.append(json.loads(out.read_text())["models"]["synthetic"])
    assert "| synthetic |" in capsys.readouterr().out
    first, second = runs
    assert first["seeds"] == 2 and first["trials"] == 6
    assert len(first["curves"]["flat"]) == 2
    assert all(len(c) == 6 for c in first["curves"]["conditional"])
    for key in ("curves", "flat_best", "conditional_best"):
        assert first[key] == second[key]

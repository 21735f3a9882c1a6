"""SearchLog: what hyperopt's early_stop_fn hook records after each trial."""

from __future__ import annotations

import json
import os

import hyperopt
import pytest

from hyperasc.runtime.run_directory import RunDirectory, trials_from_checkpoint
from hyperasc.runtime.search_log import SearchLog, last_line, made_models
from hyperasc.runtime.trial import TrialScope, run_trial

from .conftest import PARAMETERS, loss_of, make_space, rand_search


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def search(
    tmp_path, fn=loss_of, max_evals=5, early_stop=None, trials=None, resume=False
):
    """fmin as a generated script calls it: the objective through run_trial, SearchLog as early_stop_fn."""
    run = RunDirectory(str(tmp_path))
    trials = run.open(resume, PARAMETERS) if trials is None else trials
    TrialScope.configure(run, 0)
    log = SearchLog(run, trials, make_space(), PARAMETERS, early_stop)
    try:
        rand_search(
            trials,
            max_evals,
            2,
            lambda params: run_trial(fn, params, None),
            log.after_trial,
        )
    except hyperopt.exceptions.AllTrialsFailed:
        pass
    return log, trials


def fails_when_units_is_16(params):
    if params["units"] == 16:
        raise ValueError("sixteen is too few")
    return loss_of(params)


def test_each_finished_trial_is_a_line_and_the_best_is_in_best_json(tmp_path):
    log, trials = search(tmp_path, fails_when_units_is_16, max_evals=8)
    records = lines(tmp_path / "trials.jsonl")
    assert [r["tid"] for r in records] == list(range(8))
    for record, trial in zip(records, trials.trials):
        assert record["params"] == log.trial_record(trial)["params"]
        assert record["start"] <= record["end"] and record["duration"] >= 0
        if record["params"]["units"] == 16:
            assert record["status"] == "fail" and record["loss"] is None
            assert "ValueError: sixteen is too few" in record["error"]
        else:
            assert (
                record["status"] == "ok"
                and record["loss"] == loss_of(record["params"])
                and record["error"] is None
            )
    assert {r["status"] for r in records} == {"ok", "fail"}
    ok = [r for r in records if r["status"] == "ok"]
    best = min(ok, key=lambda r: r["loss"])
    assert json.loads((tmp_path / "best.json").read_text()) == {
        **{k: best[k] for k in ("tid", "loss", "params")},
        "objective": None,  # this log was given no objective record
    }
    checkpoint = (tmp_path / "checkpoint").read_bytes()
    assert len(trials_from_checkpoint(checkpoint).trials) == 8


def test_a_resumed_log_adds_only_the_missing_lines(tmp_path):
    search(tmp_path, max_evals=3)
    path = tmp_path / "trials.jsonl"
    path.write_text(
        "".join(path.read_text().splitlines(keepends=True)[:2])
    )  # the last line was lost
    log, trials = search(tmp_path, max_evals=5, resume=True)
    assert [r["tid"] for r in lines(path)] == [0, 1, 2, 3, 4]
    assert log.recorded == {0, 1, 2, 3, 4}


def test_trial_record_of_a_trial_hyperopt_marked_as_error_and_extra_keys():
    log = SearchLog.__new__(
        SearchLog
    )  # trial_record reads only the space and parameters
    log.space, log.parameters = make_space(), PARAMETERS
    _, trials = search_in_memory(3)
    trial = dict(trials.trials[0], state=hyperopt.JOB_STATE_ERROR)
    trial["misc"] = dict(trial["misc"], error=("ValueError", "bad value"))
    record = log.trial_record(trial)
    assert (record["status"], record["loss"], record["error"]) == (
        "fail",
        None,
        "ValueError: bad value",
    )
    pruned = dict(
        trials.trials[1],
        result={
            **trials.trials[1]["result"],
            "pruned": True,
            "epochs": 2,
            "curve": [1.0],
        },
    )
    record = log.trial_record(pruned)
    assert (record["pruned"], record["epochs"], record["curve"]) == (True, 2, [1.0])
    assert "device" not in record


def search_in_memory(max_evals):
    return None, rand_search(hyperopt.Trials(), max_evals)


def test_best_ignores_failed_and_pruned_trials(tmp_path):
    log, trials = search(tmp_path, max_evals=4)
    best_tid = min(trials.trials, key=lambda t: t["result"]["loss"])["tid"]
    assert log.best(trials)["tid"] == best_tid
    assert len(log.successful(trials)) == 4
    trials.trials[best_tid]["result"]["pruned"] = True
    assert log.best(trials)["tid"] != best_tid
    assert best_tid not in [t["tid"] for t in log.successful(trials)]
    for t in trials.trials:
        t["result"]["status"] = "fail"
    assert log.best(trials) is None


def test_early_stop_counts_trials_without_progress(tmp_path):
    log, trials = search(tmp_path, lambda params: 5.0, max_evals=30, early_stop=3)
    assert len(trials.trials) == 4  # the first sets the best, three more do not beat it
    assert log.stop_reason == "no improvement in 3 trials (--early-stop 3)"
    log, trials = search(tmp_path / "failing", fails_always, max_evals=30, early_stop=2)
    assert (
        len(trials.trials) == 3
    )  # failed trials are no progress either: the first, then two more


def fails_always(params):
    raise RuntimeError("no")


def test_should_stop_without_early_stop_never_stops(tmp_path):
    log, trials = search(tmp_path, lambda params: 5.0, max_evals=6)
    assert len(trials.trials) == 6
    assert (
        log.should_stop(trials, [{"status": "ok"}] * 10) is False
        and log.stop_reason is None
    )


def test_an_asynchronous_poll_with_nothing_new_writes_nothing(tmp_path):
    class Polled(hyperopt.Trials):
        asynchronous = True

    run = RunDirectory(str(tmp_path))
    trials = Polled()
    _, done = search_in_memory(2)
    trials.insert_trial_docs(done._dynamic_trials)
    trials.refresh()
    log = SearchLog(run, trials, make_space(), PARAMETERS)
    assert log.after_trial(trials) == (False, [])
    os.unlink(tmp_path / "checkpoint")
    assert log.after_trial(trials) == (False, [])
    assert not (tmp_path / "checkpoint").exists()


def test_interrupted_saves_and_exits_130(tmp_path, capsys):
    log, trials = search(tmp_path, max_evals=2)
    os.unlink(tmp_path / "checkpoint")
    assert log.interrupted(trials) == 130
    assert "continue with --resume" in capsys.readouterr().err
    assert (tmp_path / "checkpoint").exists()
    # A trial that ended after the last after_trial is in trials.jsonl too.
    (tmp_path / "trials.jsonl").write_text("")
    log.recorded = set()
    assert log.interrupted(trials) == 130
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert [json.loads(line)["tid"] for line in lines] == [0, 1]
    # Ctrl-C between a line's append and its entry in log.recorded: the
    # file says what is recorded, so no line is written twice.
    log.recorded.discard(1)
    assert log.interrupted(trials) == 130
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert [json.loads(line)["tid"] for line in lines] == [0, 1]
    capsys.readouterr()
    assert log.interrupted(trials, "python tune.py --resume") == 130
    assert capsys.readouterr().err.endswith(
        "continue with:\n  python tune.py --resume\n"
    )


def test_print_summary_counts_exactly(tmp_path, capsys):
    log, trials = search(tmp_path, fails_when_units_is_16, max_evals=8, early_stop=20)
    capsys.readouterr()
    assert log.print_summary(trials) == 0
    out = capsys.readouterr().out
    ok = sum(t["result"]["status"] == "ok" for t in trials.trials)
    assert 0 < ok < 8
    rows = dict(
        line.strip().split("  ", 1)
        for line in out.splitlines()
        if line.startswith("  ")
    )
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    best = log.best(trials)
    assert rows["trials"] == f"{ok} ok, {8 - ok} failed"
    assert (
        rows["best trial"] == str(best["tid"])
        and rows["best loss"] == f"{best['loss']:.6g}"
    )
    assert rows["units"] == repr(best["params"]["units"])
    assert rows["results"] == str(tmp_path) and "stopped" not in rows
    assert f"hyperasc report {tmp_path}" in out
    # It ends with the best (up to five) trials, best first.
    ranked = sorted(
        (t for t in trials.trials if t["result"]["status"] == "ok"),
        key=lambda t: t["result"]["loss"],
    )
    shown = min(5, len(ranked))
    table = out.split(f"\nBest {shown} trials\n", 1)[1].splitlines()
    assert table[0].split() == ["tid", "loss", "params"]
    assert [int(row.split()[0]) for row in table[1:]] == [t["tid"] for t in ranked[:5]]


def test_print_summary_when_every_trial_failed(tmp_path, capsys):
    log, trials = search(tmp_path, fails_always, max_evals=2)
    capsys.readouterr()
    assert log.print_summary(trials) == 1
    captured = capsys.readouterr()
    assert "0 ok, 2 failed" in captured.out and "best loss" not in captured.out
    assert captured.err == "error: every trial failed; trial 0: RuntimeError: no\n"


@pytest.mark.parametrize(
    "text, last",
    [
        (
            "Traceback (most recent call last):\n  File x\nValueError: boom\n\n",
            "ValueError: boom",
        ),
        ("one line", "one line"),
        ("", "no error text"),
        (None, "no error text"),
    ],
)
def test_last_line_of_an_error(text, last):
    assert last_line(text) == last


def test_made_models_trusts_only_the_name_of_the_trials_own_model():
    docs = [
        {"tid": 0, "result": {"kept_model": "models/trial-0.keras"}},
        {"tid": 1, "result": {"kept_model": "../../home/someone/.bashrc"}},
        {"tid": 2, "result": {"kept_model": "models/trial-5.keras"}},
        {"tid": 3, "result": {}},
        {"tid": 4, "result": None},
    ]
    assert made_models(docs) == {0}

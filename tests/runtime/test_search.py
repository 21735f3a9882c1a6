"""Search: what a generated script's main() calls, driven here with plain Python trials."""

from __future__ import annotations

import json
import os
import random

import hyperopt
import numpy as np
import pytest

from hyperasc.runtime import search as search_module
from hyperasc.runtime.errors import RunError
from hyperasc.runtime.resume_options import python_command
from hyperasc.runtime.shipping import ShippedObjective
from hyperasc.runtime.search import LocalObjective, Search, run_main
from hyperasc.runtime.seeding import trial_seed

from .conftest import PARAMETERS, loss_of, make_space


def trial(params):
    """A trial body: the loss, and the pid and first random number the trial saw."""
    return {"loss": loss_of(params), "pid": os.getpid(), "draw": random.random()}


def new_search(tmp_path, *argv, **facts) -> Search:
    script = tmp_path / "tune.py"
    script.write_text("# stands for the generated script\n")
    facts = {
        "parameters": PARAMETERS,
        "model_file": "model.py",
        "model_sha256": "0" * 64,
        **facts,
    }
    return Search(list(argv), script=str(script), trial=trial, **facts)


def main(search: Search, keep: list | None = None) -> int:
    """The body of a generated script's main(), as codegen_templates/tune.py.jinja writes it."""
    space = make_space()
    trials = search.open_trials(space)
    if keep is not None:
        keep.append(trials)
    try:
        hyperopt.fmin(
            fn=search.objective,
            space=space,
            algo=search.algo,
            max_evals=search.args.max_evals,
            trials=trials,
            timeout=search.args.timeout,
            loss_threshold=search.args.loss_threshold,
            early_stop_fn=search.after_trial,
            rstate=search.rstate,
            max_queue_len=search.max_queue_len,
            show_progressbar=search.progressbar,
            return_argmin=False,
        )
    except hyperopt.exceptions.AllTrialsFailed:
        pass
    except KeyboardInterrupt:
        return search.interrupted(trials)
    return search.finish(trials)


def records(out) -> list[dict]:
    return [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]


@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["forked", "in-process"])
def test_a_whole_search_fills_the_run_directory(tmp_path, mode, capsys):
    out = tmp_path / "run"
    search = new_search(
        tmp_path, "--max-evals", "5", "--seed", "4", "--out", str(out), "--quiet", *mode
    )
    assert not search.worker and search.args.command == "search"
    kept = []
    assert main(search, kept) == 0
    lines = records(out)
    results = [t["result"] for t in kept[0].trials]
    assert [r["tid"] for r in lines] == list(range(5))
    assert all(r["status"] == "ok" and r["loss"] == loss_of(r["params"]) for r in lines)
    pids = {r["pid"] for r in results}
    assert (pids == {os.getpid()}) == bool(mode)  # forked trials run elsewhere
    # Each trial was seeded from (run seed, trial id).
    for tid, result in enumerate(results):
        random.seed(trial_seed(4, tid))
        assert result["draw"] == random.random()
    info = json.loads((out / "run.json").read_text())
    assert (info["seed"], info["max_evals"], info["backend"]) == (4, 5, "local")
    assert json.loads((out / "best.json").read_text())["loss"] == min(
        r["loss"] for r in lines
    )
    assert "5 ok, 0 failed" in capsys.readouterr().out


def test_resume_continues_with_the_runs_seed(tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            new_search(
                tmp_path,
                "--max-evals",
                "3",
                "--seed",
                "8",
                "--out",
                str(out),
                "--quiet",
            )
        )
        == 0
    )
    resumed = new_search(
        tmp_path, "--max-evals", "5", "--out", str(out), "--quiet", "--resume"
    )
    assert main(resumed) == 0
    assert resumed.args.seed == 8
    whole = tmp_path / "whole"
    assert (
        main(
            new_search(
                tmp_path,
                "--max-evals",
                "5",
                "--seed",
                "8",
                "--out",
                str(whole),
                "--quiet",
            )
        )
        == 0
    )
    assert [r["params"] for r in records(out)] == [r["params"] for r in records(whole)]


def test_nothing_is_written_when_a_check_fails(tmp_path):
    out = tmp_path / "run"
    points = tmp_path / "points.json"
    points.write_text(
        json.dumps([{"units": 48, "act": 'str("relu")', "rate": None, "x": 0}])
    )
    with pytest.raises(RunError, match="48 is not an option of units"):
        new_search(tmp_path, "--out", str(out), "--points", str(points)).open_trials(
            make_space()
        )
    assert not out.exists()
    out.mkdir()
    (out / "trials.jsonl").write_text('{"tid": 0}\n')
    with pytest.raises(RunError, match="already holds a run"):
        new_search(tmp_path, "--out", str(out)).open_trials(make_space())
    assert os.listdir(out) == ["trials.jsonl"]


def test_objective_and_fmin_arguments_by_backend(tmp_path, monkeypatch):
    local = new_search(tmp_path, "--seed", "3")
    assert (
        isinstance(local.objective, LocalObjective) and local.objective.trial is trial
    )
    assert local.max_queue_len == 1 and local.progressbar
    assert (
        local.rstate.integers(1000, size=3).tolist()
        == np.random.default_rng(3).integers(1000, size=3).tolist()
    )
    spark = new_search(tmp_path, "--spark", "3", "--quiet", "--seed", "1")
    assert spark.max_queue_len == 6 and not spark.progressbar
    assert isinstance(spark.objective, ShippedObjective)
    config = spark.objective.config
    assert {k: config[k] for k in ("seed", "trial_seed", "heartbeat", "trial")} == {
        "seed": 1,
        "trial_seed": True,
        "heartbeat": 10.0,
        "trial": "trial",
    }
    url = "mongo://ann:s3cret@db.example:27017/hyper/jobs"
    monkeypatch.setattr("sys.argv", ["tune.py", "--mongo", url, "--exp-key", "e1"])
    mongo = new_search(
        tmp_path,
        "--mongo",
        url,
        "--exp-key",
        "e1",
        "--stale-after",
        "8",
        "--no-trial-seed",
    )
    assert (
        mongo.shipped_config()["heartbeat"] == 2.0
        and mongo.shipped_config()["trial_seed"] is False
    )
    provenance = mongo.provenance()
    assert "s3cret" not in json.dumps(provenance)
    assert provenance["mongo"] == {
        "url": "mongo://ann:***@db.example:27017/hyper/jobs",
        "exp_key": "e1",
        "stale_after": 8.0,
    }
    assert provenance["argv"][2] == "mongo://ann:***@db.example:27017/hyper/jobs"
    assert provenance["options"]["mongo"] == provenance["mongo"]["url"]
    assert spark.provenance()["spark"] == {"parallelism": 3}
    assert spark.provenance()["options"]["spark"] == 3


def test_worker_command_is_recognised(tmp_path):
    search = new_search(tmp_path, "worker", "--mongo", "mongo://127.0.0.1:1/db")
    assert search.worker and search.args.command == "worker"


def test_local_objective_reads_the_trial_id_from_fmins_ctrl():
    seen = []
    objective = LocalObjective(
        lambda params: seen.append(random.random()) or params["x"] ** 2
    )
    assert objective.fmin_pass_expr_memo_ctrl is True
    trials = hyperopt.Trials()
    hyperopt.fmin(
        objective,
        {"x": hyperopt.hp.uniform("x", -1, 1)},
        algo=hyperopt.rand.suggest,
        max_evals=3,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert [t["result"]["loss"] for t in trials.trials] == [
        t["misc"]["vals"]["x"][0] ** 2 for t in trials.trials
    ]
    for tid, draw in enumerate(seen):
        random.seed(trial_seed(0, tid))
        assert draw == random.random()


def test_interrupted_and_finish_delegate_to_the_log(tmp_path, capsys):
    search = new_search(
        tmp_path,
        "--max-evals",
        "2",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
        "--in-process",
    )
    trials = search.open_trials(make_space())
    assert search.interrupted(trials) == 130
    assert search.finish(trials) == 1 or len(trials.trials) == 0
    err = capsys.readouterr().err
    script, out = tmp_path / "tune.py", tmp_path / "run"
    assert (
        f"continue with:\n  {python_command()} {script} --max-evals 2 --out {out} --quiet --in-process --resume\n"
        in err
    )


def test_run_main_turns_errors_into_one_line_and_a_status(monkeypatch, capsys):
    monkeypatch.delenv("HYPERASC_DEBUG", raising=False)

    def fails(exc):
        def main(argv):
            raise exc

        return main

    assert run_main(lambda argv: 0, []) == 0
    assert run_main(lambda argv: argv, ["--x"]) == ["--x"]  # main receives argv
    assert run_main(fails(RunError("--out is taken")), []) == 1
    assert capsys.readouterr().err == "error: --out is taken\n"
    assert run_main(fails(KeyboardInterrupt()), []) == 130
    assert capsys.readouterr().err == "\nInterrupted.\n"
    assert run_main(fails(ValueError("bad")), []) == 1
    assert (
        capsys.readouterr().err
        == "error: ValueError: bad\n(rerun with HYPERASC_DEBUG=1 for the traceback)\n"
    )
    with pytest.raises(ValueError):
        run_main(fails(ValueError("bad")), ["--debug"])
    monkeypatch.setenv("HYPERASC_DEBUG", "1")
    with pytest.raises(ValueError):
        run_main(fails(ValueError("bad")), [])
    assert run_main(fails(RunError("shown")), []) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("error: shown\n")


def test_the_script_facing_names_are_exported():
    assert set(search_module.__all__) >= {
        "Search",
        "Script",
        "ShippedObjective",
        "data_once",
        "run_main",
    }
    assert all(hasattr(search_module, name) for name in search_module.__all__)

"""The generated script's command line: `tune.py [options]` and `tune.py worker`."""

from __future__ import annotations

import argparse
import shutil

import pytest

from hyperasc.runtime.options import (
    ALGORITHM_NAMES,
    MAX_SEED,
    ListDevices,
    parse_all_or_none,
    parse_args,
    parse_worker_args,
    search_arg_errors,
    shown_name,
)
from hyperasc.runtime.script import Script

SCRIPT = Script(
    path="tune.py", trial=None, model_file="model.py", max_evals=7, algo="anneal"
)


def error_of(argv, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        parse_args(SCRIPT, argv)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_defaults_come_from_the_script():
    args = parse_args(SCRIPT, [])
    assert (args.command, args.backend) == ("search", "local")
    assert (args.max_evals, args.algo, args.seed, args.out) == (
        7,
        "anneal",
        None,
        "hyperasc-run",
    )
    assert (args.trials_per_process, args.stale_after, args.trial_seed) == (
        3,
        60.0,
        True,
    )
    assert not (args.resume or args.reseed or args.quiet or args.debug)


def test_every_option_is_parsed(tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "run.json").write_text("{}")  # --resume needs a run
    args = parse_args(
        SCRIPT,
        [
            "--max-evals",
            "5",
            "--algo",
            "rand",
            "--seed",
            "9",
            "--out",
            str(tmp_path / "o"),
            "--timeout",
            "2.5",
            "--loss-threshold",
            "0.1",
            "--early-stop",
            "3",
            "--resume",
            "--reseed",
            "--points",
            "p.json",
            "--quiet",
            "--no-trial-seed",
            "--trials-per-process",
            "2",
            "--debug",
        ],
    )
    assert (args.max_evals, args.algo, args.seed, args.out, args.timeout) == (
        5,
        "rand",
        9,
        str(tmp_path / "o"),
        2.5,
    )
    assert (args.loss_threshold, args.early_stop, args.points) == (0.1, 3, "p.json")
    assert (
        args.resume
        and args.reseed
        and args.quiet
        and args.debug
        and not args.trial_seed
    )
    assert args.trials_per_process == 2
    assert parse_args(SCRIPT, ["--in-process"]).trials_per_process == 0


def test_backends():
    mongo = parse_args(
        SCRIPT,
        ["--mongo", "mongo://h:1/db/jobs", "--exp-key", "k", "--stale-after", "5"],
    )
    assert (mongo.backend, mongo.mongo, mongo.exp_key, mongo.stale_after) == (
        "mongo",
        "mongo://h:1/db/jobs",
        "k",
        5.0,
    )
    assert parse_args(SCRIPT, ["--spark", "4"]).backend == "spark"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--max-evals", "0"], "--max-evals must be at least 1"),
        (["--seed", "-1"], f"--seed must be between 0 and {MAX_SEED}"),
        (["--seed", str(MAX_SEED + 1)], f"--seed must be between 0 and {MAX_SEED}"),
        (["--trials-per-process", "-2"], "--trials-per-process must not be negative"),
        (["--timeout", "0"], "--timeout must be positive"),
        (["--early-stop", "0"], "--early-stop must be at least 1"),
        (
            ["--mongo", "mongo://h/db", "--exp-key", "k", "--spark", "2"],
            "--mongo and --spark exclude each other",
        ),
        (["--mongo", "mongo://h/db"], "--mongo needs --exp-key"),
        (["--spark", "0"], "--spark must be at least 1"),
        (["--stale-after", "0"], "--stale-after must be positive"),
        (["--reseed"], "--reseed only applies to --resume"),
        (["--algo", "grid"], "invalid choice: 'grid'"),
        (["--parallel", "0"], "--parallel must be at least 1"),
        (["--parallel", "2", "--spark", "2"], "they exclude --mongo and --spark"),
        (["--gpus", "0", "--in-process"], "they exclude --in-process"),
        (["--gpus", "0,,1"], "expected a list like 0,1 or all"),
        (
            ["--parallel", "1", "--gpus", "0,1"],
            "--parallel 1 is less than the 2 devices of --gpus",
        ),
        (
            ["--deterministic", "--spark", "2"],
            "--deterministic applies to trials run on this machine",
        ),
    ],
)
def test_bad_arguments_are_one_usage_error(argv, message, capsys):
    assert message in error_of(argv, capsys)


def test_parallel_and_gpus_plan_the_trial_processes():
    assert parse_args(SCRIPT, []).slots is None
    slots = parse_args(SCRIPT, ["--parallel", "3"]).slots
    assert [slot.device for slot in slots] == [None, None, None]
    slots = parse_args(SCRIPT, ["--gpus", "0,1", "--parallel", "4"]).slots
    assert [slot.device for slot in slots] == ["0", "1", "0", "1"]
    assert [slot.env["CUDA_VISIBLE_DEVICES"] for slot in slots] == ["0", "1", "0", "1"]
    assert parse_args(SCRIPT, ["--deterministic"]).deterministic


def test_parse_all_or_none_names_what_gpus_all_would_use(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, 5")
    assert parse_all_or_none() == "3,5"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert parse_all_or_none() == "nothing"


def test_list_devices_prints_and_exits(monkeypatch, capsys):
    assert any(isinstance(a, ListDevices) for a in list_devices_parser()._actions)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    with pytest.raises(SystemExit) as info:
        parse_args(
            SCRIPT, ["--list-devices", "--max-evals", "0"]
        )  # exits before any check
    assert info.value.code == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "CUDA_VISIBLE_DEVICES=2: --gpus all uses 2"
    if shutil.which("nvidia-smi") is None:
        assert captured.err == "nvidia-smi lists no GPU\n"


def list_devices_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--list-devices", action=ListDevices)
    return parser


def test_search_arg_errors_lists_every_problem():
    args = parse_args(SCRIPT, [])
    assert list(search_arg_errors(args)) == []
    args.max_evals, args.timeout, args.reseed = 0, -1.0, True
    assert list(search_arg_errors(args)) == [
        "--max-evals must be at least 1",
        "--timeout must be positive",
        "--reseed only applies to --resume",
    ]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_loss_threshold_that_is_not_finite_is_refused(value, capsys):
    args = parse_args(SCRIPT, [])
    args.loss_threshold = float(value)
    assert list(search_arg_errors(args)) == [
        f"--loss-threshold must be a finite number, got {float(value)}"
    ]
    with pytest.raises(SystemExit) as info:
        parse_args(SCRIPT, [f"--loss-threshold={value}"])
    assert info.value.code == 2
    assert "--loss-threshold must be a finite number" in capsys.readouterr().err
    args = parse_args(SCRIPT, [])
    args.timeout = float("nan")
    assert list(search_arg_errors(args)) == ["--timeout must be positive"]


def test_shown_name_escapes_what_would_break_the_help():
    assert shown_name("model.py") == "model.py"
    assert shown_name("m\nx\u2028.py") == "m\\nx\\u2028.py"
    assert shown_name("%(prog)s.py") == "%%(prog)s.py"


def test_help_names_the_model_file(capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(SCRIPT, ["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Hyperparameter search for model.py" in out and "--trials-per-process" in out


def test_version_and_the_algorithm_names_need_no_hyperopt(capsys):
    from hyperasc.runtime.algorithm import ALGORITHMS

    assert ALGORITHM_NAMES == tuple(sorted(ALGORITHMS))
    with pytest.raises(SystemExit) as info:
        parse_args(SCRIPT, ["--version"])
    assert info.value.code == 0
    assert "generated by hyperasc unbundled" in capsys.readouterr().out


def test_worker_command_line():
    args = parse_args(
        SCRIPT,
        [
            "worker",
            "--mongo",
            "mongo://h:1/db",
            "--exp-key",
            "k",
            "--gpus",
            "0, 2",
            "--max-jobs",
            "4",
            "--recycle-after",
            "2",
            "--idle-timeout",
            "1.5",
        ],
    )
    assert isinstance(args, argparse.Namespace) and args.command == "worker"
    assert (args.mongo, args.exp_key, args.gpus, args.max_jobs) == (
        "mongo://h:1/db",
        "k",
        ["0", "2"],
        4,
    )
    assert (args.recycle_after, args.idle_timeout, args.workers, args.debug) == (
        2,
        1.5,
        1,
        False,
    )
    plain = parse_worker_args(["--mongo", "mongo://h/db"])
    with pytest.raises(SystemExit):
        parse_worker_args(["--mongo", "m://h/db", "--gpus", "0,,1"])
    assert (
        plain.exp_key,
        plain.gpus,
        plain.max_jobs,
        plain.recycle_after,
        plain.idle_timeout,
    ) == (None,) * 5


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: --mongo"),
        (["--mongo", "m://h/db", "--workers", "0"], "--workers must be at least 1"),
        (["--mongo", "m://h/db", "--max-jobs", "0"], "--max-jobs must be at least 1"),
        (
            ["--mongo", "m://h/db", "--recycle-after", "0"],
            "--recycle-after must be at least 1",
        ),
    ],
)
def test_bad_worker_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        parse_worker_args(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_the_command_line_loads_without_hyperopt():
    import subprocess
    import sys

    code = (
        "import sys; import hyperasc.runtime.options, hyperasc.runtime.terminal; "
        "print(sorted(m for m in ('hyperopt', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

"""--resume continues the search as it was started (issue 18 item 1)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys

import pytest

from hyperasc.runtime.options import parse_args
from hyperasc.runtime.resume_options import (
    RESTORED,
    SEED,
    SESSION_OPTIONS,
    ResumeError,
    comparable,
    continue_command,
    given_options,
    option_record,
    python_command,
    recorded_options,
    resume_args,
    shown,
    shown_value,
)
from hyperasc.runtime.script import Script

SCRIPT = Script(
    path="tune.py", trial=None, model_file="model.py", max_evals=5, algo="tpe"
)


def started(tmp_path, *argv: str) -> str:
    """A run directory whose run.json records the options of `tune.py *argv`."""
    out = tmp_path / "run"
    out.mkdir()
    args = parse_args(SCRIPT, [*argv, "--out", str(out)])
    args.seed = 0 if args.seed is None else args.seed
    (out / "run.json").write_text(
        json.dumps({"seed": args.seed, "options": option_record(args)})
    )
    return str(out)


def resumed(out: str, *argv: str, capsys=None) -> argparse.Namespace:
    return parse_args(SCRIPT, ["--out", out, "--resume", *argv])


def usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        parse_args(SCRIPT, argv)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_every_option_is_decided_once():
    args = parse_args(SCRIPT, [])
    parser_dests = set(vars(args)) - {
        "command",
        "backend",
        "slots",
        "given",
        "resume_changes",
        "resume_notes",
    }
    decided = set(RESTORED) | set(SESSION_OPTIONS) | {SEED}
    assert parser_dests <= decided, parser_dests - decided
    assert not set(RESTORED) & set(SESSION_OPTIONS)
    assert {"max_evals", "algo", "keep_best", "parallel", "prune"} <= set(RESTORED)


def test_given_options_tells_a_default_from_the_same_value_given():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-evals", type=int, default=5)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--in-process", dest="tpp", action="store_const", const=0)
    assert given_options(parser, []) == set()
    assert given_options(parser, ["--max-evals", "5", "--in-process"]) == {
        "max_evals",
        "tpp",
    }
    assert given_options(parser, ["--max", "5"]) == {"max_evals"}  # abbreviated


def test_a_resume_takes_what_is_not_given_from_the_run(tmp_path):
    out = started(
        tmp_path,
        "--max-evals",
        "10",
        "--algo",
        "rand",
        "--keep-best",
        "2",
        "--prune",
        "asha",
        "--parallel",
        "2",
        "--timeout",
        "60",
        "--no-trial-seed",
    )
    args = resumed(out)
    assert (args.max_evals, args.algo, args.keep_best, args.prune) == (
        10,
        "rand",
        2,
        "asha",
    )
    assert (args.parallel, len(args.slots), args.timeout) == (2, 2, 60.0)
    assert args.trial_seed is False and args.resume_changes == {}
    assert args.resume_notes == [
        "resume: from run.json: --max-evals 10 --algo rand --timeout 60.0 "
        "--keep-best 2 --no-trial-seed --prune asha --parallel 2"
    ]


def test_a_value_given_again_is_named_and_recorded(tmp_path):
    out = started(tmp_path, "--max-evals", "10", "--seed", "3")
    args = resumed(out, "--max-evals", "20", "--algo", "tpe")
    assert args.max_evals == 20
    assert args.resume_changes == {"max_evals": [10, 20]}  # tpe: no change
    assert args.resume_notes == ["resume: --max-evals 10 -> 20 (given again)"]
    args = resumed(out, "--seed", "4", "--reseed")
    assert args.resume_changes == {SEED: [3, 4]}
    assert args.resume_notes[-1] == "resume: --seed 3 -> 4 (--reseed)"
    # Without --reseed the seed is refused later, by RunDirectory.check_start.
    assert resumed(out, "--seed", "4").resume_changes == {}


def test_giving_one_option_of_where_trials_run_replaces_the_group(tmp_path):
    out = started(tmp_path, "--parallel", "2", "--trials-per-process", "2")
    args = resumed(out, "--in-process")
    assert (args.parallel, args.slots, args.trials_per_process) == (None, None, 0)
    assert args.resume_changes == {
        "parallel": [2, None],
        "trials_per_process": [2, 0],
    }
    assert args.resume_notes == [
        "resume: --parallel 2 -> none (with --trials-per-process)",
        "resume: --trials-per-process 2 -> 0 (given again)",
    ]


def test_a_flag_on_at_the_start_stays_on(tmp_path):
    out = started(tmp_path, "--deterministic")
    assert resumed(out).deterministic is True
    out2 = tmp_path / "second"
    out2.mkdir()
    (out2 / "run.json").write_text(
        json.dumps({"options": option_record(parse_args(SCRIPT, []))})
    )
    args = resumed(str(out2), "--no-trial-seed")
    assert args.resume_notes == ["resume: --no-trial-seed off -> on (given again)"]


@pytest.mark.parametrize("state", ["missing", "empty", "unrelated"])
def test_resume_without_a_run_is_a_usage_error_that_creates_nothing(
    tmp_path, state, capsys
):
    out = tmp_path / "run"
    if state != "missing":
        out.mkdir()
    if state == "unrelated":
        (out / "notes.txt").write_text("mine")
        (out / "best.json").write_text("{}")  # not one of the files that make a run
    before = sorted(p.name for p in tmp_path.rglob("*"))
    message = usage_error(["--out", str(out), "--resume"], capsys)
    why = "no such directory" if state == "missing" else "no run.json, checkpoint"
    assert message.endswith(
        f"error: --resume: no run to continue in {out} ({why}"
        + ("" if state == "missing" else " or trials.jsonl in it")
        + "); give the run's --out, or drop --resume to start a new search"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    with pytest.raises(ResumeError):
        resume_args(argparse.Namespace(out=str(out)), set(), {})


def test_a_run_json_from_before_options_gives_max_evals_and_algo(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    old = {"seed": 0, "max_evals": 10, "algo": "rand", "backend": "local"}
    (out / "run.json").write_text(json.dumps(old))
    assert recorded_options(old) == {"max_evals": 10, "algo": "rand"}
    args = resumed(str(out))
    assert (args.max_evals, args.algo, args.keep_best) == (10, "rand", 0)


def test_a_damaged_run_json_is_left_to_check_start(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text("{damaged")
    assert resumed(str(out)).max_evals == 5  # RunDirectory.check_start refuses it


def test_a_masked_mongo_url_must_be_given_again(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    url = "mongo://ann:s3cret@db:27017/hyper/jobs"
    record = option_record(
        parse_args(SCRIPT, ["--mongo", url, "--exp-key", "e1", "--out", str(out)])
    )
    assert record["mongo"] == "mongo://ann:***@db:27017/hyper/jobs"
    (out / "run.json").write_text(json.dumps({"options": record}))
    message = usage_error(["--out", str(out), "--resume"], capsys)
    assert "whose password run.json does not keep; give --mongo URL again" in message
    args = resumed(str(out), "--mongo", url, "--exp-key", "e1")
    assert args.mongo == url and args.resume_changes == {}  # same URL, masked


def test_points_are_kept_by_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.json").write_text("[]")
    out = started(tmp_path, "--points", "p.json")
    assert option_record(resumed(out))["points"] == str(tmp_path / "p.json")
    assert comparable("points", "p.json") == str(tmp_path / "p.json")
    os.unlink(tmp_path / "p.json")  # gone: the search goes on from its trials
    assert resumed(out).points is None


def test_shown_values():
    assert shown("--max-evals", 10) == "--max-evals 10"
    assert shown("--deterministic", True) == "--deterministic"
    assert shown_value(None) == "none" and shown_value("a b") == "'a b'"
    assert shown_value(True, "trial_seed") == "off"


def test_continue_command_adds_out_and_resume_once():
    assert continue_command(["--max-evals", "10"], "tune.py", set()) == (
        f"{python_command()} tune.py --max-evals 10 --out hyperasc-run --resume"
    )
    argv = ["--out", "my run", "--resume", "--mongo", "mongo://a:pw@h:1/d/jobs"]
    command = continue_command(argv, "t.py", {"out", "resume", "mongo"})
    assert shlex.split(command)[1:] == [
        "t.py",
        "--out",
        "my run",
        "--resume",
        "--mongo",
        "mongo://a:***@h:1/d/jobs",
    ]


def test_python_command_is_this_python():
    name = python_command()
    assert name == sys.executable or shutil.which(name) == sys.executable


def test_a_directory_holding_only_a_lock_is_left_to_the_lock(tmp_path):
    """A search starting there says `in use`; a stale lock's run.json never
    came, and RunDirectory.check_start refuses it (test_run_directory.py)."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "lock").write_text("{}")
    args = resumed(str(out))
    assert args.resume and args.resume_changes == {} and args.max_evals == 5

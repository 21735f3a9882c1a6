"""--resume continues the search as it was started (issue 18).

run.json's `options` holds every option that shapes the search, as the
search used it. On --resume an option not given again comes from there; one
given again with another value is named in one line (`resume: --max-evals
10 -> 20 (given again)`) and recorded in run.json's resume entry.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .contract import DEFAULT_OUT
from .run_files import LOCK, RUN_FILES, RUN_JSON, read_json

# The one table: dest -> (flag, group). Every search option is here or in
# SESSION_OPTIONS (tests/runtime/test_resume_options.py holds to that).
# All of these may be given again with another value: raising --max-evals is
# how a run is extended, and another --algo still sees the whole history
# (rand first, then tpe). Options of one group come back together: given one
# of them again replaces the whole group, so `--in-process` after
# `--parallel 2`, or `--mongo URL --exp-key K` after a local run, is what
# this start asks for, not a conflict with what the run used.
RESTORED: dict[str, tuple[str, str | None]] = {
    "max_evals": ("--max-evals", None),
    "algo": ("--algo", None),
    "timeout": ("--timeout", None),  # counted from each start, as before
    "loss_threshold": ("--loss-threshold", None),
    "early_stop": ("--early-stop", None),
    "keep_best": ("--keep-best", None),
    # The configurations to try first: a resume that dropped them would make
    # another search than the one started. Recorded as an absolute path.
    "points": ("--points", None),
    # Flags: once on, on for the whole run.
    "trial_seed": ("--no-trial-seed", None),
    "deterministic": ("--deterministic", None),
    "prune": ("--prune", None),
    "prune_metric": ("--prune-metric", None),
    "prune_warmup": ("--prune-warmup", None),
    "prune_startup": ("--prune-startup", None),
    "prune_eta": ("--prune-eta", None),
    # Where trials run.
    "parallel": ("--parallel", "where"),
    "gpus": ("--gpus", "where"),
    "trials_per_process": ("--trials-per-process", "where"),
    "spark": ("--spark", "where"),
    "mongo": ("--mongo", "where"),
    "exp_key": ("--exp-key", "where"),
    "stale_after": ("--stale-after", "where"),
}
# The seed is run.json's `seed`, restored by RunDirectory.check_start: another
# one makes another search, so it needs --reseed, and is then named here too.
SEED = "seed"
# What concerns this start only.
SESSION_OPTIONS = ("out", "resume", "reseed", "quiet", "debug", "help", "list_devices")

NOT_GIVEN = object()


class ResumeError(ValueError):
    """--resume cannot continue: one line for parser.error."""


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The dests the command line sets itself, which argparse's defaults hide.

    A second parse into a namespace that already holds every dest: argparse
    only fills in defaults for what a namespace lacks.
    """
    dests = {action.dest for action in parser._actions}
    namespace = argparse.Namespace(**dict.fromkeys(dests, NOT_GIVEN))
    parsed = parser.parse_args(list(argv), namespace)
    return {dest for dest in dests if getattr(parsed, dest) is not NOT_GIVEN}


def recorded_options(info: Mapping[str, Any]) -> dict[str, Any]:
    """run.json's options; a run.json from before they were recorded has its
    top-level max_evals and algo."""
    options = info.get("options")
    if isinstance(options, dict):
        return {k: v for k, v in options.items() if k in RESTORED}
    return {k: info[k] for k in ("max_evals", "algo") if k in info}


def option_record(args: argparse.Namespace) -> dict[str, Any]:
    """run.json's `options`: what this start searches with."""
    return {dest: comparable(dest, getattr(args, dest, None)) for dest in RESTORED}


def resume_args(
    args: argparse.Namespace,
    given: set[str],
    defaults: Mapping[str, Any],
) -> list[str]:
    """Set what the command line did not give from the run in args.out.

    Returns the lines to show; sets args.resume_changes ({dest: [run's,
    now]}) for run.json. Raises ResumeError when args.out holds no run, or
    the run cannot be continued from what run.json keeps.
    """
    out = os.path.abspath(args.out)
    present = [n for n in RUN_FILES if os.path.lexists(os.path.join(out, n))]
    args.resume_changes = {}
    if not present and os.path.lexists(os.path.join(out, LOCK)):
        # A search starting there (RunLock says so), or one killed before it
        # wrote run.json (RunDirectory.check_start refuses it, under the lock).
        return []
    if not present:
        why = (
            f"no {', '.join(RUN_FILES[:-1])} or {RUN_FILES[-1]} in it"
            if os.path.isdir(out)
            else "no such directory"
        )
        raise ResumeError(
            f"--resume: no run to continue in {args.out} ({why}); give the run's "
            "--out, or drop --resume to start a new search"
        )
    info = read_json(os.path.join(out, RUN_JSON))
    if info is None:  # damaged or lost: RunDirectory.check_start says which
        return []
    recorded = recorded_options(info)
    # The groups this command line replaces, with the flags that did it.
    replacing: dict[str, list[str]] = {}
    for dest in sorted(given & set(RESTORED)):
        flag, group = RESTORED[dest]
        if group is not None:
            replacing.setdefault(group, []).append(flag)
    restored, changes, reasons = [], {}, {}
    for dest, (flag, group) in RESTORED.items():
        if dest not in recorded:
            continue
        before, now = recorded[dest], comparable(dest, getattr(args, dest))
        if dest in given:
            reasons[dest] = "given again"
        elif group in replacing:  # left out with its group
            reasons[dest] = f"with {' '.join(replacing[group])}"
        else:
            if dest == "mongo" and before and "***@" in str(before):
                raise ResumeError(
                    f"--resume: {args.out} was searched with --mongo {before}, whose "
                    "password run.json does not keep; give --mongo URL again"
                )
            if dest == "points" and before and not os.path.exists(before):
                continue  # moved, or long done: the search goes on from its trials
            setattr(args, dest, before)
            if before != defaults.get(dest):
                restored.append(shown(flag, before))
            continue
        if before != now:
            changes[dest] = [before, now]
    if SEED in given and args.reseed and args.seed != info.get("seed"):
        changes[SEED] = [info.get("seed"), args.seed]
        reasons[SEED] = "--reseed"
    lines = [f"resume: from {RUN_JSON}: {' '.join(restored)}"] if restored else []
    for dest, (before, after) in changes.items():
        flag = RESTORED[dest][0] if dest in RESTORED else "--seed"
        lines.append(
            f"resume: {flag} {shown_value(before, dest)} -> {shown_value(after, dest)} "
            f"({reasons[dest]})"
        )
    args.resume_changes = changes
    return lines


def comparable(dest: str, value: Any) -> Any:
    """A value as run.json's `options` records it."""
    if dest == "points" and value:
        return os.path.abspath(value)
    if dest == "mongo" and value:
        from .mongo import masked_url  # a password never appears in run.json

        return masked_url(value)
    return value


def shown(flag: str, value: Any) -> str:
    """A restored option as a command line gives it (a flag only shows when on)."""
    return flag if isinstance(value, bool) else f"{flag} {shown_value(value)}"


def shown_value(value: Any, dest: str = "") -> str:
    if dest == "trial_seed":  # shown as its flag, --no-trial-seed
        value = not value
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return shlex.quote(str(value))


def continue_command(argv: Sequence[str], script: str, given: set[str]) -> str:
    """The shell command that continues this search: this one, with --resume
    once and --out explicit (a MongoDB password masked)."""
    from .mongo import masked_url

    words = [masked_url(a) for a in argv]
    if "out" not in given:
        words += ["--out", DEFAULT_OUT]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join([python_command(), script, *words])


def python_command() -> str:
    """How a shell reaches this Python: `python` when that is it, else its path."""
    for name in ("python", "python3", os.path.basename(sys.executable)):
        if name and shutil.which(name) == sys.executable:
            return name
    return sys.executable

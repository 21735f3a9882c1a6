"""What a generated script's main() calls: one search, from the command line to the summary.

The script keeps the hyperopt `fmin` call itself, so a reader sees the search
as hyperopt runs it; `Search` supplies its arguments and its trials backend
and records every finished trial in the run directory.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import hyperopt
import numpy as np

from .algorithm import SeededAlgorithm
from .errors import RunError
from .mongo import masked_url, open_database_trials, restarted_driver
from .mongo_worker import run_mongo_workers
from .options import parse_args
from .parallel import LocalTrials, enable_determinism, open_parallel_trials
from .pruning import count_states, search_pruning
from .resume_options import continue_command, option_record
from .run_directory import RunDirectory
from .run_lock import RunLock
from .script import Script, data_once
from .search_log import SearchLog
from .shipping import ShippedObjective
from .spark import open_spark_trials
from .terminal import Terminal, library_logs_wanted
from .trial import TrialScope, forked_trials, run_trial
from .values import flat_values, read_points, runtime_parameters

__all__ = [
    "Search",
    "Script",
    "ShippedObjective",
    "data_once",
    "flat_values",
    "run_main",
]


class Search:
    """One run of a generated script: its arguments, run directory and trials."""

    def __init__(
        self,
        argv: Sequence[str] | None = None,
        *,
        script: str,
        trial: Callable[[Any], Any],
        **facts: Any,
    ) -> None:
        self.script = Script(path=script, trial=trial, **facts)
        self.argv = sys.argv[1:] if argv is None else list(argv)
        # As the user typed it, for the command that continues the search.
        self.command = sys.argv[0] if argv is None else script
        self.args = parse_args(self.script, self.argv)
        self.worker = self.args.command == "worker"
        self.log = None
        self.algo = None
        self.lock = None
        self.terminal = None

    def run_workers(self) -> int:
        """`tune.py worker`: evaluate the trials queued in MongoDB."""
        return run_mongo_workers(self.args, self.script.path)

    def open_trials(self, space: Any) -> hyperopt.Trials:
        """Check the arguments and the run directory, then open the trials backend.

        Nothing is written before every check has passed.
        """
        args = self.args
        # Choices computed when the script runs (`choice(SIZES)`) have their
        # options only in the space as built: resuming and --points need them.
        parameters = runtime_parameters(self.script.parameters, space)
        # Resolved once: data() may chdir, and trial processes must not follow it.
        args.out = os.path.abspath(args.out)
        run = RunDirectory(args.out, args.keep_best)
        points = read_points(parameters, args.points, space)
        resume = args.resume or bool(args.mongo and restarted_driver(run, args))
        # One search per directory, from before the checks to the end of the search.
        self.lock = RunLock.acquire(run.path)
        try:
            args.seed = run.check_start(resume, parameters, args.seed, args.reseed)
            self.algo = SeededAlgorithm(args.algo, args.seed, parameters, points)
        except BaseException:
            self.lock.release(remove=True)  # nothing written: not even the lock
            raise
        for line in args.resume_notes:  # what --resume took from the run, or changed
            print(line, file=sys.stderr)
        if args.mongo:
            trials = open_database_trials(run, args)
        elif args.spark:
            previous = run.open(resume, parameters)
            name = f"hyperasc {self.script.model_file}"
            trials = open_spark_trials(run, args, name, previous)
        elif args.slots:
            previous = run.open(resume, parameters)
            trials = open_parallel_trials(run, previous, args)
        else:
            trials = LocalTrials.holding(run.open(resume, parameters))
        done = len(trials.trials) if not args.mongo else 0
        if resume and done >= args.max_evals:
            print(
                f"resume: the run already has {done} trials, --max-evals "
                f"{args.max_evals}: nothing to run; give a larger --max-evals to go on",
                file=sys.stderr,
            )
        if args.deterministic:  # before any trial process is forked
            args.deterministic = enable_determinism()
        run.write_provenance(self.script, args, args.backend, self.provenance())
        # --parallel and --gpus: the trial processes are ParallelTrials' own.
        local = args.backend == "local" and not args.slots
        process = forked_trials(args.trials_per_process) if local else None
        TrialScope.configure(run, args.seed, args.trial_seed, process)
        handle = trials.handle if args.mongo else None
        TrialScope.pruning = search_pruning(args, run.path, handle)
        # Trial output: above the progress bar, or with --quiet in logs/.
        library_logs = args.debug or library_logs_wanted([])
        self.terminal = Terminal.start(run.path, args.quiet, library_logs)
        self.trials = trials
        self.log = SearchLog(
            run,
            trials,
            space,
            parameters,
            args.early_stop,
            TrialScope.pruning,
            self.script.objective,
        )
        return trials

    @property
    def objective(self) -> LocalObjective | ShippedObjective:
        """fmin's fn: trials here, or shipped to MongoDB or Spark workers."""
        if self.args.backend == "local":
            return LocalObjective(self.script.trial)
        return ShippedObjective(self.script, self.shipped_config())

    @property
    def rstate(self) -> np.random.Generator:
        return np.random.default_rng(self.args.seed)

    @property
    def max_queue_len(self) -> int:
        # MongoDB sizes the queue from its workers; Spark gets a spare trial per slot.
        return 2 * self.args.spark if self.args.spark else 1

    @property
    def progressbar(self) -> Callable | bool:
        """fmin's show_progressbar: hyperopt's bar (with --prune, its counts too),
        none with --quiet; trial output goes above it, or to log files."""
        if self.args.quiet and self.args.backend != "local":
            return False  # the trials print on other machines
        counts = None
        if TrialScope.pruning is not None:
            counts = lambda: count_states(self.trials.trials)  # noqa: E731
        terminal = self.terminal or Terminal(None, self.args.quiet)
        return terminal.progress(counts)

    def after_trial(self, trials: hyperopt.Trials, *state: Any) -> tuple[bool, list]:
        """fmin's early_stop_fn: record what finished; whether to stop."""
        return self.log.after_trial(trials, *state)

    def interrupted(self, trials: hyperopt.Trials) -> int:
        unfinished = getattr(trials, "unfinished_tids", list)()
        if unfinished:
            print(
                f"\nStopped {len(unfinished)} unfinished trial(s) ({', '.join(map(str, unfinished))}): "
                "they are not in the checkpoint, so --resume runs them again.",
                file=sys.stderr,
            )
        command = continue_command(self.argv, self.command, self.args.given)
        try:
            return self.log.interrupted(trials, command)
        finally:
            self.release()

    def finish(self, trials: hyperopt.Trials) -> int:
        """Print the summary; the exit status."""
        try:
            return self.log.print_summary(trials)
        finally:
            self.release()

    def release(self) -> None:
        """Let the next search have the run directory (exiting does it too)."""
        if self.lock is not None:
            self.lock.release()
        if Terminal.current is self.terminal:
            Terminal.current = None

    def shipped_config(self) -> dict[str, Any]:
        """What a remote worker needs to know about the run besides the script."""
        args = self.args
        heartbeat = max(0.5, min(10.0, args.stale_after / 4))
        return {
            "seed": args.seed,
            "trial_seed": args.trial_seed,
            "heartbeat": heartbeat,
            "trial": self.script.trial.__name__,
            "pruning": TrialScope.pruning.config if TrialScope.pruning else None,
        }

    def provenance(self) -> dict[str, Any]:
        """run.json entries about the options and backend; a password never appears in them."""
        # What --resume continues with (resume_options.py).
        return {"options": option_record(self.args), **self.backend_provenance()}

    def backend_provenance(self) -> dict[str, Any]:
        args = self.args
        if args.mongo:
            return {
                "argv": [masked_url(a) for a in sys.argv],
                "mongo": {
                    "url": masked_url(args.mongo),
                    "exp_key": args.exp_key,
                    "stale_after": args.stale_after,
                },
            }
        if args.spark:
            return {"spark": {"parallelism": args.spark}}
        extra = {"deterministic": args.deterministic or False}
        if args.slots:
            extra["parallel"] = {
                "processes": len(args.slots),
                "devices": [slot.device for slot in args.slots],
                "trials_per_process": args.trials_per_process,
            }
        return extra


class LocalObjective:
    """fmin's fn for trials run by this machine: the trial body inside a TrialScope."""

    fmin_pass_expr_memo_ctrl = True

    def __init__(self, trial: Callable[[Any], Any]) -> None:
        self.trial = trial

    def __call__(self, expr: Any, memo: Mapping, ctrl: Any) -> dict[str, Any]:
        sampled = hyperopt.pyll.rec_eval(expr, memo=memo)
        tid = (getattr(ctrl, "current_trial", None) or {}).get("tid")
        return run_trial(self.trial, sampled, tid)


def run_main(
    main: Callable[[Sequence[str] | None], int],
    argv: Sequence[str] | None = None,
) -> int:
    """Run a script's main(); errors become one line and an exit status.

    A RunError is the user's to fix (exit 1). Anything else is shown as its
    last line too, unless HYPERASC_DEBUG=1 or --debug asks for the traceback.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("HYPERASC_DEBUG", "") not in ("", "0") or "--debug" in args
    try:
        return main(argv)
    except RunError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("(rerun with HYPERASC_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1

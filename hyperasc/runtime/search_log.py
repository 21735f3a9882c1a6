"""Records each finished trial: checkpoint, trials.jsonl, best.json, early stop."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import hyperopt
from hyperopt import STATUS_OK

from .contract import metric_value, objective_text
from .run_directory import FINISHED, RunDirectory
from .run_files import BEST_MODEL, iso_time, kept_model_name, kept_models
from .summary import BEST_SHOWN, best_trials_lines, kept_models_lines
from .values import real_values

if TYPE_CHECKING:
    from .pruning import Pruning


class SearchLog:
    """hyperopt calls `after_trial` (as fmin's early_stop_fn) after every trial.

    The checkpoint is written before the trials.jsonl line, so a crash between
    the two only leaves a line to add on --resume, never a trial to re-run.
    """

    def __init__(
        self,
        run: RunDirectory,
        trials: hyperopt.Trials,
        space: Any,
        parameters: Sequence[Mapping[str, Any]],
        early_stop: int | None = None,
        pruning: Pruning | None = None,
        objective: Mapping[str, Any] | None = None,
    ) -> None:
        self.run = run
        self.objective = objective  # what the loss is (contract.py), or None
        self.space = space
        self.parameters = parameters
        self.started = time.time()
        self.stop_after = early_stop
        self.pruning = pruning  # --prune: told how every trial ended
        self.stop_reason = None
        # (best loss, trials without progress) for --early-stop. hyperopt's
        # no_progress_loss counts the very first trial as one without progress;
        # starting at -1 makes N mean N trials that failed to beat the best.
        self.state = (None, -1)
        self.recorded = run.recorded_tids()
        self.finished_at_checkpoint = None
        self.record_new(trials)

    def after_trial(
        self, trials: hyperopt.Trials, *unused_state: Any
    ) -> tuple[bool, list]:
        # Asynchronous backends call this at every poll, mostly with nothing new.
        finished = sum(t["state"] in FINISHED for t in trials.trials)
        if finished == self.finished_at_checkpoint and trials.asynchronous:
            return self.should_stop(trials, []), []
        self.finished_at_checkpoint = finished
        self.run.save_checkpoint(trials)
        new = self.record_new(trials)
        return self.should_stop(trials, new), []

    def record_new(self, trials: hyperopt.Trials) -> list[dict[str, Any]]:
        """Append every finished, unrecorded trial to trials.jsonl; update best.json."""
        new = []
        for trial in trials.trials:
            if trial["tid"] in self.recorded or trial["state"] not in FINISHED:
                continue
            record = self.trial_record(trial)
            self.run.append_trial(record)
            self.recorded.add(trial["tid"])
            if self.pruning is not None:  # also when its trial process died
                self.pruning.record(trial["tid"], trial.get("result"))
            new.append(record)
        best = self.best(trials)
        if best is not None and any(r["tid"] == best["tid"] for r in new):
            self.run.write_json("best.json", best)
            if hasattr(trials, "save_best_model"):  # a remote worker trained it
                trials.save_best_model(best["tid"], self.run)
        if new:
            self.run.keep_only(
                sorted(
                    (t["result"]["loss"], t["tid"]) for t in self.successful(trials)
                ),
                made_models(trials.trials),
            )
        return new

    def successful(self, trials: hyperopt.Trials) -> list[dict[str, Any]]:
        """The trials that finished with a loss and were not pruned."""
        return [
            t
            for t in trials.trials
            if t["result"].get("status") == STATUS_OK
            and t["result"].get("loss") is not None
            and not t["result"].get("pruned")
        ]

    def trial_record(self, trial: Mapping[str, Any]) -> dict[str, Any]:
        """The trials.jsonl line of a finished trial (see docs/run-directory.md)."""
        result = trial.get("result") or {}
        ok = (
            trial["state"] == hyperopt.JOB_STATE_DONE
            and result.get("status") == STATUS_OK
        )
        error = result.get("error")
        if trial["state"] == hyperopt.JOB_STATE_ERROR:
            error = ": ".join(trial["misc"].get("error", ("error", "the trial raised")))
        start, end = result.get("start"), result.get("end")
        record = {
            "tid": trial["tid"],
            "status": "ok" if ok else "fail",
            "loss": result.get("loss") if ok else None,
            "params": real_values(self.parameters, self.space, trial),
            "start": iso_time(start),
            "end": iso_time(end),
            "duration": result.get("duration"),
            "error": None if ok else (error or f"status {result.get('status')!r}"),
            "history": result.get("history", []),
        }
        if ok and result.get("pruned"):
            # Its loss only ranks it for the algorithm (pruning_rules.pruned_loss).
            record.update(status="pruned", loss=None)
        for key in (
            "device",
            "pruned",
            "epochs",
            "curve",
            "prune_metric",
            "kept_model",
            "log",
        ):
            if key in result:
                record[key] = result[key]
        return record

    def best(self, trials: hyperopt.Trials) -> dict[str, Any] | None:
        """best.json's content: the trial with the lowest loss, or None."""
        ok = self.successful(trials)
        if not ok:
            return None
        trial = min(ok, key=lambda t: t["result"]["loss"])
        return {
            "tid": trial["tid"],
            "loss": trial["result"]["loss"],
            "params": real_values(self.parameters, self.space, trial),
            "objective": self.objective,
        }

    def should_stop(
        self, trials: hyperopt.Trials, new: Sequence[Mapping[str, Any]]
    ) -> bool:
        if not self.stop_after:
            return False
        best_loss, stalled = self.state
        for record in new:
            # As hyperopt's no_progress_loss judges a trial, but on the record:
            # in an asynchronous search the newest trial may not have finished.
            loss = record["loss"] if record["status"] == "ok" else None
            if loss is not None and (best_loss is None or loss < best_loss):
                stalled = stalled + 1 if best_loss is None else 0
                best_loss = loss
            else:
                stalled += 1  # a failed trial is no progress
        self.state = (best_loss, stalled)
        if stalled >= self.stop_after:
            self.stop_reason = (
                f"no improvement in {stalled} trials (--early-stop {self.stop_after})"
            )
            return True
        return False

    def interrupted(self, trials: hyperopt.Trials, command: str = "") -> int:
        """Ctrl-C: keep what finished, in the checkpoint and trials.jsonl; exit status 130.

        `command` is the shell command that continues the search.
        """
        self.run.save_checkpoint(trials)
        # Ctrl-C may have come between a line's append and its tid's entry in
        # self.recorded: the file says what is recorded (and loses a half line).
        self.recorded = self.run.recorded_tids()
        self.record_new(trials)
        print(
            "\nInterrupted: finished trials are saved; continue with"
            + (f":\n  {command}" if command else " --resume."),
            file=sys.stderr,
        )
        return 130

    def print_summary(self, trials: hyperopt.Trials) -> int:
        """The closing summary; the exit status: 1 when no trial succeeded."""
        docs = [t for t in trials.trials if t["state"] in FINISHED]
        ok = sum(1 for t in docs if t["result"].get("status") == STATUS_OK)
        failed = len(docs) - ok
        best = self.best(trials)
        rows = [("trials", f"{ok} ok, {failed} failed")]
        pruned = sum(1 for t in docs if t["result"].get("pruned"))
        if self.pruning is not None or pruned:
            rows[0] = (
                "trials",
                f"{ok - pruned} completed, {pruned} pruned, {failed} failed",
            )
        if objective_text(self.objective):
            rows.append(("objective", objective_text(self.objective)))
        if best is not None:
            rows.append(("best trial", str(best["tid"])))
            rows.append(("best loss", self.best_loss_text(best["loss"])))
            rows.extend(
                (f"  {name}", repr(value)) for name, value in best["params"].items()
            )
        if self.stop_reason:
            rows.append(("stopped", self.stop_reason))
        rows.append(("elapsed", f"{time.time() - self.started:.1f} s"))
        rows.append(("results", os.path.abspath(self.run.path)))
        width = max(len(k) for k, _ in rows)
        print("\nSearch finished")
        for key, value in rows:
            print(f"  {key.ljust(width)}  {value}")
        print(f"\nSee the search: hyperasc report {self.run.path}")
        self.print_best_and_kept(trials)
        if docs and not ok:
            first = min(docs, key=lambda t: t["tid"])
            print(
                f"error: every trial failed; trial {first['tid']}: {last_line(self.trial_record(first)['error'])}",
                file=sys.stderr,
            )
            return 1
        return 0

    def best_loss_text(self, loss: float) -> str:
        """`-0.9712`, and the metric it stands for: `-0.9712 (accuracy 0.9712)`."""
        metric = metric_value(self.objective, loss)
        if metric is None:
            return f"{loss:.6g}"
        return f"{loss:.6g} ({self.objective['metric']} {metric:.6g})"

    def print_best_and_kept(self, trials: hyperopt.Trials) -> None:
        """The summary's end: the best few trials, the kept models and how to load one."""
        ranked = sorted(self.successful(trials), key=lambda t: t["result"]["loss"])
        best = [
            (t["tid"], t["result"]["loss"], real_values(self.parameters, self.space, t))
            for t in ranked[:BEST_SHOWN]
        ]
        on_disk = kept_models(self.run.path)
        made = made_models(trials.trials)
        kept = [
            (t["tid"], on_disk[t["tid"]])
            for t in ranked
            if t["tid"] in on_disk and t["tid"] in made
        ]
        best_model = self.run.file(BEST_MODEL)
        blocks = (
            best_trials_lines(best),
            kept_models_lines(
                kept,
                self.run.keep_best,
                best_model if os.path.exists(best_model) else None,
            ),
        )
        for block in filter(None, blocks):
            print("\n" + "\n".join(block))


def made_models(docs: Sequence[Mapping[str, Any]]) -> set[int]:
    """The trial ids whose result says this run wrote models/trial-<tid>.keras."""
    return {
        t["tid"]
        for t in docs
        if isinstance(t.get("tid"), int)
        and (t.get("result") or {}).get("kept_model") == kept_model_name(t["tid"])
    }


def last_line(text: str | None) -> str:
    """The last non-empty line of an error text (a traceback's exception line)."""
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no error text"

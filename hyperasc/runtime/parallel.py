"""N trials at a time on this machine: `--parallel N` and `--gpus LIST`.

ParallelTrials speaks hyperopt's asynchronous trials protocol, as MongoTrials
and SparkTrials do: fmin inserts NEW trial documents and polls the trials
object, and somebody else evaluates them. Here that somebody is a set of
slots, each a forked child process that is handed one trial at a time over a
pipe, runs the objective given to fmin, and is replaced every K trials so
that the memory TensorFlow keeps goes back to the system. The search process
only suggests, dispatches and records; it never runs the model, so it never
initialises CUDA, and each child pins its own device before any framework in
it touches a GPU.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Pipe, wait
from typing import Any

import hyperopt
from hyperopt import base
from hyperopt.utils import coarse_utcnow

from .devices import DeviceError, Slot, plan_slots
from .processes import (
    describe_exit,
    die_with_parent,
    end_group,
    exited,
    flush_quietly,
    own_group,
    reap,
)
from .terminal import OutputPipes, Terminal, route_for
from .trial import TrialScope, evaluate_trial, trial_result


def _failed(error: str, started: float) -> dict[str, Any]:
    return trial_result(hyperopt.STATUS_FAIL, None, error, started)


def _send_result(conn: Any, result: dict) -> None:
    try:
        conn.send(result)
    except Exception as exc:  # it does not pickle: a model, say
        message = f"the trial's result cannot be sent back: {exc!r}"
        conn.send(_failed(message, result.get("start", time.time())))


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C while process bookkeeping runs; it is raised right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _Worker:
    """The search process's view of one slot and its current child process."""

    def __init__(self, slot: Slot):
        self.slot = slot
        self.pid: int | None = None
        self.conn: Any = None
        self.calls = 0
        self.trial: dict | None = None  # the document it is evaluating
        self.started = 0.0
        self.leaving: int | None = None  # a recycled child that has not exited yet
        self.spare: tuple[int, Any] | None = None  # (pid, conn) of its successor


class LocalTrials(hyperopt.Trials):
    """hyperopt's Trials, but new trial ids fill the gaps first.

    A parallel search that was killed leaves gaps: trials that were running
    are not in the checkpoint. hyperopt numbers new trials from len(ids),
    which would then hand out an id twice; filling the gaps reruns the lost
    trials under their own ids (so, seeded by id, with their configurations).
    """

    @classmethod
    def holding(cls, previous: hyperopt.Trials, *args: Any, **kwargs: Any) -> Any:
        """A new instance with the trials and attachments of `previous` (a resumed run)."""
        trials = cls(*args, **kwargs)
        trials._insert_trial_docs(previous._dynamic_trials)
        trials.attachments.update(getattr(previous, "attachments", {}))
        trials.refresh()
        return trials

    def new_trial_ids(self, n: int) -> list[int]:
        ids, candidate = [], 0
        while len(ids) < n:
            if candidate not in self._ids:
                ids.append(candidate)
            candidate += 1
        self._ids.update(ids)
        return ids


class ParallelTrials(LocalTrials):
    """hyperopt Trials whose NEW trials run in forked processes, one per slot.

    fmin (through `fmin` below) suggests trials and polls; every poll
    (`refresh`, `count_by_state_unsynced`) collects finished results and
    hands queued trials to idle slots. Each result gets the slot's device
    under "device". A trial whose process dies is recorded as failed with the
    reason, and a fresh process takes the slot. On Ctrl-C the children are
    stopped and the unfinished trials stay NEW or RUNNING, so a checkpoint of
    the finished ones lets --resume run them again.

    Children run the objective given to fmin, after `child_setup(slot)` when
    given.
    """

    asynchronous = True

    def __init__(
        self,
        slots: Sequence[Slot] | int = 2,
        trials_per_process: int | None = 3,
        child_setup: Callable[[Slot], None] | None = None,
        exp_key: str | None = None,
        refresh: bool = True,
    ):
        if isinstance(slots, int):
            slots = plan_slots(slots, None)
        if not slots:
            raise DeviceError("no slots to run trials in")
        if trials_per_process is not None and trials_per_process < 1:
            raise DeviceError("trials per process must be at least 1")
        self._workers = [_Worker(slot) for slot in slots]
        self.trials_per_process = trials_per_process
        self.child_setup = child_setup
        self._domain: base.Domain | None = None
        self._search: hyperopt.FMinIter | None = None
        self._durations: list[float] = []
        # The pipes of each child's standard output and error, by pid: what a
        # trial prints reaches the search process whole, line by line.
        self._pipes: dict[int, OutputPipes] = {}
        super().__init__(exp_key=exp_key, refresh=refresh)

    @property
    def slots(self) -> list[Slot]:
        return [w.slot for w in self._workers]

    def devices(self) -> list[str]:
        """The devices trials run on, each once, in --gpus order."""
        return list(
            dict.fromkeys(w.slot.device for w in self._workers if w.slot.device)
        )

    # -- hyperopt's protocol: fmin calls these in its loop -----------------

    def refresh(self) -> None:
        self._pump()
        super().refresh()

    def count_by_state_unsynced(self, arg: Any) -> int:
        self._pump()
        return super().count_by_state_unsynced(arg)

    def unfinished_tids(self) -> list[int]:
        """Trials queued or running: not in a checkpoint, so --resume runs them again."""
        return sorted(
            t["tid"]
            for t in self._dynamic_trials
            if t["state"] in (base.JOB_STATE_NEW, base.JOB_STATE_RUNNING)
        )

    def fmin(
        self,
        fn: Callable,
        space: Any,
        algo: Callable | None = None,
        max_evals: int | None = None,
        timeout: float | None = None,
        loss_threshold: float | None = None,
        max_queue_len: int = 1,
        rstate: Any = None,
        verbose: bool = False,
        pass_expr_memo_ctrl: bool | None = None,
        catch_eval_exceptions: bool = False,
        return_argmin: bool = True,
        show_progressbar: bool = True,
        early_stop_fn: Callable | None = None,
        trials_save_file: str = "",
    ) -> Any:
        """hyperopt.fmin hands the search to this method, as it does for SparkTrials."""
        import numpy as np

        if rstate is None:
            rstate = np.random.default_rng()
        self._domain = base.Domain(fn, space, pass_expr_memo_ctrl=pass_expr_memo_ctrl)
        self._search = _ParallelSearch(
            algo or hyperopt.tpe.suggest,
            self._domain,
            self,
            rstate=rstate,
            # One spare trial: a slot that frees finds work at the next poll,
            # and TPE suggests with as many results as possible.
            max_queue_len=max_queue_len,
            poll_interval_secs=0.02,
            max_evals=sys.maxsize if max_evals is None else max_evals,
            timeout=timeout,
            loss_threshold=loss_threshold,
            verbose=verbose,
            show_progressbar=show_progressbar,
            early_stop_fn=early_stop_fn,
        )
        try:
            self._search.exhaust()
        finally:
            self._stop_children()
            self._domain = None  # no trial starts after fmin, even on a refresh()
        if early_stop_fn is not None:
            # Trials that finished after fmin's last call (while it waited for
            # the running ones) must be seen too, e.g. by a log of trials.
            early_stop_fn(self, *self._search.early_stop_args)
        if return_argmin:
            return self.argmin
        return hyperopt.space_eval(space, self.argmin) if len(self) else None

    def cancel_queued(self) -> None:
        """Drop the NEW trials: fmin stopped (timeout, early stop), so none may start."""
        self._pump()
        self._dynamic_trials[:] = [
            t for t in self._dynamic_trials if t["state"] != base.JOB_STATE_NEW
        ]
        super().refresh()

    # -- the slots ---------------------------------------------------------

    def _pump(self) -> None:
        """Collect finished trials and start queued ones on idle slots."""
        if not getattr(self, "_workers", None) or self._domain is None:
            return
        with _sigint_held():
            self._show_output()
            self._collect()
            self._dispatch()

    def _show_output(self) -> None:
        """Hand on the lines the children printed since the last poll."""
        for worker in self._workers:
            tid = worker.trial["tid"] if worker.trial is not None else None
            for pid in (worker.pid, worker.leaving):
                if pid in self._pipes:
                    self._pipes[pid].drain(route_for(tid))

    def _close_pipes(self, pid: int | None, tid: int | None = None) -> None:
        """A reaped child's last lines, then its pipes are closed."""
        pipes = self._pipes.pop(pid, None)
        if pipes is not None:
            pipes.close(route_for(tid))

    def _collect(self) -> None:
        busy = {w.conn: w for w in self._workers if w.trial is not None}
        ready = set(wait(list(busy), timeout=0)) if busy else set()
        for conn, worker in busy.items():
            # A dead trial process is seen by its exit, not by its pipe: a
            # child it started may hold the pipe open. Ending its process
            # group closes every copy, so reading cannot hang.
            dead = exited(worker.pid)
            if conn not in ready and not dead:
                continue
            if dead:
                end_group(worker.pid)
            if worker.pid in self._pipes:  # the trial's output before its result
                self._pipes[worker.pid].drain(
                    route_for(worker.trial["tid"]), whole=True
                )
            try:
                if not conn.poll(0):
                    raise EOFError
                result = conn.recv()
            except (EOFError, OSError):
                result = _failed(self._reap(worker), worker.started)
            else:
                worker.calls += 1
                if self.trials_per_process and worker.calls >= self.trials_per_process:
                    self._retire(worker)
            self._finish(worker, result)
        for worker in self._workers:
            if worker.leaving is not None and exited(worker.leaving):
                reap(worker.leaving)
                self._close_pipes(worker.leaving)
                worker.leaving = None

    def _finish(self, worker: _Worker, result: dict) -> None:
        trial, worker.trial = worker.trial, None
        result["device"] = worker.slot.device
        if Terminal.current is not None:
            result = Terminal.current.finished(trial["tid"], result)
        trial["result"] = result
        trial["state"] = base.JOB_STATE_DONE
        trial["refresh_time"] = coarse_utcnow()
        self._durations = (self._durations + [time.time() - worker.started])[-20:]
        if self._search is not None:
            # Poll often enough that a slot idles for ~1% of a trial.
            typical = statistics.median(self._durations)
            self._search.poll_interval_secs = min(0.2, max(0.005, typical / 100))

    def _dispatch(self) -> None:
        queued = sorted(
            (t for t in self._dynamic_trials if t["state"] == base.JOB_STATE_NEW),
            key=lambda t: t["tid"],
        )
        for worker in self._workers:
            if not queued:
                break
            # A recycled child on this slot must be gone first: its device
            # memory is freed only when it exits.
            if worker.trial is not None or worker.leaving is not None:
                continue
            trial = queued.pop(0)
            now = coarse_utcnow()
            trial.update(state=base.JOB_STATE_RUNNING, book_time=now, refresh_time=now)
            worker.trial, worker.started = trial, time.time()
            for _ in range(2):  # a child that died while idle is replaced once
                if worker.conn is None:
                    self._start_child(worker)
                try:
                    worker.conn.send(trial)
                    break
                except (BrokenPipeError, OSError):
                    self._reap(worker)
            else:
                self._finish(
                    worker, _failed("cannot start a trial process", worker.started)
                )
        # Fork each running child's successor while it runs its last trial,
        # so that forking (tens of ms for a big search process) is not in the
        # way when the slot frees. It only starts its trial once the old
        # child is gone.
        limit = self.trials_per_process
        for worker in self._workers:
            last = limit is not None and worker.calls + 1 >= limit
            if worker.trial is not None and last and worker.spare is None:
                worker.spare = self._fork(worker.slot)

    def _start_child(self, worker: _Worker) -> None:
        worker.pid, worker.conn = worker.spare or self._fork(worker.slot)
        worker.spare, worker.calls = None, 0

    def _fork(self, slot: Slot) -> tuple[int, Any]:
        parent_end, child_end = Pipe()
        pipes = OutputPipes()
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            parent_end.close()
            for other in self._pipes.values():
                other.abandon()
            pipes.child()
            self._child_main(slot, child_end, parent_pid)
        own_group(pid)
        child_end.close()
        pipes.parent()
        self._pipes[pid] = pipes
        return pid, parent_end

    def _child_main(self, slot: Slot, conn: Any, parent_pid: int) -> None:
        """The trial process: evaluate the trials it is sent until told to stop."""
        code = 0
        try:
            # The search process decides what happens to running trials on
            # Ctrl-C (a signal sent to a whole process group, say).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            own_group()  # what the trial starts ends with this process
            die_with_parent(parent_pid)
            for other in self._workers:  # keep only our pipe to the parent open
                for end in (other.conn, other.spare and other.spare[1]):
                    if end:
                        end.close()
            os.environ.update(slot.env)
            trial = conn.recv()
            # Set up only now: a successor is forked while the slot's previous
            # process may still hold the device.
            if trial is not None and self.child_setup is not None:
                self.child_setup(slot)
            while trial is not None:
                result = self._evaluate(trial)
                flush_quietly()  # its output first, then its result
                _send_result(conn, result)
                trial = conn.recv()
        except EOFError:
            pass  # the search process is gone or done with us
        except BaseException:  # the search process reports it
            traceback.print_exc()
            code = 1
        flush_quietly()
        os._exit(code)

    def _evaluate(self, trial: dict) -> dict:
        started = time.time()
        try:
            ctrl = base.Ctrl(self, current_trial=trial)
            spec = base.spec_from_misc(trial["misc"])
            return self._domain.evaluate(spec, ctrl)
        except Exception:  # a failed trial, with its traceback
            return _failed(traceback.format_exc(), started)

    def _retire(self, worker: _Worker) -> None:
        """Let the slot's child exit after its K trials; a fresh one takes over."""
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        worker.conn.close()
        worker.leaving, worker.pid, worker.conn = worker.pid, None, None

    def _reap(self, worker: _Worker) -> str:
        """Wait for a child that died, and end its process group; say how it died."""
        worker.conn.close()
        status = reap(worker.pid)
        tid = worker.trial["tid"] if worker.trial is not None else None
        self._close_pipes(worker.pid, tid)
        worker.pid = worker.conn = None
        return describe_exit(status)

    def _stop_children(self) -> None:
        """End every child: idle ones are told to, running ones are killed."""
        with _sigint_held():
            for worker in self._workers:
                if worker.spare is not None:
                    pid, conn = worker.spare
                    conn.close()  # it exits on the end of its pipe
                    worker.spare = None
                    self._wait(pid)
                if worker.pid is None:
                    continue
                if worker.trial is not None:
                    end_group(worker.pid)
                    worker.conn.close()
                    worker.leaving, worker.pid, worker.conn = worker.pid, None, None
                else:
                    self._retire(worker)
            for worker in self._workers:
                if worker.leaving is not None:
                    self._wait(worker.leaving)
                    worker.leaving = None
                worker.trial = None

    def _wait(self, pid: int) -> None:
        reap(pid)
        self._close_pipes(pid)


class _ParallelSearch(hyperopt.FMinIter):
    """fmin's loop for ParallelTrials: once a stop condition holds, no queued trial starts."""

    def __init__(
        self, *args: Any, early_stop_fn: Callable | None = None, **kwargs: Any
    ):
        # Built as a synchronous search and then switched: an asynchronous
        # FMinIter pickles the domain into the trials for remote workers,
        # which forked children do not need (and which may not pickle).
        super().__init__(*args, asynchronous=False, **kwargs)
        self.asynchronous = True
        self.stopped_early = False
        if early_stop_fn is not None:

            def early_stop(trials: Any, *state: Any) -> Any:
                stop, state = early_stop_fn(trials, *state)
                self.stopped_early = self.stopped_early or bool(stop)
                return stop, state

            self.early_stop_fn = early_stop

    def block_until_done(self) -> None:
        # fmin also gets here with trials still queued when they simply had
        # not started yet (its "all complete" flag is sticky), so drop the
        # queued ones only when a stop condition holds.
        if self.stop_reached():
            self.trials.cancel_queued()
        super().block_until_done()

    def stop_reached(self) -> bool:
        """--timeout passed, --loss-threshold reached, early stop, as fmin's loop sees them."""
        if self.stopped_early:
            return True
        if (
            self.timeout is not None
            and time.perf_counter() - self.start_time >= self.timeout
        ):
            return True  # FMinIter's clock is timeit's default_timer, perf_counter
        if self.loss_threshold is not None:
            losses = [x for x in self.trials.losses() if x is not None and x == x]
            return bool(losses) and min(losses) < self.loss_threshold
        return False


# -- the generated script's --parallel and --gpus -----------------------------


def open_parallel_trials(
    run: Any, previous: hyperopt.Trials, args: Any
) -> ParallelTrials:
    """ParallelTrials for the script's local search, holding the resumed run's trials.

    In each trial process, trials run right there (no second fork), a
    replaced process frees their memory, and best_model.keras is replaced
    only by a model better than every one saved so far by any process.
    """
    best = SharedBestModel(run)

    def child_setup(slot: Slot) -> None:
        TrialScope.configure(best, args.seed, args.trial_seed, evaluate_here)

    return ParallelTrials.holding(
        previous, args.slots, args.trials_per_process, child_setup
    )


def evaluate_here(body: Callable, sampled: Any, tid: int, standing: Any) -> dict:
    """TrialScope.process in a trial process: run the trial here; recycling frees it."""
    return evaluate_trial(body, sampled, tid)


class SharedBestModel:
    """TrialScope.run for trial processes that run at the same time.

    TrialScope saves a model whose loss beats `best_loss`, then sets
    `best_loss`. Here the model goes to a file of this process first; then,
    holding a lock on the run directory, it replaces best_model.keras only if
    its loss still beats the best of all processes (in shared memory). The
    lock is flock's, which a killed process gives up as it dies.
    """

    def __init__(self, run: Any):
        import multiprocessing

        self.run = run
        self._best = multiprocessing.RawValue("d", run.best_loss)
        self._saved: str | None = None

    @property
    def best_loss(self) -> float:
        return self._best.value

    @best_loss.setter
    def best_loss(self, loss: float) -> None:
        import fcntl

        directory = os.open(self.run.path, os.O_RDONLY)
        try:
            fcntl.flock(directory, fcntl.LOCK_EX)
            saved, self._saved = self._saved, None
            if saved is not None and loss < self._best.value:
                os.replace(saved, self.run.file("best_model.keras"))
            elif saved is not None:
                os.remove(saved)
            self._best.value = min(self._best.value, loss)
        finally:
            os.close(directory)  # and with it the lock

    def save_model(self, model: Any) -> None:
        self._saved = self.run.file(f".best_model.{os.getpid()}.tmp.keras")
        model.save(self._saved)

    def __getattr__(self, name: str) -> Any:
        # The rest is the run directory's (--keep-best's keep_model, say).
        return getattr(self.run, name)


def enable_determinism() -> str:
    """--deterministic: deterministic ops in the backend Keras runs on; its name.

    Called in the search process before any trial process is forked, so every
    trial process inherits it; none of these calls initialises a GPU.
    """
    keras = sys.modules.get("keras")
    backend = keras.config.backend() if keras is not None else None
    backend = backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    elif backend == "torch":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        import torch

        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return backend

class TrialScope:
    """Everything around one trial that the model code should not have to do.

    - seeds Python, NumPy and Keras from the run seed and the trial id;
    - records the History of every Keras fit() call;
    - turns an exception, a NaN loss or a malformed result into a failed
      trial with its traceback, so the search goes on (out-of-memory too);
    - saves the model when it beats the best loss, then lets it go, and
      clears the Keras session so memory does not grow across trials.
    """

    run = None  # the RunDirectory that receives best_model.keras
    run_seed = 0
    seeding = True
    isolate = False  # run each trial in a forked process (see run_trial)

    @classmethod
    def configure(cls, run, run_seed, seeding=True):
        cls.run, cls.run_seed, cls.seeding = run, run_seed, seeding

    def __init__(self, tid, sampled):
        self.tid = tid
        self.sampled = sampled
        self.histories = []
        self.result = None
        self._original_fit = None

    def __enter__(self):
        self.started = time.time()
        if self.seeding:
            self._seed()
        keras = sys.modules.get("keras")
        if keras is not None:
            self._original_fit = keras.Model.fit
            scope = self

            def fit(model, *args, **kwargs):
                history = scope._original_fit(model, *args, **kwargs)
                scope.histories.append(
                    {
                        k: [float(v) for v in values]
                        for k, values in getattr(history, "history", {}).items()
                    }
                )
                return history

            keras.Model.fit = fit
        return self

    def _seed(self):
        seed = trial_seed(self.run_seed, self.tid if self.tid is not None else 0)
        random.seed(seed)
        np.random.seed(seed)
        keras = sys.modules.get("keras")
        if keras is not None:
            keras.utils.set_random_seed(seed)

    def report(self, returned):
        """Read what the model function returned: a loss, or hyperas's result dict."""
        model = None
        if isinstance(returned, dict):
            extra = {
                k: v
                for k, v in returned.items()
                if k not in ("loss", "status", "model")
            }
            model = returned.get("model")
            status = returned.get("status", STATUS_OK)
            loss = returned.get("loss")
        else:
            extra, status, loss = {}, STATUS_OK, returned
        if status != STATUS_OK:
            self.result = self._failure(
                f"the model function returned status {status!r}"
            )
            return
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            self.result = self._failure(
                f"the model function returned no usable loss: {loss!r}"
            )
            return
        if not math.isfinite(loss):
            self.result = self._failure(f"the loss is {loss}")
            return
        self.result = self._result(STATUS_OK, loss, None)
        self.result.update(
            {k: v for k, v in jsonable(extra).items() if k not in self.result}
        )
        run = self.run
        if (
            model is not None
            and run is not None
            and loss < run.best_loss
            and hasattr(model, "save")
        ):
            run.save_model(model)
            run.best_loss = loss

    def __exit__(self, kind, error, tb):
        keras = sys.modules.get("keras")
        if self._original_fit is not None:
            keras.Model.fit = self._original_fit
        suppress = False
        if kind is not None and issubclass(kind, Exception):
            text = "".join(traceback.format_exception(kind, error, tb))
            if "ResourceExhausted" in kind.__name__ or isinstance(error, MemoryError):
                text = "out of memory: " + text
            self.result = self._failure(text)
            suppress = True
        elif kind is None and self.result is None:
            self.result = self._failure("the model function returned nothing")
        # Free this trial's graphs and layers before the next trial. A forked
        # trial process frees everything by exiting, which is much faster.
        if not self.isolate:
            if keras is not None:
                keras.backend.clear_session()
            gc.collect()
        return suppress

    def _failure(self, message):
        return self._result(STATUS_FAIL, None, message)

    def _result(self, status, loss, error):
        ended = time.time()
        return {
            "status": status,
            "loss": loss,
            "error": error,
            "history": self.histories,
            "start": self.started,
            "end": ended,
            "duration": ended - self.started,
        }


def run_trial(body, sampled, ctrl):
    """Run one trial of `body(sampled)` and return hyperopt's result dict.

    With TrialScope.isolate, the trial runs in a process forked for it.
    TensorFlow keeps every traced graph alive even after clear_session, so a
    long search in one process grows by megabytes per trial; a forked trial
    takes that memory with it when it exits. The search process itself never
    runs a TensorFlow op, so each fork starts clean, GPUs included.
    """
    tid = (getattr(ctrl, "current_trial", None) or {}).get("tid")

    def evaluate():
        with TrialScope(tid, sampled) as trial:
            trial.report(body(sampled))
        return trial.result

    if not TrialScope.isolate or not hasattr(os, "fork"):
        return evaluate()
    started = time.time()
    try:
        result = call_in_child(evaluate)
    except ChildProcessError as exc:
        ended = time.time()
        return {
            "status": STATUS_FAIL,
            "loss": None,
            "error": str(exc),
            "history": [],
            "start": started,
            "end": ended,
            "duration": ended - started,
        }
    run = TrialScope.run
    if (
        run is not None
        and result["status"] == STATUS_OK
        and result["loss"] < run.best_loss
    ):
        run.best_loss = result[
            "loss"
        ]  # the child saved the model; remember its loss here
    return result


def call_in_child(function):
    """Return function() computed in a forked child process."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            die_with_parent()
            payload = pickle.dumps(function())
        except BaseException:  # Ctrl-C included: the parent reports it
            payload, code = b"", 1
        with os.fdopen(write_end, "wb") as f:
            f.write(payload)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        payload = f.read()
    _, status = os.waitpid(pid, 0)
    if not payload:
        how = (
            f"signal {-os.waitstatus_to_exitcode(status)}"
            if os.WIFSIGNALED(status)
            else f"exit code {os.waitstatus_to_exitcode(status)}"
        )
        hint = (
            " (killed: out of memory?)"
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
            else ""
        )
        raise ChildProcessError(f"the trial process died with {how}{hint}")
    return pickle.loads(payload)


def die_with_parent():
    """Linux: end this trial process if the search process dies (e.g. SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass

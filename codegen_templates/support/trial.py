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

    @classmethod
    def configure(cls, run, run_seed, seeding=True):
        cls.run, cls.run_seed, cls.seeding = run, run_seed, seeding

    def __init__(self, ctrl, sampled):
        trial = getattr(ctrl, "current_trial", None) or {}
        self.tid = trial.get("tid")
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
                    {k: [float(v) for v in values] for k, values in getattr(history, "history", {}).items()}
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
            extra = {k: v for k, v in returned.items() if k not in ("loss", "status", "model")}
            model = returned.get("model")
            status = returned.get("status", STATUS_OK)
            loss = returned.get("loss")
        else:
            extra, status, loss = {}, STATUS_OK, returned
        if status != STATUS_OK:
            self.result = self._failure(f"the model function returned status {status!r}")
            return
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            self.result = self._failure(f"the model function returned no usable loss: {loss!r}")
            return
        if not math.isfinite(loss):
            self.result = self._failure(f"the loss is {loss}")
            return
        self.result = self._result(STATUS_OK, loss, None)
        self.result.update({k: v for k, v in jsonable(extra).items() if k not in self.result})
        run = self.run
        if model is not None and run is not None and loss < run.best_loss and hasattr(model, "save"):
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
        # Free this trial's graphs and layers before the next one starts.
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

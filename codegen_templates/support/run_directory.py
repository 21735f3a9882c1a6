class RunError(Exception):
    """A problem with the run directory that the user must resolve."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="milliseconds"
    )


def write_atomically(path, data):
    """Write bytes to path so that readers see the old or the new file, never half of one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are for sharing
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class RunDirectory:
    """The files of one search: see `hyperasc report` for reading them back."""

    RUN_FILES = ("run.json", "checkpoint", "trials.jsonl")

    def __init__(self, path):
        self.path = path
        self.best_loss = math.inf

    def file(self, name):
        return os.path.join(self.path, name)

    def open(self, resume):
        """Return the Trials to search with: stored ones on --resume, else new ones."""
        existing = [n for n in self.RUN_FILES if os.path.exists(self.file(n))]
        if resume and not os.path.exists(self.file("checkpoint")):
            if existing:
                raise SystemExit(f"error: {self.path} has no checkpoint to resume from")
            os.makedirs(self.path, exist_ok=True)
            return Trials()
        if not resume and existing:
            raise SystemExit(
                f"error: {self.path} already holds a run ({', '.join(existing)}); "
                "pass --resume to continue it or choose another --out"
            )
        os.makedirs(self.path, exist_ok=True)
        if not resume:
            return Trials()
        with open(self.file("checkpoint"), "rb") as f:
            trials = pickle.load(f)
        trials.refresh()
        ok = [
            t["result"]["loss"]
            for t in trials.trials
            if t["result"].get("status") == STATUS_OK
        ]
        self.best_loss = min(ok, default=math.inf)
        return trials

    def save_checkpoint(self, trials):
        """Store the finished trials; an unfinished one runs again on --resume."""
        finished = Trials()
        # MongoDB trials hand over plain copies of their documents.
        docs = (
            trials.checkpoint_docs()
            if hasattr(trials, "checkpoint_docs")
            else trials._dynamic_trials
        )
        finished._dynamic_trials = [
            t
            for t in docs
            if t["state"] in (hyperopt.JOB_STATE_DONE, hyperopt.JOB_STATE_ERROR)
        ]
        attachments = getattr(trials, "attachments", {})
        # MongoTrials keeps its attachments in GridFS, where they stay.
        finished.attachments = (
            dict(attachments) if isinstance(attachments, dict) else {}
        )
        finished.refresh()
        write_atomically(self.file("checkpoint"), pickle.dumps(finished))

    def write_provenance(self, args, backend, extra=None):
        previous = self.read_json("run.json") or {}
        script = (
            os.path.abspath(sys.argv[0])
            if sys.argv and os.path.exists(sys.argv[0])
            else __file__
        )
        info = {
            "hyperasc_version": HYPERASC_VERSION,
            "script": {"path": script, "sha256": file_sha256(script)},
            "model": {"path": MODEL_FILE, "sha256": MODEL_SHA256},
            "argv": list(sys.argv),
            "started": previous.get("started", utc_now()),
            "resumed": previous.get("resumed", []) + ([utc_now()] if previous else []),
            "seed": args.seed,
            "algo": args.algo,
            "max_evals": args.max_evals,
            "backend": backend,
            "versions": package_versions(),
            "devices": visible_devices(),
            "space": [
                {
                    k: p[k]
                    for k in (
                        "name",
                        "distribution",
                        "args",
                        "line",
                        "column",
                        "options",
                    )
                }
                for p in PARAMETERS
            ],
        }
        info.update(extra or {})
        self.write_json("run.json", info)

    def read_json(self, name):
        try:
            with open(self.file(name), encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def write_json(self, name, data):
        text = json.dumps(data, indent=2, sort_keys=False, default=repr) + "\n"
        write_atomically(self.file(name), text.encode("utf-8"))

    def recorded_tids(self):
        """Trial ids already in trials.jsonl; cuts off a line left half-written by a crash."""
        path = self.file("trials.jsonl")
        if not os.path.exists(path):
            return set()
        with open(path, "rb") as f:
            data = f.read()
        keep = data[: data.rfind(b"\n") + 1]
        if len(keep) != len(data):
            with open(path, "r+b") as f:
                f.truncate(len(keep))
        tids = set()
        for line in keep.splitlines():
            try:
                tids.add(json.loads(line)["tid"])
            except (ValueError, KeyError, TypeError):
                continue
        return tids

    def append_trial(self, record):
        with open(self.file("trials.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=repr) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def save_model(self, model):
        """Write best_model.keras atomically (Keras insists on the .keras suffix)."""
        tmp = self.file(".best_model.tmp.keras")
        model.save(tmp)
        os.replace(tmp, self.file("best_model.keras"))


def package_versions():
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name, dist in (
        ("hyperopt", "hyperopt"),
        ("keras", "keras"),
        ("tensorflow", None),
        ("numpy", "numpy"),
    ):
        candidates = (
            [dist] if dist else ["tensorflow", "tensorflow-cpu", "tensorflow-gpu"]
        )
        versions[name] = None
        for candidate in candidates:
            try:
                versions[name] = metadata.version(candidate)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def visible_devices():
    """Accelerators the model will see, by name; CPU when there are none.

    Asked in a child process: once TensorFlow has initialised a GPU here,
    forked trial processes could no longer use it.
    """
    if hasattr(os, "fork"):
        try:
            return ForkedWorker(list_devices, limit=1)()
        except ChildProcessError:
            return ["unknown"]
    return list_devices()


def list_devices():
    devices = []
    tf = sys.modules.get("tensorflow")  # only ask TensorFlow if the model uses it
    try:
        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            devices.append(details.get("device_name", gpu.name))
    except Exception:  # no TensorFlow (tf is None), or no GPU runtime
        pass
    return devices or ["CPU"]

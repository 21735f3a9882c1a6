"""The run directory: the one definition of its files, written here, read by run_files.py.

`tune.py` writes it, `hyperasc report` reads it, both through this module.
docs/run-directory.md describes the format for people.

    run.json          provenance: script, model, seed, space, every start's command line
    trials.jsonl      one JSON line per finished trial, appended and fsynced
    best.json         the best trial so far
    best_model.keras  the best trial's model, when the model function returned one
    checkpoint        the finished trials' hyperopt documents as JSON, replaced atomically
    lock              held by the search writing the directory (run_lock.py)

Nothing read from a run directory can run code: the checkpoint is plain JSON
(an old pickled one is not unpickled; resume rebuilds from trials.jsonl).
"""

from __future__ import annotations

import json
import math
import os
import base64
import datetime
import platform
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import hyperopt
from hyperopt import STATUS_OK, Trials

from .errors import RunError
from .fileio import append_line, file_sha256, write_atomically
from .processes import ForkedWorker
from .run_files import (
    BEST_JSON,
    BEST_MODEL,
    LOCK,
    MODELS_DIR,
    RUN_FILES,
    SPACE_IDENTITY,
    read_json,
    kept_model_name,
    read_trials,
    space_record,
    utc_now,
)

if TYPE_CHECKING:
    import argparse

    from .script import Script

FINISHED = (hyperopt.JOB_STATE_DONE, hyperopt.JOB_STATE_ERROR)


class RunDirectory:
    """The files of one search."""

    def __init__(self, path: str, keep_best: int = 0) -> None:
        self.path = path
        self.best_loss = math.inf
        self.keep_best = (
            keep_best  # --keep-best K: models/trial-<tid>.keras of the K best
        )
        self.keep_threshold = math.inf if keep_best else -math.inf

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def existing(self) -> list[str]:
        return [n for n in RUN_FILES if os.path.exists(self.file(n))]

    def check_start(
        self,
        resume: bool,
        parameters: Sequence[Mapping[str, Any]],
        seed: int | None,
        reseed: bool = False,
    ) -> int:
        """Refuse what cannot work, before anything is written; the run seed to use.

        A new search needs an --out without a run in it. --resume needs a run,
        the same space (a comment or a moved line is fine) and the same seed.
        """
        self.check_no_links()
        existing = self.existing()
        if not resume:
            if existing:
                raise RunError(
                    f"{self.path} already holds a run ({', '.join(existing)}); "
                    "pass --resume to continue it or choose another --out"
                )
            return 0 if seed is None else seed
        if not existing:  # parse_args refuses it first; here under the lock too
            raise RunError(
                f"--resume: no run to continue in {self.path} (no "
                f"{', '.join(RUN_FILES[:-1])} or {RUN_FILES[-1]} in it)"
            )
        previous = self.read_json("run.json")
        if previous is None:
            if os.path.exists(self.file("run.json")):
                raise RunError(
                    f"{self.file('run.json')} is damaged; move {self.path} away to start afresh"
                )
            return 0 if seed is None else seed
        changed = space_changes(previous.get("space") or [], parameters)
        if changed:
            raise RunError(
                f"cannot resume {self.path}: the search space changed ({changed}); "
                "use another --out for the new space"
            )
        recorded = previous.get("seed", 0)
        if seed is not None and seed != recorded and not reseed:
            raise RunError(
                f"{self.path} was searched with --seed {recorded}, not {seed}; "
                f"drop --seed, or add --reseed to continue with seed {seed}"
            )
        return recorded if seed is None else seed

    def check_no_links(self) -> None:
        """Refuse a run directory whose files are symbolic links (a downloaded one, say).

        Appending to trials.jsonl, or writing models/, would write to the
        link's target, anywhere on this machine.
        """
        for name in (*RUN_FILES, BEST_JSON, BEST_MODEL, MODELS_DIR, LOCK):
            if os.path.islink(self.file(name)):
                raise RunError(
                    f"{self.file(name)} is a symbolic link; the files of a run "
                    "directory must be its own, so nothing is written through it"
                )

    def open(
        self, resume: bool, parameters: Sequence[Mapping[str, Any]] | None = None
    ) -> Trials:
        """The Trials to search with: the stored ones on --resume, else new ones.

        A run killed before its first trial finished has no checkpoint; it
        resumes from zero. A damaged or missing checkpoint is rebuilt from
        trials.jsonl, which holds every finished trial.
        """
        os.makedirs(self.path, exist_ok=True)
        if not resume:
            return Trials()
        trials, problem = self._load_checkpoint()
        records, _ = read_trials(self.file("trials.jsonl"))
        held = {t["tid"] for t in trials.trials} if trials is not None else set()
        if trials is None or any(
            is_tid(r.get("tid")) and r["tid"] not in held for r in records
        ):
            why = f"{problem}; " if problem else ""
            if records and parameters is not None:
                print(
                    f"note: {why}rebuilding the search from {len(records)} "
                    f"trial(s) in {self.file('trials.jsonl')}",
                    file=sys.stderr,
                )
                trials = rebuild_trials(records, parameters, note=print_note)
            elif trials is None:
                if problem:
                    print(f"note: {why}starting with no trials", file=sys.stderr)
                trials = Trials()
        ok = [
            t["result"]["loss"]
            for t in trials.trials
            if t["result"].get("status") == STATUS_OK and not t["result"].get("pruned")
        ]
        self.best_loss = min(ok, default=math.inf)
        return trials

    def _load_checkpoint(self) -> tuple[Trials | None, str | None]:
        """The checkpoint's trials, or None and why not (None when there is none)."""
        path = self.file("checkpoint")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"{path} cannot be read ({exc.strerror or exc})"
        if data[:1] == b"\x80":  # a pickle, as hyperasc wrote before
            return (
                None,
                f"{path} is an old pickled checkpoint, which is never unpickled",
            )
        try:
            return trials_from_checkpoint(data), None
        except Exception as exc:  # truncated, empty, or not ours at all
            return None, f"{path} is damaged ({type(exc).__name__})"

    def save_checkpoint(self, trials: Trials) -> None:
        """Store the finished trials; an unfinished one runs again on --resume."""
        # MongoDB trials hand over plain copies of their documents.
        docs = (
            trials.checkpoint_docs()
            if hasattr(trials, "checkpoint_docs")
            else trials._dynamic_trials
        )
        attachments = getattr(trials, "attachments", {})
        # MongoTrials keeps its attachments in GridFS, where they stay.
        attachments = dict(attachments) if isinstance(attachments, dict) else {}
        finished = [t for t in docs if t["state"] in FINISHED]
        write_atomically(
            self.file("checkpoint"), checkpoint_bytes(finished, attachments)
        )

    def write_provenance(
        self,
        script: Script,
        args: argparse.Namespace,
        backend: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """run.json: what ran, on what, with which space; each restart's command line added."""
        previous = self.read_json("run.json") or {}
        now = utc_now()
        argv = (extra or {}).get("argv", list(sys.argv))
        resume = {"at": now, "argv": argv}
        changed = getattr(args, "resume_changes", None)
        if changed:  # options given again with other values: {dest: [run's, now]}
            resume["changed"] = changed
        info = {
            "hyperasc_version": script.version,
            "script": {"path": script.path, "sha256": file_sha256(script.path)},
            "model": {"path": script.model_file, "sha256": script.model_sha256},
            "argv": previous.get("argv", argv),
            "started": previous.get("started", now),
            "resumed": previous.get("resumed", []) + ([now] if previous else []),
            "resumes": previous.get("resumes", []) + ([resume] if previous else []),
            "seed": args.seed,
            "algo": args.algo,
            "max_evals": args.max_evals,
            "backend": backend,
            "versions": package_versions(),
            "keras_backend": keras_backend(),
            "devices": previous.get("devices") or visible_devices(),
            "space": space_record(script.parameters),
            "objective": getattr(script, "objective", None),
        }
        info.update({k: v for k, v in (extra or {}).items() if k != "argv"})
        self.write_json("run.json", info)

    def read_json(self, name: str) -> Any:
        return read_json(self.file(name))

    def write_json(self, name: str, data: Any) -> None:
        text = json.dumps(data, indent=2, sort_keys=False, default=repr) + "\n"
        write_atomically(self.file(name), text.encode("utf-8"))

    def recorded_tids(self) -> set[int]:
        """Trial ids already in trials.jsonl; cuts off a line left half-written by a crash."""
        path = self.file("trials.jsonl")
        if not os.path.exists(path):
            return set()
        with open(path, "rb") as f:
            data = f.read()
        keep = data[: data.rfind(b"\n") + 1]
        if len(keep) != len(data):
            fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                os.ftruncate(fd, len(keep))
            finally:
                os.close(fd)
        records, _ = read_trials(path)
        return {r["tid"] for r in records if is_tid(r.get("tid"))}

    def append_trial(self, record: Mapping[str, Any]) -> None:
        append_line(self.file("trials.jsonl"), json.dumps(record, default=repr))

    def save_model(self, model: Any) -> None:
        """Write best_model.keras atomically (Keras insists on the .keras suffix)."""
        self._save(model, self.file(BEST_MODEL))

    def keep_model(self, model: Any, tid: int) -> None:
        """Write models/trial-<tid>.keras, one of the K best models of --keep-best."""
        os.makedirs(self.file(MODELS_DIR), exist_ok=True)
        self._save(model, self.file(kept_model_name(tid)))

    def _save(self, model: Any, path: str) -> None:
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp.keras")
        model.save(tmp)
        os.replace(tmp, path)

    def keep_only(
        self, best_trials: Sequence[tuple[float, int]], made: Iterable[int] = ()
    ) -> None:
        """After a trial: delete kept models that left the K best; set the bar to enter.

        `best_trials` are (loss, tid) of the successful trials, best first;
        `made` the trial ids whose models this run wrote (their results say
        so). Only those files are ever deleted: anything else in models/ is
        someone else's.
        """
        if not self.keep_best:
            return
        kept = best_trials[: self.keep_best]
        full = len(kept) == self.keep_best
        self.keep_threshold = kept[-1][0] if full else math.inf
        wanted = {tid for _, tid in kept}
        for tid in sorted(set(made) - wanted):
            try:
                os.unlink(self.file(kept_model_name(int(tid))))
            except FileNotFoundError:
                pass


CHECKPOINT_FORMAT = "hyperasc-checkpoint"


def checkpoint_bytes(
    docs: Sequence[Mapping[str, Any]], attachments: Mapping[str, Any] | None = None
) -> bytes:
    """The checkpoint file's content: hyperopt trial documents as plain JSON.

    No random generator state is stored: every suggestion is seeded from
    (run seed, trial id) (algorithm.py), so the trials are the whole state.
    """
    content = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "trials": [_plain(doc) for doc in docs],
        "attachments": {str(k): _plain(v) for k, v in (attachments or {}).items()},
    }
    return json.dumps(content, default=repr).encode("utf-8")


def trials_from_checkpoint(data: bytes) -> Trials:
    """hyperopt Trials from `checkpoint_bytes`'s output; ValueError if it is not that.

    Only JSON is parsed: nothing in the file can run code.
    """
    content = json.loads(data.decode("utf-8"), object_hook=_tagged)
    if not isinstance(content, dict) or content.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("not a hyperasc checkpoint")
    docs = content.get("trials")
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        raise ValueError("no list of trials")
    tids = [doc.get("tid") for doc in docs]
    if not all(is_tid(t) for t in tids) or len(set(tids)) != len(tids):
        raise ValueError("a trial without a usable tid")
    for doc in docs:
        misc, result = doc.get("misc"), doc.get("result")
        if not isinstance(misc, dict) or not isinstance(misc.get("vals"), dict):
            raise ValueError(f"trial {doc['tid']} has no values")
        for value in misc["vals"].values():
            # hyperopt's encoding: choice indices and numbers, all finite
            if not isinstance(value, list) or not all(map(is_loss, value)):
                raise ValueError(f"trial {doc['tid']} has a value that is not a number")
        if not isinstance(result, dict) or (
            result.get("status") == STATUS_OK and not is_loss(result.get("loss"))
        ):
            raise ValueError(f"trial {doc['tid']} has no usable result")
    for doc in docs:
        cmd = (doc.get("misc") or {}).get("cmd")
        if isinstance(cmd, list):
            doc["misc"]["cmd"] = tuple(cmd)
    trials = Trials()
    trials._dynamic_trials = docs
    attachments = content.get("attachments")
    trials.attachments = dict(attachments) if isinstance(attachments, dict) else {}
    trials.refresh()
    return trials


def _plain(value: Any) -> Any:
    """`value` with what JSON lacks tagged: datetimes and bytes; numpy as Python."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a numpy scalar
        return value.item() if getattr(value, "ndim", 0) == 0 else value.tolist()
    return value


def _tagged(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$datetime" in obj and isinstance(obj["$datetime"], str):
            return datetime.datetime.fromisoformat(obj["$datetime"])
        if "$bytes" in obj and isinstance(obj["$bytes"], str):
            return base64.b64decode(obj["$bytes"])
    return obj


def space_changes(
    recorded: Sequence[Mapping[str, Any]], parameters: Sequence[Mapping[str, Any]]
) -> str:
    """What differs between run.json's space and the script's, in a few words; '' if nothing."""
    before = {p.get("name"): {k: p.get(k) for k in SPACE_IDENTITY} for p in recorded}
    after = {p["name"]: {k: p[k] for k in SPACE_IDENTITY} for p in parameters}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    parts = [
        f"{what} {', '.join(names)}"
        for what, names in (
            ("added", added),
            ("removed", removed),
            ("changed", changed),
        )
        if names
    ]
    return "; ".join(parts)


def is_tid(value: Any) -> bool:
    """Whether a record's tid can be a trial id: an int, 0 or more (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_loss(value: Any) -> bool:
    """Whether a recorded loss is a finite number."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def print_note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def rebuild_trials(
    records: Sequence[Mapping[str, Any]],
    parameters: Sequence[Mapping[str, Any]],
    note: Callable[[str], None] | None = None,
) -> Trials:
    """hyperopt Trials holding the finished trials of trials.jsonl.

    Each record's real values are encoded back as hyperopt stores them, so
    the algorithm sees the same history it would have with the checkpoint.
    A record without a usable tid (missing, a string, repeated) is skipped
    with a note. A record whose values no longer fit the space, or that
    claims success without a finite loss, is kept as a failed trial with no
    values: its tid stays taken, so no new trial gets it (and SearchLog,
    which finds the tid in trials.jsonl, would never record that one).
    `note` receives one line per skipped record and one for those kept failed.
    """
    note = note or (lambda text: None)
    trials = Trials()
    labels = [p["name"] for p in parameters]
    docs, seen, unfit = [], set(), []
    for number, record in enumerate(records, 1):
        tid = record.get("tid")
        if not is_tid(tid) or tid in seen:
            why = "repeats" if is_tid(tid) else "has no usable"
            note(f"record {number} of trials.jsonl {why} tid ({tid!r}); skipped")
            continue
        seen.add(tid)
        try:
            result, values = _rebuilt_result(record, parameters)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            why = str(exc) or type(exc).__name__
            if isinstance(exc, _Damaged):
                note(
                    f"trial {tid} of trials.jsonl is damaged ({why}); it counts as failed"
                )
            else:
                unfit.append((tid, why))
            result = {
                "status": hyperopt.STATUS_FAIL,
                "loss": None,
                "error": f"its record cannot be used: {why}",
            }
            values = {}
        misc = {
            "tid": tid,
            "cmd": ("domain_attachment", "FMinIter_Domain"),
            "workdir": None,
            "idxs": {k: [tid] if k in values else [] for k in labels},
            "vals": {k: [values[k]] if k in values else [] for k in labels},
        }
        doc = trials.new_trial_docs([tid], [None], [result], [misc])[0]
        doc["state"] = hyperopt.JOB_STATE_DONE
        docs.append(doc)
    if unfit:
        tid, why = unfit[0]
        note(
            f"{len(unfit)} trial(s) of trials.jsonl no longer fit the search space "
            f"({', '.join(str(t) for t, _ in unfit)}; trial {tid}: {why}); "
            "they count as failed and their trial ids are not used again"
        )
    docs.sort(key=lambda d: d["tid"])
    trials.insert_trial_docs(docs)
    trials.refresh()
    return trials


class _Damaged(ValueError):
    """A record that no search could have written."""


def _rebuilt_result(
    record: Mapping[str, Any], parameters: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record's hyperopt result and hyperopt-encoded values; ValueError if unusable."""
    from .pruning import pruned_result
    from .values import check_values, hyperopt_values

    params = record.get("params")
    ok = record.get("status") == "ok"
    if not isinstance(params, dict):
        raise _Damaged(f"params {params!r}")
    if ok and not is_loss(record.get("loss")):
        raise _Damaged(f"status ok with loss {record.get('loss')!r}")
    values = hyperopt_values(parameters, params)
    check_values(parameters, {}, values)  # a NaN would stop TPE at every resume
    result = {
        "status": STATUS_OK if ok else hyperopt.STATUS_FAIL,
        "loss": record.get("loss") if ok else None,
    }
    for key in ("error", "history", "duration", "pruned", "kept_model"):
        if key in record:
            result[key] = record[key]
    if record.get("pruned"):  # ranked for the algorithm as when it was pruned
        result.update(pruned_result(record))
    return result, values


def package_versions() -> dict[str, str | None]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name, candidates in (
        ("hyperopt", ["hyperopt"]),
        ("keras", ["keras"]),
        ("tensorflow", ["tensorflow", "tensorflow-cpu", "tensorflow-gpu"]),
        ("numpy", ["numpy"]),
    ):
        versions[name] = None
        for candidate in candidates:
            try:
                versions[name] = metadata.version(candidate)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


# The package behind each Keras 3 backend, for its version.
BACKEND_PACKAGES = {
    "tensorflow": ["tensorflow", "tensorflow-cpu", "tensorflow-gpu"],
    "jax": ["jax"],
    "torch": ["torch"],
    "numpy": ["numpy"],
    "openvino": ["openvino"],
}


def keras_backend() -> dict[str, str | None] | None:
    """The Keras backend the model file's Keras uses and its version; None when
    the script has not imported Keras (nothing is imported here for it)."""
    from importlib import metadata

    keras = sys.modules.get("keras")
    try:
        name = str(keras.backend.backend())
    except Exception:  # no Keras here (keras is None), or one without backend()
        return None
    version = None
    for candidate in BACKEND_PACKAGES.get(name, [name]):
        try:
            version = metadata.version(candidate)
            break
        except (metadata.PackageNotFoundError, ValueError):
            continue
    return {"name": name, "version": version}


def visible_devices() -> list[str]:
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


def list_devices() -> list[str]:
    """The GPUs TensorFlow sees, if the model file imported TensorFlow; else ["CPU"]."""
    devices = []
    tf = sys.modules.get("tensorflow")
    try:
        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            devices.append(details.get("device_name", gpu.name))
    except Exception:  # no TensorFlow (tf is None), or no GPU runtime
        pass
    return devices or ["CPU"]

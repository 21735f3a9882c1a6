"""`hyperasc report`: turn a run directory into a CSV table, PNG plots and an HTML page.

The run directory format is specified in docs/run-directory.md. This module only
reads it; it never talks to hyperopt or Keras, so a report can be made on a
machine that has neither.

Kept light at import: matplotlib and jinja2 are imported only in the functions
that need them, so `hyperasc --help` does not pay for them.
"""

from __future__ import annotations

import ast
import base64
import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ..fileio import write_atomically
from ..runtime.run_files import RUN_JSON, TRIALS_JSONL, kept_models, read_trials

__all__ = ["ReportError", "write_report", "FORMATS"]

FORMATS = ("html", "png", "csv", "all")
BASE_COLUMNS = ("tid", "status", "loss", "duration", "error")
LOG_DISTRIBUTIONS = frozenset({"loguniform", "qloguniform", "lognormal", "qlognormal"})
CHOICE_DISTRIBUTIONS = frozenset({"choice", "pchoice"})
EXTRA_HINT = "pip install 'hyperasc[report]'"
DPI = 100  # modest: the report is for looking at, and tests render many plots


class ReportError(Exception):
    """A user error: not a run directory, unwritable report folder, matplotlib missing."""


# --------------------------------------------------------------------------- reading


@dataclass
class Trial:
    tid: Any
    status: str
    loss: float | None
    duration: float | None
    error: str | None
    params: dict[str, Any]
    start: datetime | None
    end: datetime | None
    history: list[dict[str, list[float]]]
    epochs: int | None = None  # a pruned trial: the epochs it trained

    @property
    def pruned(self) -> bool:
        return self.status == "pruned"

    @property
    def ok(self) -> bool:
        # Only these trials go into loss plots; a non-finite "ok" loss would wreck the axes.
        return (
            self.status == "ok" and self.loss is not None and math.isfinite(self.loss)
        )


@dataclass
class Run:
    run_dir: Path
    info: dict[str, Any]
    trials: list[Trial]
    skipped_lines: int
    notes: list[str] = field(default_factory=list)
    kept_models: dict[int, str] = field(
        default_factory=dict
    )  # --keep-best: tid -> file

    @property
    def space(self) -> dict[str, dict[str, Any]]:
        out = {}
        for entry in self.info.get("space") or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                out[entry["name"]] = entry
        return out

    @property
    def param_names(self) -> list[str]:
        # Declared order first (run.json), then anything only seen in trials.
        names = list(self.space)
        for t in self.trials:
            names.extend(n for n in t.params if n not in names)
        return names

    @property
    def best(self) -> Trial | None:
        ok = [t for t in self.trials if t.ok]
        return min(ok, key=lambda t: t.loss) if ok else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:  # Python 3.10's fromisoformat does not accept a trailing "Z"
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _history(value: Any) -> list[dict[str, list[float]]]:
    fits = []
    for fit in value if isinstance(value, list) else []:
        if isinstance(fit, dict):
            fits.append(
                {
                    str(k): [
                        float(x) if _number(x) is not None else math.nan for x in v
                    ]
                    for k, v in fit.items()
                    if isinstance(v, list)
                }
            )
    return fits


def _trial(obj: dict[str, Any]) -> Trial:
    params = obj.get("params")
    error = obj.get("error")
    return Trial(
        tid=obj.get("tid"),
        status=str(obj.get("status") or ""),
        loss=_number(obj.get("loss")),
        duration=_number(obj.get("duration")),
        error=None if error is None else str(error),
        params=params if isinstance(params, dict) else {},
        start=_timestamp(obj.get("start")),
        end=_timestamp(obj.get("end")),
        history=_history(obj.get("history")),
        epochs=int(obj["epochs"]) if _number(obj.get("epochs")) is not None else None,
    )


def read_run(run_dir: Path) -> Run:
    """Read a run directory, tolerating a run that is still going (see docs/run-directory.md)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir} is not a directory")
    run_json, trials_jsonl = run_dir / RUN_JSON, run_dir / TRIALS_JSONL
    if not run_json.is_file() and not trials_jsonl.is_file():
        raise ReportError(
            f"{run_dir} is not a run directory (it has neither run.json nor trials.jsonl)"
        )

    notes: list[str] = []
    info: dict[str, Any] = {}
    if run_json.is_file():
        try:
            loaded = json.loads(run_json.read_text(encoding="utf-8"))
            info = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError) as e:
            notes.append(f"run.json could not be read ({e}); provenance is missing")
    else:
        notes.append(
            "run.json is missing; provenance and parameter distributions are unknown"
        )

    records, skipped = read_trials(trials_jsonl)
    trials = [_trial(record) for record in records]
    if skipped:
        notes.append(
            f"skipped {skipped} line(s) of trials.jsonl that did not parse "
            "(a run still in progress may have a half-written last line)"
        )
    return Run(run_dir, info, trials, skipped, notes, kept_models(run_dir))


# --------------------------------------------------------------------------- writing


def _write_atomic(path: Path, data: bytes) -> Path:
    # A reader (or a browser refreshing report.html) never sees a half-written file.
    try:
        write_atomically(path, data)
    except OSError as e:
        raise ReportError(f"cannot write {path}: {e}") from e
    return path


def csv_columns(run: Run) -> list[tuple[str, str | None]]:
    """(column, parameter name or None) pairs.

    A parameter that clashes with a base column (hyperas names a `loss=` choice "loss") becomes param_NAME.
    """
    cols: list[tuple[str, str | None]] = [(c, None) for c in BASE_COLUMNS]
    taken = set(BASE_COLUMNS)
    for name in run.param_names:
        col = name
        while col in taken:
            col = f"param_{col}"
        taken.add(col)
        cols.append((col, name))
    return cols


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""  # pandas reads an empty cell as NaN
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    if isinstance(value, (str, int)):
        return str(value)
    return json.dumps(value)


def render_csv(run: Run) -> bytes:
    cols = csv_columns(run)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(c for c, _ in cols)
    for t in run.trials:
        base = {
            "tid": t.tid,
            "status": t.status,
            "loss": t.loss,
            "duration": t.duration,
            "error": t.error,
        }
        writer.writerow(
            _csv_cell(t.params.get(p) if p is not None else base[c]) for c, p in cols
        )
    return buf.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- plots


@dataclass
class Plot:
    filename: str
    title: str
    png: bytes


def _matplotlib() -> Any:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ReportError(
            f"plots need matplotlib, which is not installed; install it with: {EXTRA_HINT}"
        ) from e
    return Figure, FigureCanvasAgg


def _figure(mpl: Any, size: tuple[float, float] = (7.0, 4.2)) -> Any:
    # Figure + Agg canvas directly, not pyplot: no global backend switch, no state
    # leaking into a caller that uses matplotlib interactively.
    Figure, FigureCanvasAgg = mpl
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.text(
        0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4"
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _failed_note(run: Run) -> str:
    n = sum(not t.ok and not t.pruned for t in run.trials)
    return f" ({n} failed trial{'s' * (n != 1)} not shown)" if n else ""


def epochs_saved(run: Run) -> tuple[int, int] | None:
    """(pruned trials, epochs they did not train) by --prune, or None without pruning.

    A pruned trial would have trained as long as the completed trials did:
    the median of their epochs, as their histories record them.
    """
    pruned = [t for t in run.trials if t.pruned]
    if not pruned:
        return None
    lengths = sorted(
        len(_curve(t, "loss")) for t in run.trials if t.ok and _curve(t, "loss")
    )
    if not lengths:
        return len(pruned), 0
    typical = lengths[len(lengths) // 2]
    trained = [
        t.epochs if t.epochs is not None else len(_curve(t, "loss")) for t in pruned
    ]
    return len(pruned), sum(max(typical - n, 0) for n in trained)


def plot_loss(run: Run, mpl: Any) -> Plot:
    fig = _figure(mpl)
    ax = fig.add_subplot()
    ok = sorted(
        (t for t in run.trials if t.ok and _number(t.tid) is not None),
        key=lambda t: t.tid,
    )
    if ok:
        xs, ys = [t.tid for t in ok], [t.loss for t in ok]
        best_so_far = [min(ys[: i + 1]) for i in range(len(ys))]
        ax.scatter(xs, ys, s=18, alpha=0.7, label="trial loss")
        ax.step(xs, best_so_far, where="post", color="C3", label="best so far")
        best = run.best
        ax.scatter(
            [best.tid],
            [best.loss],
            s=80,
            facecolors="none",
            edgecolors="C3",
            label=f"best (tid {best.tid})",
        )
        ax.legend(loc="best", fontsize="small")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("trial id")
        ax.set_ylabel("loss")
    else:
        _empty(ax, "no successful trials yet")
    ax.set_title("Loss per trial" + _failed_note(run))
    return Plot("loss.png", "Loss per trial", _png(fig))


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _categories(values: list[Any], options: list[Any] | None) -> list[tuple[str, str]]:
    """(label, normalised key) per declared option in order, then values seen but not declared.

    Declared options come first so an option no trial has tried still shows up, empty.
    """
    cats: dict[str, str] = {}
    for text in options or []:
        try:  # a literal option's value is what trials record; an object option's is its source text
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = text
        cats.setdefault(_norm(value), value if isinstance(value, str) else str(text))
    for v in values:
        cats.setdefault(_norm(v), v if isinstance(v, str) else _norm(v))
    return [(label, key) for key, label in cats.items()]


def plot_param(run: Run, name: str, filename: str, mpl: Any) -> Plot:
    spec = run.space.get(name, {})
    dist = spec.get("distribution")
    points = [(t.params[name], t.loss) for t in run.trials if t.ok and name in t.params]
    numeric = all(_number(v) is not None for v, _ in points)
    fig = _figure(mpl)
    ax = fig.add_subplot()
    title = f"{name}" + (f" ~ {dist}" if dist else "")
    if not points:
        _empty(ax, "no successful trial sampled this parameter")
    elif dist in CHOICE_DISTRIBUTIONS or not numeric:
        cats = _categories([v for v, _ in points], spec.get("options"))
        index = {key: i for i, (_, key) in enumerate(cats)}
        groups: list[list[float]] = [[] for _ in cats]
        for v, loss in points:
            groups[index[_norm(v)]].append(loss)
        # Box for the spread, jittered strip so single points stay visible.
        ax.boxplot(
            [g if g else [math.nan] for g in groups],
            positions=range(len(cats)),
            widths=0.5,
            showfliers=False,
            medianprops={"color": "C3"},
        )
        for i, g in enumerate(groups):
            jitter = [
                i + 0.18 * math.sin(k * 2.399) for k in range(len(g))
            ]  # deterministic spread
            ax.scatter(jitter, g, s=16, alpha=0.7, color="C0", zorder=3)
        labels = [lbl if len(lbl) <= 24 else lbl[:21] + "..." for lbl, _ in cats]
        crowded = len(cats) > 4
        ax.set_xticks(
            range(len(cats)),
            labels,
            rotation=30 if crowded else 0,
            ha="right" if crowded else "center",
        )
        ax.set_xlabel(name)
        ax.set_ylabel("loss")
    else:
        xs = [float(v) for v, _ in points]
        ax.scatter(xs, [loss for _, loss in points], s=18, alpha=0.7)
        if dist in LOG_DISTRIBUTIONS and min(xs) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(name + (" (log scale)" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel("loss")
    ax.set_title(title + _failed_note(run))
    return Plot(filename, f"Loss against {name}", _png(fig))


def plot_duration(run: Run, mpl: Any) -> Plot:
    fig = _figure(mpl)
    ax = fig.add_subplot()
    timed = [t for t in run.trials if t.duration is not None]
    if not timed:
        _empty(ax, "no finished trials yet")
    else:
        starts = [t.start for t in timed if t.start is not None]
        origin = _timestamp(run.info.get("started")) or (
            min(starts) if starts else None
        )
        if origin is not None and len(starts) == len(timed):
            xs = [(t.start - origin).total_seconds() for t in timed]
            span = max(xs + [0.0])
            unit, div = (
                ("h", 3600.0)
                if span > 7200
                else ("min", 60.0) if span > 120 else ("s", 1.0)
            )
            xs = [x / div for x in xs]
            ax.set_xlabel(f"trial start, {unit} since the run started")
        else:  # timestamps missing: fall back to finish order
            xs = list(range(len(timed)))
            ax.set_xlabel("trial (finish order)")
        for ok, label, style in (
            (True, "ok", {"color": "C0"}),
            (False, "failed", {"color": "C3", "marker": "x"}),
        ):
            sel = [(x, t.duration) for x, t in zip(xs, timed) if t.ok == ok]
            if sel:
                ax.scatter(*zip(*sel), s=20, alpha=0.8, label=label, **style)
        ax.set_ylabel("duration (s)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title("Trial duration over time")
    return Plot("duration.png", "Trial duration over time", _png(fig))


def _curve(trial: Trial, metric: str) -> list[float]:
    # Several fit calls in one trial continue each other: join their epochs.
    return [x for fit in trial.history for x in fit.get(metric, [])]


def plot_learning_curves(run: Run, mpl: Any) -> Plot | None:
    pruned = [t for t in run.trials if t.pruned]
    metrics = [
        m
        for m in ("loss", "val_loss")
        if any(_curve(t, m) for t in run.trials if t.ok or t.pruned)
    ]
    if not metrics:
        return None
    fig = _figure(mpl, (7.0, 3.6 * len(metrics)))
    best = run.best
    ok = [t for t in run.trials if t.ok]
    ranked = sorted(ok, key=lambda t: t.loss)
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, i + 1)
        # Pruned trials: dashed grey, ending with a cross at the epoch they were stopped.
        for n, t in enumerate(pruned):
            ys = _curve(t, metric)
            if ys:
                ax.plot(
                    range(1, len(ys) + 1),
                    ys,
                    ls="--",
                    color="0.55",
                    lw=0.9,
                    alpha=0.8,
                    zorder=1,
                    label="pruned" if n == 0 else None,
                )
                ax.plot(
                    [len(ys)],
                    [ys[-1]],
                    marker="x",
                    color="0.35",
                    markersize=5,
                    zorder=1,
                )
        # Color by rank of final loss (dark = good); the best trial is drawn on top.
        for rank, t in reversed(list(enumerate(ranked))):
            ys = _curve(t, metric)
            if not ys:
                continue
            is_best = t is best
            shade = 0.15 + 0.7 * rank / max(len(ranked) - 1, 1)
            ax.plot(
                range(1, len(ys) + 1),
                ys,
                marker="o" if len(ys) < 2 else None,
                markersize=3,
                color="C3" if is_best else (shade, shade, 0.9),
                lw=2.2 if is_best else 1.0,
                alpha=1.0 if is_best else 0.6,
                label=f"best (tid {t.tid})" if is_best else None,
                zorder=3 if is_best else 2,
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(
            f"{metric} per epoch, one line per trial"
            + (_failed_note(run) if i == 0 else "")
        )
        if (best is not None and _curve(best, metric)) or any(
            _curve(t, metric) for t in pruned
        ):
            ax.legend(loc="upper right", fontsize="small")
    return Plot("learning_curves.png", "Learning curves", _png(fig))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "param"


def render_plots(run: Run) -> list[Plot]:
    mpl = _matplotlib()
    plots = [plot_loss(run, mpl)]
    used: set[str] = {"loss.png", "duration.png", "learning_curves.png"}
    for name in run.param_names:
        stem = f"param_{_slug(name)}"
        filename, n = f"{stem}.png", 2
        while (
            filename.lower() in used
        ):  # distinct names can share a slug; keep files apart
            filename, n = f"{stem}_{n}.png", n + 1
        used.add(filename.lower())
        plots.append(plot_param(run, name, filename, mpl))
    plots.append(plot_duration(run, mpl))
    curves = plot_learning_curves(run, mpl)
    if curves is not None:
        plots.append(curves)
    return plots


# --------------------------------------------------------------------------- HTML


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value)


def _sort_key(value: Any) -> str:
    number = _number(value)
    return (
        repr(number)
        if number is not None and math.isfinite(number)
        else _display(value)
    )


def render_html(run: Run, plots: list[Plot]) -> bytes:
    import jinja2

    source = (
        resources.files("hyperasc.report")
        .joinpath("templates/report.html.jinja")
        .read_text(encoding="utf-8")
    )
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.from_string(source)
    info, best = run.info, run.best
    names = run.param_names
    rows = []
    for t in run.trials:
        cells = [
            (_display(t.tid), _sort_key(t.tid)),
            (t.status, t.status),
            (_display(t.loss), _sort_key(t.loss)),
            (_display(t.duration), _sort_key(t.duration)),
        ]
        cells += [
            (_display(t.params.get(n)), _sort_key(t.params.get(n))) for n in names
        ]
        rows.append(
            {
                "cells": cells,
                "error": t.error,
                "ok": t.ok,
                "pruned": t.pruned,
                "best": t is best,
            }
        )
    provenance = []
    for key in (
        "model",
        "script",
        "started",
        "algo",
        "seed",
        "max_evals",
        "backend",
        "devices",
        "argv",
        "hyperasc_version",
    ):
        value = info.get(key)
        if isinstance(value, dict):  # {"path": ..., "sha256": ...}
            text = _display(value.get("path")) + (
                f" (sha256 {value['sha256']})" if value.get("sha256") else ""
            )
            provenance.append((key, text))
        elif value is not None:
            provenance.append((key, _display(value)))
    model = info.get("model")
    model_path = model.get("path") if isinstance(model, dict) else None
    versions = info.get("versions")
    n_ok = sum(t.ok for t in run.trials)
    n_pruned = sum(t.pruned for t in run.trials)
    saved = epochs_saved(run)
    losses = {t.tid: t.loss for t in run.trials}
    html = template.render(
        title=f"hyperasc report: {model_path or run.run_dir.resolve().name}",
        run_dir=str(run.run_dir),
        provenance=provenance,
        versions=(
            sorted((str(k), _display(v)) for k, v in versions.items())
            if isinstance(versions, dict)
            else []
        ),
        space=[
            {
                "name": n,
                "distribution": spec.get("distribution", ""),
                "args": ", ".join(
                    map(str, spec.get("options") or spec.get("args") or [])
                ),
            }
            for n, spec in run.space.items()
        ],
        n_trials=len(run.trials),
        n_ok=n_ok,
        n_pruned=n_pruned,
        n_failed=len(run.trials) - n_ok - n_pruned,
        epochs_saved=None if saved is None else saved[1],
        max_evals=info.get("max_evals"),
        notes=run.notes,
        best=(
            None
            if best is None
            else {
                "tid": _display(best.tid),
                "loss": _display(best.loss),
                "params": [
                    (n, _display(best.params[n])) for n in names if n in best.params
                ],
            }
        ),
        kept=[
            {
                "tid": tid,
                "loss": _display(losses.get(tid)),
                "path": Path(path).relative_to(run.run_dir).as_posix(),
            }
            for tid, path in sorted(
                run.kept_models.items(),
                key=lambda item: (
                    losses.get(item[0]) is None,
                    losses.get(item[0]) or 0.0,
                ),
            )
        ],
        columns=["tid", "status", "loss", "duration (s)", *names],
        rows=rows,
        plots=[
            {
                "title": p.title,
                "filename": p.filename,
                "data": base64.b64encode(p.png).decode("ascii"),
            }
            for p in plots
        ],
    )
    return html.encode("utf-8")


# --------------------------------------------------------------------------- entry point


def write_report(
    run_dir: Path, report_dir: Path | None = None, fmt: str = "all"
) -> list[Path]:
    """Write the report of the run in `run_dir`; return the files written.

    `report_dir` defaults to `run_dir / "report"` and is created if needed.
    `fmt` picks the outputs: "csv" (trials.csv), "png" (one PNG per plot),
    "html" (self-contained report.html with the plots embedded) or "all".
    "png", "html" and "all" need matplotlib (the `hyperasc[report]` extra); it is
    checked before anything is written. A parameter named like a base CSV column
    (tid, status, loss, duration, error) gets the column param_NAME.
    Raises ReportError for user errors.
    """
    if fmt not in FORMATS:
        raise ReportError(
            f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}"
        )
    run_dir = Path(run_dir)
    run = read_run(run_dir)
    report_dir = Path(report_dir) if report_dir is not None else run_dir / "report"
    want_plots = fmt in ("png", "html", "all")
    if want_plots:
        _matplotlib()  # fail before writing anything
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"cannot create report directory {report_dir}: {e}") from e

    written: list[Path] = []
    if fmt in ("csv", "all"):
        written.append(_write_atomic(report_dir / "trials.csv", render_csv(run)))
    plots = render_plots(run) if want_plots else []
    if fmt in ("png", "all"):
        written.extend(_write_atomic(report_dir / p.filename, p.png) for p in plots)
    if fmt in ("html", "all"):
        written.append(
            _write_atomic(report_dir / "report.html", render_html(run, plots))
        )
    return written

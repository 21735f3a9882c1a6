"""`hyperasc report`: turn a run directory into a CSV table, PNG plots and an HTML page.

The run directory format is specified in docs/run-directory.md. This module only
reads it; it never talks to hyperopt or Keras, so a report can be made on a
machine that has neither.

Kept light at import: matplotlib and jinja2 are imported only in the functions
that need them, so `hyperasc --help` does not pay for them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Any
from collections.abc import Callable

from ..fileio import write_atomically
from ..runtime.contract import metric_value, objective_text, option_values
from .importance import Importance, importance
from .plots import Plot, _matplotlib, epochs_saved, render_plots
from .run import ReportError, Run, Trial, _number, read_run

__all__ = ["ReportError", "write_report", "FORMATS"]

FORMATS = ("html", "png", "csv", "all")
BASE_COLUMNS = ("tid", "status", "loss", "duration", "error")


# --------------------------------------------------------------------------- writing


def _write_atomic(path: Path, data: bytes) -> Path:
    # A reader (or a browser refreshing report.html) never sees a half-written file.
    # A link planted at the path (a downloaded run directory) is replaced, never
    # written through.
    try:
        write_atomically(path, data, follow_links=False)
    except OSError as e:
        raise ReportError(f"cannot write {path}: {e}") from e
    return path


def csv_columns(run: Run) -> list[tuple[str, str | None]]:
    """(column, parameter name or None) pairs.

    A parameter that clashes with a base column (hyperas names a `loss=` choice "loss") becomes param_NAME.
    """
    base = list(BASE_COLUMNS)
    metric = _metric_name(run)
    if metric is not None:  # the metric the loss stands for, beside the loss
        while metric in base:
            metric = f"metric_{metric}"
        base.insert(base.index("loss") + 1, metric)
    cols: list[tuple[str, str | None]] = [(c, None) for c in base]
    taken = set(base)
    for name in run.param_names:
        col = name
        while col in taken:
            col = f"param_{col}"
        taken.add(col)
        cols.append((col, name))
    return cols


def _metric_name(run: Run) -> str | None:
    """The metric the loss is computed from, as run.json's objective names it."""
    record = run.objective
    return str(record["metric"]) if metric_value(record, 0.0) is not None else None


def _param_cell(params: dict[str, Any], name: str) -> str:
    """A parameter's cell: empty where it was not active, `None` where it took None."""
    if name not in params:
        return ""
    return "None" if params[name] is None else _csv_cell(params[name])


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
    metric_col = cols[3][0] if _metric_name(run) is not None else None
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
            metric_col: metric_value(run.objective, t.loss),
        }
        # A parameter not active in the trial (the branch not taken) has an empty cell.
        params = run.active_params(t)
        writer.writerow(
            _csv_cell(base[c]) if p is None else _param_cell(params, p) for c, p in cols
        )
    return buf.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- HTML


def _display(value: Any, none: str = "") -> str:
    if value is None:
        return none
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


def _row_html(
    run: Run,
    t: Trial,
    names: list[str],
    best: bool,
    metric: bool,
    log_column: bool,
    log: str | None,
) -> str:
    """One row of the trials table, every text escaped (by jinja2's own escape, as autoescape)."""
    from markupsafe import escape

    cells = [
        (_display(t.tid), _sort_key(t.tid)),
        (t.status, t.status),
        (_display(t.loss), _sort_key(t.loss)),
    ]
    if metric:
        value = metric_value(run.objective, t.loss)
        cells.append((_display(value), _sort_key(value)))
    cells.append((_display(t.duration), _sort_key(t.duration)))
    # A parameter not active in the trial (the branch not taken): an empty cell.
    params = run.active_params(t)
    cells += [
        (_display(params[n], "None"), _sort_key(params[n])) if n in params else ("", "")
        for n in names
    ]
    kind = "best" if best else ("" if t.ok else ("pruned" if t.pruned else "fail"))
    out = [f'    <tr class="{kind}">']
    out += [f'<td data-v="{escape(key)}">{escape(text)}</td>' for text, key in cells]
    error = t.error or ""
    out.append(f'<td data-v="{escape(error)}">')
    if error:
        summary = error.strip().splitlines()[-1] if error.strip() else "error"
        out.append(
            f"<details><summary>{escape(summary)}</summary>"
            f"<pre>{escape(error)}</pre></details>"
        )
    out.append("</td>")
    if log is not None:
        out.append(f'<td data-v="{escape(log)}"><a href="{escape(log)}">log</a></td>')
    elif log_column:
        out.append('<td data-v=""></td>')
    out.append("</tr>\n")
    return "".join(out)


def _log_links(run: Run, report_dir: Path | None) -> dict[int, str]:
    """tid -> link (relative to the page) to the trial's --quiet log, where the file is there."""
    links = {}
    base = Path(report_dir) if report_dir is not None else run.run_dir / "report"
    for t in run.trials:
        if t.log is None:
            continue
        path = run.run_dir / t.log
        if path.is_file() and not path.is_symlink():
            rel = os.path.relpath(path.resolve(), base.resolve())
            links[t.tid] = urllib.parse.quote(Path(rel).as_posix())
    return links


IMPORTANCE_TEXT = (
    "How much the loss depends on each parameter: a random forest learns the loss "
    "from the parameters of the successful trials, and a parameter's bar is how much "
    "the forest's error grows when that parameter's values are shuffled among the "
    "trials, as a share of all the bars. A long bar: the loss changes with that "
    "parameter; a short one: tuning it matters little in the region searched."
)
IMPORTANCE_SMALL_PRINT = (
    "Permutation importance of a scikit-learn random forest (64 trees, seed 0), "
    "so the same run gives the same bars. A parameter that was not active in a "
    "trial (a branch not taken) has a value of its own there, outside its range, "
    "so the forest tells 'not active' apart from every real value; "
    "the bars of a parameter and of the choice that switches it on share what "
    "that choice decides."
)


def render_html(
    run: Run,
    plots: list[Plot],
    imp: Importance | None = None,
    report_dir: Path | None = None,
    refresh: float | None = None,
) -> bytes:
    import jinja2
    from markupsafe import Markup

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
    metric = _metric_name(run)
    logs = _log_links(run, report_dir)
    rows_html = Markup(
        "".join(
            _row_html(
                run,
                t,
                names,
                t is best,
                metric is not None,
                bool(logs),
                logs.get(t.tid),
            )
            for t in run.trials
        )
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
                "when": _active_when(run, spec),
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
                "metric": (
                    None
                    if metric is None
                    else (metric, _display(metric_value(run.objective, best.loss)))
                ),
                # Only the parameters the best trial used: not a learning rate of
                # the branch it did not take.
                "params": [
                    (n, _display(v, "None")) for n, v in run.active_params(best).items()
                ],
            }
        ),
        objective=objective_text(run.objective),
        importance=_importance_view(run, imp),
        refresh=None if refresh is None else max(1, math.ceil(refresh)),
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
        columns=[
            "tid",
            "status",
            "loss",
            *([metric] if metric is not None else []),
            "duration (s)",
            *names,
        ],
        log_column=bool(logs),
        rows=bool(run.trials),
        rows_html=rows_html,
        plots=[
            {
                "title": p.title,
                "filename": p.filename,
                "wide": p.wide,
                "data": base64.b64encode(p.png).decode("ascii"),
            }
            for p in plots
        ],
    )
    return html.encode("utf-8")


def _active_when(run: Run, spec: dict[str, Any]) -> str:
    """`optimizer is sgd`: when a parameter is sampled, from its parent's options."""
    from .columns import label

    parent, active = spec.get("parent"), spec.get("active")
    if "parent" not in spec:
        return ""  # a run.json of an earlier version does not say
    if not isinstance(parent, str) or not isinstance(active, list):
        return "always"
    options = option_values(run.space.get(parent, {})) or []
    names = [
        label(options[i]) if 0 <= i < len(options) else f"option {i}" for i in active
    ]
    return f"{parent} is {' or '.join(names)}"


def _importance_view(run: Run, imp: Importance | None) -> dict[str, Any] | None:
    if imp is None:
        return None
    sample = (
        f" The forest learned from a random sample of {imp.used} of the {imp.ok} "
        f"successful trials (seed 0), which keeps the time bounded."
        if imp.scores and imp.used < imp.ok
        else ""
    )
    return {
        "reason": imp.reason,
        "text": IMPORTANCE_TEXT,
        "small_print": IMPORTANCE_SMALL_PRINT + sample,
        "scores": [(n, f"{100 * s:.0f}%") for n, s in imp.scores],
    }


# --------------------------------------------------------------------------- entry point


def write_report(
    run_dir: Path,
    report_dir: Path | None = None,
    fmt: str = "all",
    note: Callable[[str], None] | None = None,
    refresh: float | None = None,
    on_read: Callable[[Run], None] | None = None,
) -> list[Path]:
    """Write the report of the run in `run_dir`; return the files written.

    `report_dir` defaults to `run_dir / "report"` and is created if needed.
    `fmt` picks the outputs: "csv" (trials.csv), "png" (one PNG per plot),
    "html" (self-contained report.html with the plots embedded) or "all".
    "png", "html" and "all" need matplotlib (the `hyperasc[report]` extra); it is
    checked before anything is written. A parameter named like a base CSV column
    (tid, status, loss, duration, error) gets the column param_NAME.
    Each value of the run directory that does not fit its documented type is
    left out with one note, given to `note` (the CLI prints it) and listed in
    report.html. With `refresh` (seconds), report.html reloads itself that
    often (`--watch`); `on_read` is given the run as it was read. Raises
    ReportError for user errors.
    """
    if fmt not in FORMATS:
        raise ReportError(
            f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}"
        )
    run_dir = Path(run_dir)
    run = read_run(run_dir)
    if on_read is not None:
        on_read(run)
    for text in run.notes if note is not None else []:
        note(text)
    if report_dir is None:
        report_dir = run_dir / "report"
        if (
            report_dir.is_symlink()
        ):  # a downloaded run directory could point it anywhere
            raise ReportError(
                f"{report_dir} is a symbolic link; a report is not written through "
                "it (remove it, or choose where to write with -o)"
            )
    report_dir = Path(report_dir)
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
    imp = importance(run) if want_plots else None
    plots = render_plots(run, imp) if want_plots else []
    if fmt in ("png", "all"):
        written.extend(_write_atomic(report_dir / p.filename, p.png) for p in plots)
    if fmt in ("html", "all"):
        page = render_html(run, plots, imp, report_dir, refresh)
        written.append(_write_atomic(report_dir / "report.html", page))
    return written


def to_open(written: list[Path]) -> Path | None:
    """The one file to open of those written: the page, else the table, else the plots' folder."""
    by_name = {p.name: p for p in written}
    for name in ("report.html", "trials.csv"):
        if name in by_name:
            return by_name[name]
    return written[0].parent if written else None

"""The report's PNG plots, drawn with matplotlib (imported only when drawing)."""

from __future__ import annotations

import functools
import io
import itertools
import json
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from ..runtime.contract import option_values
from .run import (
    CHOICE_DISTRIBUTIONS,
    LOG_DISTRIBUTIONS,
    ReportError,
    Run,
    Trial,
    _finite,
    _timestamp,
)

EXTRA_HINT = "pip install 'hyperasc[report]'"
DPI = 100  # modest: the report is for looking at, and tests render many plots
LABEL_MAX = 60  # characters of a name in a title or an axis label
# Every text is drawn as written: a `$` in a choice's value is not mathtext
# (two of them made matplotlib parse, and fail on, what was between).
PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}


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
    with warnings.catch_warnings():
        # A control character in a label (a damaged run's "\r") has no glyph: drawn as a box.
        warnings.filterwarnings("ignore", "Glyph .* missing from font")
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _plain_text(draw: Callable[..., Any]) -> Callable[..., Any]:
    """Draw (and save) with every text plain: tick labels are made at save time too."""

    @functools.wraps(draw)
    def plain(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(PLAIN_TEXT):
            return draw(*args, **kwargs)

    return plain


def _short(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


@_plain_text
def plot_loss(run: Run, mpl: Any) -> Plot:
    fig = _figure(mpl)
    ax = fig.add_subplot()
    ok = sorted((t for t in run.trials if t.ok), key=lambda t: t.tid)
    if ok:
        xs, ys = [t.tid for t in ok], [t.loss for t in ok]
        best_so_far = list(itertools.accumulate(ys, min))  # a running minimum: linear
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
    """(label, normalised key) per declared option value in order, then values seen but not declared.

    Declared options come first so an option no trial has tried still shows up, empty.
    """
    cats: dict[str, str] = {}
    for value in options or []:
        cats.setdefault(_norm(value), value if isinstance(value, str) else _norm(value))
    for v in values:
        cats.setdefault(_norm(v), v if isinstance(v, str) else _norm(v))
    return [(label, key) for key, label in cats.items()]


@_plain_text
def plot_param(run: Run, name: str, filename: str, mpl: Any) -> Plot:
    spec = run.space.get(name, {})
    dist = spec.get("distribution")
    points = [(t.params[name], t.loss) for t in run.trials if t.ok and name in t.params]
    numeric = all(_finite(v) is not None for v, _ in points)
    fig = _figure(mpl)
    ax = fig.add_subplot()
    title = _short(name) + (f" ~ {_short(dist)}" if dist else "")
    if not points:
        _empty(ax, "no successful trial sampled this parameter")
    elif dist in CHOICE_DISTRIBUTIONS or not numeric:
        cats = _categories([v for v, _ in points], option_values(spec))
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
        labels = [_short(lbl, 24) for lbl, _ in cats]
        crowded = len(cats) > 4
        ax.set_xticks(
            range(len(cats)),
            labels,
            rotation=30 if crowded else 0,
            ha="right" if crowded else "center",
        )
        ax.set_xlabel(_short(name))
        ax.set_ylabel("loss")
    else:
        xs = [_finite(v) for v, _ in points]
        ax.scatter(xs, [loss for _, loss in points], s=18, alpha=0.7)
        if dist in LOG_DISTRIBUTIONS and min(xs) > 0:
            ax.set_xscale("log")
        log = " (log scale)" if ax.get_xscale() == "log" else ""
        ax.set_xlabel(_short(name) + log)
        ax.set_ylabel("loss")
    ax.set_title(title + _failed_note(run))
    return Plot(filename, f"Loss against {name}", _png(fig))


@_plain_text
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


@_plain_text
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
    # Past MAX_CURVES lines a plot is one blot and only costs time: draw an even
    # sample across the ranks (the best always), and say so in the title.
    stride = max(1, math.ceil(len(ranked) / MAX_CURVES))
    drawn = set(map(id, ranked[::stride]))
    pruned_drawn = pruned[:: max(1, math.ceil(len(pruned) / MAX_CURVES))]
    sampled = (
        f" ({len(drawn) + len(pruned_drawn)} of {len(ranked) + len(pruned)} drawn)"
        if stride > 1 or len(pruned_drawn) < len(pruned)
        else ""
    )
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, i + 1)
        # One line per kind of curve, broken by NaNs, not one artist per trial:
        # 100k trials draw in seconds.
        # Pruned trials: dashed grey, ending with a cross at the epoch they were stopped.
        curves = [ys for ys in (_curve(t, metric) for t in pruned_drawn) if ys]
        if curves:
            ax.plot(
                *_broken(curves),
                ls="--",
                color="0.55",
                lw=0.9,
                alpha=0.8,
                zorder=1,
                label="pruned",
            )
            ax.plot(
                [len(ys) for ys in curves],
                [ys[-1] for ys in curves],
                "x",
                color="0.35",
                markersize=5,
                zorder=1,
            )
        # Color by rank of final loss (dark = good), worst drawn first; the best on top.
        # Trials of one shade are one line broken by NaNs: one artist, not thousands.
        shades: dict[int, list[list[float]]] = {}
        dots = []
        for rank, t in reversed(list(enumerate(ranked))):
            ys = _curve(t, metric)
            if not ys or t is best or id(t) not in drawn:
                continue
            step = round(SHADES * rank / max(len(ranked) - 1, 1))
            if len(ys) < 2:
                dots.append((1, ys[0], _shade(step)))
                continue
            shades.setdefault(step, []).append(ys)
        for step, group in shades.items():
            ax.plot(*_broken(group), color=_shade(step), lw=1.0, alpha=0.6, zorder=2)
        if dots:
            xs, ys, colors = zip(*dots)
            ax.scatter(xs, ys, s=9, c=colors, alpha=0.6, zorder=2)
        best_curve = _curve(best, metric) if best is not None else []
        if best_curve:
            ax.plot(
                range(1, len(best_curve) + 1),
                best_curve,
                marker="o" if len(best_curve) < 2 else None,
                markersize=3,
                color="C3",
                lw=2.2,
                label=f"best (tid {best.tid})",
                zorder=3,
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(
            f"{metric} per epoch, one line per trial"
            + sampled
            + (_failed_note(run) if i == 0 else "")
        )
        if best_curve or curves:
            ax.legend(loc="upper right", fontsize="small")
    return Plot("learning_curves.png", "Learning curves", _png(fig))


SHADES = 24  # the rank colors of the learning curves
MAX_CURVES = 2000  # learning curves drawn per kind (completed, pruned) at most


def _broken(curves: list[list[float]]) -> tuple[list[float], list[float]]:
    """Curves over epochs 1, 2, ... as one line's points, a NaN between two curves."""
    xs: list[float] = []
    ys: list[float] = []
    for curve in curves:
        xs.extend([*range(1, len(curve) + 1), math.nan])
        ys.extend([*curve, math.nan])
    return xs, ys


def _shade(step: int) -> tuple[float, float, float]:
    shade = 0.15 + 0.7 * step / SHADES
    return (shade, shade, 0.9)


def _slug(name: str) -> str:
    # Short enough for any file system's name limit (255 bytes) with its prefix and suffix.
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:100] or "param"


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

"""The report's PNG plots, drawn with matplotlib (imported only when drawing)."""

from __future__ import annotations

import functools
import io
import itertools
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from ..runtime.contract import metric_value
from .columns import Column, column
from .importance import Importance
from .run import (
    ReportError,
    Run,
    Trial,
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
    wide: bool = False  # laid out across the page's width


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


def _failed_note(run: Run, pruned_too: bool = True) -> str:
    """Which trials a plot of losses leaves out: failed ones, and pruned ones (no loss)."""
    failed = sum(not t.ok and not t.pruned for t in run.trials)
    pruned = sum(t.pruned for t in run.trials) if pruned_too else 0
    parts = [f"{failed} failed"] * bool(failed) + [f"{pruned} pruned"] * bool(pruned)
    n = failed + pruned
    return f" ({' and '.join(parts)} trial{'s' * (n != 1)} not shown)" if n else ""


def measure(run: Run) -> tuple[str, Callable[[float], float], bool]:
    """What loss plots show: (name, loss -> value, higher is better).

    The metric itself where run.json's objective says the loss is one negated
    (`loss = -accuracy` shows accuracy), else the loss.
    """
    record = run.objective
    if record is not None and metric_value(record, 0.0) is not None:
        return (
            str(record["metric"]),
            lambda loss: metric_value(record, loss),
            record.get("sign", 1) < 0,
        )
    return "loss", lambda loss: loss, False


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
    name, value, _ = measure(run)
    if ok:
        xs, ys = [t.tid for t in ok], [t.loss for t in ok]
        best_so_far = list(itertools.accumulate(ys, min))  # a running minimum: linear
        ax.scatter(xs, [value(y) for y in ys], s=18, alpha=0.7, label=f"trial {name}")
        ax.step(
            xs,
            [value(y) for y in best_so_far],
            where="post",
            color="C3",
            label="best so far",
        )
        best = run.best
        ax.scatter(
            [best.tid],
            [value(best.loss)],
            s=80,
            facecolors="none",
            edgecolors="C3",
            label=f"best (tid {best.tid})",
        )
        ax.legend(loc="best", fontsize="small")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("trial id")
        ax.set_ylabel(_short(name))
    else:
        _empty(ax, "no successful trials yet")
    title = "Loss per trial" if name == "loss" else f"{_short(name)} per trial"
    ax.set_title(title + _failed_note(run))
    return Plot("loss.png", title, _png(fig))


@_plain_text
def plot_param(run: Run, name: str, filename: str, mpl: Any) -> Plot:
    """The loss against one parameter, over the successful trials where it was active."""
    spec = run.space.get(name, {})
    dist = spec.get("distribution")
    trials = [t for t in run.trials if t.ok and run.is_active(t, name)]
    col = column(run, name, trials)
    points = [(v, t.loss) for v, t in zip(col.values, trials) if v is not None]
    label, value, _ = measure(run)
    fig = _figure(mpl)
    ax = fig.add_subplot()
    title = _short(name) + (f" ~ {_short(dist)}" if dist else "")
    if not points:
        _empty(ax, "no successful trial sampled this parameter")
    elif col.categorical:
        # Every option of a choice has its place, a distribution nested in one included:
        # its trials are drawn there (their values are plotted under the nested name).
        groups: list[list[float]] = [[] for _ in col.labels]
        for index, loss in points:
            groups[int(index)].append(value(loss))
        # Box for the spread, jittered strip so single points stay visible.
        ax.boxplot(
            [g if g else [math.nan] for g in groups],
            positions=range(len(groups)),
            widths=0.5,
            showfliers=False,
            medianprops={"color": "C3"},
        )
        for i, g in enumerate(groups):
            jitter = [
                i + 0.18 * math.sin(k * 2.399) for k in range(len(g))
            ]  # deterministic spread
            ax.scatter(jitter, g, s=16, alpha=0.7, color="C0", zorder=3)
        labels = [_short(lbl, 24) for lbl in col.labels]
        crowded = len(labels) > 4
        ax.set_xticks(
            range(len(labels)),
            labels,
            rotation=30 if crowded else 0,
            ha="right" if crowded else "center",
        )
        ax.set_xlabel(_short(name))
        ax.set_ylabel(_short(label))
    else:
        xs = [10**x if col.log else x for x, _ in points]
        ax.scatter(xs, [value(loss) for _, loss in points], s=18, alpha=0.7)
        if col.log:
            ax.set_xscale("log")
            # The default labels are mathtext ($10^{-4}$), which plain text shows raw.
            from matplotlib.ticker import FuncFormatter, NullFormatter

            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        log = " (log scale)" if col.log else ""
        ax.set_xlabel(_short(name) + log)
        ax.set_ylabel(_short(label))
    inactive = sum(t.ok for t in run.trials) - len(points)
    note = f", {inactive} trial{'s' * (inactive != 1)} where not active left out"
    ax.set_title(title + _failed_note(run) + (note if inactive and points else ""))
    return Plot(filename, f"{label.capitalize()} against {name}", _png(fig))


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
        for kind, label, style in (
            ("ok", "ok", {"color": "C0"}),
            ("pruned", "pruned", {"color": "0.55", "marker": "v"}),
            ("fail", "failed", {"color": "C3", "marker": "x"}),
        ):
            sel = [(x, t.duration) for x, t in zip(xs, timed) if _kind(t) == kind]
            if sel:
                ax.scatter(*zip(*sel), s=20, alpha=0.8, label=label, **style)
        ax.set_ylabel("duration (s)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title("Trial duration over time")
    return Plot("duration.png", "Trial duration over time", _png(fig))


def _kind(trial: Trial) -> str:
    return "ok" if trial.ok else "pruned" if trial.pruned else "fail"


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
            + (_failed_note(run, pruned_too=False) if i == 0 else "")
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


MAX_AXES = 12  # parameters on the parallel-coordinate plot at most (the most important)
MAX_LINES = 1000  # trials drawn on it at most: an even sample across the ranks
NOT_ACTIVE = -0.14  # where a line crosses an axis whose parameter it did not use


def _ranked_sample(trials: list[Trial], limit: int) -> list[Trial]:
    ranked = sorted(trials, key=lambda t: t.loss)
    stride = max(1, math.ceil(len(ranked) / limit))
    return ranked[::stride]  # the best is always first


def _axis_positions(col: Column) -> tuple[list[float], list[tuple[float, str]]]:
    """Each trial's height on the axis (0..1, NOT_ACTIVE where inactive) and the tick labels."""
    active = [v for v in col.values if v is not None]
    ticks: list[tuple[float, str]] = []
    if col.categorical:
        k = len(col.labels)

        def place(v: float) -> float:
            return v / (k - 1) if k > 1 else 0.5

        step = max(1, math.ceil(k / 8))  # at most about 8 labels on one axis
        ticks = [(place(i), _short(lbl, 16)) for i, lbl in enumerate(col.labels)][
            ::step
        ]
    else:
        lo, hi = (min(active), max(active)) if active else (0.0, 1.0)

        def place(v: float) -> float:
            return (v - lo) / (hi - lo) if hi > lo else 0.5

        for v in sorted({lo, (lo + hi) / 2, hi}):
            ticks.append((place(v), f"{10**v if col.log else v:.3g}"))
    heights = [NOT_ACTIVE if v is None else place(v) for v in col.values]
    if len(active) < len(col.values):
        ticks.append((NOT_ACTIVE, "not active"))
    return heights, ticks


@_plain_text
def plot_parallel(run: Run, imp: Importance | None, mpl: Any) -> Plot | None:
    """One vertical axis per parameter and one for the loss (or its metric); one line
    per successful trial, coloured by the loss, crossing each axis at its value."""
    from matplotlib.collections import LineCollection

    ok = [t for t in run.trials if t.ok]
    names = (
        [n for n, _ in imp.scores]
        if imp is not None and imp.scores
        else run.param_names
    )
    if not ok or not names:
        return None
    shown = names[:MAX_AXES]
    drawn = _ranked_sample(ok, MAX_LINES)
    label, value, higher_better = measure(run)
    columns = [column(run, n, drawn) for n in shown]
    scores = [value(t.loss) for t in drawn]
    lo, hi = min(scores), max(scores)
    measure_col = Column(label, False, list(scores), [])
    axes = [_axis_positions(c) for c in columns] + [_axis_positions(measure_col)]
    fig = _figure(mpl, (max(10.0, 1.4 * len(axes) + 2.0), 5.2))
    ax = fig.add_subplot()
    xs = list(range(len(axes)))
    lines = [[(x, axes[x][0][i]) for x in xs] for i in range(len(drawn))]
    cmap = mpl_colormap("viridis" if higher_better else "viridis_r")
    norm = mpl_normalize(lo, hi if hi > lo else lo + 1)
    # Worst drawn first, the best on top; the best trial in red.
    order = list(reversed(range(len(drawn))))
    segments = LineCollection(
        [lines[i] for i in order[:-1]],
        colors=[cmap(norm(scores[i])) for i in order[:-1]],
        linewidths=0.8,
        alpha=0.55,
    )
    ax.add_collection(segments)
    best_x, best_y = zip(*lines[0])
    ax.plot(
        best_x, best_y, color="C3", lw=2.2, label=f"best (tid {drawn[0].tid})", zorder=3
    )
    for x, (_, ticks) in zip(xs, axes):
        ax.axvline(x, color="0.3", lw=0.8, zorder=2)
        for y, text in ticks:
            ax.text(
                x + 0.04,
                y,
                text,
                fontsize=8,
                va="center",
                color="0.45" if y == NOT_ACTIVE else "0.1",
                zorder=4,
                bbox={"facecolor": "white", "alpha": 0.6, "lw": 0, "pad": 0.5},
            )
    ax.set_xlim(-0.2, len(axes) - 0.4)
    ax.set_ylim(NOT_ACTIVE - 0.06, 1.06)
    ax.set_yticks([])
    labels = [_short(c.name, 22) + (" (log)" if c.log else "") for c in columns]
    ax.set_xticks(xs, labels + [_short(label, 22)], rotation=20, ha="right")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    colorbar = fig.colorbar(
        mpl_scalar_mappable(norm, cmap), ax=ax, fraction=0.03, pad=0.01
    )
    colorbar.set_label(_short(label))
    ax.legend(loc="upper left", fontsize="small", bbox_to_anchor=(0, 1.12))
    parts = []
    if len(drawn) < len(ok):
        parts.append(f"{len(drawn)} of {len(ok)} trials drawn, evenly across ranks")
    if len(shown) < len(names):
        parts.append(f"the {len(shown)} most important of {len(names)} parameters")
    title = "Parallel coordinates, one line per trial"
    ax.set_title(title + (f" ({'; '.join(parts)})" if parts else ""))
    return Plot("parallel.png", "Parallel coordinates", _png(fig), wide=True)


def mpl_colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def mpl_normalize(lo: float, hi: float) -> Any:
    from matplotlib.colors import Normalize

    return Normalize(lo, hi)


def mpl_scalar_mappable(norm: Any, cmap: Any) -> Any:
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=cmap)


@_plain_text
def plot_importance(imp: Importance, mpl: Any) -> Plot | None:
    if not imp.scores:
        return None
    scores = imp.scores[:30]
    fig = _figure(mpl, (7.0, 1.2 + 0.32 * len(scores)))
    ax = fig.add_subplot()
    names = [_short(n, 40) for n, _ in reversed(scores)]
    shares = [100 * s for _, s in reversed(scores)]
    ax.barh(range(len(scores)), shares, color="C0")
    ax.set_yticks(range(len(scores)), names)
    for i, share in enumerate(shares):
        ax.text(share, i, f" {share:.0f}%", va="center", fontsize=8)
    ax.set_xlim(0, max(shares) * 1.15 or 1)
    ax.set_xlabel("share of the importance (%)")
    more = f", {len(imp.scores) - 30} more not shown" if len(imp.scores) > 30 else ""
    ax.set_title(f"Parameter importance ({imp.used} trials{more})")
    return Plot("importance.png", "Parameter importance", _png(fig))


def render_plots(run: Run, imp: Importance | None = None) -> list[Plot]:
    mpl = _matplotlib()
    plots = [plot_loss(run, mpl)]
    for extra in (
        plot_importance(imp, mpl) if imp is not None else None,
        plot_parallel(run, imp, mpl),
    ):
        if extra is not None:
            plots.append(extra)
    used: set[str] = {
        "loss.png",
        "duration.png",
        "learning_curves.png",
        "importance.png",
        "parallel.png",
    }
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

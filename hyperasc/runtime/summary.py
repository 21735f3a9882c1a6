"""The end of the closing summary: the best few trials and the models kept.

Plain data in, lines out (80 columns where paths allow): search_log.py
prints them after the summary's own rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

WIDTH = 80
BEST_SHOWN = 5


def best_trials_lines(
    best: Sequence[tuple[int, float, Mapping[str, Any]]], width: int = WIDTH
) -> list[str]:
    """A table of (tid, loss, params), best first, each row cut to `width`."""
    if len(best) < 2:  # one trial: the summary's rows above say it all
        return []
    shown = best[:BEST_SHOWN]
    tid_width = max(3, *(len(str(tid)) for tid, _, _ in shown))
    losses = [f"{loss:.6g}" for _, loss, _ in shown]
    loss_width = max(4, *map(len, losses))
    lines = [
        f"Best {len(shown)} trials",
        f"  {'tid'.rjust(tid_width)}  {'loss'.ljust(loss_width)}  params",
    ]
    for (tid, _, params), loss in zip(shown, losses):
        row = f"  {str(tid).rjust(tid_width)}  {loss.ljust(loss_width)}  "
        lines.append(cut(row + params_text(params), width))
    return lines


def params_text(params: Mapping[str, Any]) -> str:
    """`name=value` pairs, numbers short: `units=64 rate=0.0123 act='relu'`."""
    return " ".join(f"{name}={short_value(value)}" for name, value in params.items())


def short_value(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return repr(value)


def cut(text: str, width: int) -> str:
    """`text` in `width` characters, ending in `...` when cut."""
    return text if len(text) <= width else text[: width - 3] + "..."


def kept_models_lines(
    kept: Sequence[tuple[int, str]], keep_best: int, best_model: str | None = None
) -> list[str]:
    """The kept model files, best first, and one line of Python that loads the best.

    `kept` are (tid, path) of --keep-best's models; `best_model` the path of
    best_model.keras, for the load line when no model was kept.
    """
    lines = []
    if kept:
        lines.append(f"Kept models (--keep-best {keep_best}), best first")
        tid_width = max(3, *(len(str(tid)) for tid, _ in kept))
        lines += [f"  {str(tid).rjust(tid_width)}  {path}" for tid, path in kept]
    best = kept[0][1] if kept else best_model
    if best:
        # json.dumps quotes any path as a Python string literal would.
        lines.append(f"Load the best: keras.models.load_model({json.dumps(best)})")
    return lines

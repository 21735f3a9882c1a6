"""Per-trial seeds that depend only on the run seed and the trial id."""

from __future__ import annotations

import random
import sys

import numpy as np


def trial_seed(run_seed: int, tid: int) -> int:
    """A 31-bit seed for trial `tid` of a run seeded with `run_seed`."""
    return int(np.random.SeedSequence([run_seed, tid]).generate_state(1)[0] >> 1)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and, if the model uses it, Keras (and so its backend)."""
    random.seed(seed)
    np.random.seed(seed)
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.set_random_seed(seed)

"""The search algorithms, seeded per trial so that a resumed search samples
exactly what an uninterrupted one would have."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import hyperopt

from .errors import RunError
from .seeding import trial_seed
from .values import hyperopt_values

ALGORITHMS = {
    "tpe": hyperopt.tpe.suggest,
    "rand": hyperopt.rand.suggest,
    "atpe": hyperopt.atpe.suggest,
    "anneal": hyperopt.anneal.suggest,
}


class SeededAlgorithm:
    """A hyperopt algorithm that seeds each suggestion from (run seed, trial id).

    fmin hands algorithms seeds drawn from one stream that starts afresh in
    every process, so a resumed search would replay the first trials' seeds.
    Warm-start points (--points, real values by name) are suggested first.
    """

    def __init__(
        self,
        name: str,
        run_seed: int,
        parameters: Sequence[Mapping[str, Any]],
        points: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        if name == "atpe":
            try:
                import lightgbm  # noqa: F401  (hyperopt's ATPE needs it but does not install it)
            except ImportError:
                raise RunError(
                    "--algo atpe needs lightgbm: pip install lightgbm scikit-learn"
                ) from None
        self.suggest = ALGORITHMS[name]
        self.run_seed = run_seed
        self.parameters = parameters
        self.points = list(points)

    def __call__(
        self,
        new_ids: Sequence[int],
        domain: hyperopt.base.Domain,
        trials: hyperopt.Trials,
        seed: int,
    ) -> list[dict[str, Any]]:
        docs = []
        for tid in new_ids:
            if tid < len(self.points):
                values = hyperopt_values(self.parameters, self.points[tid])
                docs.append(point_trial(domain, trials, tid, values))
            else:
                docs.extend(
                    self.suggest([tid], domain, trials, trial_seed(self.run_seed, tid))
                )
        return docs


def point_trial(
    domain: hyperopt.base.Domain,
    trials: hyperopt.Trials,
    tid: int,
    values: Mapping[str, Any],
) -> dict[str, Any]:
    """A trial document for hyperopt-encoded `values`, as hyperopt's algorithms make them."""
    idxs = {label: [tid] if label in values else [] for label in domain.params}
    vals = {
        label: [values[label]] if label in values else [] for label in domain.params
    }
    misc = {
        "tid": tid,
        "cmd": domain.cmd,
        "workdir": domain.workdir,
        "idxs": idxs,
        "vals": vals,
    }
    return trials.new_trial_docs([tid], [None], [domain.new_result()], [misc])[0]

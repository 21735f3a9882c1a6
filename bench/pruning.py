"""Per-epoch pruning against none: epochs, time and best loss of TPE searches.

    python bench/pruning.py [--trials 30] [--seeds 0,1,2,3,4] [--modes none,median,asha]

Compiles bench/pruning_model.py (an MLP on the digits data, SGD for up to 30
epochs with early stopping, learning rate from 1e-4 to 3) and runs
`tune.py --algo tpe --prune MODE` for every seed and mode, the modes of one
seed one after the other, so that they share the machine's load alike.
Every mode runs the same number of trials from the same seeds. Reports per
mode: the epochs trained and the wall time (median over seeds, and the
total), the best loss (median and min..max over seeds), the number of pruned
trials, and the epochs each seed needed until a trial reached the no-pruning
runs' median best loss (median over seeds; "-" when it never did).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read_trials(run: Path) -> list[dict]:
    trials = []
    for line in (run / "trials.jsonl").read_text().splitlines():
        try:
            trials.append(json.loads(line))
        except ValueError:
            continue
    return sorted(trials, key=lambda t: t["tid"])


def epochs(trial: dict) -> int:
    """Epochs the trial trained, over all its fit() calls."""
    return sum(len(next(iter(fit.values()), [])) for fit in trial.get("history") or [])


def completed_loss(trial: dict) -> float | None:
    if trial.get("status") != "ok" or trial.get("pruned"):
        return None
    return trial.get("loss")


def run_search(script: Path, out: Path, mode: str, seed: int, args) -> dict:
    command = [
        sys.executable,
        str(script),
        "--out",
        str(out),
        "--quiet",
        "--algo",
        "tpe",
        "--seed",
        str(seed),
        "--max-evals",
        str(args.trials),
        "--prune",
        mode,
        "--prune-warmup",
        str(args.warmup),
        "--prune-startup",
        str(args.startup),
        "--prune-eta",
        str(args.eta),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"tune.py --prune {mode} --seed {seed} failed:\n{done.stderr[-3000:]}"
        )
    trials = read_trials(out)
    losses = [loss for t in trials if (loss := completed_loss(t)) is not None]
    return {
        "trials": trials,
        "wall": wall,
        "epochs": sum(epochs(t) for t in trials),
        "best": min(losses) if losses else float("inf"),
        "pruned": sum(1 for t in trials if t.get("pruned")),
    }


def epochs_to_reach(trials: list[dict], target: float) -> int | None:
    """Epochs trained, in trial order, until a completed trial's loss was <= target."""
    total = 0
    for trial in trials:
        total += epochs(trial)
        loss = completed_loss(trial)
        if loss is not None and loss <= target:
            return total
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--modes", default="none,median,asha")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--startup", type=int, default=5)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument(
        "--keep", default=None, metavar="DIR", help="keep the run directories here"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "none" not in modes:
        modes.insert(0, "none")  # the reference for "epochs to reach"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep or tmp)
        base.mkdir(parents=True, exist_ok=True)
        script = base / "tune.py"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hyperasc",
                "compile",
                str(ROOT / "bench/pruning_model.py"),
                "-o",
                str(script),
            ],
            check=True,
        )
        results: dict[str, list[dict]] = {m: [] for m in modes}
        for seed in seeds:
            for mode in modes:
                result = run_search(
                    script, base / f"run-{mode}-{seed}", mode, seed, args
                )
                results[mode].append(result)
                print(
                    f"seed {seed} {mode:6}: {result['epochs']:4d} epochs, {result['wall']:6.1f} s, "
                    f"best {result['best']:.4f}, {result['pruned']} pruned",
                    flush=True,
                )
    target = statistics.median(r["best"] for r in results["none"])
    print(
        f"\nTPE, {args.trials} trials, seeds {seeds}, warm-up {args.warmup}, start-up {args.startup}, "
        f"eta {args.eta}; target loss {target:.4f} (median best of --prune none)"
    )
    print(
        f"{'mode':8} {'epochs':>8} {'x fewer':>8} {'wall s':>8} {'best loss median':>17} {'min..max':>17} "
        f"{'pruned':>7} {'epochs to target':>17}"
    )
    reference = statistics.median(r["epochs"] for r in results["none"])
    for mode in modes:
        rows = results[mode]
        best = [r["best"] for r in rows]
        reach = [epochs_to_reach(r["trials"], target) for r in rows]
        reached = [e for e in reach if e is not None]
        missed = len(reach) - len(reached)
        reach_text = (f"{statistics.median(reached):.0f}" if reached else "-") + (
            f" ({missed} never)" if missed else ""
        )
        median_epochs = statistics.median(r["epochs"] for r in rows)
        print(
            f"{mode:8} {median_epochs:8.0f} {reference / median_epochs:8.2f} "
            f"{statistics.median(r['wall'] for r in rows):8.1f} {statistics.median(best):17.4f} "
            f"{min(best):8.4f}..{max(best):.4f} {statistics.median(r['pruned'] for r in rows):7.0f} "
            f"{reach_text:>17}"
        )
    print(
        "epochs, wall s, pruned: median over seeds; x fewer: none's median epochs / this mode's"
    )


if __name__ == "__main__":
    main()

"""Conditional against flat search spaces: the best loss TPE finds in N trials.

    python bench/conditional.py [--seeds 20] [--trials 100] [--keras-seeds 10]
                                [--keras-trials 40] [--models synthetic,keras]
                                [--quick] [--json PATH] [--keep DIR]

A handle under an `if` that tests a choice is a conditional parameter: only the
trials that take that branch sample it (`hyperasc compile`), while
`hyperasc compile --flat-space` samples every handle in every trial, as hyperas
does. Each model file below is compiled both ways and each script runs
`--algo tpe --max-evals N --seed S` for every seed, the two spaces of one seed
one after the other, so that they share the machine's load alike:

- synthetic: bench/conditional_model.py, a deterministic loss of the active
  parameters (optimizer and depth branches with parameters of their own, two
  distractors), no training, many trials;
- keras: bench/conditional_keras_model.py, a tiny MLP on the digits data for
  one epoch, with an optimizer branch and a depth branch.

Reports per model: the best loss after N trials (mean and median over seeds),
conditional over flat as ratios (below 1: the conditional space found lower
losses); the trials each conditional search needed to reach the flat search's
final best of the same seed (counted as N+1 when it never did), over N and over
the trials the flat search itself needed; and the seeds where the conditional
search ended lower (wins), equal (ties) or higher (losses). TPE samples its
first 20 trials at random in both spaces, so N must be well above 20.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = {
    "synthetic": ROOT / "bench/conditional_model.py",
    "keras": ROOT / "bench/conditional_keras_model.py",
}
SPACES = ("flat", "conditional")
# Relative difference below which two best losses count as a tie.
TIE = 1e-9
# hyperopt's TPE samples its first trials at random (tpe.suggest's n_startup_jobs);
# only the trials after them can profit from the conditional space.
TPE_STARTUP = 20


def hyperasc() -> list[str]:
    return [sys.executable, "-m", "hyperasc"]


def has_flat_flag() -> bool:
    """Whether this hyperasc's compile knows --flat-space (issue 19)."""
    done = subprocess.run(
        [*hyperasc(), "compile", "--help"], capture_output=True, text=True
    )
    return "--flat-space" in done.stdout


def compile_model(model: Path, script: Path, flat: bool, flat_flag: bool) -> None:
    command = [*hyperasc(), "compile", str(model), "-o", str(script)]
    if flat and flat_flag:
        command.append("--flat-space")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


def read_losses(run: Path) -> list[float]:
    """The trials' losses in trial order; a failed trial (no loss) counts as +inf."""
    trials = []
    for line in (run / "trials.jsonl").read_text().splitlines():
        try:
            trials.append(json.loads(line))
        except ValueError:
            continue
    trials.sort(key=lambda t: t["tid"])
    losses = []
    for trial in trials:
        loss = trial.get("loss")
        ok = trial.get("status") == "ok" and isinstance(loss, (int, float))
        losses.append(float(loss) if ok and math.isfinite(loss) else math.inf)
    return losses


def conditional_count(run: Path) -> int:
    """How many of the run's parameters are conditional (have a parent), from run.json."""
    space = json.loads((run / "run.json").read_text()).get("space") or []
    return sum(1 for p in space if p.get("parent") is not None)


def run_search(script: Path, out: Path, seed: int, trials: int) -> dict:
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
        str(trials),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{script.name} --seed {seed} failed:\n{done.stderr[-3000:]}")
    losses = read_losses(out)
    if len(losses) != trials:
        raise SystemExit(f"{out}: {len(losses)} trials recorded, {trials} asked for")
    return {"losses": losses, "wall": wall, "conditional": conditional_count(out)}


def best_so_far(losses: list[float]) -> list[float]:
    """The lowest loss among the first k trials, for k = 1..len(losses)."""
    curve, best = [], math.inf
    for loss in losses:
        best = min(best, loss)
        curve.append(best)
    return curve


def trials_to_reach(curve: list[float], target: float) -> int | None:
    """The number of trials after which the best-so-far curve is <= target; None if never."""
    for k, best in enumerate(curve, start=1):
        if best <= target:
            return k
    return None


def outcome(flat: float, conditional: float) -> str:
    """'win' when the conditional search ended lower, 'tie', or 'loss'."""
    if math.isclose(flat, conditional, rel_tol=TIE, abs_tol=TIE):
        return "tie"
    return "win" if conditional < flat else "loss"


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def summarise(flat: list[list[float]], conditional: list[list[float]]) -> dict:
    """Compare best-so-far curves of flat and conditional searches, one pair per seed.

    Every curve has N points. Per seed: each search's final best, the trials the
    flat search needed to reach its own final best, and the trials the
    conditional search needed to reach it (N + 1 when it never did).
    """
    if len(flat) != len(conditional) or not flat:
        raise ValueError("one flat and one conditional curve per seed")
    n = len(flat[0])
    if any(len(c) != n for c in flat + conditional):
        raise ValueError("every curve has the same number of trials")
    flat_best = [c[-1] for c in flat]
    cond_best = [c[-1] for c in conditional]
    flat_need = [trials_to_reach(c, c[-1]) for c in flat]
    cond_reach = [trials_to_reach(c, f) for c, f in zip(conditional, flat_best)]
    cond_need = [n + 1 if k is None else k for k in cond_reach]
    outcomes = [outcome(f, c) for f, c in zip(flat_best, cond_best)]
    return {
        "seeds": len(flat),
        "trials": n,
        "flat_best": flat_best,
        "conditional_best": cond_best,
        "flat_best_mean": statistics.fmean(flat_best),
        "conditional_best_mean": statistics.fmean(cond_best),
        "best_mean_ratio": ratio(
            statistics.fmean(cond_best), statistics.fmean(flat_best)
        ),
        "flat_best_median": statistics.median(flat_best),
        "conditional_best_median": statistics.median(cond_best),
        "best_median_ratio": ratio(
            statistics.median(cond_best), statistics.median(flat_best)
        ),
        "flat_trials_to_best": flat_need,
        "conditional_trials_to_flat_best": cond_need,
        "reached": sum(1 for k in cond_reach if k is not None),
        "trials_to_flat_best_median": statistics.median(cond_need),
        "trials_to_flat_best_over_n": statistics.median(cond_need) / n,
        "trials_to_flat_best_over_flat": ratio(
            statistics.median(cond_need), statistics.median(flat_need)
        ),
        "wins": outcomes.count("win"),
        "ties": outcomes.count("tie"),
        "losses": outcomes.count("loss"),
    }


def table(rows: list[tuple[str, ...]]) -> str:
    """A markdown table; the first row is the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [
            c.ljust(w) if j == 0 else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths))
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            rules = [
                "-" * w if j == 0 else "-" * (w - 1) + ":" for j, w in enumerate(widths)
            ]
            lines.append("| " + " | ".join(rules) + " |")
    return "\n".join(lines)


def report_rows(results: dict[str, dict]) -> list[tuple[str, ...]]:
    rows = [
        (
            "model",
            "seeds x N",
            "best flat mean",
            "best cond mean",
            "ratio",
            "best flat median",
            "best cond median",
            "ratio",
            "cond trials to flat best (median)",
            "/ N",
            "/ flat's trials",
            "reached",
            "wins/ties/losses",
        )
    ]
    for name, s in results.items():
        need = s["trials_to_flat_best_median"]
        rows.append(
            (
                name,
                f"{s['seeds']} x {s['trials']}",
                f"{s['flat_best_mean']:.4f}",
                f"{s['conditional_best_mean']:.4f}",
                f"{s['best_mean_ratio']:.3f}",
                f"{s['flat_best_median']:.4f}",
                f"{s['conditional_best_median']:.4f}",
                f"{s['best_median_ratio']:.3f}",
                (f"> {s['trials']}" if need > s["trials"] else f"{need:g}"),
                f"{s['trials_to_flat_best_over_n']:.2f}",
                f"{s['trials_to_flat_best_over_flat']:.2f}",
                f"{s['reached']}/{s['seeds']}",
                f"{s['wins']}/{s['ties']}/{s['losses']}",
            )
        )
    return rows


def parse_seeds(text: str) -> list[int]:
    """'10' is seeds 0..9; '0,3,7' are those seeds."""
    if "," not in text:
        return list(range(int(text)))
    return [int(s) for s in text.split(",") if s.strip()]


def bench_model(
    name: str, seeds: list[int], trials: int, base: Path, flat_flag: bool
) -> tuple[dict, dict]:
    scripts = {}
    for space in SPACES:
        scripts[space] = base / f"{name}-{space}.py"
        compile_model(MODELS[name], scripts[space], space == "flat", flat_flag)
    curves: dict[str, list[list[float]]] = {space: [] for space in SPACES}
    info: dict = {
        "seed_list": seeds,
        "search_seconds": {s: 0.0 for s in SPACES},
        "conditional_parameters": {},
        "curves": curves,
    }
    for seed in seeds:
        line = [f"{name} seed {seed}:"]
        for space in SPACES:
            run = run_search(
                scripts[space], base / f"run-{name}-{space}-{seed}", seed, trials
            )
            curves[space].append(best_so_far(run["losses"]))
            info["search_seconds"][space] += run["wall"]
            info["conditional_parameters"][space] = run["conditional"]
            line.append(
                f"{space} best {curves[space][-1][-1]:.4f} ({run['wall']:.1f} s)"
            )
        print(" ".join(line), flush=True)
    return summarise(curves["flat"], curves["conditional"]), info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds",
        default="20",
        help="synthetic: a count or a list (default: %(default)s)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=100,
        help="synthetic: trials per search (default: %(default)s)",
    )
    parser.add_argument(
        "--keras-seeds",
        default="10",
        help="keras: a count or a list (default: %(default)s)",
    )
    parser.add_argument(
        "--keras-trials",
        type=int,
        default=40,
        help="keras: trials per search (default: %(default)s)",
    )
    parser.add_argument(
        "--models", default="synthetic,keras", help="default: %(default)s"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: 2 seeds, 25 trials (too few to measure anything)",
    )
    parser.add_argument(
        "--json", default=None, metavar="PATH", help="also write the results here"
    )
    parser.add_argument(
        "--keep",
        default=None,
        metavar="DIR",
        help="keep scripts and run directories here",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.keras_seeds, args.trials, args.keras_trials = "2", "2", 25, 25
    plan = {
        "synthetic": (parse_seeds(args.seeds), args.trials),
        "keras": (parse_seeds(args.keras_seeds), args.keras_trials),
    }
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")

    flat_flag = has_flat_flag()
    started = time.perf_counter()
    results, infos = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep or tmp)
        base.mkdir(parents=True, exist_ok=True)
        for name in names:
            seeds, trials = plan[name]
            results[name], infos[name] = bench_model(
                name, seeds, trials, base, flat_flag
            )
    wall = time.perf_counter() - started

    print(f"\nTPE, flat against conditional search spaces; {wall:.0f} s in all\n")
    print(table(report_rows(results)))
    print(
        "\nbest: the lowest loss after N trials, mean and median over seeds; ratio: conditional / flat\n"
        "(below 1: the conditional space found lower losses). cond trials to flat best: the trials\n"
        "the conditional search needed to reach the flat search's final best of the same seed\n"
        "(N+1 when it never did; median over seeds), over N and over the trials the flat search\n"
        "itself needed (median). wins/ties/losses: seeds where the conditional search ended\n"
        f"lower/equal/higher. TPE's first {TPE_STARTUP} trials are random in both spaces."
    )
    short = [n for n, s in results.items() if s["trials"] <= TPE_STARTUP]
    if short:
        print(
            f"warning: {', '.join(short)}: N <= {TPE_STARTUP}, so both searches were random"
        )
    for name, info in infos.items():
        print(
            f"{name}: {info['conditional_parameters']['conditional']} conditional parameters "
            f"(flat: {info['conditional_parameters']['flat']}); search time "
            f"flat {info['search_seconds']['flat']:.0f} s, conditional {info['search_seconds']['conditional']:.0f} s"
        )
        if not info["conditional_parameters"]["conditional"]:
            print(
                f"warning: {name}: the conditional compile has no conditional parameters"
                + ("" if flat_flag else " (this hyperasc has no --flat-space)")
                + "; both columns are the flat space"
            )
    if args.json:
        record = {
            "command": [
                Path(sys.argv[0]).name,
                *(argv if argv is not None else sys.argv[1:]),
            ],
            "flat_space_flag": flat_flag,
            "wall": wall,
            "models": {n: {**results[n], **infos[n]} for n in results},
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Memory and time of the generated script against a hand-written hyperopt loop.

    python bench/memory_growth.py [--trials 50] [--modes 2,1,in-process]

Compiles examples/digits_mlp.py, runs the search once per mode (how many
trials each forked trial process runs, or --in-process), then replays the
very same configurations in bench/handwritten_digits_loop.py. Both run as child
processes; their resident memory (VmRSS), plus that of any process they fork
for a trial, is sampled every 20 ms. Reports the peak during the first trial,
the peak during the last, the growth between them, the highest peak of any
trial (a recycled trial process grows until it is replaced), and the wall time of
trials 2..N (the first includes TensorFlow's warm-up). Forked trial processes
share pages with their parent, so the sum overstates memory; it is the same
overstatement in every trial, so the growth is still right.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    """Resident memory of pid and its children, in MB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            own = (
                next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
                / 1024
            )
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except (OSError, StopIteration):
        return 0.0
    return own + sum(rss_mb(child) for child in children)


def watch(cmd: list[str], progress: Path, trials: int) -> list[tuple[float, float]]:
    """Run cmd; return (end time, peak RSS MB) of each trial, as progress lines appear."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    samples: list[tuple[float, float]] = []
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, rss_mb(proc.pid))
        done = len(progress.read_text().splitlines()) if progress.exists() else 0
        if len(samples) < min(done, trials):
            samples.append((time.perf_counter(), peak))
            peak = 0.0
        time.sleep(0.02)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[1]} failed:\n{proc.stderr.read()[-3000:]}")
    return samples


def summary(name: str, samples: list[tuple[float, float]]) -> dict:
    (t1, r1), (tn, rn) = samples[0], samples[-1]
    highest = max(r for _, r in samples)
    return {
        "name": name,
        "first": r1,
        "last": rn,
        "growth": rn - r1,
        "max_growth": highest - r1,
        "wall": tn - t1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument(
        "--modes",
        default="2,1,in-process",
        help="how the generated script runs trials: comma-separated values of "
        "--trials-per-process, or in-process (default: %(default)s)",
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        script = tmp / "tune.py"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hyperasc",
                "compile",
                str(ROOT / "examples/digits_mlp.py"),
                "-o",
                str(script),
            ],
            check=True,
        )
        rows = []
        for mode in modes:
            run_dir = tmp / f"run-{mode}"
            flags = (
                ["--in-process"]
                if mode == "in-process"
                else ["--trials-per-process", mode]
            )
            samples = watch(
                [
                    sys.executable,
                    str(script),
                    "--max-evals",
                    str(args.trials),
                    "--out",
                    str(run_dir),
                    "--quiet",
                    *flags,
                ],
                run_dir / "trials.jsonl",
                args.trials,
            )
            label = (
                "tune.py --in-process"
                if mode == "in-process"
                else f"tune.py, {mode}/process"
            )
            rows.append(summary(label, samples))
        progress = tmp / "handwritten.progress"
        handwritten = watch(
            [
                sys.executable,
                str(ROOT / "bench/handwritten_digits_loop.py"),
                str(tmp / f"run-{modes[0]}" / "trials.jsonl"),
                str(progress),
            ],
            progress,
            args.trials,
        )
    rows.append(summary("hand-written fmin loop", handwritten))
    print(
        f"{args.trials} trials of examples/digits_mlp.py, same configurations in both"
    )
    print(
        f"{'':24} {'peak RSS, 1st':>14} {'peak RSS, last':>15} {'growth':>9} {'max growth':>11} "
        f"{'wall, trials 2..N':>18}"
    )
    for r in rows:
        ratio = r["wall"] / rows[-1]["wall"]
        print(
            f"{r['name']:24} {r['first']:11.1f} MB {r['last']:12.1f} MB {r['growth']:6.1f} MB "
            f"{r['max_growth']:8.1f} MB {r['wall']:16.1f} s  x{ratio:.3f}"
        )
    print(
        "growth: last trial's peak minus the first's; max growth: the highest peak of any trial minus the first's"
    )
    print("x: wall time against the hand-written loop, measured in this run")


if __name__ == "__main__":
    main()

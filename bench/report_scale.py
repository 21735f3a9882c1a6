"""How `hyperasc report` scales: seconds for 10k, 20k and 100k synthetic trials.

    python bench/report_scale.py [--sizes 10000,20000,100000] [--format all]

Writes a synthetic run directory per size (run.json and trials.jsonl as a
generated tune.py writes them: six parameters, one active only under one
option of a choice and one nested in a choice's option, an objective
`loss = -accuracy`, three epochs of history per trial, one in ten failed,
one in twenty pruned) into a temporary folder, times write_report on it,
and prints the seconds side by side with time(largest)/time(smallest): about
the ratio of the sizes when the report is linear (10 for 100k/10k).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hyperasc.report import write_report  # noqa: E402

SPACE = [
    {"name": "Dropout", "distribution": "uniform", "args": ["0", "1"]},
    {"name": "lr", "distribution": "loguniform", "args": ["-9", "-2"]},
    {
        "name": "optimizer",
        "distribution": "choice",
        "args": [],
        "values": ["adam", "sgd", "rmsprop"],
    },
    {"name": "units", "distribution": "choice", "args": [], "values": [64, 128]},
    {
        "name": "optimizer=sgd.momentum",
        "distribution": "uniform",
        "args": ["0", "1"],
        "parent": "optimizer",
        "active": [1],
    },
    {
        "name": "extra",
        "distribution": "choice",
        "args": [],
        "values": [None, "uniform(0, 0.5)"],
        "nested": {"1": "extra_opt1"},
    },
    {
        "name": "extra_opt1",
        "distribution": "uniform",
        "args": ["0", "0.5"],
        "parent": "extra",
        "active": [1],
    },
]
OBJECTIVE = {
    "expression": "-accuracy",
    "function": "create_model",
    "line": 52,
    "metric": "accuracy",
    "sign": -1,
    "offset": 0,
}


def make_run(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    info = {
        "started": "2026-11-28T14:03:10.001Z",
        "seed": 0,
        "algo": "tpe",
        "max_evals": n,
        "space": SPACE,
        "objective": OBJECTIVE,
    }
    (root / "run.json").write_text(json.dumps(info))
    with (root / "trials.jsonl").open("w") as f:
        for tid in range(n):
            ok = tid % 10 != 7
            pruned = tid % 20 == 3
            s = 11.0 + 4 * tid
            loss = -0.5 / (1 + 0.001 * tid) - 0.05 * ((tid * 7919) % 13) / 13
            params = {
                "Dropout": (tid * 0.618) % 1,
                "lr": 10 ** (-4 + (tid % 7) * 0.3),
                "optimizer": ["adam", "sgd", "rmsprop"][tid % 3],
                "units": [64, 128][tid % 2],
                "extra": None,
            }
            if tid % 3 == 1:
                params["optimizer=sgd.momentum"] = (tid * 0.382) % 1
            if tid % 4:
                params["extra"] = params["extra_opt1"] = (tid * 0.317) % 0.5
            status = "pruned" if pruned else "ok" if ok else "fail"
            record = {
                "tid": tid,
                "status": status,
                "loss": loss if ok and not pruned else None,
                "params": params,
                "start": f"2026-11-28T14:{int(s // 60) % 60:02d}:{s % 60:06.3f}Z",
                "end": f"2026-11-28T14:{int((s + 2) // 60) % 60:02d}:{(s + 2) % 60:06.3f}Z",
                "duration": 2.0 + tid % 3,
                "error": None if ok else "ValueError: bad trial",
                "history": (
                    [{"loss": [1.0, 0.7, loss], "val_loss": [1.1, 0.8, loss]}]
                    if ok
                    else []
                ),
            }
            f.write(json.dumps(record) + "\n")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000,100000")
    parser.add_argument(
        "--format", default="all", choices=["all", "html", "png", "csv"]
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            run_dir = make_run(Path(tmp) / f"run{n}", n)
            t0 = time.perf_counter()
            write_report(run_dir, fmt=args.format)
            seconds[n] = time.perf_counter() - t0
            print(f"{n:>7} trials: {seconds[n]:7.2f} s", flush=True)
    lo, hi = min(sizes), max(sizes)
    print(
        f"time({hi})/time({lo}) = {seconds[hi] / seconds[lo]:.1f} (linear: {hi / lo:.1f})"
    )


if __name__ == "__main__":
    main()

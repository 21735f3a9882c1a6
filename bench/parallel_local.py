"""Parallel efficiency of `tune.py --parallel N`, next to MongoDB workers and Spark.

    python bench/parallel_local.py                  # everything (about 8 minutes)
    python bench/parallel_local.py --no-mongo --no-spark
    python bench/parallel_local.py --digits         # 20 digits-MLP trials instead

Compiles bench/sleep_model.py (each trial sleeps 1 s, so two CPU cores are
not the limit) and runs 64 trials sequentially, then with --parallel N, with
N MongoDB workers and with Spark at parallelism N, for N = 2, 4, 8. Each
run's time is from the search's start (run.json "started") to the end of its
last trial, and every backend is compared with the same baseline:

    efficiency(N) = (sequential seconds) / (N x seconds with N at a time)

MongoDB and Spark runs are those of bench/distributed_throughput.py (its
workers are started and idle before the driver starts).

--digits compiles examples/digits_mlp.py and runs 20 real Keras trials
sequentially and with --parallel 2 (this machine has 2 cores), same seed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distributed_throughput import mongo_run, search_seconds, spark_run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLEEP_MODEL = ROOT / "bench" / "sleep_model.py"
DIGITS_MODEL = ROOT / "examples" / "digits_mlp.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--parallel", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument(
        "--sleep", type=float, default=1.0, help="seconds each trial sleeps"
    )
    parser.add_argument(
        "--mongo", default=None, help="mongo://HOST:PORT/DB of a running server"
    )
    parser.add_argument(
        "--no-mongo", action="store_true", help="leave MongoDB workers out"
    )
    parser.add_argument("--no-spark", action="store_true", help="leave Spark out")
    parser.add_argument(
        "--digits",
        action="store_true",
        help="20 digits-MLP trials: sequential against --parallel 2",
    )
    parser.add_argument(
        "--json", default=None, help="also write the figures to this file"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hyperasc-parallel-bench-"))
    if args.digits:
        return digits(work, args)

    script = compile_model(SLEEP_MODEL, work)
    env = {
        **os.environ,
        "SLEEP_SECONDS": str(args.sleep),
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }
    rows = [("sequential", 1, local_run(script, None, args.trials, work, env))]
    report(rows[-1])
    for n in args.parallel:
        rows.append(("parallel", n, local_run(script, n, args.trials, work, env)))
        report(rows[-1])
    if not args.no_mongo:
        server, url = mongo_server(work, args.mongo)
        try:
            for n in args.parallel:
                rows.append(
                    ("mongo", n, mongo_run(script, url, n, args.trials, work, env))
                )
                report(rows[-1])
        finally:
            if server is not None:
                server.stop()
    if not args.no_spark:
        for n in args.parallel:
            rows.append(("spark", n, spark_run(script, n, args.trials, work, env)))
            report(rows[-1])
    print_table(rows, args)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [{"backend": b, "n": n, "seconds": s} for b, n, s in rows], indent=2
            )
        )
    return 0


def compile_model(model: Path, work: Path) -> Path:
    script = work / f"tune_{model.stem}.py"
    subprocess.run(
        [sys.executable, "-m", "hyperasc", "compile", str(model), "-o", str(script)],
        check=True,
    )
    return script


def local_run(
    script: Path,
    parallel: int | None,
    trials: int,
    work: Path,
    env: dict,
    extra: tuple = (),
) -> float:
    out = work / f"local-{parallel or 'sequential'}-{script.stem}"
    command = [
        sys.executable,
        str(script),
        "--max-evals",
        str(trials),
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]
    if parallel:
        command += ["--parallel", str(parallel)]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return search_seconds(out, trials)


def mongo_server(work: Path, url: str | None):
    """A secantusdb server as the tests start it, unless --mongo names one."""
    if url is not None:
        return None, url
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import MongoServer, secantusdb_server

    server = MongoServer(secantusdb_server(), work / "mongo-data", work / "mongo.log")
    server.start()
    return server, server.url("bench")


def report(row) -> None:
    backend, n, seconds = row
    print(f"{backend} with {n} at a time: {seconds:.2f} s", file=sys.stderr)


def print_table(rows, args) -> None:
    table = {(backend, n): seconds for backend, n, seconds in rows}
    sequential = table[("sequential", 1)]
    backends = [
        b for b in ("parallel", "mongo", "spark") if any(k[0] == b for k in table)
    ]
    print(
        f"\n{args.trials} trials of {args.sleep:g} s each; sequential: {sequential:.2f} s"
    )
    print("efficiency = sequential seconds / (N x seconds with N at a time)")
    print(
        f"{'N':>3} | " + " | ".join(f"{b + ' s':>11} {'effic.':>6}" for b in backends)
    )
    for n in args.parallel:
        cells = []
        for backend in backends:
            seconds = table.get((backend, n))
            cells.append(
                f"{'-':>11} {'-':>6}"
                if seconds is None
                else f"{seconds:11.2f} {sequential / (n * seconds):6.3f}"
            )
        print(f"{n:>3} | " + " | ".join(cells))


def digits(work: Path, args) -> int:
    """20 real Keras trials: sequential against --parallel 2 on this machine."""
    script = compile_model(DIGITS_MODEL, work)
    env = dict(os.environ)
    sequential = local_run(script, None, 20, work, env, ("--seed", "1"))
    report(("sequential", 1, sequential))
    together = local_run(script, 2, 20, work, env, ("--seed", "1"))
    report(("parallel", 2, together))
    print(
        f"\n20 digits-MLP trials: sequential {sequential:.1f} s, --parallel 2 {together:.1f} s, "
        f"speed-up x{sequential / together:.2f}, efficiency {sequential / (2 * together):.3f}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"sequential": sequential, "parallel2": together}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

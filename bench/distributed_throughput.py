"""Parallel efficiency of the generated script on MongoDB workers and on Spark.

    python bench/distributed_throughput.py

Compiles bench/sleep_model.py (each trial sleeps 1 s, so two CPU cores are
not the limit), then runs 64 trials with 1, 2, 4 and 8 MongoDB workers and
with Spark at the same parallelism, and prints side by side

    efficiency(N) = (trials/s with N workers) / (N x trials/s with 1 worker)

The time of a run is from the driver's start of search (run.json "started",
after imports and connecting) to the end of its last trial; workers are
started and idle before the driver starts, as in a long-lived cluster. The
MongoDB server is secantusdb, started as the tests start it, unless --mongo
names one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "bench" / "sleep_model.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument(
        "--sleep", type=float, default=1.0, help="seconds each trial sleeps"
    )
    parser.add_argument(
        "--mongo", default=None, help="mongo://HOST:PORT/DB of a running server"
    )
    parser.add_argument(
        "--no-spark", action="store_true", help="measure MongoDB workers only"
    )
    parser.add_argument(
        "--json", default=None, help="also write the figures to this file"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hyperasc-bench-"))
    script = work / "tune.py"
    subprocess.run(
        [sys.executable, "-m", "hyperasc", "compile", str(MODEL), "-o", str(script)],
        check=True,
    )
    env = {
        **os.environ,
        "SLEEP_SECONDS": str(args.sleep),
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }

    server = None
    url = args.mongo
    if url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import MongoServer, secantusdb_server

        server = MongoServer(
            secantusdb_server(), work / "mongo-data", work / "mongo.log"
        )
        server.start()
        url = server.url("bench")
    rows = []
    try:
        for n in args.workers:
            rows.append(("mongo", n, mongo_run(script, url, n, args.trials, work, env)))
            report(rows[-1], rows)
        if not args.no_spark:
            for n in args.workers:
                rows.append(("spark", n, spark_run(script, n, args.trials, work, env)))
                report(rows[-1], rows)
    finally:
        if server is not None:
            server.stop()

    print(
        f"\n{args.trials} trials of {args.sleep:g} s each; efficiency = (trials/s with N) / (N x trials/s with 1)"
    )
    print(
        f"{'workers':>8} | {'mongo s':>8} {'trials/s':>8} {'effic.':>6} | {'spark s':>8} {'trials/s':>8} {'effic.':>6}"
    )
    table = {}
    for backend, n, seconds in rows:
        table.setdefault(n, {})[backend] = seconds
    for n in args.workers:
        cells = []
        for backend in ("mongo", "spark"):
            seconds = table[n].get(backend)
            if seconds is None:
                cells.append(f"{'-':>8} {'-':>8} {'-':>6}")
                continue
            base = table[args.workers[0]][backend] * args.workers[0]
            cells.append(
                f"{seconds:8.2f} {args.trials / seconds:8.3f} {base / (n * seconds):6.3f}"
            )
        print(f"{n:>8} | " + " | ".join(cells))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [{"backend": b, "workers": n, "seconds": s} for b, n, s in rows],
                indent=2,
            )
        )
    return 0


def report(row, rows) -> None:
    backend, n, seconds = row
    print(f"{backend} with {n} workers: {seconds:.2f} s", file=sys.stderr)


def mongo_run(
    script: Path, url: str, workers: int, trials: int, work: Path, env: dict
) -> float:
    import pymongo

    key = f"bench-{workers}-{uuid.uuid4().hex[:8]}"
    out = work / key
    log = open(work / f"{key}.workers.log", "wb")
    pool = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "worker",
            "--mongo",
            url,
            "--exp-key",
            key,
            "--workers",
            str(workers),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        # Wait until every worker process has registered (its imports are done).
        host, db = url.split("://")[1].split("/")[:2]
        client = pymongo.MongoClient(f"mongodb://{host}")
        deadline = time.time() + 120
        while client[db].hyperasc_workers.count_documents({"exp_key": key}) < workers:
            if time.time() > deadline or pool.poll() is not None:
                raise RuntimeError(
                    f"workers did not start: {(work / f'{key}.workers.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
        client.close()
        subprocess.run(
            [
                sys.executable,
                str(script),
                "--mongo",
                f"{url}/jobs",
                "--exp-key",
                key,
                "--max-evals",
                str(trials),
                "--out",
                str(out),
                "--quiet",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    finally:
        pool.terminate()
        pool.wait()
    return search_seconds(out, trials)


def spark_run(
    script: Path, parallelism: int, trials: int, work: Path, env: dict
) -> float:
    out = work / f"spark-{parallelism}"
    subprocess.run(
        [
            sys.executable,
            str(script),
            "--spark",
            str(parallelism),
            "--max-evals",
            str(trials),
            "--out",
            str(out),
            "--quiet",
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return search_seconds(out, trials)


def search_seconds(out: Path, trials: int) -> float:
    """From the driver's start of search to the end of its last trial."""
    records = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    assert len(records) == trials and all(
        r["status"] == "ok" for r in records
    ), f"{out}: incomplete run"
    started = json.loads((out / "run.json").read_text())["started"]
    last = max(r["end"] for r in records)
    return (parse(last) - parse(started)).total_seconds()


def parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


if __name__ == "__main__":
    sys.exit(main())

"""How fast is `hyperasc compile`? Run: python bench/compile_speed.py [--repeat N]

Two comparisons, side by side, from one run (repetitions interleaved, medians):

(a) `hyperasc compile EXAMPLE -o OUT` as a whole process, against
    `python -c "import keras"`: the price hyperas pays before it can even parse.
    Goal: a ratio of 0.15 or less.
(b) In-process compile time against black's own time formatting the same output
    (`black.format_str` on the final script). The front end and code generation
    are the difference. Goal: no more than 25% on top of black.
(c) Many handles: generated model files with 200 and 2,000 handles, in process.
    Compile time must grow linearly with the number of handles: the time per
    handle at 2,000 may be at most twice that at 200.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
PROCESS_GOAL = 0.15
OVERHEAD_GOAL = 25.0
HANDLE_COUNTS = (200, 2000)
LINEAR_GOAL = 2.0  # per-handle time at the largest count over that at the smallest


def hyperasc_command() -> list[str]:
    """The installed console script, as a user runs it; `python -m hyperasc` without one."""
    script = shutil.which("hyperasc")
    return [script] if script else [sys.executable, "-m", "hyperasc"]


def timed_run(command: list[str]) -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - start


def bench_processes(repeat: int, out_dir: Path) -> tuple[float, dict[str, float]]:
    keras = [sys.executable, "-c", "import keras"]
    compiles = {
        p.name: hyperasc_command()
        + ["compile", str(p), "-o", str(out_dir / f"{p.stem}_tune.py")]
        for p in EXAMPLES
    }
    # One untimed round warms the disk cache and the bytecode caches of both sides.
    for command in [keras, *compiles.values()]:
        timed_run(command)
    keras_times: list[float] = []
    compile_times: dict[str, list[float]] = {name: [] for name in compiles}
    for _ in range(repeat):  # interleaved so that machine load hits both sides alike
        keras_times.append(timed_run(keras))
        for name, command in compiles.items():
            compile_times[name].append(timed_run(command))
    return statistics.median(keras_times), {
        n: statistics.median(t) for n, t in compile_times.items()
    }


def bench_in_process(repeat: int) -> dict[str, dict[str, float]]:
    """Median seconds per stage of an in-process compile, and black alone on its output."""
    import black

    from hyperasc.compile import codegen
    from hyperasc.compile.pipeline import analyse
    from hyperasc.compile.source import read_source

    sources = {
        p.name: read_source(str(p.relative_to(ROOT)), p.read_bytes()) for p in EXAMPLES
    }
    samples: dict[str, dict[str, list[float]]] = {
        name: {"front": [], "render": [], "format": [], "black": []} for name in sources
    }
    for round_ in range(repeat + 1):  # round 0 warms up imports, Jinja and black
        for name, source in sources.items():
            target = codegen.Target(source.path, "bench")
            t0 = time.perf_counter()
            analysis = analyse(source)  # front end: scan, parse handles, discover, name
            t1 = time.perf_counter()
            text = codegen.render(
                analysis.program, analysis.space, source.sha256, target
            )
            t2 = time.perf_counter()
            # The black step inside compile: only the model-specific part is
            # formatted; the runtime bundle is formatted once per process.
            head = codegen.format_script(text)
            t3 = time.perf_counter()
            script = codegen.generate(
                analysis.program, analysis.space, source.sha256, target, source.text
            )
            assert script.startswith(head)
            t3b = time.perf_counter()
            black.format_str(
                script, mode=black.Mode()
            )  # black alone, on the final script
            t4 = t3 + (time.perf_counter() - t3b)
            if round_:
                for kind, seconds in zip(
                    ("front", "render", "format", "black"),
                    (t1 - t0, t2 - t1, t3 - t2, t4 - t3),
                ):
                    samples[name][kind].append(seconds)
    return {
        name: {kind: statistics.median(values) for kind, values in by_kind.items()}
        for name, by_kind in samples.items()
    }


def many_handles_model(count: int) -> str:
    """A model function with `count` handles, two per layer pair, as a long Sequential."""
    pair = (
        "    model.add(layers.Dense({{choice([16, 32, 64])}}, activation='relu'))\n"
        "    model.add(layers.Dropout({{uniform(0, 0.5)}}))\n"
    )
    body = pair * (count // 2) + (
        "    model.add(layers.Dense({{choice([8, 16])}}))\n" if count % 2 else ""
    )
    return (
        "from keras import layers, models\n\n\ndef data():\n    return None, None\n\n\n"
        "def create_model(x, y):\n    model = models.Sequential()\n"
        + body
        + "    return model\n"
    )


def bench_many_handles(
    counts: tuple[int, ...], repeat: int
) -> dict[int, dict[str, float]]:
    """Median seconds per stage of an in-process compile of a model with N handles."""
    from hyperasc.compile import codegen
    from hyperasc.compile.pipeline import analyse
    from hyperasc.compile.source import read_source

    results: dict[int, dict[str, float]] = {}
    for count in counts:
        source = read_source(
            f"many_{count}.py", many_handles_model(count).encode("utf-8")
        )
        target = codegen.Target(source.path, "bench")
        samples: dict[str, list[float]] = {"front": [], "render": [], "format": []}
        for _ in range(repeat):
            t0 = time.perf_counter()
            analysis = analyse(source)
            t1 = time.perf_counter()
            text = codegen.render(
                analysis.program, analysis.space, source.sha256, target
            )
            t2 = time.perf_counter()
            codegen.format_script(text)
            t3 = time.perf_counter()
            assert len(analysis.space.parameters) == count
            for kind, seconds in zip(samples, (t1 - t0, t2 - t1, t3 - t2)):
                samples[kind].append(seconds)
        results[count] = {
            kind: statistics.median(values) for kind, values in samples.items()
        }
    return results


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [
            c.ljust(w) if j == 0 else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed repetitions (default: %(default)s)"
    )
    parser.add_argument(
        "--handle-repeat",
        type=int,
        default=1,
        help="timed repetitions of the many-handles rows, which take seconds each (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        keras_s, process_s = bench_processes(args.repeat, Path(tmp))
    stages = bench_in_process(args.repeat)

    print(
        f"hyperasc compile-speed benchmark: {len(EXAMPLES)} examples, medians of {args.repeat} "
        f"interleaved runs; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n"
    )
    print(
        "(a) whole process: hyperasc compile EXAMPLE -o OUT  vs  python -c 'import keras'"
    )
    rows = [
        (
            "example",
            "hyperasc compile",
            "import keras",
            "ratio",
            f"goal <= {PROCESS_GOAL}",
        )
    ]
    worst_ratio = 0.0
    for path in EXAMPLES:
        ratio = process_s[path.name] / keras_s
        worst_ratio = max(worst_ratio, ratio)
        rows.append(
            (
                path.name,
                f"{process_s[path.name] * 1000:.0f} ms",
                f"{keras_s * 1000:.0f} ms",
                f"{ratio:.3f}",
                "met" if ratio <= PROCESS_GOAL else "MISSED",
            )
        )
    print(table(rows))

    print(
        "\n(b) in process: front end + code generation on top of black's time for the final script"
    )
    rows = [
        (
            "example",
            "front end",
            "render",
            "front+render",
            "black alone",
            "overhead",
            f"goal <= {OVERHEAD_GOAL:g}%",
            "black in compile",
            "compile total",
            "total / black",
        )
    ]
    worst_overhead = 0.0
    for path in EXAMPLES:
        s = stages[path.name]
        overhead = 100.0 * (s["front"] + s["render"]) / s["black"]
        total = s["front"] + s["render"] + s["format"]
        worst_overhead = max(worst_overhead, overhead)
        rows.append(
            (
                path.name,
                ms(s["front"]),
                ms(s["render"]),
                ms(s["front"] + s["render"]),
                ms(s["black"]),
                f"{overhead:.1f}%",
                "met" if overhead <= OVERHEAD_GOAL else "MISSED",
                ms(s["format"]),
                ms(total),
                f"{total / s['black']:.2f}x",
            )
        )
    print(table(rows))
    print(
        "\n'black in compile' formats only the model-specific part of the script (the shared\n"
        "support code is stored black-formatted); 'black alone' formats the whole final script."
    )

    print(
        "\n(c) many handles, in process: time per handle must not grow with the count"
    )
    many = bench_many_handles(HANDLE_COUNTS, args.handle_repeat)
    rows = [
        (
            "handles",
            "front end",
            "render",
            "black in compile",
            "compile total",
            "front end / handle",
            "total / handle",
        )
    ]
    for count, s in many.items():
        total = s["front"] + s["render"] + s["format"]
        rows.append(
            (
                str(count),
                ms(s["front"]),
                ms(s["render"]),
                ms(s["format"]),
                ms(total),
                ms(s["front"] / count),
                ms(total / count),
            )
        )
    print(table(rows))
    small, large = HANDLE_COUNTS[0], HANDLE_COUNTS[-1]

    def per_handle(count: int, kinds: tuple[str, ...]) -> float:
        return sum(many[count][k] for k in kinds) / count

    growth = per_handle(large, ("front", "render", "format")) / per_handle(
        small, ("front", "render", "format")
    )
    front_growth = per_handle(large, ("front",)) / per_handle(small, ("front",))
    print(
        f"time per handle at {large} over that at {small}: total {growth:.2f}x, front end {front_growth:.2f}x "
        f"(goal <= {LINEAR_GOAL:g}x)"
    )

    linear = max(growth, front_growth) <= LINEAR_GOAL
    met = worst_ratio <= PROCESS_GOAL and worst_overhead <= OVERHEAD_GOAL and linear
    print(
        f"\nworst ratio {worst_ratio:.3f} (goal {PROCESS_GOAL}), worst overhead {worst_overhead:.1f}% "
        f"(goal {OVERHEAD_GOAL:g}%), growth per handle {max(growth, front_growth):.2f}x (goal {LINEAR_GOAL:g}x): "
        f"{'all goals met' if met else 'a goal was missed'}"
    )
    return 0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())

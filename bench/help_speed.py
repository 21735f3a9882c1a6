"""How fast does a tuning script answer --help? Run: python bench/help_speed.py [--repeat N]

`python tune.py --help` for the bundled example (examples/digits_mlp.py,
compiled here) against `python -c "import keras"`, side by side in one run:
repetitions interleaved, medians printed with their ratio. The script answers
--help (and --version, --list-devices) before the model file's imports run,
so the ratio should be far below 1; goal: --help under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "digits_mlp.py"
GOAL_SECONDS = 0.5


def timed(command: list[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "tune.py")
        subprocess.run(
            [sys.executable, "-m", "hyperasc", "compile", str(EXAMPLE), "-o", script],
            check=True,
            env=env,
        )
        commands = {
            "tune.py --help": [sys.executable, script, "--help"],
            "tune.py --version": [sys.executable, script, "--version"],
            'python -c "import keras"': [sys.executable, "-c", "import keras"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved: load changes hit all alike
            for name, command in commands.items():
                times[name].append(timed(command, folder))
    medians = {name: statistics.median(values) for name, values in times.items()}
    width = max(map(len, medians))
    print(f"{args.repeat} runs each, medians (wall clock):")
    for name, value in medians.items():
        print(f"  {name.ljust(width)}  {value:7.3f} s")
    keras = medians['python -c "import keras"']
    ratio = medians["tune.py --help"] / keras
    print(f"  --help / import keras: {ratio:.3f}")
    ok = medians["tune.py --help"] < GOAL_SECONDS
    print(f"goal: --help under {GOAL_SECONDS} s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""A model file whose trials sleep instead of training, for bench/distributed_throughput.py.

Each trial sleeps SLEEP_SECONDS (1 s by default) and returns a loss, so the
benchmark measures the search machinery, not the two CPU cores.
"""

import os
import time


def model():
    x = {{uniform(-5, 5)}}
    y = {{uniform(-5, 5)}}
    time.sleep(float(os.environ.get("SLEEP_SECONDS", "1")))
    return {"loss": (x - 1) ** 2 + (y + 2) ** 2, "status": "ok"}

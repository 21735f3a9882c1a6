"""What `--gpus LIST` and `--parallel N` mean on this machine: one Slot per trial process.

Kept apart from the processes themselves (parallel.py) because the command
line needs it too, to check and list devices, and it must never initialise
CUDA: it reads CUDA_VISIBLE_DEVICES and nvidia-smi only.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

# Memory settings for trial processes that share a device: without them,
# TensorFlow (and JAX) would each take nearly all of the device's memory.
SHARED_DEVICE_ENV = {
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
}


class DeviceError(ValueError):
    """A --gpus or --parallel value that cannot be honoured; the message is for users."""


@dataclass(frozen=True)
class Slot:
    """One trial process: the device it is pinned to (None: not pinned) and its environment."""

    device: str | None
    env: dict[str, str] = field(default_factory=dict)


def parse_devices(text: str) -> list[str]:
    """`--gpus` -> device ids: "0,1" -> ["0", "1"], "all" -> every visible device."""
    if text.strip() == "all":
        devices = visible_devices()
        if not devices:
            raise DeviceError(
                "--gpus all: no GPU is visible (nvidia-smi lists none and "
                "CUDA_VISIBLE_DEVICES is unset)"
            )
        return devices
    devices = [d.strip() for d in text.split(",")]
    if not all(devices):
        raise DeviceError(f"--gpus {text!r}: expected a list like 0,1 or all")
    return devices


def visible_devices() -> list[str]:
    """Device ids this process may use, as CUDA_VISIBLE_DEVICES takes them.

    CUDA_VISIBLE_DEVICES, when set, already says which; otherwise nvidia-smi
    lists the GPUs (or their MIG instances) without initialising CUDA here.
    """
    pinned = os.environ.get("CUDA_VISIBLE_DEVICES")
    if pinned is not None:
        ids = [d.strip() for d in pinned.split(",") if d.strip()]
        return [] if ids in ([], ["-1"], ["NoDevFiles"]) else ids
    return [device for device, _ in describe_devices()]


def describe_devices() -> list[tuple[str, str]]:
    """(id, description) of each GPU or MIG instance that nvidia-smi lists."""
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(listing)


def parse_nvidia_smi(listing: str) -> list[tuple[str, str]]:
    """Read `nvidia-smi -L`: a GPU in MIG mode is usable only through its instances."""
    found: list[tuple[str, str]] = []
    gpu: tuple[str, str] | None = None
    instances: list[tuple[str, str]] = []
    for line in listing.splitlines() + ["GPU end"]:
        text = line.strip()
        if text.startswith("GPU "):
            if gpu is not None:
                found.extend(instances or [gpu])
            index, _, rest = text[4:].partition(":")
            gpu, instances = (index.strip(), rest.strip()), []
        elif text.startswith("MIG ") and "(UUID: " in text:
            uuid = text.split("(UUID: ", 1)[1].rstrip(")").strip()
            instances.append((uuid, text.split("(UUID:")[0].strip()))
    return found


def plan_slots(parallel: int | None, devices: Sequence[str] | None) -> list[Slot]:
    """The trial processes of `--parallel N` and `--gpus LIST`.

    With devices, slot i runs on devices[i % len(devices)]: a device listed
    twice (or N larger than the list) runs several trials at once. Slots
    that share a device, or share whatever is visible when nothing is
    pinned, get memory growth instead of TensorFlow's grab-everything start.
    """
    if parallel is not None and parallel < 1:
        raise DeviceError("--parallel must be at least 1")
    if not devices:
        count = parallel or 1
        env = dict(SHARED_DEVICE_ENV) if count > 1 else {}
        return [Slot(None, env) for _ in range(count)]
    count = parallel or len(devices)
    if count < len(devices):
        raise DeviceError(
            f"--parallel {count} is less than the {len(devices)} devices of --gpus; "
            "leave --parallel out to run one trial per listed device"
        )
    chosen = [devices[i % len(devices)] for i in range(count)]
    slots = []
    for device in chosen:
        env = {"CUDA_VISIBLE_DEVICES": device}
        if chosen.count(device) > 1:
            env.update(SHARED_DEVICE_ENV)
        slots.append(Slot(device, env))
    return slots

"""Device planning: --gpus LIST and --parallel N as slots, and the devices nvidia-smi lists."""

from __future__ import annotations

import textwrap

import pytest

from hyperasc.runtime import devices
from hyperasc.runtime.devices import DeviceError, Slot


def test_one_slot_per_listed_device_pinned_without_memory_growth():
    slots = devices.plan_slots(None, ["0", "1", "2", "3"])
    assert [s.device for s in slots] == ["0", "1", "2", "3"]
    assert [s.env for s in slots] == [{"CUDA_VISIBLE_DEVICES": d} for d in "0123"]


def test_a_device_listed_twice_gets_two_slots_with_memory_growth():
    slots = devices.plan_slots(None, ["0", "0", "1"])
    assert [s.device for s in slots] == ["0", "0", "1"]
    for slot in slots[:2]:
        assert slot.env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
        assert slot.env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert slots[2].env == {"CUDA_VISIBLE_DEVICES": "1"}


def test_parallel_spreads_slots_over_the_devices_in_turn():
    slots = devices.plan_slots(4, ["MIG-a", "MIG-b"])
    assert [s.device for s in slots] == ["MIG-a", "MIG-b", "MIG-a", "MIG-b"]
    assert all(s.env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" for s in slots)


def test_parallel_below_the_device_count_is_an_error():
    with pytest.raises(DeviceError, match="--parallel 1 is less than the 2 devices"):
        devices.plan_slots(1, ["0", "1"])
    with pytest.raises(DeviceError, match="at least 1"):
        devices.plan_slots(0, None)


def test_unpinned_slots_share_what_is_visible_with_memory_growth():
    assert devices.plan_slots(None, None) == [Slot(None, {})]
    slots = devices.plan_slots(3, None)
    assert [s.device for s in slots] == [None] * 3
    assert all(s.env == devices.SHARED_DEVICE_ENV for s in slots)


def test_parse_devices_takes_indices_and_uuids_without_probing():
    assert devices.parse_devices("0, 1,MIG-4f2a") == ["0", "1", "MIG-4f2a"]
    with pytest.raises(DeviceError, match="expected a list"):
        devices.parse_devices("0,,1")


def test_all_means_the_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-77")
    assert devices.visible_devices() == ["2", "GPU-77"]
    assert devices.parse_devices("all") == ["2", "GPU-77"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert devices.visible_devices() == []
    with pytest.raises(DeviceError, match="no GPU is visible"):
        devices.parse_devices("all")


def test_nvidia_smi_listing_uses_mig_instances_of_mig_gpus():
    listing = textwrap.dedent("""\
        GPU 0: NVIDIA H200 (UUID: GPU-aaaa)
        GPU 1: NVIDIA H200 (UUID: GPU-bbbb)
          MIG 3g.71gb     Device  0: (UUID: MIG-1111)
          MIG 3g.71gb     Device  1: (UUID: MIG-2222)
        GPU 2: NVIDIA H200 (UUID: GPU-cccc)
        """)
    found = devices.parse_nvidia_smi(listing)
    assert [device for device, _ in found] == ["0", "MIG-1111", "MIG-2222", "2"]
    assert found[0][1].startswith("NVIDIA H200")
    assert devices.parse_nvidia_smi("") == []


def test_describe_devices_is_empty_without_nvidia_smi(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert devices.describe_devices() == []

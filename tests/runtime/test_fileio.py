"""Atomic writes, durable appends, file hashes."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from hyperasc.runtime.fileio import append_line, file_sha256, write_atomically


def test_write_atomically_creates_and_replaces_with_shareable_permissions(tmp_path):
    path = tmp_path / "best.json"
    write_atomically(str(path), b"first")
    assert path.read_bytes() == b"first"
    write_atomically(str(path), b"second")
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # mkstemp alone gives 0o600
    assert os.listdir(tmp_path) == ["best.json"]  # no temporary file left behind


def test_write_atomically_leaves_the_old_file_on_failure(tmp_path):
    path = tmp_path / "checkpoint"
    path.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomically(str(path), "text, not bytes")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["checkpoint"]


def test_append_line_adds_one_line_each_time(tmp_path):
    path = tmp_path / "trials.jsonl"
    append_line(str(path), '{"tid": 0}')
    append_line(str(path), '{"tid": 1}')
    assert path.read_text() == '{"tid": 0}\n{"tid": 1}\n'


def test_file_sha256_is_the_hash_of_the_bytes(tmp_path):
    path = tmp_path / "tune.py"
    path.write_bytes(b"print('hi')\n\x00\xff")
    assert file_sha256(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest()
    other = tmp_path / "other.py"
    other.write_bytes(b"print('ho')\n")
    assert file_sha256(str(other)) != file_sha256(str(path))

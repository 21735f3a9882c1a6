"""Shared fixtures: a real MongoDB-compatible server for the distributed tests.

No MongoDB server can be installed on the build machines, but PyPI's
`secantusdb` (a MongoDB-compatible server on WiredTiger) can. It needs
pymongo 4, so it lives in its own virtual environment, created once and
cached under ~/.cache/hyperasc-test (HYPERASC_TEST_CACHE overrides).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CACHE = Path(
    os.environ.get("HYPERASC_TEST_CACHE", Path.home() / ".cache" / "hyperasc-test")
)
VENV = CACHE / "secantusdb-venv"
SERVER = VENV / "bin" / "secantusd-py"


def secantusdb_server() -> Path:
    """The server's launcher, installing it into its own virtualenv on first use."""
    if SERVER.exists():
        return SERVER
    shutil.rmtree(VENV, ignore_errors=True)  # an install that was cut short
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True
        )
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "secantusdb"],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        output = (getattr(exc, "stderr", None) or b"").decode(errors="replace")[-2000:]
        pytest.skip(
            f"cannot install secantusdb for a test MongoDB server: {exc}\n{output}"
        )
    return SERVER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MongoServer:
    """A secantusdb process on 127.0.0.1; stop() and start() keep its port and data."""

    def __init__(self, launcher: Path, storage: Path, log: Path):
        self.launcher, self.storage, self.log = launcher, storage, log
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: str, collection: str | None = None) -> str:
        return f"mongo://127.0.0.1:{self.port}/{db}" + (
            f"/{collection}" if collection else ""
        )

    def start(self, timeout: float = 60) -> None:
        # No --standalone: as a one-node replica set, pymongo retries writes across restarts.
        command = [
            str(self.launcher),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage),
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"secantusdb exited with {self.process.returncode}: {self.log.read_text()[-2000:]}"
                )
            if self.ping():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"secantusdb did not answer ping within {timeout} s: {self.log.read_text()[-2000:]}"
        )

    def ping(self) -> bool:
        import pymongo

        client = pymongo.MongoClient(
            "127.0.0.1", self.port, serverSelectionTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """A MongoDB-compatible server for the whole test session (each test uses its own database)."""
    launcher = secantusdb_server()
    folder = tmp_path_factory.mktemp("secantusdb")
    server = MongoServer(launcher, folder / "data", folder / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pymongo3_python() -> str:
    """A Python with this environment's packages but pymongo 3.13 (cached like the server)."""
    venv = CACHE / "pymongo3-venv"
    python = venv / "bin" / "python"
    check = [
        str(python),
        "-c",
        "import pymongo, hyperopt; assert pymongo.version.startswith('3.13')",
    ]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    shutil.rmtree(venv, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "pymongo==3.13.0"],
            check=True,
            capture_output=True,
        )
        subprocess.run(check, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.skip(f"cannot install pymongo 3.13 next to this environment: {exc}")
    return str(python)

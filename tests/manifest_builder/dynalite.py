"""dynalite (npm; DynamoDB on LevelDB, one Node process) on loopback, restarted if it dies.

Its requests are served one at a time, so conditional writes are atomic as in DynamoDB (moto's
are not: test_moto_deviation.py). It has no UpdateTimeToLive, so tables are created without
TTL. It can crash when a client disconnects in the middle of a request (a killed worker): the
store is kept on disk and the server restarted on the same port, with the data intact.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where `python3 dev.py test` installs it (and puts it on PATH).
INSTALLED = REPO_ROOT / ".tools" / "node" / "node_modules" / ".bin" / "dynalite"


def dynalite_command() -> str:
    """The dynalite program. Skip only on a machine without npm (unless the tools are
    required, as in CI); with npm, a missing dynalite is a setup error."""
    found = shutil.which("dynalite") or (str(INSTALLED) if INSTALLED.exists() else None)
    if found:
        return found
    required = os.environ.get("NDJSON_PARQUET_REQUIRE_TOOLS") == "1"
    if shutil.which("npm") is None and not required:
        pytest.skip("the race tests need dynalite, an npm package, and npm is not installed")
    pytest.fail("dynalite is not installed: `python3 dev.py test` installs it with npm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dynalite:
    """One dynalite server; `ensure_running()` restarts it if it died."""

    def __init__(self, command: str, store: Path) -> None:
        self._command = command
        self._store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                self._command,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--path",
                str(self._store),
                "--createTableMs",
                "0",
                "--deleteTableMs",
                "0",
                "--updateTableMs",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dynalite exited with {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dynalite did not listen within 30 s")

    def ensure_running(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self.restarts += 1
            self.start()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

"""Runs the real serving layout (nginx → gunicorn + daphne, celery worker and beat) for tests
and benchmarks, against whichever database and Redis the environment names."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveProcesses:
    """One `launcher serve` process group; stop() ends every child."""

    def __init__(
        self,
        only: Iterable[str],
        env: dict[str, str],
        port: int | None = None,
        log_name: str = "live",
    ) -> None:
        self.port = port or free_port()
        # Unix socket paths must stay short: use /tmp, not the test's tmp_path.
        self.run_dir = Path(tempfile.mkdtemp(prefix="cb-"))
        self.env = {
            **os.environ,
            **env,
            "PORT": str(self.port),
            "RUN_DIR": str(self.run_dir),
            "BIND_ADDRESS": "127.0.0.1",
        }
        self.log_path = self.run_dir / f"{log_name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cryptobot.launcher", "serve", "--only", ",".join(only)],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_http(self, timeout: float = 60) -> None:
        """Wait until the proxy and gunicorn answer any HTTP request."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"live stack exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"live stack did not answer in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def children(self) -> list[int]:
        """Ids of the processes the launcher started (honcho: each leads its own group)."""
        log = self.log_path.read_text(errors="replace")
        return [int(pid) for pid in re.findall(r"\| \S+ started \(pid=(\d+)\)", log)]

    def kill(self) -> None:
        """SIGKILL every process group the launcher started (no graceful shutdown: the
        way a crash or an OOM kill ends them), then stop the launcher."""
        if self.proc.poll() is None:
            for pid in self.children():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

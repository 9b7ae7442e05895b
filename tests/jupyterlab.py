"""A JupyterLab server on loopback for the browser tests: a free port, a token, and a home of its own."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 120  # a server's first start beside a busy test worker

# Written into the server's new home, as a person's own settings would be.
HOME_SETTINGS = {
    # JupyterLab asks every new home whether to fetch Jupyter's news; nothing here may reach the internet.
    ".jupyter/labconfig/page_config.json": {
        "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}
    },
    # Every cell stays in the page, not only those on screen: the tests read every output, and a
    # screenshot of the whole notebook shows every cell.
    ".jupyter/lab/user-settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@dataclass(frozen=True)
class JupyterLab:
    base_url: str
    token: str
    log: Path

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}?token={self.token}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_jupyterlab(python: Path, root: Path, home: Path, env: dict[str, str]) -> Iterator[JupyterLab]:
    """``python -m jupyterlab`` serving ``root``, with ``home`` as HOME; stopped (kernels too) on exit."""
    for name, settings in HOME_SETTINGS.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(json.dumps(settings))
    port, token = free_port(), secrets.token_hex(16)
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, home / "jupyterlab.log")
    command = [
        str(python), "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",  # CI runs as root
    ]  # fmt: skip
    with serving("JupyterLab", command, lab.url("api/status"), lab.log, cwd=root, env={**env, "HOME": str(home)}):
        yield lab


@contextmanager
def serving(name: str, command: list[str], url: str, log: Path, **popen) -> Iterator[None]:
    """``command`` started in a session of its own, its output in ``log``, until ``url`` answers; on exit it is
    stopped, and killed with everything it started if it does not stop in time."""
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=output, start_new_session=True, **popen)
    try:
        _wait_until_serving(name, url, server, log)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_until_serving(name: str, url: str, server: subprocess.Popen, log: Path) -> None:
    """Until ``url`` answers; an error with the end of ``log`` if ``server`` exits or START_TIMEOUT_S passes first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{name} exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{name} did not answer in {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")

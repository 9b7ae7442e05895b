"""A JupyterLab server on loopback for the browser tests: a free port, a token, and a home of its own."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 90

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
    with lab.log.open("w") as log:
        server = subprocess.Popen(command, cwd=root, env={**env, "HOME": str(home)}, stdout=log, stderr=log)
    try:
        wait_until_serving("JupyterLab", lab.url("api/status"), server, lab.log, START_TIMEOUT_S)
        yield lab
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_serving(name: str, url: str, server: subprocess.Popen, log: Path, timeout_s: float) -> None:
    """Until ``url`` answers; an error with the end of ``log`` if ``server`` exits or ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{name} exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{name} did not answer in {timeout_s} s:\n{log.read_text()[-3000:]}")

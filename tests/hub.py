"""A JupyterHub on loopback, set up with the repository's hub/ files, and real system users for tests/test_hub.py.

The hub's environment stands in for the README's /opt/realnvp-hub: a virtual environment of a Python every user
may run, holding the packages this course's venv installed from hub/requirements.txt (linked, not installed
again) without this repository's editable install, and the proxy of hub/package.json. Everything the test makes
lives under one folder that every user may enter; users, groups and processes are removed afterwards.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.jupyterlab import HOME_SETTINGS, free_port, serving
from tests.shared_python import as_root, copy_tree, shared_venv

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
PROXY = HUB / "node_modules"  # npm ci --prefix hub (make's test target runs it)
GROUPS = ("realnvp-students", "realnvp-graders")  # hub/settings.sh


class NotRoot(Exception):
    pass


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRoot(
            "the hub tests create system users (useradd) and start JupyterHub, which runs each user's server as "
            "that user: run them as root (.ci/run does; locally: sudo make test)"
        )


def hub_environment(folder: Path) -> Path:
    """The hub's environment in ``folder``: :func:`shared_venv`, with this venv's share/ and etc/ (copies:
    setup-course changes etc/) and the pinned proxy."""
    if not (PROXY / ".bin" / "configurable-http-proxy").exists():
        raise RuntimeError(f"{PROXY} has no configurable-http-proxy: run `npm ci --prefix hub` (make test does)")
    shared_venv(folder)
    ours = Path(sys.prefix)
    for part in ("share", "etc"):
        copy_tree(ours / part, folder / part, link=False)
    (folder / "proxy").mkdir()
    (folder / "proxy" / "node_modules").symlink_to(PROXY)
    return folder


@dataclass(frozen=True)
class Hub:
    url: str  # the proxy's public address
    environment: Path
    log: Path

    def hub_url(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"


@contextmanager
def running_hub(environment: Path) -> Iterator[Hub]:
    """hub/jupyterhub_config.py run from ``environment`` as root, on free loopback ports; stopped (the proxy and
    every user's server too) on exit."""
    ports = [free_port() for _ in range(3)]
    hub = Hub(f"http://127.0.0.1:{ports[0]}", environment, environment / "jupyterhub.log")
    command = [
        str(environment / "bin" / "jupyterhub"), "-f", str(HUB / "jupyterhub_config.py"),
        f"--JupyterHub.bind_url={hub.url}", f"--JupyterHub.hub_bind_url=http://127.0.0.1:{ports[1]}",
        f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{ports[2]}",
        "--JupyterHub.cleanup_servers=True", "--JupyterHub.cleanup_proxy=True",
    ]  # fmt: skip
    env = {"PATH": f"{environment / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    with serving("JupyterHub", command, hub.hub_url("hub/api/"), hub.log, cwd=environment, env=env):
        yield hub


@dataclass(frozen=True)
class User:
    name: str
    password: str

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.name).pw_uid


def new_user(name: str) -> User:
    return User(name, secrets.token_urlsafe(12))


def write_home_settings(user: User) -> None:
    """The JupyterLab settings the browser tests read the page with (tests/jupyterlab.py), as the user's own,
    added to what is there (hub/add-graders gives the staff their panels in the same page_config.json)."""
    for name, settings in HOME_SETTINGS.items():
        path = user.home / name
        merged = json.loads(path.read_text()) if path.exists() else {}
        for key, value in settings.items():
            merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
        as_root("runuser", "-u", user.name, "--", "mkdir", "-p", str(path.parent))
        as_root("runuser", "-u", user.name, "--", "tee", str(path), stdin=json.dumps(merged))


def set_passwords(users: list[User]) -> None:
    as_root("chpasswd", stdin="".join(f"{user.name}:{user.password}\n" for user in users))


def require_no_real_course(names: list[str]) -> None:
    """Refuse a machine where the course's groups hold anyone but the test's users: the test deletes the groups."""
    for group in GROUPS:
        try:
            members = set(grp.getgrnam(group).gr_mem) - set(names)
        except KeyError:
            continue
        if members:
            raise RuntimeError(
                f"group {group} has members ({', '.join(sorted(members))}): this machine hosts the course's hub, "
                "whose groups the hub tests would delete; run them on another machine"
            )


def remove_users(names: list[str]) -> None:
    """The users, everything they still run, their homes, and the course's groups."""
    for name in names:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    for name in names:
        subprocess.run(["userdel", "--remove", name], capture_output=True)
    for group in GROUPS:
        subprocess.run(["groupdel", group], capture_output=True)


def run_as(user: str, environment: Path, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    """``command`` as ``user``, in ``cwd``, with the hub environment's commands first on PATH, as in a terminal of
    their JupyterLab."""
    env = [f"HOME={pwd.getpwnam(user).pw_dir}", f"PATH={environment / 'bin'}:/usr/bin:/bin", "LANG=C.UTF-8",
           "OMP_NUM_THREADS=1"]  # fmt: skip
    return subprocess.run(
        ["runuser", "-u", user, "--", "env", "-i", *env, *command],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


# Tries each (action, path) as the user it runs as and prints what happened: "ok" or the error's name.
_TRY = r"""
import json, os, sys
def attempt(action, path):
    try:
        if action == "list":
            os.listdir(path)
        elif action == "read":
            open(path, "rb").read(1)
        elif action == "write":
            open(path, "ab").close()
        elif action == "create":
            open(os.path.join(path, ".written-by-test"), "x").close()
            os.unlink(os.path.join(path, ".written-by-test"))
        elif action == "rename":
            os.rename(path, path + ".moved")
            os.rename(path + ".moved", path)
        return "ok"
    except OSError as error:
        return type(error).__name__
print(json.dumps([attempt(action, path) for action, path in json.loads(sys.argv[1])]))
"""


def attempts(user: str, tries: list[tuple[str, Path]]) -> dict[tuple[str, Path], str]:
    """What ``user`` gets for each (action, path): "ok", or the error, such as "PermissionError"."""
    plain = json.dumps([(action, str(path)) for action, path in tries])
    run = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", _TRY, plain],
                         cwd="/", capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    return dict(zip(tries, json.loads(run.stdout), strict=True))

"""A real PostgreSQL server for the gradebook tests.

``REALNVP_TEST_POSTGRESQL_URL`` names a server to use (a role that may create databases).
Otherwise the fixture starts a private one from Debian's ``postgresql`` package: ``initdb``
in a temporary folder, ``pg_ctl start`` on 127.0.0.1 and a free port, its socket and log in
that folder, and stops it at the end. Each pytest-xdist worker starts its own. Without either,
the tests fail and say how to get one: they are never skipped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

URL_VARIABLE = "REALNVP_TEST_POSTGRESQL_URL"
HOW_TO_GET_ONE = (
    "these tests need PostgreSQL: install Debian's package (apt-get install postgresql; .ci/run does), "
    f"or set {URL_VARIABLE}=postgresql://USER:PASSWORD@HOST:PORT/ to a server where USER may create databases"
)
_SERVER_USER = "postgres"  # Debian's package creates this user; PostgreSQL will not run as root


def _bindir() -> Path | None:
    """The folder with initdb and pg_ctl: PATH, pg_config --bindir, then Debian's versioned folders."""
    candidates = [Path(found).resolve().parent for found in [shutil.which("initdb")] if found]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        output = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
        candidates.append(Path(output.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates += [Path(path) for path in versions]
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "pg_ctl").is_file()), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Server:
    """One private cluster in ``folder``, run as the postgres user when this process is root."""

    def __init__(self, bindir: Path, folder: Path) -> None:
        self.bindir, self.folder = bindir, folder
        self.data, self.log = folder / "data", folder / "server.log"
        self.user = _SERVER_USER if os.geteuid() == 0 else None
        self.port = _free_port()

    def _run(self, *args: str) -> None:
        with self.log.open("a") as log:
            done = subprocess.run(
                [str(self.bindir / args[0]), *args[1:]],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                user=self.user,
                cwd=self.folder,
                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"},
                timeout=120,
            )
        if done.returncode != 0:
            tail = "".join(self.log.read_text(errors="replace").splitlines(keepends=True)[-20:])
            pytest.fail(f"PostgreSQL: {' '.join(args[:2])} failed (exit {done.returncode}); its log ends:\n{tail}")

    def start(self) -> str:
        if self.user is not None:
            shutil.chown(self.folder, self.user)
        self.log.touch()
        if self.user is not None:
            shutil.chown(self.log, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=60"
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o", options)
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(self.data))


@contextlib.contextmanager
def _private_server() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        pytest.fail(HOW_TO_GET_ONE)
    folder = Path(tempfile.mkdtemp(prefix="realnvp-postgresql-"))
    server = _Server(bindir, folder)
    try:
        url = server.start()
        try:
            yield url
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _admin(server_url: str) -> psycopg.Connection:
    url = make_url(server_url)
    return psycopg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password,
        dbname=url.database or "postgres", autocommit=True, connect_timeout=10,
    )  # fmt: skip


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[str]:
    """The URL of a running PostgreSQL server (its maintenance database) that the tests may create databases on."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        return
    with _private_server() as url:
        yield url


@pytest.fixture
def postgresql_database(postgresql_server: str) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty databases on the server (``postgresql://`` URLs), dropped after the test."""
    created: list[str] = []

    def new() -> str:
        name = f"realnvp_test_{uuid.uuid4().hex[:12]}"
        with _admin(postgresql_server) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return make_url(postgresql_server).set(database=name).render_as_string(hide_password=False)

    yield new
    with _admin(postgresql_server) as admin:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

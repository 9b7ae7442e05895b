"""Landlock over ctypes: what a confined process (and what it starts) can still reach, and how it says it has none."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import landlock
from tests import docker_like

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def kernel_has_landlock():
    assert landlock.abi() > 0, f"these tests need a kernel with Landlock: {landlock.unavailable_reason()}"


def confined(code: str, readable: list[str], writable: list[str]) -> subprocess.CompletedProcess:
    """``code`` run by a Python that first confines itself to ``readable`` and ``writable``."""
    program = (
        f"import sys\nsys.path.insert(0, {str(ROOT / 'autograder')!r})\nimport landlock\n"
        f"landlock.restrict({readable!r}, {writable!r})\n" + textwrap.dedent(code)
    )
    return subprocess.run([sys.executable, "-I", "-c", program], capture_output=True, text=True, timeout=60)


def python_installation() -> list[str]:
    return [sys.base_prefix, sys.prefix, "/usr", "/lib", "/lib64", "/etc/ld.so.cache"]


def test_reading_is_allowed_beneath_the_readable_folders_only(tmp_path):
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "notes.txt").write_text("fine")
    (tmp_path / "secret.txt").write_text("hidden")
    run = confined(
        f"""
        print(open({str(tmp_path / "open" / "notes.txt")!r}).read())
        for path in [{str(tmp_path / "secret.txt")!r}, '/etc/passwd', '/proc/1/cmdline', {str(ROOT / "README.md")!r}]:
            try:
                open(path).read()
                print('READ', path)
            except PermissionError:
                pass
        """,
        [*python_installation(), str(tmp_path / "open")],
        [],
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["fine"]


def test_writing_is_allowed_in_the_writable_folders_only_and_reaches_children(tmp_path):
    (tmp_path / "scratch").mkdir()
    run = confined(
        f"""
        import os, subprocess
        open({str(tmp_path / "scratch" / "mine")!r}, 'w').write('x')
        os.mkdir({str(tmp_path / "scratch" / "folder")!r})
        for path in [{str(tmp_path / "outside")!r}, '/tmp/landlock-test-outside']:
            try:
                open(path, 'w')
                print('WROTE', path)
            except PermissionError:
                pass
        child = subprocess.run(['/bin/sh', '-c', 'echo x > {tmp_path / "by-child"}'])
        print('child', child.returncode)
        """,
        python_installation(),
        [str(tmp_path / "scratch")],
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["child", "2"]  # sh: "Permission denied", exit status 2
    assert (tmp_path / "scratch" / "mine").exists() and not (tmp_path / "outside").exists()
    assert not (tmp_path / "by-child").exists()


def test_tcp_and_signals_outside_are_refused_where_the_abi_has_them():
    with socket.create_server(("127.0.0.1", 0)) as server:
        run = confined(
            f"""
            import os, socket
            for attempt in (lambda: socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), timeout=2),
                            lambda: os.kill({os.getpid()}, 0)):
                try:
                    attempt()
                    print('reached')
                except OSError as error:
                    print(type(error).__name__)
            """,
            python_installation(),
            [],
        )
    assert run.returncode == 0, run.stderr
    tcp, signal = run.stdout.split()
    assert tcp == ("PermissionError" if landlock.abi() >= 4 else "reached")
    assert signal == ("PermissionError" if landlock.abi() >= 6 else "reached")


def test_rights_grow_with_the_abi():
    assert landlock.fs_rights(1) == (1 << 13) - 1
    assert landlock.fs_rights(2) == (1 << 14) - 1
    assert landlock.fs_rights(4) == landlock.fs_rights(3) == (1 << 15) - 1
    assert landlock.fs_rights(7) == (1 << 16) - 1


def test_a_seccomp_filter_that_refuses_landlock_is_named():
    probe = "from autograder import landlock; print(landlock.abi()); print(landlock.unavailable_reason())"
    run = subprocess.run(
        [*docker_like.wrapper(landlock=False), sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "0",
        "a seccomp filter refuses Landlock's system calls (Docker before 20.10.18 does)",
    ]


def test_restricting_without_landlock_raises_rather_than_running_unconfined(monkeypatch):
    monkeypatch.setattr(landlock, "abi", lambda: 0)
    with pytest.raises(OSError):
        landlock.restrict([], [])

"""A Python every user of the machine may run, with this venv's packages: for tests that run code as other users
(the hub's students, the grader's ``nobody`` in degraded mode), since this venv's own interpreter may sit in a
folder only its owner can enter (pyenv's under /root, say)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


def as_root(*command: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    run = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    if run.returncode:
        raise RuntimeError(f"{' '.join(command)} exited {run.returncode}:\n{run.stdout}{run.stderr}")
    return run.stdout


def shared_folder(prefix: str = "realnvp-hub-") -> Path:
    """A new folder under /tmp that every user may enter (pytest's own are root's only)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


def python_for_everyone() -> Path:
    """The Python this venv is made from when every user may run it, else the system's Python of its version."""
    base = Path(sys._base_executable).resolve()
    candidates = [base, Path("/usr/bin") / VERSION, Path("/usr/local/bin") / VERSION]
    for python in candidates:
        if python.is_file() and all(folder.stat().st_mode & stat.S_IXOTH for folder in python.parents):
            return python
    raise RuntimeError(f"no {VERSION} that other users may run: tried {', '.join(map(str, candidates))}")


def shared_venv(folder: Path) -> Path:
    """A venv in ``folder`` of a Python every user may run, holding this venv's packages (hard links where the
    disk allows) without this repository's editable install, and its console scripts rewritten to start the new
    venv's Python; returns its ``bin/python``."""
    as_root(str(python_for_everyone()), "-m", "venv", "--without-pip", str(folder))
    site = folder / "lib" / VERSION / "site-packages"
    site.rmdir()
    copy_tree(Path(sysconfig.get_paths()["purelib"]), site, link=True)
    for editable in [*site.glob("__editable__*"), *site.glob("*.egg-link")]:
        editable.unlink()  # this repository's own install: other users never get the grader
    for script in (Path(sys.prefix) / "bin").iterdir():
        _rewrite_script(script, folder / "bin", Path(sys.prefix))
    return folder / "bin" / "python"


def readable_copy(source: Path, target: Path) -> Path:
    """A copy of ``source`` at ``target`` that every user may read."""
    shutil.copytree(source, target)
    make_readable(target)
    return target


def make_readable(path: Path) -> None:
    subprocess.run(["chmod", "-R", "a+rX", str(path)], check=True)


def grader_env(python: Path) -> dict[str, str]:
    """The environment that runs this repository's grader from ``python`` (a :func:`shared_venv`'s), which does
    not have this repository installed."""
    repo = Path(__file__).resolve().parent.parent
    return {
        "PATH": f"{python.parent}:/usr/bin:/bin",
        "PYTHONPATH": f"{repo}:{repo / 'source' / 'realnvp'}",
        "OMP_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
    }


def copy_tree(source: Path, target: Path, link: bool) -> None:
    if link and subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True).returncode == 0:
        return
    shutil.rmtree(target, ignore_errors=True)
    as_root("cp", "-a", str(source), str(target))


def _rewrite_script(script: Path, bin_folder: Path, ours: Path) -> None:
    """The console scripts pip wrote name this venv's Python on their first line; the copy names the new one's."""
    target = bin_folder / script.name
    if target.exists() or not script.is_file() or script.is_symlink():
        return
    with script.open("rb") as handle:
        first = handle.readline()
    if not first.startswith(f"#!{ours}/bin/python".encode()):
        return
    target.write_bytes(f"#!{bin_folder}/python\n".encode() + script.read_bytes().split(b"\n", 1)[1])
    target.chmod(0o755)

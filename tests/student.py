"""A student's machine in the tests: a home of their own, and a Python with the installed packages but not
this repository, which reaches the course only through nbgrader's exchange."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

import nbformat

COURSE_ID = "realnvp-course"


@dataclass(frozen=True)
class Student:
    """A student's machine: their own home, and a Python with the installed packages but not this repository."""

    student_id: str
    home: Path
    python: Path
    exchange: Path

    def env(self, **extra: str) -> dict[str, str]:
        path = os.pathsep.join([str(self.python.parent), "/usr/bin", "/bin"])
        return {"HOME": str(self.home), "PATH": path, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", **extra}

    def run(self, *args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd or self.home,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=600,
        )

    def nbgrader(self, *args: str) -> str:
        exchange = [f"--Exchange.root={self.exchange}", f"--CourseDirectory.course_id={COURSE_ID}"]
        run = self.run("-m", "nbgrader", *args, f"--student={self.student_id}", *exchange)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout + run.stderr

    def execute(self, notebook: Path, *options: str, **extra: str) -> nbformat.NotebookNode:
        """Run every cell of ``notebook`` in a kernel of this student's Python, in the notebook's folder."""
        command = ["-m", "nbconvert", "--to", "notebook", "--execute", "--inplace", *options, notebook.name]
        run = self.run(*command, cwd=notebook.parent, **extra)
        assert run.returncode == 0, run.stderr[-3000:]
        return nbformat.read(notebook, as_version=4)


def student_python(folder: Path) -> Path:
    """A virtual environment that sees this environment's packages through a .pth line. Lines of a .pth
    file only extend sys.path: the .pth files in that folder, among them the editable install's hook that
    makes ``autograder`` and ``course`` importable, are not run."""
    venv.create(folder, with_pip=False, symlinks=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = folder / "lib" / version / "site-packages"
    (site_packages / "installed_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python"


def files_in(folder: Path) -> set[Path]:
    """The files under ``folder``, relative to it, leaving out Python's bytecode caches."""
    files = (path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    return {path.relative_to(folder) for path in files}


def installed_jupyter_files() -> dict[str, str]:
    """Where the installed packages' Jupyter files are: JupyterLab's application, the extensions of
    ipywidgets and nbgrader, and the server extensions' config. pip puts them under the environment's own
    prefix; the student's Python sees these packages through a .pth line, so Jupyter is told where they are."""
    prefix = Path(sysconfig.get_paths()["data"])
    jupyter = prefix / "share" / "jupyter"
    return {"JUPYTER_PATH": str(jupyter), "JUPYTER_CONFIG_PATH": str(prefix / "etc" / "jupyter"),
            "JUPYTERLAB_DIR": str(jupyter / "lab")}  # fmt: skip

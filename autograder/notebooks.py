"""Write every notebook derived from the source notebook, the one place the homework is written.

From ``source/realnvp/realnvp.ipynb``:

- ``release/realnvp/``: ``nbgrader generate_assignment``, the students' copy: the notebook, the
  ``course`` package it imports and the ``requirements.txt`` of the packages it needs;
- ``solutions/realnvp/realnvp.ipynb``: ``nbgrader generate_solution``, without outputs;
- ``examples/submitted/<id>/realnvp/realnvp.ipynb``: the release with the stub replaced
  by each answer of ``examples/answers.py``;
- ``notebooks/realnvp_training.ipynb``: the solution executed in full (the course
  recipe's training run), keeping only the outputs that ``pytest --nbval`` checks, with
  the numbers that depend on the CPU's float path written as nbval compares them
  (``notebooks/nbval-sanitize.cfg``).

Every file is written with ``nbformat.write`` from deterministic inputs, so
regenerating gives the same bytes, on any machine. ``python -m autograder generate``
(``make generate``) runs :func:`regenerate` on this repository.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbval.plugin import get_sanitize_patterns
from traitlets.config.loader import PyFileConfigLoader

ASSIGNMENT = "realnvp"
CONFIG = "nbgrader_config.py"
SOURCE = Path("source", ASSIGNMENT, "realnvp.ipynb")
# Released with the notebook (nbgrader releases every file of the assignment's folder): the package
# the notebook imports, and the pinned packages a student installs.
COURSE_PACKAGE = Path("source", ASSIGNMENT, "course")
STUDENT_REQUIREMENTS = Path("source", ASSIGNMENT, "requirements.txt")
RELEASE = Path("release", ASSIGNMENT, "realnvp.ipynb")
SOLUTION = Path("solutions", ASSIGNMENT, "realnvp.ipynb")
TRAINING = Path("notebooks", "realnvp_training.ipynb")
# nbval's patterns for the training notebook's outputs that depend on the float path (pyproject's addopts).
SANITIZE = Path("notebooks", "nbval-sanitize.cfg")
SUBMITTED = Path("examples", "submitted")
ANSWERS = Path("examples", "answers.py")
# nbval's tag for cells whose outputs change from run to run (progress bars, figures).
IGNORE_OUTPUT = "nbval-ignore-output"
# Seconds per cell when executing the training notebook; its training cell takes ~20 s on a CPU.
TRAINING_CELL_TIMEOUT = 1800


def regenerate(root: Path) -> list[Path]:
    """Rewrite release/, solutions/, examples/submitted/ and notebooks/ under ``root`` from its source folder.

    nbgrader runs in a temporary copy of the course, so the gradebook and log it
    writes never land in ``root``. Returns the paths written, the training notebook
    last (executing it is the slow step).
    """
    root = Path(root).resolve()
    release, solution, released_files = nbgrader_outputs(root)
    written = [write_notebook(release, root / RELEASE), *write_released_files(root, released_files)]
    written.append(write_notebook(solution, root / SOLUTION))
    written += write_examples(root, release)
    patterns = sanitize_patterns(root / SANITIZE)
    written.append(write_notebook(training_notebook(solution, patterns), root / TRAINING))
    return written


def sanitize_patterns(path: Path) -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of an nbval sanitize file, read by nbval's own parser."""
    return get_sanitize_patterns(path.read_text())


def sanitize(text: str, patterns: list[tuple[str, str]]) -> str:
    """``text`` as nbval compares it: each pattern replaced in turn."""
    for regex, replacement in patterns:
        text = re.sub(regex, replacement, text)
    return text


def course_env() -> dict[str, str]:
    """The environment for nbgrader and kernels: this venv first on PATH, no grading flags inherited."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for name in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING"):
        env.pop(name, None)
    return env


def run_nbgrader(course: Path, *args: str) -> str:
    """Run ``nbgrader *args`` in the course directory ``course``; its output, or an error carrying it."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=course_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def copy_course(root: Path, course: Path) -> Path:
    """A fresh nbgrader course in ``course``: the source folders and the config, nothing else."""
    shutil.copytree(root / "source", course / "source", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(root / CONFIG, course / CONFIG)
    return course


def nbgrader_outputs(root: Path) -> tuple[NotebookNode, NotebookNode, dict[Path, bytes]]:
    """The release and solution notebooks, and the release's other files (relative path -> bytes),
    from nbgrader in a throwaway copy of the course."""
    with tempfile.TemporaryDirectory(prefix="realnvp-course-") as tmp:
        course = copy_course(root, Path(tmp))
        run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
        run_nbgrader(course, "generate_solution", ASSIGNMENT, "--force")
        release_folder = course / RELEASE.parent
        files = {
            path.relative_to(release_folder): path.read_bytes()
            for path in sorted(release_folder.rglob("*"))
            if path.is_file() and path.name != RELEASE.name
        }
        return read_notebook(course / RELEASE), read_notebook(course / SOLUTION), files


def write_released_files(root: Path, files: dict[Path, bytes]) -> list[Path]:
    """The release folder's files besides the notebook, as nbgrader released them; stale ones are removed."""
    folder = root / RELEASE.parent
    for path in sorted(folder.rglob("*"), reverse=True):  # children before their folders
        if path.is_file() and path.name != RELEASE.name:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    written = []
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
        written.append(folder / relative)
    return written


def read_notebook(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def run_cells(path: Path, cell_ids: tuple[str, ...]) -> dict:
    """The namespace left by running the notebook's cells ``cell_ids``, in that order, here (no kernel)."""
    sources = {cell.get("id"): cell.source for cell in read_notebook(path).cells}
    namespace: dict = {}
    for cell_id in cell_ids:
        exec(compile(sources[cell_id], f"<cell {cell_id}>", "exec"), namespace)
    return namespace


def write_notebook(nb: NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def code_stub(root: Path) -> str:
    """The text nbgrader puts in place of the solution region (``ClearSolutions.code_stub``)."""
    config = PyFileConfigLoader(CONFIG, path=str(root)).load_config()
    return config.ClearSolutions.code_stub["python"]


def load_answers(root: Path) -> dict[str, str]:
    """``ANSWERS`` from ``examples/answers.py``: student id -> code that replaces the stub."""
    spec = importlib.util.spec_from_file_location("course_example_answers", root / ANSWERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ANSWERS


def fill_stub(release: NotebookNode, stub: str, answer: str) -> NotebookNode:
    """A copy of the release notebook with ``answer`` in place of the stub, at the stub's indentation."""
    nb = copy.deepcopy(release)
    solution_cells = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("solution")]
    if len(solution_cells) != 1:
        raise ValueError(f"expected one solution cell in the release, found {len(solution_cells)}")
    cell = solution_cells[0]
    first_line = stub.splitlines()[0]
    found = re.search(rf"^([ \t]*){re.escape(first_line)}$", cell.source, flags=re.MULTILINE)
    if found is None:
        raise ValueError(f"the release's solution cell does not contain the stub {first_line!r}")
    indent = found.group(1)

    def indented(code: str) -> str:
        return "\n".join(indent + line if line else line for line in code.splitlines())

    cell.source = cell.source.replace(indented(stub), indented(answer), 1)
    return nb


def write_examples(root: Path, release: NotebookNode) -> list[Path]:
    """One submission per answer under ``examples/submitted``; answers no longer listed are removed."""
    stub = code_stub(root)
    shutil.rmtree(root / SUBMITTED, ignore_errors=True)
    return [
        write_notebook(fill_stub(release, stub, answer), root / SUBMITTED / student / ASSIGNMENT / RELEASE.name)
        for student, answer in sorted(load_answers(root).items())
    ]


def training_notebook(solution: NotebookNode, patterns: list[tuple[str, str]]) -> NotebookNode:
    """The solution notebook executed in full, then cleaned down to the outputs nbval checks, sanitized."""
    nb = copy.deepcopy(solution)
    with tempfile.TemporaryDirectory(prefix="realnvp-run-") as cwd:
        client = NotebookClient(
            nb,
            timeout=TRAINING_CELL_TIMEOUT,
            kernel_name="python3",
            record_timing=False,
            coalesce_streams=True,
            resources={"metadata": {"path": cwd}},
        )
        client.execute(env=course_env())
    return keep_checked_outputs(nb, solution.metadata, patterns)


def keep_checked_outputs(nb: NotebookNode, metadata: NotebookNode, patterns: list[tuple[str, str]]) -> NotebookNode:
    """Drop the outputs nbval ignores; sanitize the others with ``patterns``; number the code cells 1, 2, ...;
    restore the notebook's metadata.

    A checked cell may only print to stdout: anything else (a figure, a warning on
    stderr) would make the nbval run fail or depend on the machine, so it is an error.
    """
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        if IGNORE_OUTPUT in cell.metadata.get("tags", []):
            cell.outputs = []
            continue
        for output in cell.outputs:
            if output.output_type != "stream" or output.name != "stdout":
                kind = output.get("name", output.output_type)
                raise ValueError(f"cell {cell.id!r} has a {kind} output: tag it {IGNORE_OUTPUT!r} or print to stdout")
            output.text = sanitize(output.text, patterns)
    nb.metadata = copy.deepcopy(metadata)
    return nb

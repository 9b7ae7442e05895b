"""What nbgrader releases is all a student gets: it must run with the students' pinned packages alone, name only
files the student has, and hold nothing of the grader."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.notebooks import RELEASE, STUDENT_REQUIREMENTS
from tests.conftest import ROOT
from tests.test_environment import pins, requirement_lines

RELEASED = ROOT / RELEASE.parent
PATH_IN_TEXT = re.compile(r"`([\w./-]+\.(?:py|txt|ipynb|csv|json))`")


def released_sources(folder: Path) -> dict[str, str]:
    """The Python the student runs: each code cell of the notebook, and each released module."""
    cells = nbformat.read(folder / RELEASE.name, as_version=4).cells
    sources = {f"cell {cell.get('id')}": cell.source for cell in cells if cell.cell_type == "code"}
    sources |= {str(path.relative_to(folder)): path.read_text() for path in sorted(folder.rglob("*.py"))}
    return sources


def imported_modules(source: str) -> set[str]:
    """The top-level names of the absolute imports in ``source`` (cells may hold IPython magics: skip those lines)."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def unresolved_imports(folder: Path) -> dict[str, set[str]]:
    """Imports that neither the standard library, the students' pinned packages nor the folder's files provide."""
    pinned = set(pins(requirement_lines(ROOT / STUDENT_REQUIREMENTS)))
    providers = importlib.metadata.packages_distributions()
    local = {path.stem for path in folder.glob("*.py")} | {path.parent.name for path in folder.glob("*/__init__.py")}

    def provided(module: str) -> bool:
        from_pins = {dist.lower() for dist in providers.get(module, [])} & pinned
        return module in sys.stdlib_module_names or module in local or bool(from_pins)

    found = {
        where: {m for m in imported_modules(source) if not provided(m)}
        for where, source in released_sources(folder).items()
    }
    return {where: modules for where, modules in found.items() if modules}


def test_every_import_of_the_release_comes_from_the_pinned_packages_or_the_released_files():
    assert unresolved_imports(RELEASED) == {}


def test_a_release_without_the_course_package_fails_here_not_on_a_students_laptop(tmp_path):
    shutil.copytree(RELEASED, tmp_path / "release", ignore=shutil.ignore_patterns("course"))
    missing = unresolved_imports(tmp_path / "release")
    assert missing and all(modules == {"course"} for modules in missing.values())


def test_the_release_holds_the_notebook_its_package_and_the_students_requirements():
    files = {path.relative_to(RELEASED).as_posix() for path in RELEASED.rglob("*") if path.is_file()}
    files = {name for name in files if "__pycache__" not in name}
    assert files == {
        "realnvp.ipynb",
        "requirements.txt",
        "course/__init__.py",
        "course/evaluation.py",
        "course/recipes.py",
    }
    assert (RELEASED / "requirements.txt").read_bytes() == (ROOT / STUDENT_REQUIREMENTS).read_bytes()


def test_every_file_the_notebook_names_is_in_the_release():
    cells = nbformat.read(RELEASED / RELEASE.name, as_version=4).cells
    named = {path for cell in cells for path in PATH_IN_TEXT.findall(cell.source)}
    assert named, "the notebook names the course package's files"
    assert sorted(path for path in named if not (RELEASED / path).is_file()) == []


@pytest.mark.parametrize(
    "secret", ["autograder", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "check_part", "torch.exp(s) + t)"]
)
def test_nothing_released_belongs_to_the_grader_or_the_solution(secret):
    for where, source in released_sources(RELEASED).items():
        assert secret not in source, where
    assert secret not in (RELEASED / "requirements.txt").read_text()

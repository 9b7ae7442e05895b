"""The pins: the students' list (released with the assignment) and the instructors' (the students' plus
the grader's tools), each written once; environment.yml must agree with them."""

import re
from pathlib import Path

from autograder.notebooks import STUDENT_REQUIREMENTS

ROOT = Path(__file__).resolve().parent.parent
STUDENT_PACKAGES = {"torch", "numpy", "matplotlib", "tqdm", "ipywidgets", "jupyter", "nbgrader"}


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().removeprefix("- ").strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[name.strip().lower()] = version.strip()
    return found


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of ``path``, with its ``-r`` includes expanded (relative to its folder, as pip does)."""
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += requirement_lines(path.parent / line.removeprefix("-r ").strip())
        elif line:
            lines.append(line)
    return lines


def test_environment_yml_pip_section_matches_requirements_txt_and_the_hubs():
    requirements = pins(requirement_lines(ROOT / "requirements.txt") + requirement_lines(ROOT / "hub/requirements.txt"))
    environment = (ROOT / "environment.yml").read_text()
    pip_section = environment.split("- pip:", 1)[1].splitlines()
    assert pins(pip_section) == requirements


def test_environment_yml_is_conda_forge_python_311():
    environment = (ROOT / "environment.yml").read_text()
    assert re.search(r"channels:\s*\n\s*- conda-forge\s*\n", environment)
    assert re.search(r"^\s*- python=3\.11\s*$", environment, re.MULTILINE)


def test_every_requirement_is_pinned_exactly_and_torch_is_the_local_cpu_build():
    requirements = requirement_lines(ROOT / "requirements.txt")
    assert all("==" in line for line in requirements), "pin every package exactly"
    assert "torch==2.13.0" in requirements
    for package in ("torch", "numpy", "matplotlib", "tqdm", "jupyter", "nbgrader", "nbval"):
        assert package in pins(requirements)


def test_students_pin_only_what_the_notebook_and_nbgrader_need_and_instructors_include_them():
    students = requirement_lines(ROOT / STUDENT_REQUIREMENTS)
    assert all("==" in line for line in students), "pin every package exactly"
    assert set(pins(students)) == STUDENT_PACKAGES
    assert "-r source/realnvp/requirements.txt" in (ROOT / "requirements.txt").read_text().splitlines()
    assert pins(students).items() <= pins(requirement_lines(ROOT / "requirements.txt")).items()


def test_environment_yml_installs_this_repository_last_so_notebooks_can_import_course():
    pip_lines = [line.strip() for line in (ROOT / "environment.yml").read_text().split("- pip:", 1)[1].splitlines()]
    entries = [line for line in pip_lines if line.startswith("- ")]
    assert entries[-1] == "- -e ."

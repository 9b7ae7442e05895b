"""requirements.txt is the one list of pins; environment.yml must agree with it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().removeprefix("- ").strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def test_environment_yml_pip_section_matches_requirements_txt():
    requirements = _pins((ROOT / "requirements.txt").read_text().splitlines())
    environment = (ROOT / "environment.yml").read_text()
    pip_section = environment.split("- pip:", 1)[1].splitlines()
    assert _pins(pip_section) == requirements


def test_environment_yml_is_conda_forge_python_311():
    environment = (ROOT / "environment.yml").read_text()
    assert re.search(r"channels:\s*\n\s*- conda-forge\s*\n", environment)
    assert re.search(r"^\s*- python=3\.11\s*$", environment, re.MULTILINE)


def test_every_requirement_is_pinned_exactly_and_torch_is_the_local_cpu_build():
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line]
    assert all("==" in line for line in requirements), "pin every package exactly"
    assert "torch==2.13.0" in requirements
    for package in ("torch", "numpy", "matplotlib", "tqdm", "jupyter", "nbgrader", "nbval"):
        assert package in _pins(requirements)


def test_environment_yml_installs_this_repository_last_so_notebooks_can_import_course():
    pip_lines = [line.strip() for line in (ROOT / "environment.yml").read_text().split("- pip:", 1)[1].splitlines()]
    entries = [line for line in pip_lines if line.startswith("- ")]
    assert entries[-1] == "- -e ."

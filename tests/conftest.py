"""Shared fixtures: submissions built from the committed release notebook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from playwright.sync_api import Browser, sync_playwright

from tests.browser import launch_chromium
from tests.corpus import module_for
from tests.postgresql import postgresql_database, postgresql_server  # noqa: F401 (fixtures)
from tests.shared_python import shared_folder, shared_venv

ROOT = Path(__file__).resolve().parent.parent

# Tests run beside another worker on 2 cores: one thread each (see README).
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")
# nbgrader runs alembic, and Jupyter its kernel, through PATH.
os.environ["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots", type=Path, help="folder for the browser tests' screenshots (default: a temporary folder)"
    )
    parser.addoption(
        "--full-training",
        action="store_true",
        help="the browser tests' student trains with the full course recipe, not nbgrader's 20 steps (screenshots)",
    )


@pytest.fixture(scope="session")
def screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = request.config.getoption("--screenshots") or tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, for the browser tests of one module."""
    with sync_playwright() as playwright:
        try:
            chromium = launch_chromium(playwright)
        except Exception as error:  # a browser test that cannot see is a failure, never a skip
            pytest.fail(f"Chromium did not start: {error}", pytrace=False)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shared() -> Iterator[tuple[Path, Path]]:
    """A folder under /tmp every user may read, and in it a Python every user may run (with this venv's packages,
    not this repository): for the grader's degraded mode, whose submissions run as nobody when it is root."""
    folder = shared_folder("realnvp-shared-")
    yield folder, shared_venv(folder / "venv")
    shutil.rmtree(folder, ignore_errors=True)


def grade_course(course: Path) -> subprocess.CompletedProcess:
    """``python -m autograder grade`` in a course root, as its instructor runs it (one worker: tests run in two)."""
    command = [sys.executable, "-m", "autograder", "grade", "--workers", "1"]
    return subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def namespace_for():
    """The classes of a filled-in release notebook, defined in this process."""

    def build(answer: str, above: str = "") -> dict:
        namespace: dict = {}
        exec(compile(module_for(answer, above), "submission.py", "exec"), namespace)
        return namespace

    return build


# The two full training runs, about 20 s each: nbval's run of the training
# notebook and the regeneration test. Collected first, they start at once on the two xdist
# workers (pyproject: --dist loadscope --no-loadscope-reorder keeps this order).
SLOW_FIRST = ("notebooks/realnvp_training.ipynb::", "tests/test_notebooks.py::TestRegenerate::")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: every other test keeps its place

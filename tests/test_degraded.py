"""The corpus where bubblewrap cannot start, as Gradescope's Docker forces it: the same verdicts as under bubblewrap.

The grader runs under tests/docker_like.py, which installs the namespace rules of Docker's default seccomp
profile first, so bubblewrap fails as it does in the container and the grader falls back to degraded mode by
itself. Every place an attack aims at is world-readable here, as it would be on a shared machine: a copy of the
course under /tmp, the submissions, the grader's output. The grader runs from a Python every user may run (its
submissions run as nobody when it is root). A second run refuses Landlock's calls too, as Docker did before
20.10.18: the warning says so, and the attacks' verdicts are those of the README's isolation table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder import landlock
from tests import docker_like
from tests.corpus import ALL, CORPUS, LOG_DET_ONLY, NONE, ROOT, grade_corpus, leaked_processes
from tests.shared_python import grader_env, readable_copy

PARTS = ("forward_y", "log_det_J", "round_trip")
ATTACKS = sorted(name for name in CORPUS if name.startswith(("attack_", "cheat_")))
# Degraded mode without Landlock, the grader root and submissions run as nobody: what each attack then gets.
# Reading the world-readable course, other notebooks and other processes' command lines succeeds (full marks);
# the uid keeps writes to files it does not own and signals to the worker out; seccomp keeps sockets out; the
# zygote's watch and the limits end the rest. The README's table says the same.
WITHOUT_LANDLOCK = {
    "cheat_read_source": ("ok", ALL),
    "attack_find_notebooks": ("ok", ALL),
    "attack_read_command_lines": ("ok", ALL),
    "attack_connect_to_a_listener": ("ok", LOG_DET_ONLY),
    "cheat_kill_worker": ("ok", NONE),
}


def _verdict(row: dict[str, str]) -> tuple[str, frozenset[str]]:
    return row["status"], frozenset(part for part in PARTS if float(row[part]) > 0)


@pytest.fixture(scope="module")
def course(shared) -> Path:
    """A copy of the course that every user may read, outside the repository."""
    folder = shared[0] / "course"
    for part in ("source", "autograder", "release"):
        readable_copy(ROOT / part, folder / part)
    return folder


def _grade(shared, course: Path, name: str, names: list[str] | None, wrapper: tuple[str, ...]):
    folder, python = shared
    work = folder / name
    work.mkdir(mode=0o755)
    env = grader_env(python)
    run, rows = grade_corpus(work, names, course, wrapper, python=[str(python)], env=env, cwd=ROOT)
    return work, run, rows


@pytest.fixture(scope="module")
def degraded(shared, course):
    assert landlock.abi() > 0, f"degraded mode's tests need a kernel with Landlock: {landlock.unavailable_reason()}"
    return _grade(shared, course, "with-landlock", None, docker_like.wrapper())


@pytest.fixture(scope="module")
def unconfined(shared, course):
    assert os.geteuid() == 0, (
        "grading without Landlock as the table describes it runs submissions as nobody, which needs root "
        "(.ci/run runs as root; locally: sudo make test)"
    )
    return _grade(shared, course, "without-landlock", ATTACKS, docker_like.wrapper(landlock=False))


def test_bubblewrap_fails_as_in_docker_and_the_grader_says_what_holds(degraded):
    _, run, _ = degraded
    assert "WARNING: degraded isolation, because bubblewrap failed its self-test (bwrap: " in run.stderr
    assert f"confined by Landlock (ABI {landlock.abi()})" in run.stderr
    assert "NOT isolated" not in run.stderr


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_corpus_entry_gets_the_verdict_it_gets_under_bubblewrap(degraded, name):
    _, _, rows = degraded
    entry = CORPUS[name]
    assert _verdict(rows[name]) == (entry.status, entry.passed), rows[name]["message"]
    assert entry.message in rows[name]["message"]


def test_no_submission_wrote_outside_its_scratch_or_left_a_process(degraded, course):
    work, _, _ = degraded
    for path in [*work.rglob("*"), *course.rglob("*.ipynb"), Path("/etc/passwd")]:
        if path.is_file():
            assert b"HACKED" not in path.read_bytes(), path
    assert leaked_processes(work) == []


def test_without_landlock_the_warning_is_loud_and_the_table_holds(unconfined):
    work, run, rows = unconfined
    assert "WARNING: submissions are NOT isolated because bubblewrap failed its self-test" in run.stderr
    assert "a seccomp filter refuses Landlock's system calls" in run.stderr
    verdicts = {name: _verdict(row) for name, row in rows.items()}
    expected = {name: WITHOUT_LANDLOCK.get(name, (CORPUS[name].status, CORPUS[name].passed)) for name in ATTACKS}
    assert verdicts == expected
    assert leaked_processes(work) == []


def test_the_readme_table_names_every_attack():
    section = (ROOT / "README.md").read_text().split("### Isolation where bubblewrap cannot run\n", 1)[1]
    table = section.split("\n#", 1)[0]
    assert [name for name in ATTACKS if f"`{name}`" not in table] == []

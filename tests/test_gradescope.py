"""The Gradescope zip, built by the CLI and run as Gradescope runs it, in a folder laid out like /autograder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.gradescope import build_zip
from autograder.points import read_points
from tests import docker_like
from tests.corpus import ALL, CORPUS, LEAK_MARKER, RELEASE, ROOT, Entry, Targets, leaked_processes, notebook_bytes
from tests.shared_python import make_readable, readable_copy

PARTS = ("forward_y", "log_det_J", "round_trip")
POINTS = read_points()


def _leak_answer(root: Path) -> str:
    """Reads the grader's files and raises their text into the feedback if it can; else a wrong y."""
    targets = [str(root / "source" / "autograder" / name) for name in ("reference.py", "checks.py")]
    return (
        "leaked = ''\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        leaked += open(path).read()\n"
        "    except OSError:\n"
        "        pass\n"
        "if leaked:\n"
        "    print(leaked)\n"
        "    raise RuntimeError(leaked[:3000])\n"
        "y = x_masked + (1 - mask) * (x * torch.exp(-s) + t)\n"
        "log_det_J = torch.sum((1 - mask) * s, dim=1)\n"
    )


def _notebook(entry: Entry, folder: Path) -> bytes:
    return notebook_bytes(entry, nbformat.read(RELEASE, as_version=4), Targets(folder))


# Each upload: the files it holds -> (score, a fragment of the student's output). Built per root.
UPLOADS = {
    "correct": lambda root: {"realnvp.ipynb": _notebook(CORPUS["correct_solution"], root)},
    "wrong": lambda root: {"realnvp.ipynb": _notebook(CORPUS["logdet_sign"], root)},
    "cheat_leak": lambda root: {"realnvp.ipynb": _notebook(Entry("ok", frozenset(), _leak_answer(root)), root)},
    "not_a_notebook": lambda root: {"realnvp.ipynb": b"%PDF-1.4 this is not a notebook"},
    "no_notebook": lambda root: {"realnvp.pdf": b"%PDF-1.4", "notes.txt": b"see the notebook"},
    "two_notebooks": lambda root: {
        "realnvp.ipynb": _notebook(CORPUS["correct_solution"], root),
        "old/realnvp-copy.ipynb": _notebook(CORPUS["correct_solution"], root),
    },
}
EXPECTED = {
    "correct": (10.0, "Passed."),
    "wrong": (4.0, "opposite sign"),
    "cheat_leak": (4.0, "exp(-s)"),
    "not_a_notebook": (0.0, "not a notebook"),
    "no_notebook": (0.0, "no notebook (.ipynb file) was found"),
    "two_notebooks": (0.0, "2 notebooks were uploaded"),
}


def _build(out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "autograder", "gradescope", "--out", str(out)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """The zip, built by the CLI, and its files unpacked into a folder laid out like /autograder/source."""
    work = tmp_path_factory.mktemp("gradescope")
    built = _build(work / "autograder.zip")
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(work / "autograder.zip") as archive:
        archive.extractall(work / "unpacked")
        for info in archive.infolist():  # extractall drops the executable bits
            (work / "unpacked" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    return work


def _environment(root: Path) -> dict[str, str]:
    return {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}


def _autograder_root(package: Path, name: str, under: str | Path = "roots") -> Path:
    """A folder laid out like /autograder, in ``package / under``, with the zip's files in ``source``."""
    root = package / under / name
    shutil.copytree(package / "unpacked", root / "source")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def _run_autograder(
    root: Path, wrapper: tuple[str, ...] = (), python: str = sys.executable
) -> tuple[dict, subprocess.CompletedProcess]:
    run = subprocess.run(
        [*wrapper, str(root / "source" / "run_autograder")],
        cwd=root,
        env={**_environment(root), "AUTOGRADER_PYTHON": python},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads((root / "results" / "results.json").read_text()), run


@pytest.fixture(scope="module")
def graded(package) -> dict[str, tuple[dict, subprocess.CompletedProcess, Path]]:
    """Every upload of UPLOADS through run_autograder: name -> (results.json, the run, its root)."""
    done = {}
    for name, files in UPLOADS.items():
        root = _autograder_root(package, name)
        for relative, data in files(root).items():
            (root / "submission" / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / "submission" / relative).write_bytes(data)
        done[name] = (*_run_autograder(root), root)
    return done


def _hidden_lines() -> list[str]:
    """Code lines of the reference and the checks, long enough to be theirs; string literals (hints) aside."""
    lines = []
    for name in ("reference.py", "checks.py"):
        for line in (ROOT / "autograder" / name).read_text().splitlines():
            line = line.strip()
            if len(line) >= 30 and not any(quote in line for quote in "\"'") and not line.startswith("#"):
                lines.append(line)
    return lines


def test_the_zip_holds_what_gradescope_runs_and_is_the_same_on_every_build(package):
    build_zip(package / "again.zip")  # a second build, at another time, in another process
    assert (package / "again.zip").read_bytes() == (package / "autograder.zip").read_bytes()
    with zipfile.ZipFile(package / "autograder.zip") as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert names == sorted(names)
    assert {"setup.sh", "run_autograder", "requirements.txt", "points.json"} <= set(names)
    assert {"autograder/reference.py", "autograder/checks.py", "course/__init__.py"} <= set(names)
    assert not [name for name in names if name.endswith(".ipynb") or "__pycache__" in name]
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    unpacked = package / "unpacked"
    assert (unpacked / "requirements.txt").read_bytes() == (ROOT / "requirements.txt").read_bytes()
    assert json.loads((unpacked / "points.json").read_text()) == POINTS


def test_setup_installs_the_pins_and_they_resolve_from_the_installed_environment(package):
    root = _autograder_root(package, "setup")
    run = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        env={**_environment(root), "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("name", list(UPLOADS))
def test_each_upload_gets_a_valid_results_json(graded, name):
    results, run, _ = graded[name]
    assert run.returncode == 0, run.stdout + run.stderr
    assert results["stdout_visibility"] == "hidden"
    assert [test["name"] for test in results["tests"]] == list(PARTS)
    for test in results["tests"]:
        assert test["max_score"] == POINTS[test["name"]]
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        assert test["score"] in (0.0, test["max_score"])
        assert test["visibility"] == "visible" and test["output"]
    assert results["score"] == sum(test["score"] for test in results["tests"])
    score, says = EXPECTED[name]
    assert results["score"] == score
    assert says in json.dumps(results)


@pytest.mark.parametrize("name", list(UPLOADS))
def test_no_output_shows_the_hidden_checks_or_a_traceback(graded, name):
    results, run, _ = graded[name]
    shown = json.dumps(results) + run.stdout + run.stderr
    assert "Traceback" not in shown
    for line in ["BEGIN HIDDEN TESTS", "check_part(", *_hidden_lines()]:
        assert line not in shown, line


def test_the_grader_that_ran_is_the_zips(graded):
    _, run, root = graded["correct"]
    assert f"with the grader in {root / 'source' / 'autograder'}" in run.stdout


def test_the_hidden_log_names_the_mistake_or_why_nothing_was_graded(graded):
    wrong, invalid, correct = (graded[name][1].stdout for name in ("wrong", "not_a_notebook", "correct"))
    assert "mistake: log_det_J: log_det_J has the opposite sign" in wrong
    assert "mistake: round_trip:" in wrong and "mistake: forward_y" not in wrong
    assert "not graded: invalid: the file is not a notebook" in invalid
    assert "mistake:" not in correct and "not graded" not in correct


def test_a_grader_that_fails_still_writes_results_that_say_it_is_not_a_verdict(package):
    root = _autograder_root(package, "broken")
    (root / "source" / "points.json").write_text("{not json")
    (root / "submission" / "realnvp.ipynb").write_bytes(_notebook(CORPUS["correct_solution"], root))
    results, run = _run_autograder(root)
    assert run.returncode == 0
    assert results["score"] == 0
    assert "not a verdict on your work" in results["output"]
    assert results["stdout_visibility"] == "hidden"


# ---------------------------------------------------------------- in a container that refuses namespaces


def _rewrite_results_later(root: Path) -> str:
    """A detached process that waits, then overwrites results.json: what a process left behind could do."""
    results = root / "results" / "results.json"
    writer = f"import time; time.sleep(2); open({str(results)!r}, 'w').write('HACKED')  # {LEAK_MARKER}"
    return f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {writer!r}], start_new_session=True)\n"


IN_DOCKER = {
    "correct": (lambda root, course: CORPUS["correct_solution"], 10.0),
    "cheat_leak": (lambda root, course: Entry("ok", frozenset(), _leak_answer(root)), 4.0),
    "read_the_course_copy": (lambda root, course: CORPUS["cheat_read_source"], 4.0),
    "rewrite_results_later": (lambda root, course: Entry("ok", ALL, prelude=_rewrite_results_later(root)), 10.0),
}


@pytest.fixture(scope="module")
def in_docker(package, shared) -> dict[str, tuple[dict, subprocess.CompletedProcess, Path]]:
    """Uploads through run_autograder under tests/docker_like.py, as Gradescope's Docker runs it: bubblewrap
    cannot start, so the grader runs degraded; everything lies in a folder every user may read, beside a
    world-readable copy of the course."""
    folder, python = shared
    course = readable_copy(ROOT / "source", folder / "gradescope-course" / "source").parent
    done = {}
    for name, (entry, _) in IN_DOCKER.items():
        root = _autograder_root(package, name, under=folder / "gradescope")
        make_readable(root)
        notebook = notebook_bytes(entry(root, course), nbformat.read(RELEASE, as_version=4), Targets(root, course))
        (root / "submission" / "realnvp.ipynb").write_bytes(notebook)
        done[name] = (*_run_autograder(root, docker_like.wrapper(), str(python)), root)
    time.sleep(3)  # what a process left behind would have written by now
    return done


@pytest.mark.parametrize("name", list(IN_DOCKER))
def test_in_a_container_that_refuses_namespaces_each_upload_gets_its_verdict(in_docker, name):
    results, run, root = in_docker[name]
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING: degraded isolation, because bubblewrap failed its self-test" in run.stdout
    assert "confined by Landlock" in run.stdout
    assert json.loads((root / "results" / "results.json").read_text()) == results
    assert results["score"] == IN_DOCKER[name][1], json.dumps(results)
    assert "Traceback" not in json.dumps(results)


def test_in_a_container_no_process_outlives_the_run(in_docker):
    assert [leaked_processes(root) for _, _, root in in_docker.values()] == [[]] * len(in_docker)

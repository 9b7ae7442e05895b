"""``python -m autograder grade`` as an instructor runs it in a graded course: no command they can mistype
changes a result, a scratch run stays in its folder, a regrade touches its students only, and an
interrupted run leaves the class's results as they were. Each test compares every file of the course,
and what ``nbgrader export`` reads, before and after."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from autograder import cli, gradebook
from autograder.notebooks import ASSIGNMENT, RELEASE
from tests.graded_course import STUDENTS, changed, files, make_graded_course, snapshot, submit

GRADE = [sys.executable, "-m", "autograder", "grade", "--workers", "1"]
BOB_PATHS = ("feedback/bob/", "autograded/bob/", "submitted/bob/", "graded/feedback/bob.", "graded/results/bob.")
CLASS_VIEW = {"graded/grades.csv", "graded/report.html", "graded/class_counts.csv", "gradebook.db"}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_graded_course(tmp_path_factory.mktemp("graded") / "course")


@pytest.fixture
def course(graded_course: Path, tmp_path: Path) -> Path:
    """A copy of the graded course, for one test to change."""
    return Path(shutil.copytree(graded_course, tmp_path / "course"))


def grade_in(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GRADE, *args], cwd=course, capture_output=True, text=True, timeout=600)


def one_line_error(err: str) -> str:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: "), err
    return err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--timeout", "-1"], "--timeout -1: the time limit must be a positive number of seconds"),
        (["--timeout", "0"], "--timeout 0: the time limit must be a positive"),
        (["--timeout", "nan"], "--timeout nan: the time limit must be a positive"),
        (["--memory", "0"], "--memory 0: the memory limit must be at least 1024 MB"),
        (["--memory", "512"], "--memory 512: the memory limit must be at least 1024 MB"),
        (["--workers", "0"], "--workers 0: at least one worker is needed"),
        (["empty"], "holds no submissions"),
        (["--student", "bob", "--student", "zoe"], "no submission of zoe in"),
        (["--db", "sqlite:///scratch.db"], "give --out a folder of its own too"),
    ],
)
def test_a_refused_setting_is_one_line_and_changes_nothing(course, monkeypatch, capsys, args, says):
    (course / "empty").mkdir()
    before = files(course)
    monkeypatch.chdir(course)
    assert cli.main(["grade", *args]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert says in err
    assert files(course) == before


def test_a_folder_that_is_not_a_course_gets_a_clear_error_and_no_gradebook(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["grade"]) == 2
    assert "`nbgrader collect realnvp` puts submissions there" in one_line_error(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_a_scratch_run_writes_its_folder_and_gradebook_only(course, tmp_path):
    before, exported = snapshot(course, tmp_path / "export-before")
    scratch = tmp_path / "scratch"
    run = grade_in(course, "--out", str(scratch), "--db", f"sqlite:///{scratch}/gradebook.db")
    assert run.returncode == 0, run.stderr
    assert "A scratch run: the course's gradebook, feedback/ and autograded/" in run.stdout
    assert snapshot(course, tmp_path / "export-after") == (before, exported)
    assert (scratch / "grades.csv").read_text().count("\n") == 1 + len(STUDENTS)


def test_regrading_one_student_changes_their_results_only_and_the_class_view_keeps_everyone(course, tmp_path):
    before, exported = snapshot(course, tmp_path / "export-before")
    submit(course, "bob", "correct", STUDENTS["bob"][1])  # bob's fixed notebook, re-collected

    run = grade_in(course, "--student", "bob")

    assert run.returncode == 0, run.stderr
    after, exported_after = snapshot(course, tmp_path / "export-after")
    assert {path for path in changed(before, after) if not path.startswith(BOB_PATHS)} <= CLASS_VIEW | {
        "graded/records/bob.json"
    }
    assert any(path.startswith("autograded/bob/") for path in changed(before, after))
    grades = (course / "graded" / "grades.csv").read_text().splitlines()
    assert [line.split(",")[:5] for line in grades[1:]] == [
        ["ada", "2026-12-01 15:00:00", "10", "0", "10"],
        ["bob", "2026-12-01 16:55:00", "10", "0", "10"],  # was 4
        ["eve", "2026-12-01 20:00:00", "10", "10", "0"],  # late: the penalty stays
    ]
    rows = {row["student_id"]: row for row in exported_after}
    assert [rows["ada"], rows["eve"]] == [row for row in exported if row["student_id"] != "bob"]
    assert (rows["bob"]["raw_score"], rows["bob"]["score"]) == ("10.0", "10.0")
    assert "3 submissions" in run.stdout  # the class's summary, not the regrade's alone


def _sleeping_bob(course: Path) -> None:
    """bob's notebook, whose forward sleeps a minute: grading is under way for as long as the test needs."""
    notebook = course / "submitted" / "bob" / ASSIGNMENT / RELEASE.name
    text = notebook.read_text()
    line = "y = x_masked + (1 - mask) * (x * torch.exp(s) + t)"
    assert line in text
    notebook.write_text(text.replace(line, f"__import__('time').sleep(60); {line}", 1))


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_an_interrupted_regrade_leaves_every_result_as_it_was(course, tmp_path, sent):
    _sleeping_bob(course)
    before, exported = snapshot(course, tmp_path / "export-before")
    grading = subprocess.Popen(
        [*GRADE, "--student", "bob", "--timeout", "120"], cwd=course, stderr=subprocess.PIPE, text=True
    )
    err = ""
    while "Grading" not in err:  # tqdm's bar (no newline until it ends): the sandboxes are starting
        assert grading.poll() is None, err
        err += grading.stderr.read(1)
    time.sleep(10)  # bob's forward is asleep in the sandbox
    grading.send_signal(sent)
    err += grading.communicate(timeout=45)[1]  # not the minute of bob's sleep: the sandbox ends at once

    assert grading.returncode == (130 if sent == signal.SIGINT else -signal.SIGKILL)
    if sent == signal.SIGINT:
        assert "interrupted: no result was changed by this run" in err and "Traceback" not in err
    assert snapshot(course, tmp_path / "export-after") == (before, exported)
    assert not [path for path in files(course) if ".staged-" in path]


def test_a_gradebook_that_fails_after_grading_changes_nothing_and_keeps_the_runs_grades(course, monkeypatch, capsys):
    before = files(course)

    def fail(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(gradebook.Writer, "record", fail)
    monkeypatch.chdir(course)
    assert cli.main(["grade", "--workers", "1"]) == 2

    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert err.startswith("error: the gradebook at sqlite:///")
    assert "could not be written (database is locked), so no result of the class changed" in err
    kept = sorted(changed(before, files(course)))
    assert kept and all(path.startswith("graded/unrecorded-") for path in kept)
    assert sorted(Path(path).name for path in kept if "/feedback/" in path) == ["ada.html", "bob.html", "eve.html"]


def test_the_grader_runs_where_nbgrader_runs_from_any_folder(course, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [*GRADE, "--course", str(course), "--student", "ada"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert list(elsewhere.iterdir()) == []

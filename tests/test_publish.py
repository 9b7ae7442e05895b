"""Where a run writes: the course's gradebook makes a course run; any other is a scratch run with its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course_root import load_course
from autograder.grading import GraderError
from autograder.publish import destination


@pytest.fixture
def course(tmp_path: Path):
    return load_course(tmp_path)  # nbgrader's defaults: gradebook.db in the root


def test_by_default_a_run_is_the_courses_into_graded(course, tmp_path):
    where = destination(course, None, None)
    assert where.course_run and where.out == tmp_path / "graded"


def test_the_courses_gradebook_named_another_way_is_still_a_course_run(course, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert destination(course, tmp_path / "elsewhere", "sqlite:///gradebook.db").course_run
    assert destination(course, None, f"sqlite:///{tmp_path}/./gradebook.db").course_run


def test_another_gradebook_is_a_scratch_run_into_its_own_folder(course, tmp_path):
    where = destination(course, tmp_path / "scratch", f"sqlite:///{tmp_path}/scratch/gradebook.db")
    assert not where.course_run and where.out == tmp_path / "scratch"
    with pytest.raises(GraderError, match="give --out a folder of its own too"):
        destination(course, None, "postgresql://grader@dbhost/realnvp")
    with pytest.raises(GraderError, match="give --out a folder of its own too"):
        destination(course, tmp_path / "graded", "sqlite:////tmp/other.db")

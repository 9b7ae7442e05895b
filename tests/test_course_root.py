"""The course root: nbgrader's config read as nbgrader reads it, the late policy applied as nbgrader applies it."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path

import pytest

from autograder.course_root import CourseError, load_course, read_timestamp
from tests.conftest import ROOT

HOUR = 3600.0


def write_config(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n" + textwrap.dedent(body))
    return root


def test_this_repository_is_a_course_root_with_nbgraders_default_gradebook():
    course = load_course(ROOT)
    assert course.root == ROOT
    assert course.course_id == "realnvp-course"
    assert course.db_url == f"sqlite:///{ROOT / 'gradebook.db'}"
    assert course.submitted == ROOT / "submitted"
    assert course.feedback_folder("ada") == ROOT / "feedback" / "ada" / "realnvp"


def test_a_folder_without_config_gets_nbgraders_defaults_rooted_there(tmp_path):
    course = load_course(tmp_path)
    assert course.db_url == f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert course.submitted == tmp_path / "submitted"
    assert course.late_penalty("ada", 10.0, HOUR) is None  # nbgrader's default policy: no penalty


def test_the_config_names_the_gradebook_and_the_folders(tmp_path):
    root = write_config(
        tmp_path / "course",
        """
        c.CourseDirectory.course_id = "ml101"
        c.CourseDirectory.db_url = "postgresql://grader@db.example/ml101"
        c.CourseDirectory.submitted_directory = "inbox"
        c.CourseDirectory.feedback_directory = "returned"
        """,
    )
    course = load_course(root)
    assert (course.course_id, course.db_url) == ("ml101", "postgresql://grader@db.example/ml101")
    assert course.submitted == root / "inbox"
    assert course.feedback_folder("ada") == root / "returned" / "ada" / "realnvp"


def test_penalty_method_zero_takes_the_whole_score_of_a_late_submission_only(tmp_path):
    course = load_course(write_config(tmp_path, 'c.LateSubmissionPlugin.penalty_method = "zero"\n'))
    assert course.late_penalty("ada", 6.0, HOUR) == 6.0
    assert course.late_penalty("ada", 6.0, 0.0) is None


def test_a_plugin_of_the_same_interface_is_used_and_its_penalty_kept_between_zero_and_the_score(tmp_path):
    root = write_config(
        tmp_path,
        """
        from nbgrader.plugins import LateSubmissionPlugin

        class PointPerHour(LateSubmissionPlugin):
            def late_submission_penalty(self, student_id, score, total_seconds_late):
                return -1.0 if student_id == "odd" else total_seconds_late / 3600

        c.AssignLatePenalties.plugin_class = PointPerHour
        """,
    )
    course = load_course(root)
    assert course.late_penalty("ada", 10.0, 3 * HOUR) == 3.0
    assert course.late_penalty("ada", 2.0, 3 * HOUR) == 2.0  # never more than the score
    assert course.late_penalty("odd", 10.0, 3 * HOUR) == 0.0  # never negative


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("c.CourseDirectory.course_id = \n", "SyntaxError"),
        ("c.LateSubmissionPlugin.penalty_method = 'half'\n", "penalty_method"),
        ("raise RuntimeError('config is broken')\n", "config is broken"),
    ],
)
def test_a_broken_config_is_a_clear_error_naming_the_file(tmp_path, body, says):
    with pytest.raises(CourseError) as error:
        load_course(write_config(tmp_path, body))
    assert says in str(error.value)
    assert str(tmp_path / "nbgrader_config.py") in str(error.value)


def test_a_missing_course_root_is_a_clear_error(tmp_path):
    with pytest.raises(CourseError, match="does not exist"):
        load_course(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 17:30:00.123456 UTC", datetime.datetime(2026, 12, 1, 17, 30, 0, 123456)),  # nbgrader submit's
        ("2026-12-01T18:30:00+01:00", datetime.datetime(2026, 12, 1, 17, 30)),  # converted to UTC
    ],
)
def test_timestamps_are_read_in_nbgraders_format_as_utc(tmp_path, text, expected):
    (tmp_path / "timestamp.txt").write_text(text + "\n")
    assert read_timestamp(tmp_path) == (expected, "")


def test_no_timestamp_means_no_submission_time_and_a_bad_one_is_named(tmp_path):
    assert read_timestamp(tmp_path) == (None, "")
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    timestamp, warning = read_timestamp(tmp_path)
    assert timestamp is None
    assert "timestamp.txt does not hold a time ('yesterday-ish')" in warning

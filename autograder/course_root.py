"""The nbgrader course the grader works in, read from its ``nbgrader_config.py`` as nbgrader reads it.

The course root is the folder where instructors run nbgrader's commands. Its config says where the
gradebook is (``CourseDirectory.db_url``; nbgrader's default is ``gradebook.db`` in the root), the
course id, where each step's folders are (``submitted/``, ``feedback/``), and the late-submission
policy (``AssignLatePenalties.plugin_class``, by default nbgrader's ``LateSubmissionPlugin`` with its
``penalty_method``). Grading with these settings lets ``nbgrader export``, formgrader and
``nbgrader release_feedback`` see the grader's work with no extra flags.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import BasePlugin
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.notebooks import ASSIGNMENT, CONFIG

TIMESTAMP = "timestamp.txt"  # written by nbgrader submit and kept by collect
SECRET = "submission_secret.txt"  # written by nbgrader submit; release_feedback hashes it to address the feedback


class CourseError(Exception):
    """The course root or its config cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Course:
    coursedir: CourseDirectory
    late_plugin: BasePlugin

    @property
    def root(self) -> Path:
        return Path(self.coursedir.root)

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    @property
    def db_url(self) -> str:
        """``CourseDirectory.db_url``: nbgrader's default is the SQLite ``gradebook.db`` in the root."""
        return self.coursedir.db_url

    @property
    def submitted(self) -> Path:
        """nbgrader's ``submitted/`` folder, where ``nbgrader collect`` puts the submissions."""
        return self._step_folder(self.coursedir.submitted_directory, ".", ".")

    def feedback_folder(self, student_id: str) -> Path:
        """Where ``nbgrader release_feedback`` looks for this student's feedback on the assignment."""
        return self._step_folder(self.coursedir.feedback_directory, student_id, ASSIGNMENT)

    def autograded_folder(self, student_id: str) -> Path:
        """Where ``nbgrader autograde`` leaves a graded submission; formgrader counts it as graded only if it exists."""
        return self._step_folder(self.coursedir.autograded_directory, student_id, ASSIGNMENT)

    def _step_folder(self, step: str, student_id: str, assignment_id: str) -> Path:
        return Path(self.coursedir.format_path(step, student_id, assignment_id)).resolve()

    def late_penalty(self, student_id: str, raw_score: float, seconds_late: float) -> float | None:
        """The penalty nbgrader's ``AssignLatePenalties`` would record: None when none applies, else the
        plugin's penalty kept between 0 and the score."""
        if seconds_late <= 0:
            return None
        penalty = self.late_plugin.late_submission_penalty(student_id, raw_score, seconds_late)
        return None if penalty is None else min(max(float(penalty), 0.0), raw_score)


def _config(root: Path) -> Config:
    path = root / CONFIG
    if not path.is_file():
        return Config()
    try:
        return PyFileConfigLoader(CONFIG, path=str(root)).load_config()
    except Exception as error:  # the instructor's file: any error in it is theirs to fix, not a crash of ours
        raise CourseError(f"{path} cannot be loaded: {type(error).__name__}: {error}") from None


def load_course(root: Path) -> Course:
    """The course whose root is ``root``, with the settings of its ``nbgrader_config.py`` (if any)."""
    if not root.is_dir():
        raise CourseError(f"the course root {root} does not exist or is not a folder (see --course)")
    config = _config(root)
    if "root" not in config.CourseDirectory:
        config.CourseDirectory.root = str(root.resolve())
    quiet = logging.getLogger("autograder.course")  # nbgrader's plugin logs each penalty at INFO
    quiet.setLevel(logging.WARNING)
    try:
        coursedir = CourseDirectory(config=config, log=quiet)
        late = AssignLatePenalties(config=config, log=quiet)
        late.init_plugin()
    except Exception as error:  # a bad value in the config (a traitlets error) or a plugin that fails to start
        raise CourseError(f"{root / CONFIG}: {type(error).__name__}: {error}") from None
    return Course(coursedir, late.plugin_inst)


def read_timestamp(folder: Path) -> tuple[datetime.datetime | None, str]:
    """The submission time in ``folder/timestamp.txt`` (nbgrader's format) as UTC, or None and why not."""
    path = folder / TIMESTAMP
    if not path.is_file():
        return None, ""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return parse_utc(text), ""
    except (ValueError, OverflowError):
        return None, f"{path} does not hold a time ({text[:40]!r}): graded as if it had no submission time"

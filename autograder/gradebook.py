"""Grades into nbgrader's gradebook, so ``nbgrader export`` and formgrader see them.

The gradebook is any SQLAlchemy URL: a SQLite file (by default the course's, as its
``nbgrader_config.py`` says) or a PostgreSQL server (``postgresql://user:password@host/db``,
through psycopg 3). Several grader processes may write to one gradebook at once: each takes
the gradebook's writer lock for its whole write (a PostgreSQL advisory lock, or a file lock
next to a SQLite file), so their rows never interleave. Each student has one submission of
the assignment, with the time nbgrader collected it and the late penalty the course's policy
gives it, as stock ``nbgrader autograde`` records them; a regrade overwrites its scores.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SAWarning, SQLAlchemyError

from autograder.notebooks import ASSIGNMENT

if TYPE_CHECKING:  # only the rows' student_id, timestamp and part_score are used: no torch needed to write grades
    from autograder.course_root import Course
    from autograder.grading import Graded

NOTEBOOK = ASSIGNMENT
# pg_advisory_lock's key for "writing grades of this course"; any fixed 64-bit number would do.
LOCK_KEY = 0x5245414C4E5650  # "REALNVP"
CONNECT_TIMEOUT_S = 10
DEFAULT_COURSE_ID = "default_course"  # nbgrader's, for a gradebook written without a course


class GradebookError(Exception):
    """The gradebook cannot be used; the message says why, with any password masked."""


def masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def parse_url(db_url: str) -> URL:
    """``db_url`` as a SQLAlchemy URL; plain ``postgresql://`` means the psycopg 3 driver installed here."""
    try:
        url = make_url(db_url)
    except (ArgumentError, ValueError):
        raise GradebookError(
            f"--db {db_url!r} is not a database URL; use sqlite:///path/gradebook.db "
            "or postgresql://user:password@host:port/database"
        ) from None
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _connect_args(url: URL) -> dict:
    return {"connect_timeout": CONNECT_TIMEOUT_S} if url.get_backend_name() == "postgresql" else {}


def _first_line(error: BaseException, url: URL) -> str:
    line = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
    return line.replace(url.password, "***") if url.password else line


def check_reachable(url: URL) -> None:
    """Connect once, so a wrong ``--db`` stops the run before any grading."""
    try:
        engine = create_engine(url, connect_args=_connect_args(url))
        with engine.connect():
            pass
        engine.dispose()
    except (SQLAlchemyError, ImportError, OSError) as error:
        raise GradebookError(f"cannot open the gradebook at {masked(url)}: {_first_line(error, url)}") from None


@contextlib.contextmanager
def writer_lock(url: URL) -> Iterator[None]:
    """Held while one process writes grades: other graders' writes wait for it."""
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, connect_args=_connect_args(url))
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                    connection.commit()
        finally:
            engine.dispose()
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        with open(f"{url.database}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        yield


def _alembic_on_path() -> None:
    """nbgrader migrates the gradebook by running ``alembic`` from PATH: use this environment's."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"


def _register_assignment(gradebook: Gradebook, points: dict[str, float]) -> None:
    gradebook.update_or_create_assignment(ASSIGNMENT)
    gradebook.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
    for part, max_score in points.items():
        gradebook.update_or_create_grade_cell(part, NOTEBOOK, ASSIGNMENT, max_score=max_score, cell_type="code")


def _write_row(gradebook: Gradebook, row: Graded, points: dict[str, float], course: Course | None) -> float | None:
    """The student's one submission, created or kept, with this grading's submission time (when known) and
    scores in every part; then its late penalty, as nbgrader's ``AssignLatePenalties`` sets it. Returns it."""
    gradebook.update_or_create_student(row.student_id)
    submitted_at = {"timestamp": row.timestamp} if row.timestamp is not None else {}
    gradebook.update_or_create_submission(ASSIGNMENT, row.student_id, **submitted_at)
    for part in points:
        try:
            grade = gradebook.find_grade(part, NOTEBOOK, ASSIGNMENT, row.student_id)
        except MissingEntry:  # a part added since this student was last graded: start the submission afresh
            gradebook.remove_submission(ASSIGNMENT, row.student_id)
            gradebook.add_submission(ASSIGNMENT, row.student_id, **submitted_at)
            grade = gradebook.find_grade(part, NOTEBOOK, ASSIGNMENT, row.student_id)
        grade.auto_score = row.part_score(part)
        grade.manual_score = None
        grade.needs_manual_grade = False
    gradebook.db.commit()
    submission = gradebook.find_submission(ASSIGNMENT, row.student_id)
    notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, row.student_id)
    late = submission.total_seconds_late  # against the due date, and the student's extension, in the gradebook
    notebook.late_submission_penalty = course.late_penalty(row.student_id, notebook.score, late) if course else None
    gradebook.db.commit()
    return notebook.late_submission_penalty


def record(
    rows: list[Graded], points: dict[str, float], db_url: str | URL, course: Course | None = None
) -> dict[str, float | None]:
    """Register the assignment's grade cells, then write each student's submission time and scores, under the
    writer lock. With a ``course``, its id is the gradebook's course and its late-submission policy sets each
    late submission's penalty. Returns the penalty per student (None: not late, or no penalty)."""
    url = parse_url(db_url) if isinstance(db_url, str) else db_url
    # nbgrader's course id is "" unless the config sets one; its gradebook needs one on PostgreSQL (a foreign key)
    course_id = (course.course_id if course else "") or DEFAULT_COURSE_ID
    _alembic_on_path()
    with (
        writer_lock(url),
        Gradebook(url.render_as_string(hide_password=False), course_id) as gradebook,
        warnings.catch_warnings(),
    ):
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings; the rows are written all the same.
        warnings.simplefilter("ignore", SAWarning)
        _register_assignment(gradebook, points)
        return {row.student_id: _write_row(gradebook, row, points, course) for row in rows}

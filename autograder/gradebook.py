"""Grades into nbgrader's gradebook, so ``nbgrader export`` and formgrader see them.

The gradebook is any SQLAlchemy URL: a SQLite file (by default the course's, as its
``nbgrader_config.py`` says) or a PostgreSQL server (``postgresql://user:password@host/db``,
through psycopg 3). Several grader processes may write to one gradebook at once: each takes
the gradebook's writer lock for its whole write (a PostgreSQL advisory lock, or a file lock
next to a SQLite file), so their rows never interleave. Each student has one submission of
the assignment, with the time nbgrader collected it and the late penalty the course's policy
gives it, as stock ``nbgrader autograde`` records them; a regrade overwrites its scores.
A run's rows are one transaction: an interrupted run leaves the gradebook as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
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


def first_line(error: BaseException, url: URL) -> str:
    line = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
    return line.replace(url.password, "***") if url.password else line


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


def check_reachable(url: URL, out: Path | None = None) -> None:
    """Connect once, so a wrong ``--db`` stops the run before any grading. A SQLite file that does not exist yet
    is not created here: its folder must exist, or be inside ``out``, the folder the run creates."""
    database = _sqlite_file(url)
    if database is not None and not database.exists():
        folder = database.parent
        if out is not None and folder.is_relative_to(out.resolve()):
            folder = next(parent for parent in database.parents if parent.exists())
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise GradebookError(f"cannot open the gradebook at {masked(url)}: {folder} is not a folder it can write")
        return
    try:
        engine = create_engine(url, connect_args=_connect_args(url))
        with engine.connect():
            pass
        engine.dispose()
    except (SQLAlchemyError, ImportError, OSError) as error:
        raise GradebookError(f"cannot open the gradebook at {masked(url)}: {first_line(error, url)}") from None


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
    elif (database := _sqlite_file(url)) is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{database}.lock", "a") as handle:
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
    gradebook.db.commit()  # within Writer, a flush: nbgrader's score and lateness queries read these rows
    submission = gradebook.find_submission(ASSIGNMENT, row.student_id)
    notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, row.student_id)
    late = submission.total_seconds_late  # against the due date, and the student's extension, in the gradebook
    notebook.late_submission_penalty = course.late_penalty(row.student_id, notebook.score, late) if course else None
    gradebook.db.commit()
    return notebook.late_submission_penalty


@dataclass(frozen=True)
class Recorded:
    """One student's submission as the gradebook holds it."""

    student_id: str
    timestamp: datetime.datetime | None
    scores: dict[str, float]  # per part: the manual score where a grader set one, else the automatic one
    late_penalty: float | None


class Writer:
    """The gradebook of one run, as one transaction: nothing is committed until :meth:`commit`."""

    def __init__(self, gradebook: Gradebook, course: Course | None) -> None:
        self.gradebook = gradebook
        self.course = course
        self._commit = gradebook.db.commit
        gradebook.db.commit = gradebook.db.flush  # nbgrader commits in each call: here they join the one transaction

    def record(self, rows: list[Graded], points: dict[str, float]) -> dict[str, float | None]:
        """Register the assignment's grade cells, then write each student's submission time and scores. With a
        course, its late-submission policy sets each late submission's penalty. Returns the penalty per student
        (None: not late, or no penalty)."""
        _register_assignment(self.gradebook, points)
        return {row.student_id: _write_row(self.gradebook, row, points, self.course) for row in rows}

    def class_results(self, points: dict[str, float]) -> list[Recorded]:
        """Every student's submission of the assignment, this run's writes included, by student id."""
        results = []
        for submission in self.gradebook.assignment_submissions(ASSIGNMENT):
            student = submission.student_id
            notebook = self.gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
            scores = {grade.name: float(grade.score) for grade in notebook.grades if grade.name in points}
            penalty = notebook.late_submission_penalty
            results.append(Recorded(student, submission.timestamp, scores, penalty))
        return sorted(results, key=lambda recorded: recorded.student_id)

    def commit(self) -> None:
        self._commit()


@contextlib.contextmanager
def writing(db_url: str | URL, course: Course | None = None) -> Iterator[Writer]:
    """The gradebook under the writer lock, for one transaction: what the block writes is committed when it calls
    ``commit()``, and rolled back if it ends without. With a ``course``, its id is the gradebook's course."""
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
        yield Writer(gradebook, course)


def record(
    rows: list[Graded], points: dict[str, float], db_url: str | URL, course: Course | None = None
) -> dict[str, float | None]:
    """:meth:`Writer.record` in a transaction of its own."""
    with writing(db_url, course) as writer:
        penalties = writer.record(rows, points)
        writer.commit()
    return penalties

"""Grades into nbgrader's gradebook, so ``nbgrader export`` and formgrader see them."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from autograder.grading import Graded
from autograder.notebooks import ASSIGNMENT

NOTEBOOK = ASSIGNMENT


def default_url(out: Path) -> str:
    """nbgrader's default: a SQLite ``gradebook.db`` (here, in the output folder)."""
    return f"sqlite:///{out.resolve() / 'gradebook.db'}"


def _alembic_on_path() -> None:
    """nbgrader migrates the gradebook by running ``alembic`` from PATH: use this environment's."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"


def record(rows: list[Graded], points: dict[str, float], db_url: str) -> None:
    """Register the assignment's grade cells, then replace each student's submission with its scores."""
    _alembic_on_path()
    with Gradebook(db_url) as gradebook, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings; the rows are written all the same.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_assignment(ASSIGNMENT)
        gradebook.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
        for part, max_score in points.items():
            gradebook.update_or_create_grade_cell(part, NOTEBOOK, ASSIGNMENT, max_score=max_score, cell_type="code")
        for row in rows:
            gradebook.update_or_create_student(row.student_id)
            with contextlib.suppress(MissingEntry):
                gradebook.remove_submission(ASSIGNMENT, row.student_id)
            gradebook.add_submission(ASSIGNMENT, row.student_id)
            for part in points:
                grade = gradebook.find_grade(part, NOTEBOOK, ASSIGNMENT, row.student_id)
                grade.auto_score = row.part_score(part)
                grade.needs_manual_grade = False
            gradebook.db.commit()

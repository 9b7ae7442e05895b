"""A course graded by this grader, as an instructor has it the night grades are due: three students
collected in nbgrader's layout with their submission times, a due date, a late penalty, the
gradebook, graded/, feedback/ and autograded/. Tests copy it and check what a command changes."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.notebooks import ASSIGNMENT, RELEASE, copy_course
from tests.conftest import ROOT, grade_course
from tests.nbgrader_export import nbgrader_export

DUE = datetime.datetime(2026, 12, 1, 17, 0)
# student -> (example answer, submitted this long after the due date)
STUDENTS = {
    "ada": ("correct", datetime.timedelta(hours=-2)),
    "bob": ("logdet_sign", datetime.timedelta(minutes=-5)),
    "eve": ("correct", datetime.timedelta(hours=3)),
}
COURSE_ID = "realnvp-course"


def example_notebook(answer: str) -> Path:
    return ROOT / "examples" / "submitted" / answer / ASSIGNMENT / RELEASE.name


def submit(course: Path, student: str, answer: str, late: datetime.timedelta) -> Path:
    """``student``'s submission of ``answer`` in ``submitted/``, as ``nbgrader collect`` leaves it."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(example_notebook(answer), folder / RELEASE.name)
    (folder / "timestamp.txt").write_text(f"{DUE + late:%Y-%m-%d %H:%M:%S.%f} UTC")
    (folder / "submission_secret.txt").write_text(f"secret-of-{student}")
    return folder


def make_graded_course(course: Path) -> Path:
    copy_course(ROOT, course)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    for student, (answer, late) in STUDENTS.items():
        submit(course, student, answer, late)
    graded = grade_course(course)
    assert graded.returncode == 0, graded.stderr
    return course


def files(course: Path) -> dict[str, bytes]:
    """Every file under the course root, by relative path."""
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*")) if p.is_file()}


def snapshot(course: Path, workdir: Path) -> tuple[dict[str, bytes], list[dict[str, str]]]:
    """Every file of the course, and what ``nbgrader export`` reads from its gradebook."""
    workdir.mkdir(parents=True, exist_ok=True)
    before = files(course)
    shutil.copy2(course / "nbgrader_config.py", workdir / "nbgrader_config.py")
    config = workdir / "nbgrader_config.py"
    config.write_text(config.read_text() + f"c.CourseDirectory.root = {str(course)!r}\n")
    exported = nbgrader_export(None, workdir)
    assert files(course) == before, "nbgrader export changed the course"
    return before, exported


def changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}

"""Where a grading run's results go, and writing them there all or nothing.

A **course run** writes the course's gradebook (its ``nbgrader_config.py`` names it), then the
course's ``feedback/`` (what ``nbgrader release_feedback`` delivers) and ``autograded/`` (what
formgrader shows), and OUT (by default ``COURSE/graded/``). A **scratch run**, into a gradebook
other than the course's (``--db``), writes that gradebook and its own OUT, and nothing of the
course's. Either way the gradebook's rows are one transaction and every file is staged
(``autograder.staging``): the results change together when the run commits, or not at all.

The class view (grades.csv, report.html, class_counts.csv) is rebuilt from the gradebook after
each run, so a run that regrades a few students still shows the whole class: each student's
details come from their record in OUT/records/, their submission time and late penalty from the
gradebook.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from autograder import class_report, gradebook, reports
from autograder.checks import PARTS, Verdict
from autograder.course_root import Course
from autograder.grading import Graded, GraderError, Submission
from autograder.staging import Staging, interrupts_held

GRADED = "graded"  # the course's OUT: COURSE/graded/


@dataclass(frozen=True)
class Destination:
    out: Path
    db_url: URL
    course: Course
    course_run: bool  # the course's gradebook: the course's feedback/ and autograded/ follow it


def _same_database(first: URL, second: URL) -> bool:
    def key(url: URL) -> URL:
        url = url.set(password=None)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            url = url.set(database=str(Path(url.database).resolve()))
        return url

    return key(first) == key(second)


def destination(course: Course, out: Path | None, db: str | None) -> Destination:
    """Where a run with these ``--out`` and ``--db`` writes; a scratch run may not write the class's OUT."""
    course_url = gradebook.parse_url(course.db_url)
    url = gradebook.parse_url(db) if db else course_url
    course_run = _same_database(url, course_url)
    class_out = (course.root / GRADED).resolve()
    out = (out or class_out).resolve()
    if not course_run and out == class_out:
        raise GraderError(
            f"--db {gradebook.masked(url)} is not the course's gradebook: give --out a folder of its own too, "
            f"so that the class's results in {class_out} stay as they are"
        )
    return Destination(out, url, course, course_run)


@dataclass(frozen=True)
class Published:
    graded: list[Graded]  # this run's rows, with their late penalties
    class_rows: list[Graded]  # the whole class, as the gradebook holds it after this run
    feedback_pages: list[Path]
    autograded: list[Path]


def _from_gradebook(recorded: gradebook.Recorded, points: dict[str, float]) -> Graded:
    """A student graded outside this OUT (by an earlier run elsewhere, or stock nbgrader): the scores alone."""
    verdicts = {
        part: Verdict(part, recorded.scores.get(part, 0.0) >= points[part], "not passed (no details: graded elsewhere)")
        for part in PARTS
    }
    return Graded(recorded.student_id, "recorded", "", points, verdicts)


def class_rows(
    recorded: list[gradebook.Recorded], graded: list[Graded], out: Path, points: dict[str, float]
) -> list[Graded]:
    """The class: each student the gradebook holds, with this run's row, their record in ``out``, or the scores."""
    this_run = {row.student_id: row for row in graded}
    rows = []
    for entry in recorded:
        row = this_run.get(entry.student_id) or reports.read_record(out, entry.student_id)
        row = row or _from_gradebook(entry, points)
        rows.append(dataclasses.replace(row, timestamp=entry.timestamp, late_penalty=entry.late_penalty))
    return rows


def publish(
    graded: list[Graded],
    submissions: list[Submission],
    points: dict[str, float],
    where: Destination,
    figures: class_report.RunFigures,
) -> Published:
    """Record ``graded`` in the gradebook and write every file of the run, all or nothing."""
    staging = Staging(where.out)
    try:
        with gradebook.writing(where.db_url, where.course) as book:
            penalties = book.record(graded, points)
            graded = [dataclasses.replace(row, late_penalty=penalties.get(row.student_id)) for row in graded]
            rows = class_rows(book.class_results(points), graded, where.out, points)
            reports.stage_student_files(graded, where.out, staging)
            staging.write_text(where.out / reports.GRADES, reports.csv_text(rows))
            class_report.stage_class_report(rows, where.out, figures, staging)
            pages = copies = []
            if where.course_run:
                pages = reports.stage_course_feedback(graded, submissions, where.course, staging)
                copies = reports.stage_autograded(graded, submissions, where.course, staging)
            with interrupts_held():
                book.commit()
                staging.commit()
    finally:
        staging.discard()  # nothing left to do once committed
    return Published(graded, rows, pages, copies)


def keep_unrecorded(graded: list[Graded], out: Path) -> Path:
    """This run's grades and feedback pages in a new folder of OUT, when the gradebook could not take them."""
    folder = out / f"unrecorded-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}"
    staging = Staging(folder)
    try:
        reports.stage_student_files(graded, folder, staging)
        staging.write_text(folder / reports.GRADES, reports.csv_text(graded))
        staging.commit()
    finally:
        staging.discard()
    return folder

"""``python -m autograder``: grade a folder of submissions, or regenerate the derived notebooks."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from nbclient.exceptions import CellExecutionError
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from autograder import class_report, gradebook, gradescope, publish, reports, staging
from autograder.course_root import CourseError, load_course
from autograder.gradebook import GradebookError
from autograder.grading import Grader, GraderError, Submission, find_submissions
from autograder.notebooks import ASSIGNMENT, regenerate
from autograder.points import read_points
from autograder.sandbox import MIN_MEMORY_MB, Limits, isolation


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade every notebook in SUBMISSIONS into the course's gradebook")
    grade.add_argument(
        "submissions",
        type=Path,
        nargs="?",
        help="nbgrader's <student_id>/realnvp/ folders, or <student_id>.ipynb files (default: the course's submitted/)",
    )
    grade.add_argument(
        "--course",
        type=Path,
        default=Path(),
        help="nbgrader's course root, whose nbgrader_config.py names the gradebook, the folders and the late "
        "policy (default: the current folder)",
    )
    grade.add_argument(
        "--out",
        type=Path,
        help="folder for grades.csv, report.html, class_counts.csv, feedback/, results/ (default: COURSE/graded)",
    )
    grade.add_argument(
        "--student",
        action="append",
        metavar="ID",
        help="grade only this student's submission (repeatable); the others' results stay as they are",
    )
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel sandboxes (default: cores)")
    grade.add_argument("--timeout", type=float, default=Limits.timeout_s, help="seconds per submission")
    grade.add_argument("--memory", type=int, default=Limits.memory_mb, help="MB of memory per submission")
    grade.add_argument(
        "--db", help="nbgrader's gradebook, sqlite:///FILE or postgresql://... (default: the course's, as nbgrader's)"
    )
    commands.add_parser("generate", help="rewrite release/, solutions/, notebooks/ and examples/ from source/")
    package = commands.add_parser("gradescope", help="build the Gradescope autograder zip")
    package.add_argument("--out", type=Path, required=True, help="the zip to write, e.g. autograder.zip")
    run = commands.add_parser("gradescope-run", help="inside Gradescope: grade ROOT/submission into ROOT/results")
    run.add_argument("--root", type=Path, default=gradescope.ROOT, help="Gradescope's folder (default: /autograder)")
    run.add_argument("--timeout", type=float, default=Limits.timeout_s, help="seconds per submission")
    run.add_argument("--memory", type=int, default=Limits.memory_mb, help="MB of memory per submission")
    return parser


def check_limits(timeout: float, memory: int) -> Limits:
    """The per-submission limits, refused with the reason when no submission could run within them."""
    if not math.isfinite(timeout) or timeout <= 0:
        raise GraderError(f"--timeout {timeout:g}: the time limit must be a positive number of seconds")
    if memory < MIN_MEMORY_MB:
        raise GraderError(
            f"--memory {memory}: the memory limit must be at least {MIN_MEMORY_MB} MB, since it counts the "
            "sandbox's Python with torch and the notebook's imports already loaded"
        )
    return Limits(timeout_s=timeout, memory_mb=memory)


def _chosen(submissions: list[Submission], folder: Path, students: list[str] | None) -> list[Submission]:
    """The submissions to grade: all of them, or those of ``students``; never none."""
    if not submissions:
        raise GraderError(
            f"{folder} holds no submissions ({ASSIGNMENT}/ folders of nbgrader's <student_id>/ folders, or "
            "<student_id>.ipynb files): nothing was graded or written"
        )
    if students is None:
        return submissions
    found = {submission.student_id for submission in submissions}
    unknown = sorted(set(students) - found)
    if unknown:
        raise GraderError(f"no submission of {', '.join(unknown)} in {folder}: nothing was graded or written")
    return [submission for submission in submissions if submission.student_id in students]


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, as the instructor typed it."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _report_written(published: publish.Published, where: publish.Destination) -> None:
    out = where.out
    written = f"{_shown(out / reports.GRADES)}, {_shown(out / class_report.REPORT)}, {_shown(out / 'feedback')}/"
    print(f"Wrote {written}, {_shown(out / 'results')}/ and the gradebook at {gradebook.masked(where.db_url)}.")
    course = where.course
    if not where.course_run:
        print("A scratch run: the course's gradebook, feedback/ and autograded/ are untouched.")
    if published.autograded:
        folder = _shown(course.root / course.coursedir.autograded_directory)
        print(f"{len(published.autograded)} graded copies are in {folder}/: formgrader shows them as graded.")
    if published.feedback_pages:
        folder = _shown(course.root / course.coursedir.feedback_directory)
        print(
            f"{len(published.feedback_pages)} feedback pages are in {folder}/: "
            f"`nbgrader release_feedback {ASSIGNMENT}` delivers them."
        )


def grade(args: argparse.Namespace) -> int:
    limits = check_limits(args.timeout, args.memory)
    if args.workers < 1:
        raise GraderError(f"--workers {args.workers}: at least one worker is needed")
    course = load_course(args.course)
    where = publish.destination(course, args.out, args.db)
    if args.submissions is None and not course.submitted.is_dir():
        raise GraderError(f"{course.submitted} does not exist: `nbgrader collect {ASSIGNMENT}` puts submissions there")
    folder = args.submissions or course.submitted
    submissions = _chosen(find_submissions(folder), folder, args.student)
    points = read_points()
    gradebook.check_reachable(where.db_url, where.out)  # a wrong --db stops the run before any grading
    recovered = staging.recover(where.out)
    isolation_warning = isolation()
    for warning in [recovered, isolation_warning, *(submission.warning for submission in submissions)]:
        if warning:
            print(f"WARNING: {warning}", file=sys.stderr)
    grader = Grader(points, limits, args.workers)
    start = time.monotonic()
    with tqdm(total=len(submissions), desc="Grading", unit="notebook") as bar:
        rows = grader.grade(submissions, progress=bar.update)
    figures = class_report.RunFigures(
        time.monotonic() - start, grader.workers, limits.timeout_s, limits.memory_mb, isolation_warning
    )
    try:
        published = publish.publish(rows, submissions, points, where, figures)
    except SQLAlchemyError as error:
        kept = publish.keep_unrecorded(rows, where.out)
        print(
            f"error: the gradebook at {gradebook.masked(where.db_url)} could not be written "
            f"({gradebook.first_line(error, where.db_url)}), so no result of the class changed. This run's grades "
            f"and feedback are in {kept}/; run again once the gradebook is reachable.",
            file=sys.stderr,
        )
        return 2
    print(class_report.score_table(published.graded))
    print(class_report.summary(published.class_rows))
    _report_written(published, where)
    return 0


def generate(args: argparse.Namespace) -> int:
    for path in regenerate(Path(__file__).resolve().parent.parent):
        print(f"wrote {path}")
    return 0


def package(args: argparse.Namespace) -> int:
    entries = gradescope.build_zip(args.out)
    print(f"Wrote {args.out} ({len(entries)} files): upload it as the assignment's autograder on Gradescope.")
    return 0


def gradescope_run(args: argparse.Namespace) -> int:
    gradescope.run(args.root, check_limits(args.timeout, args.memory))
    return 0


COMMANDS = {"grade": grade, "generate": generate, "gradescope": package, "gradescope-run": gradescope_run}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted: no result was changed by this run", file=sys.stderr)
        return 130
    except (GraderError, GradebookError, CourseError, ValueError, OSError, RuntimeError, CellExecutionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

"""``python -m autograder``: grade a folder of submissions, or regenerate the derived notebooks."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from nbclient.exceptions import CellExecutionError
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from autograder import class_report, gradebook, gradescope, reports
from autograder.course_root import CourseError, load_course
from autograder.gradebook import GradebookError
from autograder.grading import Grader, GraderError, find_submissions
from autograder.notebooks import ASSIGNMENT, regenerate
from autograder.points import read_points
from autograder.sandbox import Limits, isolation


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


def grade(args: argparse.Namespace) -> int:
    course = load_course(args.course)
    out = args.out or course.root / "graded"
    points = read_points()
    db_url = gradebook.parse_url(args.db or course.db_url)
    gradebook.check_reachable(db_url)  # a wrong --db stops the run before any grading
    if args.submissions is None and not course.submitted.is_dir():
        raise GraderError(f"{course.submitted} does not exist: `nbgrader collect {ASSIGNMENT}` puts submissions there")
    submissions = find_submissions(args.submissions or course.submitted)
    isolation_warning = isolation()
    for warning in [isolation_warning, *(submission.warning for submission in submissions)]:
        if warning:
            print(f"WARNING: {warning}", file=sys.stderr)
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory)
    grader = Grader(points, limits, args.workers)
    start = time.monotonic()
    with tqdm(total=len(submissions), desc="Grading", unit="notebook") as bar:
        rows = grader.grade(submissions, progress=bar.update)
    figures = class_report.RunFigures(
        time.monotonic() - start, grader.workers, limits.timeout_s, limits.memory_mb, isolation_warning
    )
    try:
        penalties = gradebook.record(rows, points, db_url, course)
        failure = None
    except SQLAlchemyError as error:  # still write what was graded, below
        penalties, failure = {}, error
    rows = [dataclasses.replace(row, late_penalty=penalties.get(row.student_id)) for row in rows]
    out.mkdir(parents=True, exist_ok=True)
    reports.write_reports(rows, out)
    class_report.write_class_report(rows, out, figures)
    print(class_report.score_table(rows))
    print(class_report.summary(rows))
    if failure is not None:
        where = gradebook.masked(db_url)
        print(
            f"error: {out / 'grades.csv'} is written without late penalties, but the gradebook at {where} "
            f"could not be: {failure}",
            file=sys.stderr,
        )
        return 2
    released = reports.write_course_feedback(rows, submissions, course)
    autograded = reports.write_autograded(rows, submissions, course)
    written = f"{out / 'grades.csv'}, {out / class_report.REPORT}, {out / 'feedback'}/, {out / 'results'}/"
    print(f"Wrote {written} and the gradebook at {gradebook.masked(db_url)}.")
    if autograded:
        print(
            f"{len(autograded)} graded copies are in {course.root / course.coursedir.autograded_directory}/: "
            "formgrader shows them as graded."
        )
    if released:
        print(
            f"{len(released)} feedback pages are in {course.root / course.coursedir.feedback_directory}/: "
            f"`nbgrader release_feedback {ASSIGNMENT}` delivers them."
        )
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
    gradescope.run(args.root, Limits(timeout_s=args.timeout, memory_mb=args.memory))
    return 0


COMMANDS = {"grade": grade, "generate": generate, "gradescope": package, "gradescope-run": gradescope_run}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (GraderError, GradebookError, CourseError, ValueError, OSError, RuntimeError, CellExecutionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

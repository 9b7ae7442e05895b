"""``python -m autograder``: grade a folder of submissions, or regenerate the derived notebooks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nbclient.exceptions import CellExecutionError
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from autograder import gradebook, reports
from autograder.grading import Grader, GraderError, find_submissions
from autograder.notebooks import regenerate
from autograder.points import read_points
from autograder.sandbox import Limits, isolation


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade every notebook in SUBMISSIONS")
    grade.add_argument("submissions", type=Path, help="<student_id>.ipynb files, or nbgrader's submitted/ layout")
    grade.add_argument("--out", type=Path, required=True, help="folder for grades.csv, feedback/, results/")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel sandboxes (default: cores)")
    grade.add_argument("--timeout", type=float, default=Limits.timeout_s, help="seconds per submission")
    grade.add_argument("--memory", type=int, default=Limits.memory_mb, help="MB of memory per submission")
    grade.add_argument("--db", help="SQLAlchemy URL of nbgrader's gradebook (default: sqlite OUT/gradebook.db)")
    commands.add_parser("generate", help="rewrite release/, solutions/, notebooks/ and examples/ from source/")
    return parser


def grade(args: argparse.Namespace) -> int:
    points = read_points()
    submissions = find_submissions(args.submissions)
    warning = isolation()
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory)
    grader = Grader(points, limits, args.workers)
    with tqdm(total=len(submissions), desc="Grading", unit="notebook") as bar:
        rows = grader.grade(submissions, progress=bar.update)
    args.out.mkdir(parents=True, exist_ok=True)
    reports.write_reports(rows, args.out)
    print(reports.score_table(rows))
    print(reports.summary(rows))
    db_url = args.db or gradebook.default_url(args.out)
    try:
        gradebook.record(rows, points, db_url)
    except SQLAlchemyError as error:
        print(f"error: grades.csv is written, but the gradebook at {db_url} could not be: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {args.out / 'grades.csv'}, {args.out / 'feedback'}/, {args.out / 'results'}/ and the gradebook.")
    return 0


def generate(args: argparse.Namespace) -> int:
    for path in regenerate(Path(__file__).resolve().parent.parent):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"grade": grade, "generate": generate}[args.command](args)
    except (GraderError, ValueError, OSError, RuntimeError, CellExecutionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

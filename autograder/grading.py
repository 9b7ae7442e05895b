"""Grade a batch: find submissions, run each in a sandbox worker, judge on this side."""

from __future__ import annotations

import contextlib
import datetime
import queue
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from autograder.cases import encode_cases, make_cases
from autograder.checks import PARTS, Judge, Verdict
from autograder.course_root import read_timestamp
from autograder.extract import InvalidSubmission, submission_module
from autograder.notebooks import ASSIGNMENT
from autograder.sandbox import Limits, Sandbox

_SAFE_ID = re.compile(r"[A-Za-z0-9_.@+-]+")
_NOT_A_VERDICT = "this is not a verdict on your work: ask the course staff to grade it again"


class GraderError(Exception):
    """The grader itself cannot run (a missing folder, say); the message says what to fix."""


@dataclass(frozen=True)
class Submission:
    student_id: str
    path: Path | None
    problem: str = ""  # why it cannot be graded, found before opening it
    folder: Path | None = None  # nbgrader's <student_id>/<assignment>/ folder, where collect keeps timestamp.txt
    timestamp: datetime.datetime | None = None  # when it was submitted (UTC), from timestamp.txt
    warning: str = ""  # graded all the same, but the instructor should know (an unreadable timestamp.txt)


@dataclass(frozen=True)
class Graded:
    """One row of the grade table: the status, and a verdict per part when it ran."""

    student_id: str
    status: str
    message: str
    points: dict[str, float]
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    timestamp: datetime.datetime | None = None
    late_penalty: float | None = None  # set from the course's late-submission policy when the grades are recorded

    def part_score(self, part: str) -> float:
        verdict = self.verdicts.get(part)
        return self.points[part] if verdict is not None and verdict.passed else 0.0

    @property
    def raw_score(self) -> float:
        return sum(self.part_score(part) for part in PARTS)

    @property
    def score(self) -> float:
        """The final score: the raw score less the late penalty, never below zero (as ``nbgrader export``)."""
        return max(0.0, self.raw_score - (self.late_penalty or 0.0))

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


def _student_notebook(folder: Path) -> tuple[Path | None, str]:
    """The notebook in nbgrader's ``<student>/<assignment>/`` folder."""
    notebooks = sorted(folder.glob("*.ipynb"))
    preferred = folder / f"{ASSIGNMENT}.ipynb"
    if preferred in notebooks:
        return preferred, ""
    if len(notebooks) == 1:
        return notebooks[0], ""
    if not notebooks:
        return None, f"no notebook was found in {folder.name}/"
    return None, f"{len(notebooks)} notebooks in {folder.name}/ and none is named {ASSIGNMENT}.ipynb"


def find_submissions(folder: Path) -> list[Submission]:
    """Flat ``<student_id>.ipynb`` files and nbgrader's ``<student_id>/<assignment>/`` layout (with the
    submission time of its ``timestamp.txt``, when ``nbgrader collect`` wrote one)."""
    if not folder.is_dir():
        raise GraderError(f"submissions folder {folder} does not exist or is not a folder")
    found: dict[str, Submission] = {}

    def add(student_id: str, path: Path | None, problem: str = "", assignment: Path | None = None) -> None:
        if not _SAFE_ID.fullmatch(student_id):
            student_id, problem = re.sub(r"[^A-Za-z0-9_.@+-]", "_", student_id), "the student id has unusual characters"
        if student_id in found:
            student_id, problem = f"{student_id}.duplicate", "a second submission for the same student id"
        timestamp, warning = read_timestamp(assignment) if assignment is not None else (None, "")
        found[student_id] = Submission(student_id, path, problem, assignment, timestamp, warning)

    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix == ".ipynb":
            add(entry.stem, entry)
        elif entry.is_dir() and not entry.name.startswith("."):
            assignment = entry / ASSIGNMENT
            if assignment.is_dir():
                add(entry.name, *_student_notebook(assignment), assignment=assignment)
            elif any(entry.glob("*/*.ipynb")):
                add(entry.name, None, f"no {ASSIGNMENT}/ folder in {entry.name}/")
    return list(found.values())


class Grader:
    """Grades submissions on ``workers`` sandboxes against one fresh set of cases."""

    def __init__(self, points: dict[str, float], limits: Limits, workers: int) -> None:
        self.points = points
        self.limits = limits
        self.workers = max(1, workers)
        self.cases = make_cases(secrets.randbits(64))
        self.cases_blob = encode_cases(self.cases)
        self.judge = Judge(self.cases)

    def grade_one(self, submission: Submission, sandbox: Sandbox) -> Graded:
        def row(status: str, message: str, verdicts: dict[str, Verdict] | None = None) -> Graded:
            return Graded(submission.student_id, status, message, self.points, verdicts or {}, submission.timestamp)

        if submission.problem or submission.path is None:
            return row("invalid", submission.problem)
        try:
            module = submission_module(submission.path)
        except InvalidSubmission as error:
            return row("invalid", str(error))
        outcome = sandbox.run(module.source, self.cases_blob)
        if outcome.status != "ok":
            return row(outcome.status, module.explain(outcome.message))
        errors = {key: module.explain(error) for key, error in outcome.meta["errors"].items()}
        return row("ok", "", self.judge(outcome.arrays, {**outcome.meta, "errors": errors}))

    def grade(self, submissions: list[Submission], progress: Callable[[], None] = lambda: None) -> list[Graded]:
        """Every submission graded, in the order given; one sandbox per worker thread."""
        idle: queue.SimpleQueue[Sandbox] = queue.SimpleQueue()

        def work(submission: Submission) -> Graded:
            sandbox = idle.get()
            try:
                return self.grade_one(submission, sandbox)
            except Exception as error:  # a fault of ours on one notebook must not lose the batch's grades
                message = f"the grader failed on this notebook ({type(error).__name__}: {error}); {_NOT_A_VERDICT}"
                return Graded(submission.student_id, "crashed", message, self.points, {}, submission.timestamp)
            finally:
                idle.put(sandbox)
                progress()

        count = min(self.workers, max(1, len(submissions)))
        pool = ThreadPoolExecutor(max_workers=count)
        with contextlib.ExitStack() as stack:
            # On the way out (Ctrl-C included) the sandboxes close first, which ends the submissions still
            # running, then the pool drops the ones not started: an interrupted batch stops at once.
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
            for sandbox in pool.map(lambda _: Sandbox(self.limits), range(count)):
                idle.put(stack.enter_context(sandbox))
            return list(pool.map(work, submissions))


def iter_parts(graded: Graded) -> Iterator[tuple[str, float, float, Verdict | None]]:
    """``(part, score, max score, verdict)`` for each part, in the order of :data:`PARTS`."""
    for part in PARTS:
        yield part, graded.part_score(part), graded.points[part], graded.verdicts.get(part)

"""What a graded batch leaves behind: grades.csv, feedback pages (also where nbgrader's release_feedback
finds them), Gradescope results, each student's record of the grading, and the course's autograded/
copies that formgrader reads. Each is staged (``autograder.staging``) and appears when the run commits.

Feedback carries the verdicts' hints and the student's own error messages,
never the checks' code, the reference or the cases' numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import html
import io
import json
import shutil
import textwrap
from pathlib import Path

import nbformat

from autograder.checks import PARTS, Verdict
from autograder.course_root import SECRET, TIMESTAMP, Course
from autograder.grading import Graded, Submission, iter_parts
from autograder.staging import Staging

GRADES = "grades.csv"
RECORDS = "records"  # OUT/records/<student_id>.json: each student's last grading, whole, for the class view

# The columns of ``nbgrader export`` where they mean the same (timestamp, raw_score, late_submission_penalty, score,
# max_score), then the parts' scores and how the grading went.
CSV_COLUMNS = (
    "student_id", "timestamp", "raw_score", "late_submission_penalty", "score", "max_score", *PARTS, "status", "message"
)  # fmt: skip

STATUS_WORDS = {
    "ok": "graded",
    "invalid": "could not be read as a notebook with a CouplingLayer",
    "error": "the notebook's code raised an error before it could be graded",
    "timeout": "took longer than the time limit",
    "memory": "used more memory than the limit",
    "output": "printed more than the output limit",
    "crashed": "stopped without an answer",
    "recorded": "graded outside this folder: the gradebook's scores only",
}


def number(value: float) -> str:
    return f"{value:g}"


def _timestamp(row: Graded) -> str:
    return "" if row.timestamp is None else str(row.timestamp)  # nbgrader export's format: UTC, no zone


def csv_text(rows: list[Graded]) -> str:
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        scores = [number(row.part_score(part)) for part in PARTS]
        penalty = row.late_penalty or 0
        totals = [number(row.raw_score), number(penalty), number(row.score), number(row.max_score)]
        writer.writerow([row.student_id, _timestamp(row), *totals, *scores, row.status, row.message])
    return handle.getvalue()


def record_json(row: Graded) -> dict:
    """The whole grading of one student, to rebuild the class view when others are regraded."""
    data = dataclasses.asdict(row)
    data["timestamp"] = None if row.timestamp is None else row.timestamp.isoformat()
    return data


def graded_from_record(data: dict) -> Graded:
    """The :class:`Graded` that :func:`record_json` wrote; ``ValueError`` or ``KeyError`` when it is not one."""
    verdicts = {part: Verdict(**verdict) for part, verdict in data["verdicts"].items()}
    stamp = data["timestamp"]
    timestamp = None if stamp is None else datetime.datetime.fromisoformat(stamp)
    return Graded(**{**data, "verdicts": verdicts, "timestamp": timestamp})


def _part_text(verdict: Verdict | None, not_graded: str) -> str:
    if verdict is None:
        return f"Not graded: {not_graded}"
    if verdict.passed:
        return "Passed."
    text = f"{verdict.hint}."
    return f"{text}\nYour code raised: {verdict.student_error}" if verdict.student_error else text


def results_json(row: Graded) -> dict:
    """Gradescope's results.json for one submission."""
    tests = []
    for part, score, max_score, verdict in iter_parts(row):
        output = _part_text(verdict, row.message)
        tests.append(
            {
                "name": part,
                "score": score,
                "max_score": max_score,
                "status": "passed" if verdict is not None and verdict.passed else "failed",
                "output": output,
                "visibility": "visible",
            }
        )
    summary = "" if row.status == "ok" else f"{STATUS_WORDS.get(row.status, row.status)}: {row.message}"
    return {"score": row.score, "output": summary, "visibility": "visible", "tests": tests}


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>RealNVP feedback: {student}</title>
<style>
body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.45; }}
.part {{ border-left: 6px solid; padding: .3em 1em; margin: 1em 0; }}
.passed {{ border-color: #2a7; }} .failed {{ border-color: #c33; }}
pre {{ background: #f4f4f4; padding: .5em; white-space: pre-wrap; }}
</style></head><body>
<h1>RealNVP coupling layer: {score} / {max_score}</h1>
<p>Student: <strong>{student}</strong>. {status}</p>
{late}{parts}
</body></html>
"""


def _late_html(row: Graded) -> str:
    """When it was submitted, and the late penalty with the score before and after it."""
    if row.timestamp is None:
        return ""
    submitted = f"<p>Submitted {html.escape(_timestamp(row))} UTC."
    if not row.late_penalty:
        return submitted + "</p>\n"
    return (
        f"{submitted} It was late: score {number(row.raw_score)}, late penalty {number(row.late_penalty)}, "
        f"final score {number(row.score)} / {number(row.max_score)}.</p>\n"
    )


def feedback_html(row: Graded) -> str:
    status = "" if row.status == "ok" else f"Your notebook {STATUS_WORDS.get(row.status, row.status)}: {row.message}"
    parts = []
    for part, score, max_score, verdict in iter_parts(row):
        passed = verdict is not None and verdict.passed
        body = "<p>Passed.</p>"
        if verdict is None:
            body = "<p>Not graded.</p>"
        elif not passed:
            body = f"<p>{html.escape(verdict.hint)}.</p>"
            if verdict.student_error:
                body += f"<p>Your code raised:</p><pre>{html.escape(verdict.student_error)}</pre>"
        parts.append(
            f'<div class="part {"passed" if passed else "failed"}">'
            f"<h2>{html.escape(part)}: {number(score)} / {number(max_score)}</h2>{body}</div>"
        )
    return _PAGE.format(
        late=_late_html(row),
        student=html.escape(row.student_id),
        score=number(row.score),
        max_score=number(row.max_score),
        status=html.escape(status),
        parts="\n".join(parts),
    )


def stage_student_files(rows: list[Graded], out: Path, staging: Staging) -> None:
    """feedback/<id>.html, results/<id>.json (Gradescope's format) and records/<id>.json under ``out``."""
    for row in rows:
        staging.write_text(out / "feedback" / f"{row.student_id}.html", feedback_html(row))
        staging.write_text(out / "results" / f"{row.student_id}.json", json.dumps(results_json(row), indent=2) + "\n")
        staging.write_text(out / RECORDS / f"{row.student_id}.json", json.dumps(record_json(row), indent=2) + "\n")


def read_record(out: Path, student_id: str) -> Graded | None:
    """The student's record in ``out``, or None when there is none that can be read."""
    try:
        return graded_from_record(json.loads((out / RECORDS / f"{student_id}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stage_course_feedback(
    rows: list[Graded], submissions: list[Submission], course: Course, staging: Staging
) -> list[Path]:
    """Each student's feedback page where ``nbgrader release_feedback`` delivers it from:
    ``feedback/<student_id>/realnvp/<notebook>.html``, beside the submission's ``timestamp.txt`` and
    ``submission_secret.txt`` (release_feedback addresses the page by them). Only submissions that came
    through nbgrader's exchange have both; the others get their page in OUT/feedback/ only."""
    written = []
    for row, submission in zip(rows, submissions, strict=True):
        folder, notebook = submission.folder, submission.path
        if folder is None or notebook is None or not all((folder / name).is_file() for name in (TIMESTAMP, SECRET)):
            continue
        target = course.feedback_folder(row.student_id)
        for name in (TIMESTAMP, SECRET):
            staging.copy_file(folder / name, target / name)
        page = target / f"{notebook.stem}.html"
        staging.write_text(page, feedback_html(row))
        written.append(page)
    return written


def stage_autograded(rows: list[Graded], submissions: list[Submission], course: Course, staging: Staging) -> list[Path]:
    """Each submission collected into the course's ``submitted/``, copied to ``autograded/<student_id>/realnvp/``
    as ``nbgrader autograde`` leaves it. Formgrader counts a submission as graded (and shows its score from the
    gradebook) only when that folder exists, and its grading view opens the notebook there: its outputs are
    cleared, and each test cell shows this grader's verdict on its part."""
    written = []
    for row, submission in zip(rows, submissions, strict=True):
        folder = submission.folder
        if folder is None or not folder.resolve().is_relative_to(course.submitted):
            continue
        target = course.autograded_folder(row.student_id)
        copy = staging.folder(target)
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        if submission.path is not None:
            _show_verdicts(copy / submission.path.relative_to(folder), row)
        written.append(target)
    return written


def _show_verdicts(path: Path, row: Graded) -> None:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # an unreadable notebook stays as submitted; its status says why
        return
    parts = {part: (score, max_score, verdict) for part, score, max_score, verdict in iter_parts(row)}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        part = cell.metadata.get("nbgrader", {}).get("grade_id")
        if part in parts:
            score, max_score, verdict = parts[part]
            text = _wrapped(f"{part}: {number(score)} / {number(max_score)}. {_part_text(verdict, row.message)}")
            passed = verdict is not None and verdict.passed
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout" if passed else "stderr", text=text)]
    nbformat.write(nb, path)


def _wrapped(text: str) -> str:
    """Lines of at most 100 characters: formgrader shows outputs without wrapping them."""
    return "".join(textwrap.fill(line, 100) + "\n" for line in text.splitlines())

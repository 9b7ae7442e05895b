"""What a graded batch leaves behind: grades.csv, feedback pages (also where nbgrader's release_feedback
finds them), Gradescope results, and the course's autograded/ copies that formgrader reads.

Feedback carries the verdicts' hints and the student's own error messages,
never the checks' code, the reference or the cases' numbers.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import textwrap
from pathlib import Path

import nbformat

from autograder.checks import PARTS, Verdict
from autograder.course_root import SECRET, TIMESTAMP, Course
from autograder.grading import Graded, Submission, iter_parts

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
}


def number(value: float) -> str:
    return f"{value:g}"


def _timestamp(row: Graded) -> str:
    return "" if row.timestamp is None else str(row.timestamp)  # nbgrader export's format: UTC, no zone


def write_csv(rows: list[Graded], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            scores = [number(row.part_score(part)) for part in PARTS]
            penalty = row.late_penalty or 0
            totals = [number(row.raw_score), number(penalty), number(row.score), number(row.max_score)]
            writer.writerow([row.student_id, _timestamp(row), *totals, *scores, row.status, row.message])


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


def write_reports(rows: list[Graded], out: Path) -> None:
    """grades.csv, feedback/<id>.html and results/<id>.json under ``out``."""
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    (out / "results").mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "grades.csv")
    for row in rows:
        (out / "feedback" / f"{row.student_id}.html").write_text(feedback_html(row), encoding="utf-8")
        (out / "results" / f"{row.student_id}.json").write_text(json.dumps(results_json(row), indent=2) + "\n")


def write_course_feedback(rows: list[Graded], submissions: list[Submission], course: Course) -> list[Path]:
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
        target.mkdir(parents=True, exist_ok=True)
        for name in (TIMESTAMP, SECRET):
            shutil.copyfile(folder / name, target / name)
        page = target / f"{notebook.stem}.html"
        page.write_text(feedback_html(row), encoding="utf-8")
        written.append(page)
    return written


def write_autograded(rows: list[Graded], submissions: list[Submission], course: Course) -> list[Path]:
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
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target)
        if submission.path is not None:
            _show_verdicts(target / submission.path.relative_to(folder), row)
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

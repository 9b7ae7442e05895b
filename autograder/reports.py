"""What a graded batch leaves behind: grades.csv, feedback pages, Gradescope results.

Feedback carries the verdicts' hints and the student's own error messages,
never the checks' code, the reference or the cases' numbers.
"""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from pathlib import Path

from autograder.checks import PARTS, Verdict
from autograder.grading import Graded, iter_parts

CSV_COLUMNS = ("student_id", "score", "max_score", *PARTS, "status", "message")

STATUS_WORDS = {
    "ok": "graded",
    "invalid": "could not be read as a notebook with a CouplingLayer",
    "error": "the notebook's code raised an error before it could be graded",
    "timeout": "took longer than the time limit",
    "memory": "used more memory than the limit",
    "output": "printed more than the output limit",
    "crashed": "stopped without an answer",
}


def _number(value: float) -> str:
    return f"{value:g}"


def write_csv(rows: list[Graded], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            scores = [_number(row.part_score(part)) for part in PARTS]
            writer.writerow(
                [row.student_id, _number(row.score), _number(row.max_score), *scores, row.status, row.message]
            )


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
{parts}
</body></html>
"""


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
            f"<h2>{html.escape(part)}: {_number(score)} / {_number(max_score)}</h2>{body}</div>"
        )
    return _PAGE.format(
        student=html.escape(row.student_id),
        score=_number(row.score),
        max_score=_number(row.max_score),
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


def summary(rows: list[Graded]) -> str:
    """Counts per status and the score distribution, for the end of a run."""
    if not rows:
        return "No submissions found."
    statuses = Counter(row.status for row in rows)
    scores = Counter(row.score for row in rows)
    max_score = _number(rows[0].max_score)
    mean = sum(row.score for row in rows) / len(rows)
    lines = [
        f"{len(rows)} submissions: " + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
        f"mean score {mean:.2f} / {max_score}",
        "score distribution: "
        + ", ".join(f"{_number(score)}/{max_score} x{count}" for score, count in sorted(scores.items(), reverse=True)),
    ]
    return "\n".join(lines)


def score_table(rows: list[Graded]) -> str:
    """A plain-text table of scores per part, one line per student."""
    header = ["student_id", *PARTS, "score", "status"]
    body = [
        [row.student_id, *(_number(row.part_score(part)) for part in PARTS), _number(row.score), row.status]
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body, strict=True)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)) for line in [header, *body]
    )

import csv
import dataclasses
import datetime
from pathlib import Path

from autograder.checks import PARTS, Verdict
from autograder.class_report import (
    COUNTS,
    COUNTS_COLUMNS,
    REPORT,
    RunFigures,
    mistakes,
    report_html,
    score_table,
    stage_class_report,
    summary,
)
from autograder.grading import Graded
from autograder.staging import Staging
from tests.pages import fetched_resources, inline_pngs

POINTS = {"forward_y": 4.0, "log_det_J": 4.0, "round_trip": 2.0}
SIGN = "log_det_J has the opposite sign"
EXP_MINUS_S = "the scale was applied as exp(-s)"
RUN = RunFigures(seconds=12.5, workers=2, timeout_s=60, memory_mb=2048, isolation_warning="")


def graded(student_id: str, status: str = "ok", message: str = "", failed: dict[str, str] | None = None) -> Graded:
    """A row whose ``failed`` parts failed with the given mistake."""
    failed = failed or {}
    verdicts = {}
    if status == "ok":
        for part in PARTS:
            mistake = failed.get(part, "")
            verdicts[part] = Verdict(part, not mistake, f"{mistake} (on case 3)" if mistake else "", "", mistake)
    return Graded(student_id, status, message, POINTS, verdicts)


def class_rows() -> list[Graded]:
    return [
        graded("ada"),
        graded("bob", failed={"log_det_J": SIGN, "round_trip": SIGN}),
        graded("cy", failed={"log_det_J": SIGN}),
        graded("dee", failed={"forward_y": EXP_MINUS_S}),
        graded("eve", "timeout", "took more than 60 s"),
        graded("fay", "invalid", "the file is empty"),
        graded("gus", "timeout", "took more than 60 s"),
    ]


def test_mistakes_are_counted_most_common_first_with_the_students_who_made_them():
    found = mistakes(class_rows())
    assert [(m.part, m.text, m.students) for m in found] == [
        ("log_det_J", SIGN, ("bob", "cy")),
        ("forward_y", EXP_MINUS_S, ("dee",)),
        ("round_trip", SIGN, ("bob",)),
    ]


def test_the_summary_counts_statuses_scores_and_the_top_mistakes():
    text = summary(class_rows())
    assert "7 submissions: 1 invalid, 4 ok, 2 timeout" in text
    assert "10/10 x1" in text and "0/10 x3" in text
    assert f"most common mistakes:\n     2  log_det_J: {SIGN}\n     1  forward_y: {EXP_MINUS_S}" in text
    assert summary([]) == "No submissions found."


def test_the_score_table_has_a_late_penalty_column_only_when_one_was_given():
    rows = class_rows()
    assert score_table(rows).splitlines()[0].split() == ["student_id", *PARTS, "score", "status"]
    late = dataclasses.replace(rows[0], timestamp=datetime.datetime(2026, 12, 1), late_penalty=3.0)
    assert score_table([late, *rows[1:]]).splitlines()[0].split() == [
        "student_id",
        *PARTS,
        "late_penalty",
        "score",
        "status",
    ]
    assert "late penalties: 1 submissions, 3 points in all" in summary([late])


def write_class_report(rows: list[Graded], out: Path, run: RunFigures) -> None:
    staging = Staging(out)
    stage_class_report(rows, out, run, staging)
    staging.commit()


def test_the_counts_csv_has_scores_parts_mistakes_and_statuses(tmp_path):
    write_class_report(class_rows(), tmp_path, RUN)
    with (tmp_path / COUNTS).open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COUNTS_COLUMNS
        counts = {(row["section"], row["part"], row["item"]): row for row in reader}
    assert counts[("score", "", "10")]["students"] == "ada"
    assert counts[("score", "", "0")]["count"] == "3"
    assert counts[("score", "", "6")]["students"] == "cy;dee"
    assert [counts[("part", part, "passed")]["count"] for part in PARTS] == ["3", "2", "3"]
    sign = counts[("mistake", "log_det_J", SIGN)]
    assert (sign["count"], sign["share"], sign["students"]) == ("2", "29%", "bob;cy")
    assert counts[("status", "", "timeout")]["students"] == "eve;gus"
    assert counts[("status", "", "invalid")]["count"] == "1"


def test_the_page_shows_the_histogram_parts_mistakes_statuses_and_the_grader(tmp_path):
    write_class_report(class_rows(), tmp_path, RUN)
    page = (tmp_path / REPORT).read_text()
    pictures = inline_pngs(page)
    assert len(pictures) == 2 and all(picture.startswith(b"\x89PNG\r\n\x1a\n") for picture in pictures)
    assert SIGN in page and EXP_MINUS_S in page
    assert '<a href="feedback/bob.html">bob</a>, <a href="feedback/cy.html">cy</a>' in page
    assert "timeout: 2 (took longer than the time limit)" in page and "the file is empty" in page
    assert "7 submissions graded in 12.5 s (1.79 s each) by 2 workers" in page
    assert "isolated under bubblewrap" in page


def test_the_page_needs_no_network_and_escapes_what_students_wrote():
    hostile = graded('x"><script>', "error", "<img src=http://evil.example/x.png>")
    page = report_html([*class_rows(), hostile], RUN)
    assert fetched_resources(page) == []
    assert "<script>" not in page and "<img src=http" not in page


def test_the_page_warns_when_submissions_were_not_isolated():
    page = report_html(class_rows(), dataclasses.replace(RUN, isolation_warning="submissions are NOT isolated"))
    assert "<strong>submissions are NOT isolated</strong>" in page


def test_a_class_with_no_mistakes_or_no_submissions_still_gets_a_page():
    assert "The grader named no mistake" in report_html([graded("ada")], RUN)
    assert "None: every submission ran to the end" in report_html([graded("ada")], RUN)
    assert "No submissions were found" in report_html([], RUN)

import csv
import dataclasses
import datetime
import json
import shutil

import nbformat

from autograder.checks import PARTS, Verdict
from autograder.course_root import load_course
from autograder.grading import Graded, Submission
from autograder.notebooks import RELEASE
from autograder.reports import (
    CSV_COLUMNS,
    csv_text,
    feedback_html,
    graded_from_record,
    read_record,
    record_json,
    results_json,
    stage_autograded,
    stage_course_feedback,
    stage_student_files,
)
from autograder.staging import Staging
from tests.conftest import ROOT

POINTS = {"forward_y": 4.0, "log_det_J": 4.0, "round_trip": 2.0}


def graded(student_id="ada", status="ok", message="", failed=()):
    verdicts = {}
    if status == "ok":
        for part in PARTS:
            hint = "log_det_J has the opposite sign <script>alert(1)</script>" if part in failed else ""
            verdicts[part] = Verdict(part, part not in failed, hint, "ValueError: <b>bad</b>" if hint else "")
    return Graded(student_id, status, message, POINTS, verdicts)


def test_scores_follow_the_points_table():
    row = graded(failed=("log_det_J", "round_trip"))
    assert (row.raw_score, row.score, row.max_score) == (4.0, 4.0, 10.0)
    assert graded(status="timeout", message="took too long").score == 0


def test_grades_csv_has_one_row_per_submission_with_the_documented_columns(tmp_path):
    rows = [graded("ada"), graded("bob", failed=("log_det_J",)), graded("eve", "invalid", "the file is empty")]
    staging = Staging(tmp_path)
    stage_student_files(rows, tmp_path, staging)
    staging.write_text(tmp_path / "grades.csv", csv_text(rows))
    staging.commit()
    with (tmp_path / "grades.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == CSV_COLUMNS
    assert [(r["student_id"], r["score"], r["log_det_J"], r["status"]) for r in table] == [
        ("ada", "10", "4", "ok"),
        ("bob", "6", "0", "ok"),
        ("eve", "0", "0", "invalid"),
    ]
    assert table[2]["message"] == "the file is empty"
    assert {p.name for p in (tmp_path / "feedback").iterdir()} == {"ada.html", "bob.html", "eve.html"}
    assert {p.name for p in (tmp_path / "results").iterdir()} == {"ada.json", "bob.json", "eve.json"}


def test_a_record_gives_back_the_whole_grading_and_a_damaged_one_reads_as_none(tmp_path):
    row = late(graded("bob", failed=("log_det_J",)), 3.0)
    assert graded_from_record(json.loads(json.dumps(record_json(row)))) == row
    staging = Staging(tmp_path)
    stage_student_files([row], tmp_path, staging)
    staging.commit()
    assert read_record(tmp_path, "bob") == row
    (tmp_path / "records" / "bob.json").write_text('{"student_id": "bob"}')
    assert read_record(tmp_path, "bob") is None and read_record(tmp_path, "nobody") is None


def test_results_json_follows_gradescopes_schema():
    result = results_json(graded(failed=("round_trip",)))
    assert result["score"] == 8.0
    assert [test["name"] for test in result["tests"]] == list(PARTS)
    for test in result["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
    assert result["tests"][2]["score"] == 0 and "opposite sign" in result["tests"][2]["output"]
    assert "ValueError" in result["tests"][2]["output"]
    json.dumps(result)


def test_feedback_escapes_whatever_the_student_wrote():
    page = feedback_html(graded(failed=("log_det_J",)))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>bad</b>" not in page and "ValueError: &lt;b&gt;bad&lt;/b&gt;" in page
    assert "6 / 10" in page


def test_feedback_for_an_ungraded_submission_says_why():
    page = feedback_html(graded(status="memory", message="it used more than 2048 MB"))
    assert "used more memory than the limit" in page and "2048 MB" in page and "Not graded" in page


def late(row: Graded, penalty: float) -> Graded:
    return dataclasses.replace(row, timestamp=datetime.datetime(2026, 12, 1, 17, 30), late_penalty=penalty)


def test_a_late_penalty_shows_as_raw_score_penalty_and_final_score_like_nbgrader_export(tmp_path):
    rows = [late(graded("ada", failed=("round_trip",)), 8.0), late(graded("bob"), 3.0), graded("cy")]
    staging = Staging(tmp_path)
    stage_student_files(rows, tmp_path, staging)
    staging.write_text(tmp_path / "grades.csv", csv_text(rows))
    staging.commit()
    with (tmp_path / "grades.csv").open() as handle:
        table = {row["student_id"]: row for row in csv.DictReader(handle)}
    columns = ("timestamp", "raw_score", "late_submission_penalty", "score", "max_score")
    assert [table["ada"][c] for c in columns] == ["2026-12-01 17:30:00", "8", "8", "0", "10"]
    assert [table["bob"][c] for c in columns] == ["2026-12-01 17:30:00", "10", "3", "7", "10"]
    assert [table["cy"][c] for c in columns] == ["", "10", "0", "10", "10"]
    page = (tmp_path / "feedback" / "bob.html").read_text()
    assert "Submitted 2026-12-01 17:30:00 UTC" in page and "late penalty 3, final score 7 / 10" in page
    assert "7 / 10" in feedback_html(rows[1]) and "late" not in feedback_html(rows[2])


def test_course_feedback_goes_where_nbgrader_release_feedback_looks_for_it(tmp_path):
    course = load_course(tmp_path)  # no nbgrader_config.py: nbgrader's defaults, rooted here
    submissions = []
    for student, from_exchange in (("ada", True), ("bob", False)):
        folder = tmp_path / "submitted" / student / "realnvp"
        folder.mkdir(parents=True)
        (folder / "realnvp.ipynb").write_text("{}")
        if from_exchange:
            (folder / "timestamp.txt").write_text("2026-12-01 17:30:00.000000 UTC")
            (folder / "submission_secret.txt").write_text("s3cret")
        submissions.append(Submission(student, folder / "realnvp.ipynb", folder=folder))
    rows = [graded("ada", failed=("log_det_J",)), graded("bob")]

    staging = Staging(tmp_path / "graded")
    written = stage_course_feedback(rows, submissions, course, staging)
    staging.commit()

    ada = tmp_path / "feedback" / "ada" / "realnvp"
    assert written == [ada / "realnvp.html"]
    assert (ada / "timestamp.txt").read_text() == "2026-12-01 17:30:00.000000 UTC"
    assert (ada / "submission_secret.txt").read_text() == "s3cret"
    assert "opposite sign" in (ada / "realnvp.html").read_text()
    assert not (tmp_path / "feedback" / "bob").exists()  # no exchange files: release_feedback could not address it


def test_graded_copies_go_where_formgrader_looks_with_each_test_cell_showing_its_verdict(tmp_path):
    course = load_course(tmp_path)
    submissions = []
    for student, folder in (("ada", tmp_path / "submitted" / "ada" / "realnvp"), ("bob", tmp_path / "elsewhere")):
        folder.mkdir(parents=True)
        shutil.copyfile(ROOT / RELEASE, folder / "realnvp.ipynb")
        (folder / "timestamp.txt").write_text("2026-12-01 17:30:00.000000 UTC")
        submissions.append(Submission(student, folder / "realnvp.ipynb", folder=folder))
    rows = [graded("ada", failed=("log_det_J",)), graded("bob")]

    staging = Staging(tmp_path / "graded")
    written = stage_autograded(rows, submissions, course, staging)
    staging.commit()

    ada = tmp_path / "autograded" / "ada" / "realnvp"
    assert written == [ada]  # bob's notebook is not in the course's submitted/: formgrader does not list it
    assert (ada / "timestamp.txt").read_text() == "2026-12-01 17:30:00.000000 UTC"
    shown = {
        cell.metadata["nbgrader"]["grade_id"]: cell.outputs
        for cell in nbformat.read(ada / "realnvp.ipynb", as_version=4).cells
        if cell.cell_type == "code" and cell.outputs
    }
    assert sorted(shown) == sorted(PARTS)
    (log_det,) = shown["log_det_J"]
    assert log_det.name == "stderr" and log_det.text.startswith("log_det_J: 0 / 4. log_det_J has the opposite sign")
    assert shown["forward_y"][0].name == "stdout" and shown["forward_y"][0].text == "forward_y: 4 / 4. Passed.\n"

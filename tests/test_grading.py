"""The whole grader on the public corpus: one batch through the CLI, then every row checked."""

from __future__ import annotations

import csv
import html
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from autograder import cli, grading
from autograder.grading import Graded, Grader, Submission, find_submissions
from autograder.points import read_points
from autograder.sandbox import Limits
from tests.corpus import CORPUS, ROOT, grade_corpus, leaked_processes
from tests.nbgrader_export import nbgrader_export
from tests.pages import fetched_resources, inline_pngs

PARTS = ("forward_y", "log_det_J", "round_trip")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The corpus graded once, with a short time limit so the abusive entries finish quickly."""
    work = tmp_path_factory.mktemp("corpus")
    run, rows = grade_corpus(work)
    return work, run, rows


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_corpus_entry_gets_its_status_and_parts(batch, name):
    work, _, rows = batch
    entry, row = CORPUS[name], rows[name]
    assert row["status"] == entry.status, row["message"]
    passed = {part for part in PARTS if float(row[part]) > 0}
    assert passed == entry.passed, row["message"]
    assert entry.message in row["message"]
    results = json.loads((work / "out" / "results" / f"{name}.json").read_text())
    outputs = {test["name"]: test["output"] for test in results["tests"]}
    for part, fragment in entry.hints.items():
        assert fragment in outputs[part]
        assert fragment in (work / "out" / "feedback" / f"{name}.html").read_text()


def test_every_submission_has_one_row_and_the_batch_prints_a_summary(batch):
    _, run, rows = batch
    assert set(rows) == set(CORPUS)
    assert f"{len(CORPUS)} submissions:" in run.stdout
    assert "score distribution" in run.stdout


def test_no_submission_wrote_outside_its_sandbox(batch):
    work, _, _ = batch
    for path in [*work.rglob("*"), Path("/etc/passwd"), ROOT / "source" / "realnvp" / "realnvp.ipynb"]:
        if path.is_file():
            assert b"HACKED" not in path.read_bytes(), path


def test_no_process_a_submission_started_outlives_grading(batch):
    work, _, _ = batch
    assert leaked_processes(work) == []


def test_feedback_never_shows_the_hidden_checks(batch):
    work, _, _ = batch
    for page in (work / "out" / "feedback").iterdir():
        text = page.read_text()
        for secret in ("check_part", "BEGIN HIDDEN TESTS", "reference.", "torch.autograd.functional"):
            assert secret not in text, (page.name, secret)


def test_nbgrader_export_reads_the_grades_from_the_gradebook(batch):
    work, _, rows = batch
    export = nbgrader_export(f"sqlite:///{work / 'gradebook.db'}", work)
    exported = {row["student_id"]: float(row["score"]) for row in export}
    assert exported == {name: float(row["score"]) for name, row in rows.items()}


def _class_counts(work: Path) -> dict[str, list[dict[str, str]]]:
    with (work / "out" / "class_counts.csv").open() as handle:
        counts: dict[str, list[dict[str, str]]] = {}
        for row in csv.DictReader(handle):
            counts.setdefault(row["section"], []).append(row)
    return counts


def test_the_class_counts_equal_the_rows_of_grades_csv(batch):
    work, _, rows = batch
    counts = _class_counts(work)
    assert {row["item"]: int(row["count"]) for row in counts["score"]} == Counter(r["score"] for r in rows.values())
    passed = {part: sum(float(r[part]) > 0 for r in rows.values()) for part in PARTS}
    assert {row["part"]: int(row["count"]) for row in counts["part"]} == passed
    not_ok = Counter(r["status"] for r in rows.values() if r["status"] != "ok")
    assert {row["item"]: int(row["count"]) for row in counts["status"]} == not_ok


def test_every_failed_part_is_under_exactly_one_named_mistake_on_the_class_page(batch):
    work, _, rows = batch
    page = (work / "out" / "report.html").read_text()
    named = {
        (row["part"], student): row["item"]
        for row in _class_counts(work)["mistake"]
        for student in row["students"].split(";")
    }
    failed = {(part, name) for name, r in rows.items() if r["status"] == "ok" for part in PARTS if float(r[part]) == 0}
    assert set(named) == failed
    for (part, name), mistake in named.items():
        assert html.escape(mistake) in page, (part, name)
    for name, entry in CORPUS.items():
        for part, fragment in entry.hints.items():
            assert fragment in named[(part, name)] or name.startswith("name_")  # that one: its explanation


def test_the_class_page_opens_with_no_network_and_the_summary_names_the_top_mistakes(batch):
    work, run, _ = batch
    page = (work / "out" / "report.html").read_text()
    assert fetched_resources(page) == [] and len(inline_pngs(page)) == 2
    assert "most common mistakes:" in run.stdout


def test_a_missing_submissions_folder_is_a_clear_error(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(tmp_path / "nowhere"), "--course", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "does not exist" in run.stderr and "Traceback" not in run.stderr


def test_flat_files_and_nbgrader_layout_are_both_found(tmp_path):
    (tmp_path / "ada.ipynb").write_text("{}")
    (tmp_path / "bob" / "realnvp").mkdir(parents=True)
    (tmp_path / "bob" / "realnvp" / "realnvp.ipynb").write_text("{}")
    (tmp_path / "cyd" / "realnvp").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("not a submission")
    found = {s.student_id: s for s in find_submissions(tmp_path)}
    assert set(found) == {"ada", "bob", "cyd"}
    assert found["bob"].path == tmp_path / "bob" / "realnvp" / "realnvp.ipynb"
    assert found["cyd"].path is None and "no notebook" in found["cyd"].problem


def test_a_fault_of_the_grader_on_one_notebook_keeps_the_rest_of_the_batch(tmp_path, monkeypatch):
    class IdleSandbox:
        def __init__(self, limits: Limits) -> None:
            pass

        def __enter__(self) -> IdleSandbox:
            return self

        def __exit__(self, *exc_info: object) -> None:
            pass

    def grade_one(self: Grader, submission: Submission, sandbox: IdleSandbox) -> Graded:
        if submission.student_id == "bob":
            raise KeyError("a bug of ours")
        return Graded(submission.student_id, "ok", "", self.points)

    monkeypatch.setattr(grading, "Sandbox", IdleSandbox)
    monkeypatch.setattr(Grader, "grade_one", grade_one)
    submissions = [Submission(student, tmp_path / f"{student}.ipynb") for student in ("ada", "bob", "cyd")]
    rows = Grader(read_points(), Limits(), workers=2).grade(submissions)
    assert [(row.student_id, row.status) for row in rows] == [("ada", "ok"), ("bob", "crashed"), ("cyd", "ok")]
    assert "KeyError" in rows[1].message and "not a verdict on your work" in rows[1].message


def test_grading_a_course_before_collect_says_where_submissions_come_from(tmp_path, capsys):
    assert cli.main(["grade", "--course", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'submitted'} does not exist: `nbgrader collect realnvp` puts submissions there" in error

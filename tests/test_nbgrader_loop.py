"""The whole course loop, with nbgrader's own commands on a temporary exchange, as a real course runs it.

The instructor generates and releases the assignment; two students, each with a home of their own, fetch
it into a folder outside this repository and work in a Python that cannot import this repository (only
the installed packages); they fill in the answer and submit. The instructor collects, grades with this
grader into the course's gradebook, exports, and releases feedback, which the students fetch. The due
date is in the past and the course's policy is ``penalty_method = "zero"``: the export must show the
same timestamps and penalties as stock ``nbgrader autograde`` of the same submissions.
"""

from __future__ import annotations

import csv
import datetime
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from autograder.notebooks import ASSIGNMENT, RELEASE, code_stub, copy_course, fill_stub, load_answers, run_nbgrader
from tests.conftest import ROOT, grade_course
from tests.nbgrader_export import nbgrader_export
from tests.student import Student, files_in, student_python

ANSWER_OF = {"ada": "correct", "bob": "logdet_sign"}  # bob flips the log-determinant's sign
EXPORTED = ("duedate", "timestamp", "raw_score", "late_submission_penalty", "score", "max_score")


def outputs(nb: nbformat.NotebookNode, kind: str) -> list[nbformat.NotebookNode]:
    return [
        output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs if output.output_type == kind
    ]


def export(course: Path) -> dict[str, dict[str, str]]:
    """``nbgrader export`` in the course root, with no extra flags: student id -> row."""
    return {row["student_id"]: row for row in nbgrader_export(None, course)}


@dataclass
class Loop:
    course: Path
    stock_course: Path
    students: dict[str, Student]
    probe: nbformat.NotebookNode
    fetched: set[Path]
    executed: nbformat.NotebookNode
    graded: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Loop:
    tmp = tmp_path_factory.mktemp("loop")
    exchange = tmp / "exchange"
    python = student_python(tmp / "student-venv")
    students = {sid: Student(sid, tmp / "home" / sid, python, exchange) for sid in ANSWER_OF}

    # The instructor: a course root with the past due date and the "zero" late policy in its config.
    course = copy_course(ROOT, tmp / "course")
    with (course / "nbgrader_config.py").open("a") as config:
        config.write(f'\nc.Exchange.root = "{exchange}"\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    due = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    run_nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={due}")
    run_nbgrader(course, "release_assignment", ASSIGNMENT)

    # Before the release reaches them, the students' Python cannot import the course or the grader.
    for student in students.values():
        student.home.mkdir(parents=True)
    probe_path = students["ada"].home / "probe.ipynb"
    probe = nbformat.v4.new_notebook()
    probe.cells = [nbformat.v4.new_code_cell(code) for code in ("import sys; print(sys.executable)", "import course")]
    probe.cells.append(nbformat.v4.new_code_cell("import autograder"))
    nbformat.write(probe, probe_path)
    probe = students["ada"].execute(probe_path, "--allow-errors")

    # The students fetch, fill in their answer, and submit; ada also runs her whole notebook first.
    stub, answers = code_stub(ROOT), load_answers(ROOT)
    for sid, student in students.items():
        student.nbgrader("fetch_assignment", ASSIGNMENT)
        notebook = student.home / ASSIGNMENT / RELEASE.name
        nbformat.write(fill_stub(nbformat.read(notebook, as_version=4), stub, answers[ANSWER_OF[sid]]), notebook)
    folder = students["ada"].home / ASSIGNMENT
    fetched = files_in(folder)
    executed = students["ada"].execute(folder / RELEASE.name, NBGRADER_EXECUTION="validate")  # 20 training steps
    for student in students.values():
        student.nbgrader("submit", ASSIGNMENT)

    # The instructor collects; stock nbgrader autograde grades a copy of the course, this grader the course.
    run_nbgrader(course, "collect", ASSIGNMENT)
    stock_course = tmp / "stock-course"
    shutil.copytree(course, stock_course)
    (stock_course / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text().replace(str(course), str(stock_course))
    )
    run_nbgrader(stock_course, "autograde", ASSIGNMENT)
    graded = grade_course(course)
    return Loop(course, stock_course, students, probe, fetched, executed, graded)


def test_before_the_release_the_students_python_imports_neither_the_course_nor_the_grader(loop):
    printed, course_import, grader_import = loop.probe.cells
    assert printed.outputs[0].text.strip() == str(loop.students["ada"].python)
    assert [output.ename for output in course_import.outputs] == ["ModuleNotFoundError"]
    assert [output.ename for output in grader_import.outputs] == ["ModuleNotFoundError"]


def test_the_student_fetches_the_notebook_the_course_package_and_the_requirements_and_nothing_of_the_grader(loop):
    assert {Path("realnvp.ipynb"), Path("requirements.txt"), Path("course/evaluation.py")} <= loop.fetched
    assert loop.fetched <= files_in(ROOT / RELEASE.parent)
    for path in loop.fetched:
        assert path.parts[0] != "autograder" and path.name not in ("checks.py", "reference.py", "probe.py")


def test_the_fetched_notebook_runs_top_to_bottom_in_the_students_python(loop):
    assert outputs(loop.executed, "error") == []
    printed = "".join(output.text for output in outputs(loop.executed, "stream") if output.name == "stdout")
    assert "held-out NLL" in printed and "energy distance" in printed
    assert len(outputs(loop.executed, "display_data")) >= 4  # the data, the loss, the samples, the density...


def test_the_training_progress_is_one_widget_not_lines_of_text(loop):
    """tqdm.auto draws one widget in a notebook; under nbconvert, nbval or nbgrader it leaves one output."""
    (train,) = [cell for cell in loop.executed.cells if cell.get("id") == "train-run"]
    (progress,) = train.outputs
    assert progress.output_type == "display_data"
    assert "application/vnd.jupyter.widget-view+json" in progress.data


def test_the_grader_writes_into_the_courses_gradebook_by_default(loop):
    assert loop.graded.returncode == 0, loop.graded.stderr
    assert (loop.course / "graded" / "grades.csv").is_file()
    assert not (loop.course / "graded" / "gradebook.db").exists()
    students = run_nbgrader(loop.course, "db", "student", "list")
    assert "ada" in students and "bob" in students
    assert f"nbgrader release_feedback {ASSIGNMENT}" in loop.graded.stdout


def test_nbgrader_export_shows_the_same_timestamps_and_penalties_as_stock_autograde(loop):
    ours, stock = export(loop.course), export(loop.stock_course)
    assert sorted(ours) == sorted(stock) == sorted(ANSWER_OF)
    for sid in ANSWER_OF:
        assert {key: ours[sid][key] for key in EXPORTED} == {key: stock[sid][key] for key in EXPORTED}, sid
    assert (ours["ada"]["raw_score"], ours["ada"]["late_submission_penalty"], ours["ada"]["score"]) == (
        "10.0",
        "10.0",
        "0.0",
    )
    assert ours["bob"]["raw_score"] == "4.0" and ours["bob"]["score"] == "0.0"
    assert ours["ada"]["timestamp"] != ""


def test_grades_csv_shows_the_raw_score_the_penalty_and_the_final_score(loop):
    with (loop.course / "graded" / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    exported = export(loop.course)
    for sid in ANSWER_OF:
        assert rows[sid]["timestamp"] == exported[sid]["timestamp"]
        assert float(rows[sid]["raw_score"]) == float(exported[sid]["raw_score"])
        assert float(rows[sid]["late_submission_penalty"]) == float(exported[sid]["late_submission_penalty"])
        assert float(rows[sid]["score"]) == float(exported[sid]["score"]) == 0.0


def test_students_fetch_feedback_released_by_nbgrader_that_names_their_mistake(loop):
    run_nbgrader(loop.course, "release_feedback", ASSIGNMENT)
    pages = {}
    for sid, student in loop.students.items():
        student.nbgrader("fetch_feedback", ASSIGNMENT)
        found = list((student.home / ASSIGNMENT / "feedback").glob(f"*/{RELEASE.stem}.html"))
        assert len(found) == 1, sid
        pages[sid] = found[0].read_text()
    assert "log_det_J has the opposite sign" in pages["bob"]
    assert "late penalty 4, final score 0 / 10" in pages["bob"]
    assert "opposite sign" not in pages["ada"] and "late penalty 10, final score 0 / 10" in pages["ada"]
    for page in pages.values():
        for secret in ("check_part", "BEGIN HIDDEN TESTS", "reference", "autograder"):
            assert secret not in page


def formgrader_submissions(course: Path) -> dict[str, dict]:
    """What formgrader's assignment page lists, from nbgrader's own API for it: student id -> submission."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    return {submission["student"]: submission for submission in api.get_submissions(ASSIGNMENT)}


def test_formgrader_lists_the_submissions_as_graded_as_it_does_after_stock_autograde(loop):
    ours, stock = formgrader_submissions(loop.course), formgrader_submissions(loop.stock_course)
    shown = ("autograded", "submitted", "score", "max_score", "needs_manual_grade", "timestamp")
    assert sorted(ours) == sorted(stock) == sorted(ANSWER_OF)
    for sid in ANSWER_OF:
        assert {key: ours[sid][key] for key in shown} == {key: stock[sid][key] for key in shown}, sid
    assert ours["ada"]["autograded"] and ours["ada"]["score"] == 10.0 and ours["bob"]["score"] == 4.0

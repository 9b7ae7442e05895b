"""The course as people see it, in Debian's Chromium: the student's notebook in JupyterLab, and the instructor's
formgrader and class view.

The instructor releases the assignment to a temporary exchange. A student fetches it with nbgrader into a
home of their own and opens it in JupyterLab, started in the student's Python (the installed packages, not
this repository) and serving only the fetched folder. They run every cell as released, type the answer into
the cell's editor, save, and restart and run everything; the server sets ``NBGRADER_EXECUTION``, so the
training is the short one nbgrader runs (``--full-training``: the course's full recipe). The instructor
grades the example submissions into the course's gradebook, opens formgrader from the Nbgrader menu of
JupyterLab in the course root, and follows a student's name to the notebook as a TA grading by hand sees it.

Each step leaves a screenshot (``--screenshots DIR``; by default a temporary folder): ``make screenshots``
rewrites the ones in docs/screenshots/ that the README shows.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser

from autograder.notebooks import (
    ASSIGNMENT,
    CONFIG,
    RELEASE,
    code_stub,
    copy_course,
    fill_stub,
    load_answers,
    run_nbgrader,
)
from tests.browser import (
    CLASS_REPORT,
    FORMGRADER,
    FORMGRADER_SUBMISSION,
    STUDENT_AFTER_TRAINING,
    STUDENT_AS_RELEASED,
    STUDENT_SAMPLES,
    STUDENT_TODO,
    VIEWPORT,
    CellView,
    NotebookPage,
    open_formgrader,
    screenshot_formgrader,
)
from tests.conftest import ROOT, grade_course
from tests.jupyterlab import running_jupyterlab
from tests.student import Student, files_in, installed_jupyter_files, student_python

FIGURE_CELLS = {"swiss-roll-plot", "loss-plot", "visualize-run", "density-run", "layer-path-run"}


@pytest.fixture(scope="module")
def full_training(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--full-training")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A course that has released the assignment to a temporary exchange: its root and the exchange."""
    tmp = tmp_path_factory.mktemp("course")
    exchange = tmp / "exchange"
    course = copy_course(ROOT, tmp / "course")
    with (course / CONFIG).open("a") as config:
        config.write(f'\nc.Exchange.root = "{exchange}"\n')
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    run_nbgrader(course, "release_assignment", ASSIGNMENT)
    return course, exchange


@dataclass(frozen=True)
class StudentRun:
    served: set[Path]  # the files in the folder JupyterLab serves
    ids: list[str]  # the notebook's cell ids, in the page's order
    as_released: list[CellView]
    after_training: list[CellView]
    saved: nbformat.NotebookNode  # as saved from the browser after training

    def cell(self, views: list[CellView], cell_id: str) -> CellView:
        return views[self.ids.index(cell_id)]


@pytest.fixture(scope="module")
def student(browser: Browser, released, screenshots: Path, full_training: bool, tmp_path_factory) -> StudentRun:
    tmp = tmp_path_factory.mktemp("student")
    ada = Student("ada", tmp / "home", student_python(tmp / "venv"), released[1])
    ada.home.mkdir()
    ada.nbgrader("fetch_assignment", ASSIGNMENT)
    folder = ada.home / ASSIGNMENT
    served = files_in(folder)
    ids = [cell.id for cell in nbformat.read(folder / RELEASE.name, as_version=4).cells]
    stub, answer = code_stub(ROOT).splitlines(), load_answers(ROOT)["correct"].splitlines()
    short = {} if full_training else {"NBGRADER_EXECUTION": "validate"}  # 20 steps, as nbgrader validate runs it
    env = ada.env(**short, **installed_jupyter_files())
    with running_jupyterlab(ada.python, folder, ada.home, env) as lab:
        notebook = NotebookPage.open(browser, lab, RELEASE.name)
        notebook.run_all()
        as_released = notebook.cells()
        notebook.screenshot(screenshots / STUDENT_AS_RELEASED)
        notebook.screenshot_cells(screenshots / STUDENT_TODO, ids.index("forward_y"))

        notebook.type_over(ids.index("coupling_forward"), stub[0], len(stub), answer)
        notebook.save()
        notebook.restart_and_run_all()
        after_training = notebook.cells()
        notebook.save()
        notebook.screenshot(screenshots / STUDENT_AFTER_TRAINING)
        notebook.screenshot_cells(screenshots / STUDENT_SAMPLES, ids.index("visualize-run"), ids.index("density-run"))
    saved = nbformat.read(folder / RELEASE.name, as_version=4)
    return StudentRun(served, ids, as_released, after_training, saved)


def test_the_students_jupyterlab_serves_only_what_nbgrader_released(student):
    assert Path(RELEASE.name) in student.served
    assert student.served <= files_in(ROOT / RELEASE.parent)


def test_run_all_as_released_stops_at_the_first_test_with_the_todo_in_words(student):
    views = student.as_released
    failing = [index for index, view in enumerate(views) if view.errors]
    assert failing == [student.ids.index("forward_y")], [view.text[-300:] for view in views if view.errors]
    todo = re.search(r'raise (NotImplementedError)\("(.+)"\)', code_stub(ROOT))
    assert todo is not None, "the stub raises NotImplementedError with a message"
    assert f"{todo[1]}: {todo[2]}" in views[failing[0]].text
    code = [index for index, view in enumerate(views) if view.kind == "code"]
    assert all(views[index].ran for index in code if index <= failing[0])
    assert not any(views[index].ran for index in code if index > failing[0])


def test_the_answer_typed_into_the_editor_is_saved_in_place_of_the_stub(student):
    release = nbformat.read(ROOT / RELEASE, as_version=4)
    expected = fill_stub(release, code_stub(ROOT), load_answers(ROOT)["correct"])
    index = student.ids.index("coupling_forward")
    assert student.saved.cells[index].source == expected.cells[index].source


def test_after_training_every_cell_ran_and_none_shows_an_error(student):
    views = student.after_training
    assert all(view.ran for view in views if view.kind == "code")
    assert [view.text for view in views if view.errors] == []
    saved_outputs = [output for cell in student.saved.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in saved_outputs if output.output_type == "error"]


def test_the_training_progress_is_one_bar_that_reaches_its_end(student):
    train = student.cell(student.after_training, "train-run")
    assert train.outputs == ["widget"], train.text[:500]
    (bar,) = train.progress_bars
    assert bar["fill"] == "100%"
    done = re.search(r"(\d+)/(\d+)\s*\[", bar["text"])
    assert done is not None and done[1] == done[2], bar["text"]


def test_every_figure_cell_shows_its_picture(student):
    views = zip(student.ids, student.after_training, strict=True)
    with_pictures = {cell_id: view.images for cell_id, view in views if view.images}
    assert set(with_pictures) == FIGURE_CELLS
    assert all(images == [True] for images in with_pictures.values()), with_pictures


def test_the_evaluation_prints_its_scores(student):
    printed = student.cell(student.after_training, "evaluation").text
    number = r"-?\d+\.\d+"
    for score in ("held-out NLL", "energy distance", "precision", "coverage"):
        assert re.search(rf"^{score}\b.*: {number}", printed, re.MULTILINE), printed


TA_LOOKS_AT = "logdet_sign"  # an example submission that fails two parts
TA_LOOKS_AT_PART = "log_det_J"  # one of them


@dataclass(frozen=True)
class InstructorRun:
    grades: dict[str, dict[str, str]]  # grades.csv: student id -> row
    results: dict  # the grader's results for TA_LOOKS_AT (results/<id>.json)
    listed: dict[str, tuple[str, str]]  # formgrader's assignment page: student id -> (status, score)
    submission_page: str  # the text of formgrader's page of TA_LOOKS_AT's notebook
    report_images: list[bool]  # the class view's pictures: whether each loaded


@pytest.fixture(scope="module")
def instructor(browser: Browser, released, screenshots: Path, tmp_path_factory) -> InstructorRun:
    course = released[0]
    shutil.copytree(ROOT / "examples" / "submitted", course / "submitted")  # as nbgrader collect leaves them
    grading = grade_course(course)
    assert grading.returncode == 0, grading.stderr
    with (course / "graded" / "grades.csv").open() as handle:
        grades = {row["student_id"]: row for row in csv.DictReader(handle)}

    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
    home = tmp_path_factory.mktemp("instructor-home")
    with running_jupyterlab(Path(sys.executable), course, home, env) as lab:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(lab.url("lab"))
        formgrader = open_formgrader(page)
        formgrader.locator(f"a[href$='manage_submissions/{ASSIGNMENT}']").click()
        formgrader.wait_for_selector("#main-table td.student-id")
        rows = formgrader.locator("#main-table tr")
        listed = {
            row.locator("td.student-id").inner_text(): (
                row.locator("td.status").inner_text(),
                row.locator("td.score").inner_text(),
            )
            for row in rows.all()
        }
        screenshot_formgrader(page, formgrader, screenshots / FORMGRADER)

        # A TA follows the student's name to their notebook, and reads it as formgrader shows it to grade by hand.
        formgrader.locator(f"#main-table tr:has(td.student-id:text-is('{TA_LOOKS_AT}')) td.student-name a").click()
        formgrader.locator("#main-table a").first.click()
        formgrader.wait_for_selector("div.cell.code_cell")
        submission_page = formgrader.locator("body").inner_text()
        cell = formgrader.locator("div.cell.code_cell", has_text=f"{TA_LOOKS_AT_PART}: 0 / ")
        cell.screenshot(path=screenshots / FORMGRADER_SUBMISSION)

    report = browser.new_page(viewport=VIEWPORT)
    report.goto((course / "graded" / "report.html").as_uri())
    images = report.locator("img").evaluate_all("images => images.map(img => img.complete && img.naturalWidth > 0)")
    report.screenshot(path=screenshots / CLASS_REPORT, full_page=True)
    results = json.loads((course / "graded" / "results" / f"{TA_LOOKS_AT}.json").read_text())
    return InstructorRun(grades, results, listed, submission_page, images)


def test_formgrader_lists_every_graded_student_with_the_score_in_grades_csv(instructor):
    assert sorted(instructor.listed) == sorted(instructor.grades)
    for student_id, (_, score) in instructor.listed.items():
        shown = re.fullmatch(r"\s*([\d.]+)\s*/\s*([\d.]+)\s*", score)
        assert shown is not None, f"{student_id}: formgrader shows no score ({score!r})"
        row = instructor.grades[student_id]
        assert (float(shown[1]), float(shown[2])) == (float(row["score"]), float(row["max_score"])), student_id


def test_formgrader_counts_every_submission_as_graded(instructor):
    statuses = {status for status, _ in instructor.listed.values()}
    assert statuses == {"graded"}, instructor.listed


def test_the_class_view_shows_its_figures(instructor):
    assert instructor.report_images and all(instructor.report_images)


def test_formgrader_shows_the_ta_each_test_cell_with_the_graders_verdict(instructor):
    page = " ".join(instructor.submission_page.split())
    for test in instructor.results["tests"]:
        verdict = f"{test['name']}: {test['score']:g} / {test['max_score']:g}. {test['output']}"
        assert " ".join(verdict.split()) in page, verdict
    assert any(test["score"] == 0 for test in instructor.results["tests"]), "the TA's example fails a part"

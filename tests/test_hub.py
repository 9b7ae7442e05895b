"""The course on a JupyterHub set up with the repository's hub/ files, as its people meet it in Debian's Chromium.

The test plays the README's "Run the course on a JupyterHub": a hub environment, hub/setup-course for the
instructor (rnvp-prof), hub/add-students for two students, hub/add-graders for a TA, all real system users
with passwords, and JupyterHub from hub/jupyterhub_config.py on loopback. The instructor releases the
assignment. Ada logs in, fetches it in the Assignments panel, types an answer that flips log_det_J's sign,
validates (the failure is named) and submits on time. The instructor then sets the due date; Bob types the
right answer, validates (it passes) and submits late. The instructor collects and grades with
``python -m autograder grade`` and releases the feedback; the TA reads the grades in formgrader through the
hub; each student fetches their feedback from the panel. Then each person tries the others' files.

Needs root (users, and a hub that starts servers as them); the users, their homes and the processes are
removed afterwards. Screenshots of the panel and of formgrader go to ``--screenshots`` (``make screenshots``).
"""

from __future__ import annotations

import csv
import datetime
import grp
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser

from autograder.notebooks import ASSIGNMENT, CONFIG, RELEASE, code_stub, copy_course, load_answers
from tests.browser import (
    HUB_ASSIGNMENTS,
    HUB_FORMGRADER,
    AssignmentsPanel,
    log_in,
    nbgrader_menu,
    open_formgrader,
    screenshot_formgrader,
    sign_in,
)
from tests.hub import (
    HUB,
    ROOT,
    Hub,
    NotRoot,
    User,
    as_root,
    attempts,
    hub_environment,
    new_user,
    remove_users,
    require_no_real_course,
    require_root,
    run_as,
    running_hub,
    set_passwords,
    write_home_settings,
)
from tests.shared_python import shared_folder

INSTRUCTOR, ADA, BOB, TA = "rnvp-prof", "rnvp-ada", "rnvp-bob", "rnvp-tara"
OUTSIDER = "rnvp-guest"  # an account of the server that is in neither of the course's groups
PEOPLE = (INSTRUCTOR, ADA, BOB, TA, OUTSIDER)
ADA_ANSWER = "logdet_sign"  # an example answer: log_det_J with the wrong sign (examples/answers.py)
ADA_FAILS = "log_det_J"  # the part it fails


@dataclass(frozen=True)
class CourseHub:
    hub: Hub
    course: Path  # the course root, owned by the instructor
    exchange: Path
    users: dict[str, User]

    def run(self, user: str, *command: str) -> str:
        """A command as ``user`` in the course root, as in their JupyterLab's terminal."""
        run = run_as(user, self.hub.environment, *command, cwd=self.course)
        assert run.returncode == 0, f"{' '.join(command)} as {user}:\n{run.stdout}{run.stderr}"
        return run.stdout + run.stderr


@pytest.fixture(scope="module")
def course_hub() -> Iterator[CourseHub]:
    try:
        require_root()
    except NotRoot as error:  # never a skip: a hub test that cannot run is a failure
        pytest.fail(str(error), pytrace=False)
    require_no_real_course(list(PEOPLE))
    remove_users(list(PEOPLE))  # what an interrupted run left
    base = shared_folder()
    try:
        environment = hub_environment(base / "env")
        course = copy_course(ROOT, base / "course")  # the instructor's clone of this repository
        shutil.copytree(ROOT / "autograder", course / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
        with (course / CONFIG).open("a") as config:
            config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"  # the course\'s late policy\n')
        exchange = base / "srv" / "nbgrader" / "exchange"
        settings = {**os.environ, "HUB_ENVIRONMENT": str(environment), "COURSE_ROOT": str(course),
                    "EXCHANGE_ROOT": str(exchange)}  # fmt: skip
        as_root(str(HUB / "setup-course"), INSTRUCTOR, env=settings)
        as_root(str(HUB / "add-students"), ADA, BOB, env=settings)
        as_root(str(HUB / "add-graders"), TA, env=settings)
        as_root("useradd", "--create-home", OUTSIDER)
        users = {name: new_user(name) for name in PEOPLE}
        set_passwords(list(users.values()))
        for user in users.values():
            write_home_settings(user)
        with running_hub(environment) as hub:
            course_hub = CourseHub(hub, course, exchange, users)
            course_hub.run(INSTRUCTOR, "nbgrader", "generate_assignment", ASSIGNMENT, "--force")
            course_hub.run(INSTRUCTOR, "nbgrader", "release_assignment", ASSIGNMENT)
            yield course_hub
    finally:
        remove_users(list(PEOPLE))
        shutil.rmtree(base, ignore_errors=True)


def test_a_machine_that_hosts_the_course_is_refused(monkeypatch):
    course_group = grp.struct_group(("realnvp-students", "x", 4321, ["alice", "rnvp-ada"]))
    monkeypatch.setattr(grp, "getgrnam", lambda name: course_group)
    with pytest.raises(RuntimeError, match=r"group realnvp-students has members \(alice\): this machine hosts"):
        require_no_real_course(list(PEOPLE))


def test_without_root_the_hub_tests_fail_and_say_why(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(NotRoot, match=r"run them as root \(\.ci/run does; locally: sudo make test\)"):
        require_root()


@dataclass(frozen=True)
class Story:
    menus: dict[str, list[str]]  # each person's Nbgrader menu
    released: list[str]  # what Ada's panel offered
    validated: dict[str, str]  # the Validate dialog's text, per student
    submitted: dict[str, list[str]]  # each student's submitted list
    grades: str  # the grader's output
    formgrader: dict[str, tuple[str, str]]  # the TA's formgrader: student -> (status, score)
    formgrader_url: str
    feedback: dict[str, str]  # each student's feedback page, as JupyterLab shows it


def type_answer(panel: AssignmentsPanel, answer: str) -> None:
    notebook = panel.open_notebook(ASSIGNMENT, RELEASE.stem)
    stub = code_stub(ROOT).splitlines()
    ids = [cell.id for cell in nbformat.read(ROOT / RELEASE, as_version=4).cells]
    notebook.type_over(ids.index("coupling_forward"), stub[0], len(stub), answer.splitlines())
    notebook.save()


def set_due_date_now(course_hub: CourseHub) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")  # after Ada's, to the µs
    course_hub.run(INSTRUCTOR, "nbgrader", "db", "assignment", "add", ASSIGNMENT, f"--duedate={now}")


@pytest.fixture(scope="module")
def story(course_hub: CourseHub, browser: Browser, screenshots: Path) -> Story:
    answers, hub, users = load_answers(ROOT), course_hub.hub.url, course_hub.users
    pages = {name: log_in(browser, hub, name, users[name].password) for name in (ADA, BOB)}
    menus = {name: nbgrader_menu(page) for name, page in pages.items()}
    panels = {name: AssignmentsPanel(page) for name, page in pages.items()}
    released = panels[ADA].released()

    validated, submitted = {}, {}
    for name, answer in ((ADA, answers[ADA_ANSWER]), (BOB, answers["correct"])):
        if name == BOB:
            set_due_date_now(course_hub)  # Ada is on time; Bob submits after the due date
        panels[name].fetch(ASSIGNMENT)
        type_answer(panels[name], answer)
        validated[name] = panels[name].validate(ASSIGNMENT, RELEASE.stem)
        if name == ADA:
            pages[ADA].screenshot(path=screenshots / HUB_ASSIGNMENTS)
        panels[name].close_dialog()
        panels[name].submit(ASSIGNMENT)
        submitted[name] = panels[name].submitted()

    course_hub.run(INSTRUCTOR, "nbgrader", "collect", ASSIGNMENT)
    # The hub's Python, with the course's own package beside the notebook (README: on a hub, step 6).
    grade = ["env", "PYTHONPATH=source/realnvp", "python", "-m", "autograder", "grade", "--workers", "1"]
    grades = course_hub.run(INSTRUCTOR, *grade)
    course_hub.run(INSTRUCTOR, "nbgrader", "release_feedback", ASSIGNMENT)

    ta = log_in(browser, hub, TA, users[TA].password)
    menus[TA] = nbgrader_menu(ta)
    frame = open_formgrader(ta)
    frame.locator(f"a[href$='manage_submissions/{ASSIGNMENT}']").click()
    frame.wait_for_selector("#main-table td.student-id")
    listed = {
        row.locator("td.student-id").inner_text(): (row.locator("td.status").inner_text(),
                                                    row.locator("td.score").inner_text())
        for row in frame.locator("#main-table tr").all()
    }  # fmt: skip
    screenshot_formgrader(ta, frame, screenshots / HUB_FORMGRADER)

    feedback = {name: panels[name].fetch_feedback(ASSIGNMENT, RELEASE.stem) for name in (ADA, BOB)}
    return Story(menus, released, validated, submitted, grades, listed, frame.url, feedback)


def test_only_the_courses_members_with_their_own_password_get_in(course_hub, browser):
    for name, password in ((OUTSIDER, course_hub.users[OUTSIDER].password), (ADA, "not her password")):
        page = sign_in(browser, course_hub.hub.url, name, password)
        page.get_by_text("Invalid username or password").wait_for()
        assert page.url.startswith(f"{course_hub.hub.url}/hub/login"), (name, page.url)
        page.context.close()


def test_students_log_in_with_their_unix_password_and_the_panel_offers_the_assignment(story):
    assert story.released == [ASSIGNMENT]


def test_students_menu_has_only_the_assignments_and_the_graders_have_the_staff_panels(story):
    staff = {"Formgrader", "Formgrader (local)", "Course List", "Create assignment"}
    for student in (ADA, BOB):
        assert story.menus[student] == ["Assignment List"]
    assert staff <= set(story.menus[TA]), story.menus[TA]


def test_validate_names_the_failing_part_of_a_wrong_answer(story):
    text = " ".join(story.validated[ADA].split())
    assert "failed" in text.lower() or "error" in text.lower(), text
    assert ADA_FAILS in text, text


def test_validate_passes_the_right_answer(story):
    assert "Success! Your notebook passes all the tests." in story.validated[BOB]


def test_each_student_sees_their_one_submission_and_its_time_in_the_panel(story):
    for student in (ADA, BOB):
        name, submitted_at = story.submitted[student]
        assert name == ASSIGNMENT
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC", submitted_at), submitted_at


def test_the_ta_sees_both_graded_submissions_in_formgrader_through_the_hub(story, course_hub):
    assert story.formgrader_url.startswith(f"{course_hub.hub.url}/user/{TA}/formgrader")
    assert set(story.formgrader) == {ADA, BOB}
    assert {status for status, _ in story.formgrader.values()} == {"graded"}
    assert story.formgrader[ADA][1].split() != story.formgrader[BOB][1].split()


def test_adas_feedback_page_names_her_mistake(story):
    text = " ".join(story.feedback[ADA].split())
    assert f"{ADA_FAILS}: 0 /" in text, text[:3000]


def test_bobs_feedback_page_shows_the_late_penalty_the_gradebook_holds(story, course_hub):
    with (course_hub.course / "graded" / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(rows[ADA]["late_submission_penalty"]) == 0
    late = rows[BOB]
    assert float(late["late_submission_penalty"]) == float(late["raw_score"]) > 0  # the course's policy: zero
    text = " ".join(story.feedback[BOB].split())
    assert f"It was late: score {late['raw_score']}, late penalty {late['late_submission_penalty']}" in text, text


def _exchange_course(course_hub: CourseHub) -> Path:
    return course_hub.exchange / "realnvp-course"


def test_a_student_cannot_find_or_read_another_students_submission_or_feedback(story, course_hub):
    exchange = _exchange_course(course_hub)
    ada_home = course_hub.users[ADA].home
    tries = [("list", exchange / "inbound"), ("list", exchange / "feedback"), ("list", ada_home),
             ("read", ada_home / ASSIGNMENT / RELEASE.name), ("list", ada_home / ".local/share/jupyter")]  # fmt: skip
    seen = attempts(BOB, tries)
    assert set(seen.values()) == {"PermissionError"}, seen


def test_a_student_cannot_enter_the_course_root_or_the_instructors_home(story, course_hub):
    course = course_hub.course
    tries = [("list", course), ("read", course / "gradebook.db"), ("read", course / "source/realnvp/realnvp.ipynb"),
             ("list", course / "submitted"), ("list", course / "autograded"), ("list", course / "feedback"),
             ("list", course_hub.users[INSTRUCTOR].home), ("list", course_hub.users[TA].home)]  # fmt: skip
    for student in (ADA, BOB):
        seen = attempts(student, tries)
        assert set(seen.values()) == {"PermissionError"}, (student, seen)


def test_the_ta_can_read_and_grade_but_not_change_source(story, course_hub):
    course = course_hub.course
    seen = attempts(TA, [
        ("read", course / "source/realnvp/realnvp.ipynb"), ("list", course / "autograded"),
        ("write", course / "gradebook.db"), ("create", course / "gradebook"),
        ("write", course / "source/realnvp/realnvp.ipynb"), ("create", course / "source/realnvp"),
        ("rename", course / "source"), ("create", course), ("write", course / CONFIG),
    ])  # fmt: skip
    allowed = [seen.pop(key) for key in list(seen)[:4]]
    assert allowed == ["ok"] * 4
    assert set(seen.values()) == {"PermissionError"}, seen


def test_the_ta_grades_by_hand_in_the_gradebook(story, course_hub):
    comment = "TA: the sign of log_det_J"
    script = (
        "import sys; from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///gradebook.db') as gb:\n"
        f"    notebook = gb.find_submission_notebook('{RELEASE.stem}', '{ASSIGNMENT}', '{ADA}')\n"
        "    cell = notebook.comments[0]; cell.manual_comment = sys.argv[1]; gb.db.commit()\n"
    )
    course_hub.run(TA, "python", "-c", script, comment)
    export = course_hub.run(INSTRUCTOR, "python", "-c", (
        "from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///gradebook.db') as gb:\n"
        f"    print([c.manual_comment for c in gb.find_submission_notebook('{RELEASE.stem}', '{ASSIGNMENT}', "
        f"'{ADA}').comments])"
    ))  # fmt: skip
    assert comment in export


def test_the_instructors_grading_run_records_both_students(story, course_hub):
    records = course_hub.course / "graded" / "records"
    assert sorted(path.stem for path in records.glob("*.json")) == sorted([ADA, BOB]), story.grades


def test_only_root_reads_the_hubs_state(course_hub):
    state = course_hub.hub.environment / "state"
    assert (state.stat().st_mode & 0o777) == 0o700
